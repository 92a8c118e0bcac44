"""Send stage: an edition's rendered email and a delivery in, the issue sent once out.

:func:`checked_send` is the one way an edition goes out (``newsletter send``, with or
without ``--via``, and the scheduler): under the newsletter's lock it reads the email
back from the outbox (refusing one older than its draft), lints it, refuses blocking
findings unless forced, and hands it to :func:`send_edition`, which delivers it at
most once. A :class:`Delivery` is how it goes out: :func:`smtp_delivery` here, a
campaign on a list provider in :mod:`pipeline.lists`.

``send_issue`` speaks SMTP to the server in ``config.smtp``: STARTTLS (the
default; refused if the server does not offer it), implicit TLS, or plain for a
local relay. Credentials come from the environment variables the config names,
never from the file. Every failure becomes a :class:`SendError` naming the
server and what went wrong. A ``To`` header is added when the message has none.

At most once: ``sending`` is recorded in the state store before the delivery and
``sent`` after, so a run killed between the server's acceptance and the record is
never sent again by itself: it stays ``sending`` (:func:`pipeline.edition.sent`) until
a person checks and forces a send, as does a delivery whose outcome is unknown
(:class:`UncertainSendError`). A sent issue goes out again only when forced; a test
send records nothing.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Generic, TypeVar

from .config import Config, secret
from .edition import Edition
from .errors import ConfigError, SendError, UncertainSendError
from .lock import build_lock
from .models import Finding, RenderedIssue
from .render import lint_email
from .store import open_state

__all__ = [
    "Delivery",
    "SendResult",
    "checked_send",
    "send_edition",
    "send_issue",
    "send_secret",
    "smtp_delivery",
]

T = TypeVar("T")


def _nothing_to_refuse() -> None:
    return None


@dataclass(frozen=True)
class Delivery(Generic[T]):
    """How an edition goes out. ``send`` delivers the email and returns what the caller
    reports (:class:`SendError` when it cannot, :class:`UncertainSendError` when it may
    have gone anyway); ``check`` refuses with :class:`SendError` before anything is
    recorded (a list provider that already has the edition's campaign)."""

    send: Callable[[RenderedIssue], T]
    check: Callable[[], None] = _nothing_to_refuse


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


def smtp_delivery(config: Config, to: Sequence[str]) -> Delivery[str]:
    """The delivery to ``to`` through the configured SMTP server; it says where it went."""

    def deliver(rendered: RenderedIssue) -> str:
        send_issue(rendered.eml, to, config)
        return f"{', '.join(to)} via {config.smtp.host}:{config.smtp.port}"

    return Delivery(deliver)


@dataclass(frozen=True)
class SendResult(Generic[T]):
    """What one send did: the email it sent, the lint findings on it, and what the
    delivery returned (where an SMTP send went, the campaign a list provider made)."""

    eml: Path
    rendered: RenderedIssue
    findings: tuple[Finding, ...]
    delivered: T


def checked_send(
    config: Config,
    edition: date,
    delivery: Delivery[T],
    *,
    force: bool = False,
    test: bool = False,
    show: Callable[[tuple[Finding, ...]], None] | None = None,
) -> SendResult[T]:
    """Lint the edition's email, then deliver it at most once (see the module doc).

    ``show`` sees the lint findings before anything is decided. Blocking findings
    refuse the send with :class:`SendError` unless ``force``. A ``test`` send delivers
    without checking or recording anything.
    """
    ed = Edition(config, edition)
    # under the build lock: a build or desk action never rewrites the files mid-send
    with build_lock(config, wait=config.schedule.lock_wait_seconds):
        rendered = ed.load_rendered()
        findings = tuple(lint_email(rendered, config))
        if show is not None:
            show(findings)
        blocking = [f for f in findings if f.severity == "error"]
        if blocking and not force:
            raise SendError(
                f"{len(blocking)} blocking lint finding(s) in {ed.folder}, first:"
                f" {blocking[0].message}; not sent: fix the draft and run `newsletter render`,"
                " or send anyway with --force"
            )
        if test:
            delivered = delivery.send(rendered)
        else:
            delivered = send_edition(config, edition, delivery, rendered, force=force)
    return SendResult(ed.folder / "issue.eml", rendered, findings, delivered)


def send_edition(
    config: Config,
    edition: date,
    delivery: Delivery[T],
    rendered: RenderedIssue,
    *,
    force: bool = False,
) -> T:
    """Deliver the edition's email and record it sent, never twice unless forced (see
    the module doc); return what the delivery returned. A send that was refused
    leaves the issue as it was."""
    with open_state(config) as store:
        if not force:
            delivery.check()
        # read and set `sending` in one transaction: of two racing senders, one wins
        claim = store.claim_send(edition, force=force)
        before = claim.before
        if not claim.won:
            if before == "sending":
                raise SendError(
                    f"an earlier send of the {edition} issue was interrupted (or is under way)"
                    " and may have gone out; check a recipient's mailbox (or the list"
                    " provider's campaigns), then send again with --force"
                )
            raise SendError(
                f"the {edition} issue is already marked sent; --force to send it again"
                " (or to create a campaign anyway)"
            )
    try:
        result = delivery.send(rendered)
    except UncertainSendError:
        raise  # it may have gone out: the issue stays `sending`
    except SendError:
        with open_state(config) as store:
            store.record_issue(edition, status=before)
        raise
    with open_state(config) as store:
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
        values.append(send_secret(name, key=key, file=config.file))
    return values[0], values[1]


def send_secret(env_name: str, *, key: str, file: str) -> str:
    """:func:`~pipeline.config.secret`, failing as a send: a send that cannot log in failed
    as a send (SMTP's credentials, a list provider's)."""
    try:
        return secret(env_name, key=key, file=file)
    except ConfigError as exc:
        raise SendError(str(exc)) from None


def _has_to_header(eml: bytes) -> bool:
    head = eml.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return re.search(rb"(?im)^to:", head) is not None


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _codes(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in refused.items())
