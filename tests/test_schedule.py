"""`newsletter schedule` as a real process: next run times at start, clean stop on
SIGTERM/SIGINT, one scheduler per job store, a missed build caught up once per date."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from _schedule_helpers import (
    AlertServer,
    Scheduler,
    at,
    local_zone,
    make_config,
    make_site,
    no_scheduler_left_running,  # noqa: F401 (autouse: no scheduler outlives its test)
)
from aiosmtpd.controller import Controller
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from newsletter_cli import CLI

from pipeline.config import Config
from pipeline.schedule import DailyTrigger

pytestmark = pytest.mark.slow  # the scheduler and the CLI as real processes

FILES = ("draft.md", "issue.html", "issue.txt", "issue.eml", "report.json")


def quiet_schedule(zone: str, **extra: Any) -> dict[str, Any]:
    """A schedule whose build is hours away and which does not ingest on its own."""
    return {
        "newsletter": {"timezone": zone},
        "schedule": {"build_at": at(zone, 180), "ingest_every_minutes": 0, **extra},
    }


def remember_due(config: Config, due: datetime) -> None:
    """Set the job store's remembered next build back to ``due``, through APScheduler."""
    store = SQLAlchemyJobStore(url=f"sqlite:///{config.jobstore_path}")
    store.start(BlockingScheduler(), "default")  # never started: only names the owner
    job = store.lookup_job("build")
    job.next_run_time = due
    store.update_job(job)
    store.shutdown()


def missed_build_site(
    tmp_path: Path, zone: str, *, minutes_ago: int, grace: int, **extra: Any
) -> Config:
    """A site whose daily build was due ``minutes_ago`` minutes ago, with no scheduler up."""
    schedule = {
        **extra.pop("schedule", {}),
        "build_at": at(zone, -minutes_ago),
        "ingest_every_minutes": 0,
        "misfire_grace_seconds": grace,
    }
    return make_site(tmp_path, {"newsletter": {"timezone": zone}, "schedule": schedule, **extra})


def runs(config: Config) -> int:
    with sqlite3.connect(config.state_path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_start_logs_next_runs_and_a_signal_stops_it_cleanly(tmp_path: Path, sig: int) -> None:
    zone = local_zone()
    config = make_config(tmp_path, quiet_schedule(zone))
    now = datetime.now(ZoneInfo(zone))
    expected = DailyTrigger.from_config(config).get_next_fire_time(None, now)
    assert expected is not None
    sched = Scheduler(config)
    line = sched.wait_for("next build:")
    assert expected.isoformat("T", "seconds") in line["message"]
    assert line["level"] == "info" and line["logger"] == "pipeline.schedule"
    start = time.monotonic()
    sched.proc.send_signal(sig)
    assert sched.finish() == 0
    assert time.monotonic() - start < 5
    assert "scheduler stopped" in sched.messages()
    assert sched.proc.stdout is not None and sched.proc.stdout.read() == ""
    assert config.jobstore_path.exists(), "jobs persist in the SQLite job store"


def test_a_second_scheduler_on_the_same_job_store_exits_3(tmp_path: Path) -> None:
    config = make_config(tmp_path, quiet_schedule(local_zone()))
    first = Scheduler(config)
    first.wait_for("next build:")
    try:
        second = subprocess.run(
            [CLI, "schedule", "--config", str(tmp_path / "config.yaml"), "--stop-after", "1"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 3, second.stderr
        assert f"pid {first.proc.pid}" in second.stderr
        assert "job store" in second.stderr
    finally:
        first.proc.send_signal(signal.SIGTERM)
        assert first.finish() == 0


def test_day_numbers_in_the_schedule_are_a_config_error(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    path = Path(config.root) / "config.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "schedule:\n  days: 1-5\n", "utf-8")
    done = subprocess.run(
        [CLI, "schedule", "--config", str(path), "--stop-after", "1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert f"{path}:" in done.stderr and "schedule.days" in done.stderr


def test_a_build_missed_within_the_grace_time_runs_once_per_date(tmp_path: Path) -> None:
    zone = local_zone()
    config = missed_build_site(tmp_path, zone, minutes_ago=5, grace=3600)
    due = DailyTrigger.from_config(config).previous_fire_time(datetime.now(ZoneInfo(zone)))
    assert due is not None
    edition = due.date().isoformat()
    sched = Scheduler(config, "--stop-after", "0.5")
    assert sched.finish(timeout=60) == 0, sched.messages()
    folder = config.outbox_path / edition
    assert all((folder / name).is_file() for name in FILES), sched.messages()
    assert f"building the issue of {edition}" in sched.messages()
    assert runs(config) == 1
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    # restarted with the job store: the remembered next build is tomorrow's
    again = Scheduler(config, "--stop-after", "0.3")
    assert again.finish(timeout=60) == 0
    tomorrow = [m for m in again.messages() if m.startswith("next build:")]
    assert tomorrow and edition not in tomorrow[0]

    # a job store that still remembers today's run as due (a scheduler killed before it
    # noted the run, or an issue built by hand meanwhile): the fire is a no-op
    remember_due(config, due)
    third = Scheduler(config, "--stop-after", "0.5")
    assert third.finish(timeout=60) == 0
    assert any(
        m.startswith(f"edition {edition} already has a complete issue") for m in third.messages()
    ), third.messages()

    # a lost job store: the ledger keeps the catch-up from building again
    config.jobstore_path.unlink()
    fourth = Scheduler(config, "--stop-after", "0.3")
    assert fourth.finish(timeout=60) == 0
    assert f"building the issue of {edition}" not in fourth.messages()
    assert runs(config) == 1
    assert before == {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def test_sigterm_during_a_build_stops_after_the_build_finishes(tmp_path: Path) -> None:
    zone = local_zone()
    config = missed_build_site(tmp_path, zone, minutes_ago=5, grace=3600)
    sched = Scheduler(config)
    line = sched.wait_for("building the issue of ")
    edition = line["message"].rsplit(" ", 1)[1]
    sched.proc.send_signal(signal.SIGTERM)
    assert sched.finish(timeout=60) == 0
    messages = sched.messages()
    assert messages[-1] == "scheduler stopped"
    assert f"Issue {edition}: built" in messages, messages
    assert all((config.outbox_path / edition / name).is_file() for name in FILES)


def test_a_build_missed_by_more_than_the_grace_time_waits_for_tomorrow(tmp_path: Path) -> None:
    zone = local_zone()
    config = missed_build_site(tmp_path, zone, minutes_ago=10, grace=60)
    sched = Scheduler(config, "--stop-after", "0.3")
    assert sched.finish(timeout=60) == 0
    assert not config.outbox_path.exists() or not any(config.outbox_path.iterdir())
    nxt = [m for m in sched.messages() if m.startswith("next build:")]
    tomorrow = (datetime.now(ZoneInfo(zone)) + timedelta(days=1)).date().isoformat()
    assert nxt and tomorrow in nxt[0]


def test_ingest_runs_at_start_and_then_every_n_minutes(tmp_path: Path) -> None:
    zone = local_zone()
    config = make_site(tmp_path, quiet_schedule(zone, ingest_every_minutes=30))
    sched = Scheduler(config, "--stop-after", "0.7")
    assert sched.finish(timeout=60) == 0
    ingested = [m for m in sched.messages() if m.startswith("ingest:")]
    assert ingested and ingested[0].startswith("ingest: 5 new item(s) from 1 source(s), 0 failed")
    nxt = [m for m in sched.messages() if m.startswith("next ingest:")]
    assert len(nxt) >= 2  # at start, and after the first run: 30 minutes on
    with sqlite3.connect(config.state_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 5


def test_plain_log_lines_when_not_on_a_terminal(tmp_path: Path) -> None:
    make_config(tmp_path, quiet_schedule(local_zone()))
    done = subprocess.run(
        [CLI, "schedule", "--config", str(tmp_path / "config.yaml"), "--stop-after", "0.3"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert any(" INFO schedule: next build: " in line for line in lines), lines
    assert all(line[:4].isdigit() and line[19] == "Z" for line in lines), lines


class Inbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it is sent."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_scheduled_send_goes_out_once_and_marks_the_issue_sent(tmp_path: Path) -> None:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        zone = local_zone()
        config = missed_build_site(
            tmp_path,
            zone,
            minutes_ago=5,
            grace=3600,
            schedule={"send": True, "send_to": "desk@ledger.example"},
            smtp={"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5},
        )
        sched = Scheduler(config, "--stop-after", "0.5")
        assert sched.finish(timeout=60) == 0
        assert len(inbox.messages) == 1, sched.messages()
        rcpt, content = inbox.messages[0]
        assert rcpt == ["desk@ledger.example"]
        edition = next(config.outbox_path.iterdir())
        eml = (edition / "issue.eml").read_bytes()
        assert content.split(b"\r\n\r\n", 1)[1] == eml.split(b"\r\n\r\n", 1)[1]
        with sqlite3.connect(config.state_path) as conn:
            status = conn.execute("SELECT status FROM issues").fetchone()[0]
        assert status == "sent"
        # the remembered run fires again: a sent issue is never sent twice
        due = DailyTrigger.from_config(config).previous_fire_time(datetime.now(ZoneInfo(zone)))
        assert due is not None
        remember_due(config, due)
        again = Scheduler(config, "--stop-after", "0.5")
        assert again.finish(timeout=60) == 0
        assert any("already has a complete issue (sent)" in m for m in again.messages())
        assert len(inbox.messages) == 1
    finally:
        controller.stop()


def test_a_failed_send_is_alerted_and_the_issue_stays_unsent(tmp_path: Path) -> None:
    with AlertServer().running() as server:
        config = missed_build_site(
            tmp_path,
            local_zone(),
            minutes_ago=5,
            grace=3600,
            schedule={"send": True, "send_to": "desk@ledger.example"},
            smtp={"host": "127.0.0.1", "port": free_port(), "security": "none", "timeout": 2},
            alerts={"url": server.url},
        )
        sched = Scheduler(config, "--stop-after", "0.5")
        assert sched.finish(timeout=60) == 0
    assert [r["json"]["kind"] for r in server.received] == ["send-failed"]
    assert "was not sent" in server.received[0]["json"]["message"]
    with sqlite3.connect(config.state_path) as conn:
        assert conn.execute("SELECT status FROM issues").fetchone()[0] != "sent"


def test_a_remembered_run_later_than_the_grace_time_is_skipped_and_alerted(
    tmp_path: Path,
) -> None:
    zone = local_zone()
    with AlertServer().running() as server:
        config = missed_build_site(
            tmp_path, zone, minutes_ago=10, grace=60, alerts={"url": server.url}
        )
        first = Scheduler(config, "--stop-after", "0.3")  # creates the job store
        assert first.finish(timeout=60) == 0
        due = DailyTrigger.from_config(config).previous_fire_time(datetime.now(ZoneInfo(zone)))
        assert due is not None
        remember_due(config, due)  # the scheduler was down when the build was due
        sched = Scheduler(config, "--stop-after", "0.5")
        assert sched.finish(timeout=60) == 0
    assert any("was missed by more than 60 s" in m for m in sched.messages()), sched.messages()
    assert [r["json"]["kind"] for r in server.received] == ["build-missed"]
    assert not config.outbox_path.exists() or not any(config.outbox_path.iterdir())
