"""The .eml: subject, text and HTML in; multipart/alternative UTF-8 bytes out.

Deterministic by construction: the Date comes from the issue, the Message-ID
and the MIME boundary from a hash of the content, so the same issue gives the
same bytes. Lines end in CRLF, as SMTP wants them. Long or non-ASCII headers
go through the email package (folding, RFC 2047 words); the two parts are
quoted-printable encoded with binascii, several times faster than the email
package's own encoder.
"""

from __future__ import annotations

import binascii
import hashlib
from datetime import datetime
from email import policy
from email.utils import format_datetime, formataddr

from ..config import Config


def unsubscribe_header(config: Config) -> str:
    """The List-Unsubscribe value: the https link first, then the mailto when configured."""
    nl = config.newsletter
    parts = [f"<{nl.unsubscribe_url}>"]
    if nl.unsubscribe_mailto:
        parts.append(f"<mailto:{nl.unsubscribe_mailto}?subject=unsubscribe>")
    return ", ".join(parts)


def build_eml(*, subject: str, text: str, html: str, sent_at: datetime, config: Config) -> bytes:
    """Assemble the message; see the module docstring for what makes it reproducible."""
    nl = config.newsletter
    digest = hashlib.sha256(
        "\0".join((subject, sent_at.isoformat(), text, html)).encode("utf-8")
    ).hexdigest()
    domain = nl.sender.email.rpartition("@")[2]
    boundary = f"=_alt_{digest[32:56]}"
    headers = [
        ("Subject", subject),
        ("From", formataddr((nl.sender.name, nl.sender.email))),
        ("Reply-To", nl.reply_to),
        ("Date", format_datetime(sent_at)),
        ("Message-ID", f"<{sent_at:%Y%m%d}.{digest[:32]}@{domain}>"),
        ("List-Id", formataddr((nl.name, f"{_slug(nl.name)}.{domain}"))),
        ("List-Unsubscribe", unsubscribe_header(config)),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    head = b"".join(_header(name, value) for name, value in headers if value) + b"\r\n"
    body = b"".join(
        _part(boundary, subtype, content) for subtype, content in (("plain", text), ("html", html))
    )
    return head + body + f"--{boundary}--\r\n".encode("ascii")


def _header(name: str, value: str) -> bytes:
    """One header line; the email package folds and encodes only what needs it."""
    value = " ".join(value.split())  # no line break from data may start a new header
    line = f"{name}: {value}\r\n"
    if value.isascii() and len(line) <= 80:
        return line.encode("ascii")
    folded: str = policy.SMTP.header_factory(name, value).fold(policy=policy.SMTP)
    return folded.encode("ascii")


def _part(boundary: str, subtype: str, content: str) -> bytes:
    # the final CRLF belongs to the next boundary; CRLF input makes b2a_qp write CRLF
    # soft breaks too (it copies the style of the first line break it meets)
    crlf = content.replace("\r\n", "\n").replace("\n", "\r\n") + "\r\n"
    encoded = binascii.b2a_qp(crlf.encode("utf-8"), istext=True)
    head = (
        f"--{boundary}\r\n"
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode("ascii")
    return head + encoded


def _slug(name: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return "-".join(filter(None, slug.split("-"))) or "newsletter"
