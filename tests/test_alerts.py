"""Alerts: the hook is a real HTTP server on 127.0.0.1 or a real command; firing never raises."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from _schedule_helpers import FIXTURES, AlertServer, make_config, make_site, run_build

from pipeline.alerts import AlertEvent, fire_alert
from pipeline.errors import ConfigError, LockedError, RenderError
from pipeline.models import FeedHealth

RECORDER = FIXTURES / "alerts" / "record_alert.py"
EVENT = AlertEvent.failure(
    "build-failed",
    date(2026, 3, 8),
    RenderError("template issue.mjml.j2:12"),
    "render failed: template issue.mjml.j2:12",
)
AT = datetime(2026, 3, 8, 6, 0, 1, tzinfo=UTC)


def test_the_payload_is_the_same_bytes_for_every_hook() -> None:
    assert EVENT.to_json("Ledger", AT) == (
        b'{"newsletter": "Ledger", "time": "2026-03-08T06:00:01+00:00", "kind": "build-failed",'
        b' "edition": "2026-03-08", "exit_code": 1, "error": "RenderError",'
        b' "message": "render failed: template issue.mjml.j2:12"}'
    )


def test_each_kind_carries_its_fields_in_the_order_hooks_read_them() -> None:
    day, due = date(2026, 3, 8), datetime(2026, 3, 8, 6, 0, tzinfo=UTC)
    gone = FeedHealth(
        "https://gone.example/feed", "Gone Gazette", "gone", 1, last_error="HTTP 410", alert=True
    )
    events = {
        "send-failed": AlertEvent.failure("send-failed", day, LockedError("pid 7"), "not sent"),
        "few-stories": AlertEvent("few-stories", "2 < 5", day, stories=2, min_stories=5),
        "feeds-failing": AlertEvent("feeds-failing", "1 feed", day, feeds=(gone,)),
        "build-missed": AlertEvent("build-missed", "skipped", due=due),
    }
    got = {kind: json.loads(e.to_json("Ledger", AT)) for kind, e in events.items()}
    head = ["newsletter", "time", "kind"]
    assert {kind: list(data) for kind, data in got.items()} == {
        "send-failed": [*head, "edition", "exit_code", "error", "message"],
        "few-stories": [*head, "edition", "stories", "min_stories", "message"],
        "feeds-failing": [*head, "edition", "feeds", "message"],
        "build-missed": [*head, "message", "due"],
    }
    assert got["send-failed"]["exit_code"] == 3 and got["send-failed"]["error"] == "LockedError"
    assert got["feeds-failing"]["feeds"] == [
        {
            "source": "https://gone.example/feed",
            "name": "Gone Gazette",
            "failures": 1,
            "error": "HTTP 410",
            "status": "gone",
        }
    ]
    assert got["build-missed"]["due"] == "2026-03-08T06:00:00+00:00"


def test_no_hook_configured_does_nothing(tmp_path: Path) -> None:
    assert fire_alert(make_config(tmp_path), EVENT) is None


def test_url_hook_receives_the_event_as_json(tmp_path: Path) -> None:
    with AlertServer().running() as server:
        config = make_config(tmp_path, {"alerts": {"url": server.url}})
        assert fire_alert(config, EVENT) is None
    assert len(server.received) == 1
    got = server.received[0]
    assert got["path"] == "/hook"
    assert got["type"] == "application/json"
    assert got["json"]["kind"] == "build-failed"
    assert got["json"]["edition"] == "2026-03-08"
    assert got["json"]["newsletter"] == "The Test Ledger"
    assert got["json"]["time"].endswith("+00:00")


def test_url_hook_refusing_returns_the_status(tmp_path: Path) -> None:
    with AlertServer(status=503).running() as server:
        config = make_config(tmp_path, {"alerts": {"url": server.url}})
        error = fire_alert(config, EVENT)
    assert error is not None
    assert server.url in error and "HTTP 503" in error


def test_slow_url_hook_is_cut_off_at_the_timeout(tmp_path: Path) -> None:
    with AlertServer(delay=3.0).running() as server:
        config = make_config(tmp_path, {"alerts": {"url": server.url, "timeout": 0.3}})
        start = time.monotonic()
        error = fire_alert(config, EVENT)
        elapsed = time.monotonic() - start
    assert error is not None and "timed out" in error
    assert elapsed < 2.5


def test_unreachable_url_is_an_error_string_not_an_exception(tmp_path: Path) -> None:
    server = AlertServer()  # bound, then closed: nothing listens on that port any more
    url = server.url
    server.server.server_close()
    config = make_config(tmp_path, {"alerts": {"url": url, "timeout": 1}})
    error = fire_alert(config, EVENT)
    assert error is not None and url in error


def test_command_hook_gets_json_on_stdin_and_env(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    config = make_config(
        tmp_path, {"alerts": {"command": [sys.executable, str(RECORDER), str(out)]}}
    )
    assert fire_alert(config, EVENT) is None
    line = json.loads(out.read_text(encoding="utf-8"))
    assert line["event"]["kind"] == "build-failed"
    assert line["kind"] == "build-failed"
    assert line["message"] == EVENT.message


def test_command_hook_given_as_one_string(tmp_path: Path) -> None:
    out = tmp_path / "with space" / "alerts.jsonl"
    out.parent.mkdir()
    command = f"'{sys.executable}' '{RECORDER}' '{out}'"
    config = make_config(tmp_path, {"alerts": {"command": command}})
    assert fire_alert(config, EVENT) is None
    assert out.exists()


def test_failing_command_reports_exit_code_and_stderr(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    config = make_config(
        tmp_path, {"alerts": {"command": [sys.executable, str(RECORDER), str(out), "7"]}}
    )
    error = fire_alert(config, EVENT)
    assert error is not None
    assert "exited with 7" in error and "hook refused the alert" in error


def test_hanging_command_is_killed_at_the_timeout(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        {
            "alerts": {
                "command": [sys.executable, "-c", "import time; time.sleep(30)"],
                "timeout": 0.3,
            }
        },
    )
    start = time.monotonic()
    error = fire_alert(config, EVENT)
    assert error is not None and "timed out after 0.3 s" in error
    assert time.monotonic() - start < 5


def test_missing_command_is_an_error_string(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"alerts": {"command": "/nonexistent/alert-hook --now"}})
    error = fire_alert(config, EVENT)
    assert error is not None and "/nonexistent/alert-hook" in error


def test_command_and_url_both_fire(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    with AlertServer().running() as server:
        config = make_config(
            tmp_path,
            {"alerts": {"url": server.url, "command": [sys.executable, str(RECORDER), str(out)]}},
        )
        assert fire_alert(config, EVENT) is None
    assert len(server.received) == 1
    assert out.exists()


def test_bad_alert_url_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        make_config(tmp_path, {"alerts": {"url": "hooks.example/alert"}})
    assert "alerts.url" in str(info.value) and "hooks.example/alert" in str(info.value)


# -- alerts fired by real builds ------------------------------------------------------


@pytest.mark.slow
def test_a_healthy_build_fires_nothing(tmp_path: Path) -> None:
    with AlertServer().running() as server:
        config = make_site(tmp_path, {"alerts": {"url": server.url}})
        assert run_build(config).returncode == 0
    assert server.received == []


@pytest.mark.slow
def test_a_build_with_no_issue_fires_build_failed(tmp_path: Path) -> None:
    with AlertServer().running() as server:
        config = make_config(
            tmp_path,
            {
                "sources": {"feeds": [{"url": "missing-feed.xml", "name": "Gone Gazette"}]},
                "alerts": {"url": server.url},
            },
        )
        done = run_build(config)
    assert done.returncode == 4, done.stderr
    assert [r["json"]["kind"] for r in server.received] == ["build-failed"]
    event = server.received[0]["json"]
    assert event["exit_code"] == 4 and event["error"] == "NoIssueError"
    assert "nothing to build" in event["message"]


@pytest.mark.slow
def test_fewer_stories_than_the_minimum_fires_few_stories(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    config = make_site(
        tmp_path,
        {"alerts": {"min_stories": 5, "command": [sys.executable, str(RECORDER), str(out)]}},
    )
    assert run_build(config).returncode == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["kind"] for line in lines] == ["few-stories"]
    assert lines[0]["event"]["stories"] == 3 and lines[0]["event"]["min_stories"] == 5


@pytest.mark.slow
def test_a_feed_failing_past_its_threshold_fires_feeds_failing(tmp_path: Path) -> None:
    with AlertServer().running() as server:
        config = make_site(
            tmp_path, {"alerts": {"url": server.url}, "fetch": {"alert_after_failures": 2}}
        )
        path = Path(config.root) / "config.yaml"
        path.write_text(
            path.read_text(encoding="utf-8").replace(
                "  feeds:\n", "  feeds:\n  - url: missing-feed.xml\n    name: Gone Gazette\n"
            ),
            encoding="utf-8",
        )
        assert run_build(config).returncode == 0
        assert server.received == [], "one failure is below the threshold of 2"
        assert run_build(config).returncode == 0
    assert [r["json"]["kind"] for r in server.received] == ["feeds-failing"]
    feeds = server.received[0]["json"]["feeds"]
    assert len(feeds) == 1 and feeds[0]["failures"] == 2
    assert "missing-feed.xml" in feeds[0]["source"]
