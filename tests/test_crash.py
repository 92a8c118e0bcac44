"""`kill -9` at many moments of a real `newsletter build`, then a re-run.

Each round copies the shipped site, starts the installed CLI, kills it with
SIGKILL after a delay spread over a whole build's duration (seeded, so a failing
moment can be replayed), and builds again. After every re-run: a complete issue,
no temporary or half-written file anywhere in the outbox, and the state store
holds every item exactly once, with the issue's items marked as used by it.
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
from pathlib import Path

from _schedule_helpers import copy_shipped_site

from pipeline.draft import parse_draft

CLI = str(Path(sys.executable).with_name("newsletter"))
DATE = "2026-11-28"
FILES = ("draft.md", "issue.html", "issue.txt", "issue.eml", "report.json")
ROUNDS = 15
SEED = 20261128


def build_cmd(site: Path) -> list[str]:
    return [CLI, "build", "--config", str(site / "config.yaml"), "--date", DATE]


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
        used = {row[0] for row in conn.execute("SELECT id FROM items WHERE used_in = ?", (DATE,))}
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


def test_kill_9_at_random_moments_then_a_rerun_completes_the_issue(tmp_path: Path) -> None:
    reference = copy_shipped_site(tmp_path / "reference")
    done = subprocess.run(build_cmd(reference), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # time a second, warm build of a fresh copy: the span the kills are spread over
    start = time.monotonic()
    warm = subprocess.run(
        build_cmd(copy_shipped_site(tmp_path / "warm")), capture_output=True, timeout=120
    )
    duration = time.monotonic() - start
    assert warm.returncode == 0
    headlines = check_complete(reference)
    count, doubles, used = store_state(reference)
    assert doubles == [] and used

    rng = random.Random(SEED)
    delays = [duration * (i + rng.random()) / ROUNDS * 0.9 for i in range(ROUNDS)]
    interrupted = 0
    for n, delay in enumerate(delays):
        site = copy_shipped_site(tmp_path / f"round-{n}")
        proc = subprocess.Popen(
            build_cmd(site), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        interrupted += proc.wait() == -signal.SIGKILL
        rerun = subprocess.run(build_cmd(site), capture_output=True, text=True, timeout=120)
        where = f"round {n}, killed after {delay:.3f} s (seed {SEED})"
        assert rerun.returncode == 0, f"{where}: {rerun.stderr}"
        assert check_complete(site) == headlines, where
        assert store_state(site) == (count, [], used), where
    assert interrupted >= ROUNDS * 2 // 3, "most kills must land while the build runs"
