"""Send stage: ``.eml`` bytes and recipient addresses in, one SMTP delivery out.

``send_issue`` speaks SMTP to the server in ``config.smtp``: STARTTLS (the
default; refused if the server does not offer it), implicit TLS, or plain for a
local relay. Credentials come from the environment variables the config names,
never from the file. Every failure becomes a :class:`SendError` naming the
server and what went wrong. A ``To`` header is added when the message has none.

``send_edition`` sends an edition at most once, whatever delivers it (an SMTP
send, a campaign created on a list provider): it records ``sending`` in the
state store before the delivery step and ``sent`` after, so a run killed between
the server's acceptance and the record is never sent again by itself: it stays
``sending`` until a person checks and forces a send.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable, Sequence
from datetime import date
from typing import TypeVar

from .config import Config, secret
from .errors import ConfigError, SendError, UncertainSendError
from .store import open_store

__all__ = ["SENT_STATES", "send_edition", "send_issue"]

SENT_STATES = ("sending", "sent")  # issue states after which nothing rebuilds or resends

T = TypeVar("T")

_ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+")


def send_issue(eml: bytes, to: Sequence[str], config: Config) -> None:
    """Deliver the message to ``to`` through the configured SMTP server.

    Raises :class:`SendError` on a bad address, a missing credential variable,
    a refused connection, a failed TLS handshake or a rejection by the server.
    """
    smtp = config.smtp
    where = f"SMTP {smtp.host}:{smtp.port}"
    recipients = [a.strip() for a in to if a.strip()]
    if not recipients:
        raise SendError("no recipient given (use --to ADDRESS)")
    for address in recipients:
        if not _ADDRESS.fullmatch(address):
            raise SendError(f"not an email address: {address!r}")
    credentials = _credentials(config)
    message = (
        eml if _has_to_header(eml) else b"To: " + ", ".join(recipients).encode() + b"\r\n" + eml
    )
    context = ssl.create_default_context(cafile=config.path(smtp.ca_file) if smtp.ca_file else None)
    try:
        client: smtplib.SMTP
        if smtp.security == "tls":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with client:
            client.ehlo()
            if smtp.security == "starttls":
                if not client.has_extn("starttls"):
                    raise SendError(
                        f"{where} does not offer STARTTLS; refusing to send in clear text "
                        "(set smtp.security to 'none' only for a local relay)"
                    )
                client.starttls(context=context)
                client.ehlo()
            if credentials is not None:
                client.login(*credentials)
            refused = client.sendmail(config.newsletter.sender.email, recipients, message)
    except SendError:
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError(f"{where} refused every recipient: {_codes(exc.recipients)}") from None
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(
            f"{where} rejected the login: {exc.smtp_code} {_text(exc.smtp_error)}"
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise SendError(f"{where} answered {exc.smtp_code} {_text(exc.smtp_error)}") from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise SendError(f"{where}: {exc.__class__.__name__}: {exc}") from None
    if refused:
        raise SendError(f"{where} refused some recipients: {_codes(refused)}")


def send_edition(
    config: Config, edition: date, deliver: Callable[[], T], *, force: bool = False
) -> T:
    """Run ``deliver`` (an SMTP send, a campaign hand-off) for an edition and mark it
    sent, at most once (see the module doc); return what ``deliver`` returned.

    A send interrupted before (``sending``) is refused unless ``force``; a send the
    server refused leaves the issue as it was; one whose outcome is unknown
    (:class:`UncertainSendError`) leaves it ``sending``.
    """
    with open_store(config.state_path) as store:
        recorded = store.issue(edition)
        before = recorded[1] if recorded else "draft"
        if before == "sending" and not force:
            raise SendError(
                f"an earlier send of the {edition} issue was interrupted and may have gone"
                " out; check a recipient's mailbox (or the list provider's campaigns),"
                " then send again with --force"
            )
        store.record_issue(edition, status="sending")
    try:
        result = deliver()
    except UncertainSendError:
        raise  # it may have gone out: the issue stays `sending`
    except SendError:
        with open_store(config.state_path) as store:
            store.record_issue(edition, status=before)
        raise
    with open_store(config.state_path) as store:
        store.record_issue(edition, status="sent")
    return result


def _credentials(config: Config) -> tuple[str, str] | None:
    smtp = config.smtp
    if not smtp.username_env and not smtp.password_env:
        return None
    values = []
    for key, name in (
        ("smtp.username_env", smtp.username_env),
        ("smtp.password_env", smtp.password_env),
    ):
        if not name:
            raise SendError(f"{config.file}: {key} is not set but the other credential is")
        try:
            values.append(secret(name, key=key, file=config.file))
        except ConfigError as exc:
            raise SendError(str(exc)) from None  # a send that cannot log in failed as a send
    return values[0], values[1]


def _has_to_header(eml: bytes) -> bool:
    head = eml.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return re.search(rb"(?im)^to:", head) is not None


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _codes(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in refused.items())
