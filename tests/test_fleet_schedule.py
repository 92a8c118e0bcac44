"""`newsletter schedule --all`: one scheduler for every newsletter of a deployment (each
build at its own time, one ingest for all), and of several such processes exactly one acts:
a standby takes over when the leader is killed (-9) and builds each edition once."""

from __future__ import annotations

import itertools
import signal
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from _schedule_helpers import (  # no_scheduler_left_running: autouse, no scheduler outlives a test
    Scheduler,
    at,
    local_zone,
    no_scheduler_left_running,  # noqa: F401
)
from feedserver import FeedServer, Route, serve
from fleet_sites import make_deployment, serve_feeds

from pipeline.config import Config
from pipeline.models import Article

pytestmark = pytest.mark.slow  # scheduler processes, one of them killed

FILES = ("draft.md", "issue.html", "issue.txt", "issue.eml", "report.json")
PAIR = {"morning": ("a", "b", "m"), "tech": ("a", "b", "t")}


@pytest.fixture
def feeds(dev: list[Article]) -> Iterator[FeedServer]:
    with serve({}) as server:
        serve_feeds(server, dev, ("a", "b", "m", "t"))
        yield server


def stall_first(then: Route) -> Route:
    """The first request hangs (its client is killed meanwhile); later ones are answered."""
    calls = itertools.count()

    def route(h: BaseHTTPRequestHandler) -> None:
        if next(calls) == 0:
            time.sleep(30)
        then(h)

    return route


def runs(config: Config) -> int:
    with sqlite3.connect(config.state_path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


def fleet(path: str, *args: str) -> Scheduler:
    return Scheduler(None, "--all", "--deployment", path, "--standby-poll", "0.2", *args)


def wait_until(check: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_standby_takes_over_from_a_killed_leader_and_builds_once(
    tmp_path: Path, feeds: FeedServer
) -> None:
    zone = local_zone()
    due = {"build_at": at(zone, -5), "ingest_every_minutes": 0, "misfire_grace_seconds": 3600}
    extra = {k: {"newsletter": {"timezone": zone}, "schedule": due} for k in PAIR}
    dep = make_deployment(tmp_path, feeds, PAIR, extra=extra)
    feeds.routes["/a.xml"] = stall_first(feeds.routes["/a.xml"])
    edition = datetime.now(ZoneInfo(zone)).date().isoformat()

    leader = fleet(dep.file)
    leader.wait_for("leader of ", timeout=30)
    leader.wait_for("building the issue of ", timeout=30)  # due 5 minutes ago: caught up
    standby = fleet(dep.file)
    standby.wait_for("standby for ", timeout=30)
    wait_until(lambda: feeds.hits("/a.xml"))  # the leader is mid-build, fetching
    time.sleep(0.5)  # the standby tries the lock a few times meanwhile, and waits
    leader.proc.send_signal(signal.SIGKILL)
    assert leader.finish() == -signal.SIGKILL

    standby.wait_for("leader of ", timeout=10)
    built = [standby.wait_for("Issue ", timeout=60)["message"] for _ in PAIR]
    assert built == [f"Issue {edition}: built"] * 2, standby.messages()
    standby.proc.send_signal(signal.SIGTERM)
    assert standby.finish() == 0
    before = standby.seen[
        : standby.messages().index("leader of " + dep.file + ": this scheduler acts")
    ]
    assert not [m for m in (r["message"] for r in before) if m.startswith("building")]
    assert not [m for m in leader.messages() if m.startswith("Issue ")]
    for config in dep.newsletters:
        assert f"building the issue of {edition} for {config.key}" in standby.messages()
        assert all((config.outbox_path / edition / name).is_file() for name in FILES)
        assert runs(config) == 1, config.key  # built once: the killed run recorded nothing

    # a later leader finds both editions complete and builds nothing
    again = fleet(dep.file, "--stop-after", "0.5")
    assert again.finish(timeout=60) == 0
    assert not [m for m in again.messages() if m.startswith("building")], again.messages()
    assert [runs(c) for c in dep.newsletters] == [1, 1]


def test_one_schedule_builds_each_at_its_time_and_ingests_all_once(
    tmp_path: Path, feeds: FeedServer
) -> None:
    # build times hours away from now in each zone: a build due as the scheduler starts
    # (the test run at 06:01 London time) would come before the ingest this test waits for
    morning_at, tech_at = (
        (datetime.now(ZoneInfo(zone)) + timedelta(hours=hours)).strftime("%H:%M")
        for zone, hours in (("Europe/London", 6), ("Asia/Tokyo", 7))
    )
    extra = {
        "morning": {
            "newsletter": {"timezone": "Europe/London"},
            "schedule": {"build_at": morning_at, "ingest_every_minutes": 60},
        },
        "tech": {
            "newsletter": {"timezone": "Asia/Tokyo"},
            "schedule": {"build_at": tech_at, "days": "mon-fri", "ingest_every_minutes": 30},
        },
    }
    dep = make_deployment(tmp_path, feeds, PAIR, extra=extra)
    sched = fleet(dep.file, "--stop-after", "1.5")
    assert sched.finish(timeout=60) == 0
    messages = sched.messages()

    def line(prefix: str) -> str:
        return next((m for m in messages if m.startswith(prefix)), f"no line {prefix!r}")

    days = "mon,tue,wed,thu,fri"
    assert f"(daily at {morning_at} Europe/London on {days},sat,sun)" in line(
        "next build:morning: "
    )
    assert f"(daily at {tech_at} Asia/Tokyo on {days})" in line("next build:tech: ")
    assert line("next ingest: ").endswith("(interval[0:30:00])")  # the shortest of theirs
    assert "ingest morning: 12 new item(s) from 3 source(s), 0 failed" in messages
    assert "ingest tech: 12 new item(s) from 3 source(s), 0 failed" in messages
    # one ingest for both: a and b, which both list, fetched once
    assert {f: len(feeds.hits(f"/{f}.xml")) for f in "abmt"} == dict.fromkeys("abmt", 1)
    assert dep.jobstore_path.is_file()


def test_a_standby_stops_on_sigterm_and_never_acts(tmp_path: Path, feeds: FeedServer) -> None:
    zone = local_zone()
    quiet = {"build_at": at(zone, 180), "ingest_every_minutes": 0}
    extra = {k: {"newsletter": {"timezone": zone}, "schedule": quiet} for k in PAIR}
    dep = make_deployment(tmp_path, feeds, PAIR, extra=extra)
    leader = fleet(dep.file)
    leader.wait_for("scheduler started for ")
    standby = fleet(dep.file)
    standby.wait_for("standby for ", timeout=30)
    standby.proc.send_signal(signal.SIGTERM)
    assert standby.finish() == 0
    assert standby.messages()[-1] == "scheduler stopped"
    assert not [m for m in standby.messages() if m.startswith(("leader of", "scheduler started"))]
    leader.proc.send_signal(signal.SIGTERM)
    assert leader.finish() == 0
