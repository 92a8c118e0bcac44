"""The .eml: subject, text and HTML in; multipart/alternative UTF-8 bytes out.

Deterministic by construction: the Date comes from the issue, the Message-ID
and the MIME boundary from a hash of the content, so the same issue gives the
same bytes. Lines end in CRLF, as SMTP wants them. Headers go through the
email package (folding, RFC 2047 words); the two parts are quoted-printable
encoded with binascii, several times faster than the email package's encoder.
"""

from __future__ import annotations

import binascii
import hashlib
from datetime import datetime
from email import policy
from email.message import EmailMessage
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
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = subject
    msg["From"] = formataddr((nl.sender.name, nl.sender.email))
    if nl.reply_to:
        msg["Reply-To"] = nl.reply_to
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = f"<{sent_at:%Y%m%d}.{digest[:32]}@{domain}>"
    msg["List-Id"] = f"{nl.name} <{_slug(nl.name)}.{domain}>"
    msg["List-Unsubscribe"] = unsubscribe_header(config)
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["MIME-Version"] = "1.0"
    # serialised without a body, then the multipart type and the parts are added by hand
    head = msg.as_bytes().rstrip(b"\r\n") + b"\r\n"
    head += f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode("ascii")
    body = b"".join(
        _part(boundary, subtype, content) for subtype, content in (("plain", text), ("html", html))
    )
    return head + body + f"--{boundary}--\r\n".encode("ascii")


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
