"""Campaigns on list providers (`newsletter send --via`), against loopback servers that speak
listmonk's, Buttondown's and Mailchimp's documented APIs (tests/listservers.py)."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from listservers import (
    ButtondownServer,
    ListmonkServer,
    MailchimpServer,
    ProviderServer,
    Scripted,
)
from render_samples import FIXTURES, fixed_issue, render_config, write_outbox

from pipeline.cli import cli
from pipeline.config import Config, load_config
from pipeline.errors import ConfigError, SendError, UncertainSendError
from pipeline.lists import create_campaign, hand_off
from pipeline.models import RenderedIssue
from pipeline.render import render
from pipeline.store import open_store

EDITION = date(2026, 3, 4)
TOKEN = "lm-token-8f3e1c"  # secrets of the loopback servers: never in a config, a message or a file
BD_KEY = "bd-key-5a9d22"
MC_KEY = "0123456789abcdef0123456789abcdef-us21"


def _later() -> datetime:
    """A quarter-hour two days ahead, in UTC (every provider takes it)."""
    soon = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=2)
    return soon - timedelta(minutes=soon.minute % 15)


@pytest.fixture(scope="module")
def rendered() -> RenderedIssue:
    return render(fixed_issue(), render_config())


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("TAPE_LM_USER", "tape-api")
    monkeypatch.setenv("TAPE_LM_TOKEN", TOKEN)
    monkeypatch.setenv("TAPE_BD_KEY", BD_KEY)
    monkeypatch.setenv("TAPE_MC_KEY", MC_KEY)
    return monkeypatch


@pytest.fixture
def listmonk() -> Iterator[ListmonkServer]:
    server = ListmonkServer("tape-api", TOKEN)
    yield server
    server.close()


@pytest.fixture
def buttondown() -> Iterator[ButtondownServer]:
    server = ButtondownServer(BD_KEY)
    yield server
    server.close()


@pytest.fixture
def mailchimp() -> Iterator[MailchimpServer]:
    server = MailchimpServer(MC_KEY)
    yield server
    server.close()


def _block(server: ProviderServer, **extra: Any) -> str:
    """The config's ``list:`` block for ``server``: env var names only, never a secret."""
    if isinstance(server, ListmonkServer):
        keys = {
            "provider": "listmonk",
            "base_url": server.base,
            "list_id": "[3, 4]",
            "username_env": "TAPE_LM_USER",
            "api_key_env": "TAPE_LM_TOKEN",
        }
    elif isinstance(server, ButtondownServer):
        keys = {
            "provider": "buttondown",
            "base_url": server.base + "/v1",
            "api_key_env": "TAPE_BD_KEY",
        }
    else:
        keys = {
            "provider": "mailchimp",
            "base_url": server.base + "/3.0",
            "list_id": "a1b2c3d4e5",
            "api_key_env": "TAPE_MC_KEY",
        }
    keys |= {"timeout": "5", "retry_backoff": "0.05", **extra}
    return "list:\n" + "".join(f"  {k}: {v}\n" for k, v in keys.items())


def _config_file(tmp_path: Path, block: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text((FIXTURES / "config.yaml").read_text() + "paths:\n  outbox: out\n" + block)
    return path


def _config(tmp_path: Path, server: ProviderServer, **extra: Any) -> Config:
    return load_config(_config_file(tmp_path, _block(server, **extra)))


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- each provider: the documented requests, a draft and a scheduled campaign ---------------


def test_listmonk_draft_is_one_create_with_the_issue(
    tmp_path: Path, env: Any, listmonk: ListmonkServer, rendered: RenderedIssue
) -> None:
    campaign = create_campaign(_config(tmp_path, listmonk), rendered, EDITION, schedule=None)
    assert (campaign.provider, campaign.id, campaign.status) == ("listmonk", "1", "draft")
    assert campaign.url == f"{listmonk.base}/admin/campaigns/1"
    [create] = listmonk.seen
    assert (create.method, create.path) == ("POST", "/api/campaigns")
    assert create.header("Authorization") == _basic("tape-api", TOKEN)
    assert create.header("Content-Type") == "application/json"
    body = create.body
    assert body["lists"] == [3, 4] and body["type"] == "regular"
    assert body["content_type"] == "html"
    assert body["body"] == rendered.html and body["altbody"] == rendered.text
    assert body["subject"] == rendered.subject == fixed_issue().stories[0].headline
    assert body["name"] == "The Morning Tape 2026-03-04"
    assert body["from_email"] == "The Morning Tape <desk@morningtape.example>"
    assert "send_at" not in body
    assert listmonk.campaigns[1]["status"] == "draft"


def test_listmonk_schedules_after_creating(
    tmp_path: Path, env: Any, listmonk: ListmonkServer, rendered: RenderedIssue
) -> None:
    when = _later()
    campaign = create_campaign(_config(tmp_path, listmonk), rendered, EDITION, schedule=when)
    assert (campaign.status, campaign.send_at) == ("scheduled", when)
    create, status = listmonk.seen
    assert datetime.fromisoformat(create.body["send_at"]) == when
    assert (status.method, status.path, status.body) == (
        "PUT",
        "/api/campaigns/1/status",
        {"status": "scheduled"},
    )
    assert status.header("Authorization") == _basic("tape-api", TOKEN)
    assert listmonk.campaigns[1]["status"] == "scheduled"


def test_buttondown_draft_always_says_draft(
    tmp_path: Path, env: Any, buttondown: ButtondownServer, rendered: RenderedIssue
) -> None:
    campaign = create_campaign(_config(tmp_path, buttondown), rendered, EDITION, schedule=None)
    [create] = buttondown.seen
    assert (create.method, create.path) == ("POST", "/v1/emails")
    assert create.header("Authorization") == f"Token {BD_KEY}"
    assert create.body["status"] == "draft"  # left out, Buttondown would send it at once
    assert create.body["subject"] == rendered.subject
    assert create.body["body"].endswith(rendered.html)
    assert create.body["body"].startswith("<!-- buttondown-editor-mode: fancy -->")
    email = buttondown.emails[campaign.id]
    assert (campaign.status, email["status"]) == ("draft", "draft")
    assert campaign.url == email["absolute_url"]


def test_buttondown_schedules_in_one_request(
    tmp_path: Path, env: Any, buttondown: ButtondownServer, rendered: RenderedIssue
) -> None:
    when = _later()
    campaign = create_campaign(_config(tmp_path, buttondown), rendered, EDITION, schedule=when)
    [create] = buttondown.seen
    assert create.body["status"] == "scheduled"
    assert datetime.fromisoformat(create.body["publish_date"]) == when
    assert (campaign.status, buttondown.emails[campaign.id]["status"]) == ("scheduled", "scheduled")


def test_mailchimp_draft_has_both_parts(
    tmp_path: Path, env: Any, mailchimp: MailchimpServer, rendered: RenderedIssue
) -> None:
    campaign = create_campaign(_config(tmp_path, mailchimp), rendered, EDITION, schedule=None)
    create, content = mailchimp.seen
    assert (create.method, create.path) == ("POST", "/3.0/campaigns")
    assert create.body == {
        "type": "regular",
        "recipients": {"list_id": "a1b2c3d4e5"},
        "settings": {
            "subject_line": rendered.subject,
            "title": "The Morning Tape 2026-03-04",
            "from_name": "The Morning Tape",
            "reply_to": "letters@morningtape.example",
        },
    }
    assert (content.method, content.path) == ("PUT", f"/3.0/campaigns/{campaign.id}/content")
    assert content.body == {"html": rendered.html, "plain_text": rendered.text}
    for seen in (create, content):
        user, _, password = (
            base64.b64decode(seen.header("Authorization")[6:]).decode().partition(":")
        )
        assert user and password == MC_KEY
    assert mailchimp.campaigns[campaign.id]["status"] == "save"
    # the data center comes from the key's suffix even when the API root is overridden
    web_id = mailchimp.campaigns[campaign.id]["web_id"]
    assert campaign.url == f"https://us21.admin.mailchimp.com/campaigns/show/?id={web_id}"


def test_mailchimp_schedules_on_the_quarter_hour_only(
    tmp_path: Path, env: Any, mailchimp: MailchimpServer, rendered: RenderedIssue
) -> None:
    config = _config(tmp_path, mailchimp)
    with pytest.raises(SendError, match="quarter-hour"):
        create_campaign(config, rendered, EDITION, schedule=_later() + timedelta(minutes=7))
    assert mailchimp.seen == []  # refused before anything was created
    when = _later()
    campaign = create_campaign(config, rendered, EDITION, schedule=when)
    schedule = mailchimp.seen[-1]
    assert (schedule.method, schedule.path) == (
        "POST",
        f"/3.0/campaigns/{campaign.id}/actions/schedule",
    )
    assert datetime.fromisoformat(schedule.body["schedule_time"]) == when
    assert (campaign.status, mailchimp.campaigns[campaign.id]["status"]) == (
        "scheduled",
        "schedule",
    )


def test_a_time_in_the_past_is_refused_before_asking(
    tmp_path: Path, env: Any, listmonk: ListmonkServer, rendered: RenderedIssue
) -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    with pytest.raises(SendError, match="not in the future"):
        create_campaign(_config(tmp_path, listmonk), rendered, EDITION, schedule=past)
    assert listmonk.seen == []


# --- retries, refusals and secrets ----------------------------------------------------------


@pytest.fixture(params=["listmonk", "buttondown", "mailchimp"])
def provider(request: pytest.FixtureRequest) -> ProviderServer:
    """Each provider's server in turn."""
    server: ProviderServer = request.getfixturevalue(request.param)
    return server


@pytest.mark.slow
def test_429_waits_as_long_as_retry_after_says(
    tmp_path: Path, env: Any, provider: ProviderServer, rendered: RenderedIssue
) -> None:
    path = provider.create_path
    provider.queue("POST", path, Scripted(429, {"detail": "slow down"}, {"Retry-After": "1"}))
    start = time.monotonic()
    campaign = create_campaign(_config(tmp_path, provider), rendered, EDITION, schedule=None)
    assert time.monotonic() - start >= 1.0
    assert len(provider.requests("POST", path)) == 2
    assert campaign.status == "draft"


def test_retry_after_beyond_the_budget_fails_at_once(
    tmp_path: Path, env: Any, listmonk: ListmonkServer, rendered: RenderedIssue
) -> None:
    listmonk.queue(
        "POST", "/api/campaigns", Scripted(429, {"message": "busy"}, {"Retry-After": "600"})
    )
    config = _config(tmp_path, listmonk, retry_wait_max="30")
    start = time.monotonic()
    with pytest.raises(
        SendError, match=r"waiting 600 s more .* over list\.retry_wait_max \(30 s\)"
    ):
        create_campaign(config, rendered, EDITION, schedule=None)
    assert time.monotonic() - start < 5
    assert len(listmonk.seen) == 1 and listmonk.campaigns == {}


def test_a_5xx_is_retried_on_a_step_safe_to_repeat(
    tmp_path: Path, env: Any, mailchimp: MailchimpServer, rendered: RenderedIssue
) -> None:
    content = r"/3\.0/campaigns/\w+/content"
    mailchimp.queue("PUT", content, Scripted(500, {"title": "Internal Server Error"}))
    campaign = create_campaign(_config(tmp_path, mailchimp), rendered, EDITION, schedule=None)
    assert len(mailchimp.requests("PUT", f"/3.0/campaigns/{campaign.id}/content")) == 2
    assert len(mailchimp.requests("POST", "/3.0/campaigns")) == 1  # the create is not repeated
    assert mailchimp.campaigns[campaign.id]["content"]["html"] == rendered.html


def test_a_5xx_on_a_create_is_never_repeated(
    tmp_path: Path, env: Any, listmonk: ListmonkServer, rendered: RenderedIssue
) -> None:
    listmonk.queue("POST", "/api/campaigns", Scripted(500, {"message": "db timeout"}))
    with pytest.raises(UncertainSendError, match="may have created the campaign"):
        create_campaign(_config(tmp_path, listmonk), rendered, EDITION, schedule=None)
    assert len(listmonk.seen) == 1


def test_a_503_on_a_create_is_retried(
    tmp_path: Path, env: Any, buttondown: ButtondownServer, rendered: RenderedIssue
) -> None:
    buttondown.queue("POST", "/v1/emails", Scripted(503, {"detail": "maintenance"}))
    campaign = create_campaign(_config(tmp_path, buttondown), rendered, EDITION, schedule=None)
    assert len(buttondown.seen) == 2 and list(buttondown.emails) == [campaign.id]


def test_wrong_credentials_are_named_not_shown(
    tmp_path: Path, env: pytest.MonkeyPatch, provider: ProviderServer, rendered: RenderedIssue
) -> None:
    config = _config(tmp_path, provider)
    variable = config.mailing_list.api_key_env
    wrong = "wrong-secret-0000-us21"
    env.setenv(variable, wrong)
    with pytest.raises(SendError) as info:
        create_campaign(config, rendered, EDITION, schedule=None)
    message = str(info.value)
    status = 403 if isinstance(provider, ListmonkServer) else 401
    told = {
        "listmonk": "invalid API credentials",
        "buttondown": "Invalid token.",
        "mailchimp": "API Key Invalid: Your API key may be invalid",
    }[str(config.mailing_list.provider)]
    settings = config.mailing_list
    assert message.startswith(f"{settings.provider} POST {provider.base}{provider.create_path}")
    assert f"refused the credentials ({status}: {told}" in message
    assert f"${variable}" in message
    assert wrong not in message
    assert len(provider.seen) == 1  # a refused login is not retried


@pytest.mark.parametrize(
    ("make", "answer", "told"),
    [
        (
            "listmonk",
            {"message": "one or more lists not found"},
            "answered 400: one or more lists not found",
        ),
        (
            "buttondown",
            {"code": "email_duplicate", "detail": "An email with the same identifiers exists."},
            "answered 400: An email with the same identifiers exists. (email_duplicate)",
        ),
        (
            "mailchimp",
            {
                "title": "Invalid Resource",
                "detail": "Your request doesn't match the schema.",
                "errors": [{"field": "recipients.list_id", "message": "Invalid list id"}],
            },
            "answered 400: Invalid Resource: Your request doesn't match the schema."
            " (recipients.list_id: Invalid list id)",
        ),
    ],
)
def test_a_refusal_carries_the_providers_own_words(
    tmp_path: Path,
    env: Any,
    make: str,
    answer: dict[str, Any],
    told: str,
    rendered: RenderedIssue,
    request: pytest.FixtureRequest,
) -> None:
    server: ProviderServer = request.getfixturevalue(make)
    server.queue("POST", server.create_path, Scripted(400, answer))
    with pytest.raises(SendError) as info:
        create_campaign(_config(tmp_path, server), rendered, EDITION, schedule=None)
    assert not isinstance(info.value, UncertainSendError)
    assert str(info.value) == f"{make} POST {server.base}{server.create_path} {told}"
    assert len(server.seen) == 1


def test_the_real_validation_answers_reach_the_user(
    tmp_path: Path,
    env: Any,
    listmonk: ListmonkServer,
    mailchimp: MailchimpServer,
    rendered: RenderedIssue,
) -> None:
    with pytest.raises(SendError, match="answered 400: one or more lists not found"):
        create_campaign(
            _config(tmp_path, listmonk, list_id="[3, 99]"), rendered, EDITION, schedule=None
        )
    with pytest.raises(SendError, match=r"recipients\.list_id: Invalid list id 'zzz'"):
        create_campaign(
            _config(tmp_path, mailchimp, list_id="zzz"), rendered, EDITION, schedule=None
        )


def test_credentials_come_from_the_environment_only(
    tmp_path: Path, env: pytest.MonkeyPatch, listmonk: ListmonkServer, rendered: RenderedIssue
) -> None:
    config = _config(tmp_path, listmonk)
    env.delenv("TAPE_LM_TOKEN")
    with pytest.raises(
        SendError,
        match=r"config\.yaml: environment variable TAPE_LM_TOKEN \(named by list\.api_key_env\)"
        r" is not set",
    ):
        create_campaign(config, rendered, EDITION, schedule=None)
    env.setenv("TAPE_LM_TOKEN", "")
    with pytest.raises(SendError, match=r"TAPE_LM_TOKEN .* is empty"):
        create_campaign(config, rendered, EDITION, schedule=None)
    assert listmonk.seen == []
    # a secret written into the file is refused: the file only names variables
    block = _block(listmonk) + f"  api_key: {TOKEN}\n"
    with pytest.raises(ConfigError, match=r"key 'list\.api_key': unknown key") as info:
        load_config(_config_file(tmp_path, block))
    assert TOKEN not in str(info.value)


def test_a_mailchimp_key_without_its_data_center_is_refused(
    tmp_path: Path, env: pytest.MonkeyPatch, mailchimp: MailchimpServer, rendered: RenderedIssue
) -> None:
    env.setenv("TAPE_MC_KEY", "0123456789abcdef")
    with pytest.raises(
        SendError, match=r"key in \$TAPE_MC_KEY does not end in its data center"
    ) as info:
        create_campaign(_config(tmp_path, mailchimp), rendered, EDITION, schedule=None)
    assert "0123456789abcdef" not in str(info.value)
    assert mailchimp.seen == []


@pytest.mark.parametrize(
    ("block", "error"),
    [
        (
            "list:\n  provider: listmonk\n  api_key_env: T\n  username_env: U\n  list_id: 3\n",
            "provider listmonk needs base_url",
        ),
        (
            "list:\n  provider: listmonk\n  base_url: https://l.example\n  api_key_env: T\n"
            "  username_env: U\n  list_id: [news]\n",
            "needs list_id (one or more listmonk list numbers)",
        ),
        ("list:\n  provider: mailchimp\n  api_key_env: T\n", "needs list_id (the one audience id)"),
        ("list:\n  provider: buttondown\n", "needs api_key_env"),
        ("list:\n  provider: buttondown\n  api_key_env: T\n  list_id: x\n", "leave list_id out"),
        ("list:\n  provider: sendgrid\n", "'listmonk', 'buttondown' or 'mailchimp'"),
        ("list:\n  provider: buttondown\n  api_key_env: T\n  base_url: api.example\n", "http"),
    ],
)
def test_the_list_block_is_checked_with_file_and_line(
    tmp_path: Path, block: str, error: str
) -> None:
    path = _config_file(tmp_path, block)
    line = path.read_text().splitlines().index("list:") + 1
    with pytest.raises(ConfigError, match=re.escape(error)) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:")
    assert info.value.line is not None and info.value.line >= line
    assert (info.value.key or "").startswith("list")


def test_a_failure_after_the_create_names_the_campaign_left(
    tmp_path: Path, env: Any, listmonk: ListmonkServer, rendered: RenderedIssue
) -> None:
    listmonk.queue(
        "PUT", r"/api/campaigns/\d+/status", Scripted(400, {"message": "cannot schedule"})
    )
    with pytest.raises(SendError) as info:
        hand_off(_config(tmp_path, listmonk), EDITION, rendered, via="listmonk", schedule=_later())
    assert str(info.value).endswith(
        "answered 400: cannot schedule; campaign 1 stays on listmonk as a draft:"
        " schedule or delete it there"
    )
    config = _config(tmp_path, listmonk)
    with open_store(config.state_path) as store:
        [left] = store.campaigns(EDITION)
        assert store.issue(EDITION) == ("", "draft")  # refused: nothing went out
    assert (left.id, left.status) == ("1", "draft")
    with pytest.raises(SendError, match="campaign 1 already created on listmonk"):
        hand_off(config, EDITION, rendered, via="listmonk", schedule=_later())
    assert len(listmonk.requests("POST", "/api/campaigns")) == 1


# --- `newsletter send --via`: lint first, at most once -------------------------------------


def _outbox(
    tmp_path: Path, server: ProviderServer, html_edit: tuple[str, str] | None = None, **extra: Any
) -> Path:
    config_file = _config_file(tmp_path, _block(server, **extra))
    write_outbox(config_file, html_edit)
    return config_file


def _send_via(config_file: Path, *args: str) -> Any:
    argv = ["send", "--config", str(config_file), "--date", "2026-03-04", *args]
    return CliRunner().invoke(cli, argv)


def _state(config_file: Path) -> tuple[tuple[str, str] | None, list[tuple[str, str, str]]]:
    with open_store(load_config(config_file).state_path) as store:
        campaigns = [(c.provider, c.id, c.status) for c in store.campaigns(EDITION)]
        return store.issue(EDITION), campaigns


def test_cli_creates_one_campaign_and_refuses_a_second(
    tmp_path: Path, env: Any, listmonk: ListmonkServer
) -> None:
    config_file = _outbox(tmp_path, listmonk)
    first = _send_via(config_file, "--via", "listmonk")
    assert first.exit_code == 0, first.output
    assert f"created campaign 1 on listmonk: {listmonk.base}/admin/campaigns/1" in first.output
    assert "a draft, not sent: review and send it from listmonk" in first.output
    assert _state(config_file) == (("", "sent"), [("listmonk", "1", "draft")])
    html = (tmp_path / "out/2026-03-04/issue.html").read_text(encoding="utf-8")
    assert listmonk.campaigns[1]["body"] == html  # the outbox's files, as they are on disk

    second = _send_via(config_file, "--via", "listmonk")
    assert second.exit_code == SendError.exit_code
    assert "error: campaign 1 already created on listmonk" in second.output
    assert second.output.rstrip().endswith("--force to create another")
    assert len(listmonk.requests("POST", "/api/campaigns")) == 1

    forced = _send_via(config_file, "--via", "listmonk", "--force")
    assert forced.exit_code == 0, forced.output
    assert "created campaign 2 on listmonk" in forced.output
    assert _state(config_file)[1] == [("listmonk", "1", "draft"), ("listmonk", "2", "draft")]


def test_cli_schedules_at_the_newsletters_local_time(
    tmp_path: Path, env: Any, buttondown: ButtondownServer
) -> None:
    config_file = _outbox(tmp_path, buttondown)
    when = _later()
    local = when.astimezone(ZoneInfo("America/Chicago")).strftime("%Y-%m-%dT%H:%M")
    result = _send_via(config_file, "--via", "buttondown", "--schedule", local)
    assert result.exit_code == 0, result.output
    assert f"scheduled: buttondown sends it at {when:%Y-%m-%d %H:%M} UTC" in result.output
    [email] = buttondown.emails.values()
    assert email["status"] == "scheduled"
    assert datetime.fromisoformat(email["publish_date"]) == when
    issue, [(_, _, status)] = _state(config_file)
    assert (issue, status) == (("", "sent"), "scheduled")


def test_cli_lint_errors_refuse_before_any_request(
    tmp_path: Path, env: Any, mailchimp: MailchimpServer
) -> None:
    config_file = _outbox(tmp_path, mailchimp, ("The Capacity Glut</h3>", "The Capacity TK</h3>"))
    refused = _send_via(config_file, "--via", "mailchimp")
    assert refused.exit_code == SendError.exit_code
    assert "placeholder" in refused.output and "1 blocking lint finding(s)" in refused.output
    assert mailchimp.seen == []
    assert _state(config_file) == (None, [])


def test_cli_an_interrupted_send_is_not_repeated_unless_forced(
    tmp_path: Path, env: Any, listmonk: ListmonkServer
) -> None:
    config_file = _outbox(tmp_path, listmonk)
    with open_store(load_config(config_file).state_path) as store:
        store.record_issue(EDITION, status="sending")  # a run killed mid-send
    refused = _send_via(config_file, "--via", "listmonk")
    assert refused.exit_code == SendError.exit_code and "interrupted" in refused.output
    assert listmonk.seen == []
    assert _send_via(config_file, "--via", "listmonk", "--force").exit_code == 0
    assert _state(config_file) == (("", "sent"), [("listmonk", "1", "draft")])


@pytest.mark.slow
def test_cli_a_lost_answer_leaves_the_issue_sending(
    tmp_path: Path, env: Any, buttondown: ButtondownServer
) -> None:
    config_file = _outbox(tmp_path, buttondown, timeout="0.5")
    # Buttondown makes the email but answers too late: it may exist, so nothing retries
    buttondown.queue("POST", "/v1/emails", Scripted(201, delay=1.5, then_act=True))
    lost = _send_via(config_file, "--via", "buttondown")
    assert lost.exit_code == SendError.exit_code
    assert "the answer was lost (ReadTimeout" in lost.output
    assert "may have created the campaign: check there" in lost.output
    assert len(buttondown.requests("POST", "/v1/emails")) == 1
    assert _state(config_file) == (("", "sending"), [])
    again = _send_via(config_file, "--via", "buttondown")
    assert again.exit_code == SendError.exit_code and "interrupted" in again.output
    assert len(buttondown.requests("POST", "/v1/emails")) == 1
    deadline = time.monotonic() + 5
    while not buttondown.emails and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(buttondown.emails) == 1  # it was made: a retry would have made two


def test_cli_an_issue_sent_by_smtp_is_not_handed_to_a_list(
    tmp_path: Path, env: Any, listmonk: ListmonkServer
) -> None:
    config_file = _outbox(tmp_path, listmonk)
    with open_store(load_config(config_file).state_path) as store:
        store.record_issue(EDITION, status="sent")
    refused = _send_via(config_file, "--via", "listmonk")
    assert refused.exit_code == SendError.exit_code
    assert "already marked sent; --force" in refused.output
    assert listmonk.seen == []


def test_cli_never_shows_or_stores_a_secret(
    tmp_path: Path, env: pytest.MonkeyPatch, mailchimp: MailchimpServer
) -> None:
    config_file = _outbox(tmp_path, mailchimp)
    ok = _send_via(config_file, "--via", "mailchimp")
    assert ok.exit_code == 0, ok.output
    env.setenv("TAPE_MC_KEY", "ffffffffffffffffffffffffffffffff-us21")
    refused = _send_via(config_file, "--via", "mailchimp", "--force")
    assert refused.exit_code == SendError.exit_code and "$TAPE_MC_KEY" in refused.output
    for output in (ok.output, refused.output):
        assert MC_KEY not in output and "ffffffffffffffff" not in output
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert MC_KEY.encode() not in data and b"ffffffffffffffff" not in data, path


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--schedule", "2030-01-01T06:00"], 2, "--schedule is for a list provider: add --via"),
        ([], 2, "name a recipient with --to"),
        (["--via", "listmonk", "--to", "a@b.example"], 2, "--to and --test are for SMTP sends"),
        (["--via", "mailchimp"], 5, "--via mailchimp, but list.provider in"),
        (["--via", "listmonk", "--schedule", "tomorrow"], 5, "is not an ISO 8601 time"),
        (["--via", "listmonk", "--schedule", "2001-01-01T06:00"], 5, "is not in the future"),
    ],
)
def test_cli_send_options_are_checked_before_anything_goes_out(
    tmp_path: Path, env: Any, listmonk: ListmonkServer, args: list[str], code: int, said: str
) -> None:
    config_file = _outbox(tmp_path, listmonk)
    result = _send_via(config_file, *args)
    assert result.exit_code == code
    assert said in result.output
    assert listmonk.seen == []
    assert _state(config_file) == (None, [])
