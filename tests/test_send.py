"""send_issue and `newsletter send`: real aiosmtpd servers on 127.0.0.1 (plain, STARTTLS, TLS)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from click.testing import CliRunner
from render_samples import FIXTURES, fixed_issue, render_config, write_outbox

from pipeline.cli import cli
from pipeline.config import Config
from pipeline.errors import ConfigError, NoIssueError, SendError
from pipeline.render import render
from pipeline.send import send_issue

SENDER = "desk@morningtape.example"


@dataclass
class Inbox:
    """What the local SMTP server received."""

    messages: list[tuple[str, list[str], bytes, bool]] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.reject:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert envelope.content is not None
        content = (
            envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        )
        self.messages.append(
            (str(envelope.mail_from), list(envelope.rcpt_tos), content, _encrypted(server))
        )
        return "250 OK delivered"


def _encrypted(server: SMTP) -> bool:
    transport = server.transport
    return transport is not None and transport.get_extra_info("ssl_object") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return context


@pytest.fixture
def start() -> Iterator[Any]:
    controllers: list[Controller] = []

    def _start(inbox: Inbox, **kwargs: Any) -> int:
        port = _free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        return port

    yield _start
    for controller in controllers:
        controller.stop()


def smtp_config(port: int, **smtp: Any) -> Config:
    config = render_config()
    return config.model_copy(update={"smtp": config.smtp.model_copy(update={"port": port, **smtp})})


@pytest.fixture(scope="module")
def eml() -> bytes:
    return render(fixed_issue(), render_config()).eml


def test_plain_send_delivers_the_message_as_rendered(start: Any, eml: bytes) -> None:
    inbox = Inbox()
    port = start(inbox)
    send_issue(eml, ["editor@morningtape.example", "chief@morningtape.example"], smtp_config(port))
    [(mail_from, rcpt, content, tls)] = inbox.messages
    assert mail_from == SENDER
    assert rcpt == ["editor@morningtape.example", "chief@morningtape.example"]
    assert not tls
    msg = message_from_bytes(content, policy=policy.default)
    assert msg["To"] == "editor@morningtape.example, chief@morningtape.example"
    assert msg["Subject"] == fixed_issue().stories[0].headline
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]
    # everything after the added To: line is the rendered .eml, byte for byte
    assert content.replace(b"\r\n", b"\n").endswith(eml.replace(b"\r\n", b"\n"))


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_encrypted_send_with_a_private_ca(
    start: Any, eml: bytes, certificate: tuple[Path, Path], security: str
) -> None:
    inbox = Inbox()
    context = _server_context(certificate)
    if security == "starttls":
        port = start(inbox, tls_context=context, require_starttls=True)
    else:
        port = start(inbox, ssl_context=context)
    config = smtp_config(port, security=security, ca_file=str(certificate[0]))
    send_issue(eml, ["editor@morningtape.example"], config)
    [(_, _, _, tls)] = inbox.messages
    assert tls


def test_starttls_refuses_a_server_without_it(start: Any, eml: bytes) -> None:
    inbox = Inbox()
    port = start(inbox)
    with pytest.raises(SendError, match="does not offer STARTTLS"):
        send_issue(eml, ["editor@morningtape.example"], smtp_config(port, security="starttls"))
    assert inbox.messages == []


def test_untrusted_certificate_fails_clearly(
    start: Any, eml: bytes, certificate: tuple[Path, Path]
) -> None:
    inbox = Inbox()
    port = start(inbox, ssl_context=_server_context(certificate))
    with pytest.raises(SendError, match=rf"SMTP 127\.0\.0\.1:{port}: .*CERTIFICATE_VERIFY_FAILED"):
        send_issue(eml, ["editor@morningtape.example"], smtp_config(port, security="tls"))
    assert inbox.messages == []


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"tape"
        and auth_data.password == b"s3cret"
    )
    return AuthResult(success=ok, handled=False)


def test_credentials_come_from_the_environment(
    start: Any, eml: bytes, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = Inbox()
    port = start(
        inbox,
        tls_context=_server_context(certificate),
        authenticator=_authenticator,
        auth_required=True,
    )
    config = smtp_config(
        port,
        security="starttls",
        ca_file=str(certificate[0]),
        username_env="TAPE_SMTP_USER",
        password_env="TAPE_SMTP_PASS",
    )
    monkeypatch.delenv("TAPE_SMTP_PASS", raising=False)
    monkeypatch.setenv("TAPE_SMTP_USER", "tape")
    with pytest.raises(SendError, match=r"environment variable TAPE_SMTP_PASS .* is not set"):
        send_issue(eml, ["editor@morningtape.example"], config)
    monkeypatch.setenv("TAPE_SMTP_PASS", "")  # an empty password is as good as none
    with pytest.raises(SendError, match=r"TAPE_SMTP_PASS \(named by smtp.password_env\) is empty"):
        send_issue(eml, ["editor@morningtape.example"], config)
    monkeypatch.setenv("TAPE_SMTP_PASS", "wrong")
    with pytest.raises(SendError, match="rejected the login: 535"):
        send_issue(eml, ["editor@morningtape.example"], config)
    assert inbox.messages == []
    monkeypatch.setenv("TAPE_SMTP_PASS", "s3cret")
    send_issue(eml, ["editor@morningtape.example"], config)
    assert len(inbox.messages) == 1


def test_server_errors_become_send_errors(start: Any, eml: bytes) -> None:
    inbox = Inbox(reject={"nobody@morningtape.example"})
    port = start(inbox)
    every = r"refused every recipient: nobody@morningtape\.example: 550"
    with pytest.raises(SendError, match=every):
        send_issue(eml, ["nobody@morningtape.example"], smtp_config(port))
    with pytest.raises(SendError, match=r"refused some recipients: nobody@morningtape\.example"):
        send_issue(
            eml, ["nobody@morningtape.example", "editor@morningtape.example"], smtp_config(port)
        )
    closed = _free_port()
    with pytest.raises(SendError, match=rf"SMTP 127\.0\.0\.1:{closed}: ConnectionRefusedError"):
        send_issue(eml, ["editor@morningtape.example"], smtp_config(closed))


def test_smtp_config_errors_name_file_line_and_key(tmp_path: Path) -> None:
    config_file = tmp_path / "config.yaml"
    text = (FIXTURES / "config.yaml").read_text()
    config_file.write_text(text.replace("security: none", "security: ssl"))
    with pytest.raises(ConfigError) as info:
        render_config(config_file)
    line = text.splitlines().index("  security: none") + 1
    assert str(info.value).startswith(f"{config_file}:{line}: key 'smtp.security': ")
    assert "'ssl'" in str(info.value)


@pytest.mark.parametrize("address", ["", "not-an-address", "a@b.example\r\nBcc: x@y.example"])
def test_bad_recipient_is_refused_before_connecting(eml: bytes, address: str) -> None:
    with pytest.raises(SendError):
        send_issue(eml, [address], smtp_config(_free_port()))


# --- the `newsletter send` command -------------------------------------------------


def _outbox(tmp_path: Path, port: int, html_edit: tuple[str, str] | None = None) -> Path:
    config_file = tmp_path / "config.yaml"
    text = (FIXTURES / "config.yaml").read_text().replace("port: 2525", f"port: {port}")
    config_file.write_text(text + "paths:\n  outbox: out\n")
    write_outbox(config_file, html_edit)
    return config_file


def _send(config_file: Path, *extra: str) -> Any:
    return CliRunner().invoke(
        cli,
        [
            "send",
            "--config",
            str(config_file),
            "--date",
            "2026-03-04",
            "--to",
            "editor@morningtape.example",
            *extra,
        ],
    )


def test_cli_send_lints_then_sends(start: Any, tmp_path: Path) -> None:
    inbox = Inbox()
    config_file = _outbox(tmp_path, start(inbox))
    result = _send(config_file)
    assert result.exit_code == 0, result.output
    assert "sent " in result.output and "editor@morningtape.example" in result.output
    [(_, rcpt, content, _)] = inbox.messages
    assert rcpt == ["editor@morningtape.example"]
    assert content.replace(b"\r\n", b"\n").endswith(
        (tmp_path / "out/2026-03-04/issue.eml").read_bytes().replace(b"\r\n", b"\n")
    )


def test_cli_send_marks_the_issue_sent_unless_a_test_send(start: Any, tmp_path: Path) -> None:
    from datetime import date

    from pipeline.config import load_config
    from pipeline.store import open_store

    config_file = _outbox(tmp_path, start(Inbox()))
    state = load_config(config_file).state_path
    assert _send(config_file, "--test").exit_code == 0
    with open_store(state) as store:
        assert store.issue(date(2026, 3, 4)) is None
    assert _send(config_file).exit_code == 0
    with open_store(state) as store:
        assert store.issue(date(2026, 3, 4)) == ("", "sent")


def test_an_interrupted_send_is_never_repeated_unless_forced(start: Any, tmp_path: Path) -> None:
    from datetime import date

    from pipeline.config import load_config
    from pipeline.store import open_store

    inbox = Inbox()
    config_file = _outbox(tmp_path, start(inbox))
    state = load_config(config_file).state_path
    with open_store(state) as store:  # a send killed after the server took the message
        store.record_issue(date(2026, 3, 4), status="sending")
    refused = _send(config_file)
    assert refused.exit_code == SendError.exit_code and "interrupted" in refused.output
    assert inbox.messages == []
    assert _send(config_file, "--force").exit_code == 0
    assert len(inbox.messages) == 1
    with open_store(state) as store:
        assert store.issue(date(2026, 3, 4)) == ("", "sent")


def test_a_refused_send_leaves_the_issue_unsent(tmp_path: Path) -> None:
    from datetime import date

    from pipeline.config import load_config
    from pipeline.store import open_store

    config_file = _outbox(tmp_path, _free_port())  # nothing listens there
    result = _send(config_file)
    assert result.exit_code == SendError.exit_code
    with open_store(load_config(config_file).state_path) as store:
        assert store.issue(date(2026, 3, 4)) == ("", "draft")


def test_cli_send_refuses_blocking_findings_unless_forced(start: Any, tmp_path: Path) -> None:
    inbox = Inbox()
    config_file = _outbox(
        tmp_path, start(inbox), ("The Capacity Glut</h3>", "The Capacity TK</h3>")
    )
    refused = _send(config_file)
    assert refused.exit_code == SendError.exit_code
    assert "placeholder" in refused.output
    assert "1 blocking lint finding(s)" in refused.output and "--force" in refused.output
    assert inbox.messages == []
    forced = _send(config_file, "--force")
    assert forced.exit_code == 0, forced.output
    assert len(inbox.messages) == 1


def test_cli_send_without_a_built_issue_says_what_to_do(tmp_path: Path) -> None:
    config_file = tmp_path / "config.yaml"
    config_file.write_text((FIXTURES / "config.yaml").read_text())
    result = _send(config_file)
    assert result.exit_code == NoIssueError.exit_code
    assert "issue.html" in result.output and "newsletter build --date 2026-03-04" in result.output
