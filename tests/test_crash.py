"""`kill -9` at many moments of a real `newsletter build`, then a re-run.

Each round copies the shipped site, starts `newsletter build` in a subprocess
(through fixtures/crash/build_on_go.py, which runs the CLI's own entry point once
its imports are done), kills it with SIGKILL at a delay spread over the build's
own work (seeded, so a failing moment can be replayed), and builds again. After
every re-run: a complete issue, no temporary or half-written file anywhere in the
outbox, and the state store holds every item exactly once, with the issue's items
marked as used by it.
"""

from __future__ import annotations

import email
import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import deque
from datetime import date
from pathlib import Path

import pytest
from _schedule_helpers import FIXTURES, copy_shipped_site

from pipeline.build import build_issue
from pipeline.config import load_config
from pipeline.draft import parse_draft

pytestmark = pytest.mark.slow  # kill -9 of real build processes

RUNNER = FIXTURES / "crash" / "build_on_go.py"
DATE = "2026-11-28"
FILES = ("draft.md", "issue.html", "issue.txt", "issue.eml", "report.json")
ROUNDS = 15
SEED = 20261128


def store_state(site: Path) -> tuple[int, list[str], set[str]]:
    """(item count, ids stored twice under one guid or link, ids used by DATE)."""
    with sqlite3.connect(site / "state" / "newsletter.sqlite3") as conn:
        count = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        doubles = [
            row[0]
            for row in conn.execute(
                "SELECT guid FROM items WHERE guid != '' GROUP BY guid HAVING COUNT(*) > 1"
                " UNION ALL SELECT url_key FROM items WHERE url_key != ''"
                " GROUP BY url_key HAVING COUNT(*) > 1"
            )
        ]
        used = {row[0] for row in conn.execute("SELECT item_id FROM uses WHERE date = ?", (DATE,))}
    return count, doubles, used


def check_complete(site: Path) -> list[str]:
    """The issue's files parse, nothing temporary is left; returns the story headlines."""
    folder = site / "outbox" / DATE
    for name in FILES:
        assert (folder / name).is_file(), f"{name} missing"
    leftovers = [
        p.name
        for p in (site / "outbox").rglob("*")
        if p.name.startswith(".") or p.name.endswith((".tmp", ".part"))
    ]
    assert leftovers == []
    issue = parse_draft((folder / "draft.md").read_text(encoding="utf-8"))
    assert issue.stories
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["history"], "report.json keeps the run history"
    msg = email.message_from_bytes((folder / "issue.eml").read_bytes())
    assert msg.get_content_type() == "multipart/alternative"
    html = (folder / "issue.html").read_text(encoding="utf-8")
    assert html.rstrip().endswith("</html>")
    assert issue.stories[0].headline.split(" ")[0] in (folder / "issue.txt").read_text("utf-8")
    return [s.headline for s in issue.stories]


class ArmedBuild:
    """A `newsletter build` process with its imports done, waiting for the word go."""

    def __init__(self, site: Path) -> None:
        self.site = site
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(RUNNER),
                "build",
                "--config",
                str(site / "config.yaml"),
                "--date",
                DATE,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def go(self) -> float:
        assert self.proc.stdout is not None and self.proc.stdin is not None
        assert self.proc.stdout.readline().strip() == "ready"
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        return time.monotonic()

    def kill_after(self, delay: float) -> bool:
        """SIGKILL ``delay`` s into the build; True if it was still running."""
        start = self.go()
        while time.monotonic() - start < delay:
            if self.proc.poll() is not None:
                return False
            time.sleep(0.001)
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait() == -signal.SIGKILL


def test_kill_9_at_random_moments_then_a_rerun_completes_the_issue(tmp_path: Path) -> None:
    reference = ArmedBuild(copy_shipped_site(tmp_path / "reference"))
    start = reference.go()
    assert reference.proc.wait(timeout=120) == 0
    work = time.monotonic() - start  # the span the kills are spread over
    headlines = check_complete(reference.site)
    count, doubles, used = store_state(reference.site)
    assert doubles == [] and used

    rng = random.Random(SEED)
    delays = [work * (n + rng.random()) / ROUNDS for n in range(ROUNDS)]
    # the next rounds' processes import while this round runs
    armed = deque(ArmedBuild(copy_shipped_site(tmp_path / f"round-{n}")) for n in range(2))
    interrupted = 0
    for n, delay in enumerate(delays):
        if n + 2 < ROUNDS:
            armed.append(ArmedBuild(copy_shipped_site(tmp_path / f"round-{n + 2}")))
        build = armed.popleft()
        interrupted += build.kill_after(delay)
        where = f"round {n}, killed {delay:.3f} s into the build (seed {SEED})"
        config = load_config(build.site / "config.yaml")
        build_issue(config, date.fromisoformat(DATE))  # the re-run
        assert check_complete(build.site) == headlines, where
        assert store_state(build.site) == (count, [], used), where
    assert interrupted >= ROUNDS * 2 // 3, "most kills must land while the build runs"
