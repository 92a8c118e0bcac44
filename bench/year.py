"""A year of daily builds: does a build on day 365 cost what it cost on day 1?

In: ``--feeds`` RSS feed files (20) that gain ``--per-day`` new items (50) every simulated
day and list their newest ``--listed`` entries (100, two days' worth), and a config asking
for 5 stories from the last 36 hours. Each day the feed files are rewritten and the issue of
that date is built, as the daily schedule would. The simulated days end yesterday, items are
published during the day before their edition, so dates follow the simulation.

Out: for the first and the last day, the build as a process (a fresh interpreter, like
cron's: wall time and peak memory), the build's own time, its select stage, the candidate
query alone, and the state store's size; every ``--every`` days a line of the trend; as the
last line one JSON object. ``--retention off`` keeps everything (the store as it grew before
there was a retention policy); ``on`` uses the default policy of ``retention:``.
Days between the first and the last build in this process, to save start-up time.
Run: ``.venv/bin/python bench/year.py [--days 365] [--feeds 20] [--retention on|off]``.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from build import _article

MAX_AGE_HOURS = 36
STORIES = 5


def _has_policy() -> bool:
    from pipeline.config import Config

    return "retention" in Config.model_fields


def _config(root: Path, feeds: int, retention: bool) -> None:
    lines = [f"    - {{url: wire{f}.xml, name: Wire {f}}}" for f in range(feeds)]
    keep = ""
    if not retention and _has_policy():
        # 0 keeps forever: the store grows as it did before the policy existed
        keep = (
            "retention: {unused_item_days: 0, run_days: 0, draft_version_keep: 0,"
            " extract_days: 0}\n"
        )
    (root / "config.yaml").write_text(
        "newsletter:\n  name: Year Ledger\n  sender: {name: Year, email: y@example.com}\n"
        "  signup_url: https://y.example/s\n  unsubscribe_url: https://y.example/u\n"
        "  postal_address: 1 Year Road\n  timezone: UTC\n"
        "sources:\n  feeds:\n" + "\n".join(lines) + "\n"
        f"issue: {{stories: {STORIES}, quick_links: 6, max_age_hours: {MAX_AGE_HOURS}}}\n" + keep,
        encoding="utf-8",
    )


class _Site:
    """The feed files: each day every feed gains ``per_day`` items published the day before."""

    def __init__(self, root: Path, feeds: int, per_day: int, listed: int) -> None:
        self.root, self.feeds, self.per_day = root, feeds, per_day
        self.rng = random.Random(11)
        self.n = 0
        self.listing: list[deque[str]] = [deque(maxlen=listed) for _ in range(feeds)]

    def advance(self, edition: date) -> None:
        start = datetime.combine(edition - timedelta(days=1), datetime.min.time(), UTC)
        step = timedelta(hours=24) / self.per_day
        for f in range(self.feeds):
            for k in range(self.per_day):
                self.n += 1
                title, body = _article(self.rng, self.n)
                when = format_datetime(start + timedelta(hours=6) + k * step + timedelta(minutes=f))
                link = f"https://wire{f}.example/story/{self.n}?utm_source=rss"
                self.listing[f].appendleft(
                    f"<item><title>{escape(title)}</title><link>{link}</link>"
                    f"<guid>{link}</guid><pubDate>{when}</pubDate>"
                    f"<description>{escape(body)}</description></item>"
                )
            (self.root / f"wire{f}.xml").write_text(
                '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>Wire {f}</title><link>https://wire{f}.example/</link>"
                + "".join(self.listing[f])
                + "</channel></rss>",
                encoding="utf-8",
            )


def _store_mb(root: Path) -> float:
    state = root / "state"
    main = sum(p.stat().st_size for p in state.glob("newsletter.sqlite3*"))
    return round(main / 1e6, 1)


def _build(root: Path, edition: date) -> dict[str, float]:
    """One build in this process: its time, its select stage, the candidate query alone."""
    from pipeline.build import build_issue
    from pipeline.config import load_config
    from pipeline.store import open_store

    config = load_config(root / "config.yaml")
    t0 = time.perf_counter()
    result = build_issue(config, edition)
    seconds = time.perf_counter() - t0
    since = datetime.combine(edition, datetime.max.time(), UTC) - timedelta(hours=MAX_AGE_HOURS)
    with open_store(config.state_path) as store:
        t0 = time.perf_counter()
        rows = store.candidates(edition, since)
        query = time.perf_counter() - t0
        stored = store.count_items()
    return {
        "build_s": round(seconds, 3),
        "select_s": result.report.timings["select"],
        "candidates_s": round(query, 4),
        "candidates": len(rows),
        "items_stored": stored,
        "stories": len(result.report.stories),
    }


def _child(root: str, day: str) -> None:
    figures = _build(Path(root), date.fromisoformat(day))
    figures["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(figures))


def _as_process(root: Path, edition: date, repeat: int) -> dict[str, float]:
    """The day's build as a fresh process, ``repeat`` times from the same state (the
    median of each figure): the machine is shared, one run alone says little."""
    snapshot = root.with_name(root.name + "-snapshot")
    shutil.copytree(root, snapshot)
    runs: list[dict[str, float]] = []
    for n in range(repeat):
        if n:
            shutil.rmtree(root)
            shutil.copytree(snapshot, root)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(root), edition.isoformat()],
            capture_output=True,
            text=True,
            check=True,
        )
        figures: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
        figures["process_s"] = round(time.perf_counter() - t0, 3)
        runs.append(figures)
    shutil.rmtree(snapshot)
    out = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out["db_mb"] = _store_mb(root)
    return out


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--per-day", type=int, default=50)
    parser.add_argument("--listed", type=int, default=100, help="entries each feed lists")
    parser.add_argument("--retention", choices=("on", "off"), default="on")
    parser.add_argument("--every", type=int, default=30, help="a trend line every N days")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the first and last build")
    args = parser.parse_args()
    first = date.today() - timedelta(days=args.days)
    trend: list[dict[str, float]] = []
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "site"
        root.mkdir()
        _config(root, args.feeds, args.retention == "on")
        site = _Site(root, args.feeds, args.per_day, args.listed)
        print(f"{'day':>4} {'build s':>8} {'select s':>9} {'query s':>8} {'items':>8} {'DB MB':>7}")
        ends: dict[str, dict[str, float]] = {}
        for d in range(1, args.days + 1):
            edition = first + timedelta(days=d - 1)
            site.advance(edition)
            if d in (1, args.days):
                figures = _as_process(root, edition, args.repeat)
                ends["day1" if d == 1 else "last"] = figures
            else:
                figures = _build(root, edition)
                figures["db_mb"] = _store_mb(root)
            if d == 1 or d % args.every == 0 or d == args.days:
                trend.append({"day": d, **figures})
                print(
                    f"{d:>4} {figures['build_s']:>8.3f} {figures['select_s']:>9.4f}"
                    f" {figures['candidates_s']:>8.4f} {figures['items_stored']:>8}"
                    f" {figures['db_mb']:>7.1f}",
                    flush=True,
                )
        day1, last = ends["day1"], ends["last"]
    out = {
        "days": args.days,
        "feeds": args.feeds,
        "per_day": args.per_day,
        "retention": args.retention if _has_policy() else "none (no retention: in the code)",
        "day1": day1,
        "last": last,
        "build_ratio": round(last["build_s"] / day1["build_s"], 2),
        "process_ratio": round(last["process_s"] / day1["process_s"], 2),
        "select_ratio": round(last["select_s"] / max(day1["select_s"], 1e-4), 2),
        "trend": [{k: t[k] for k in ("day", "build_s", "db_mb", "items_stored")} for t in trend],
        "seconds": round(time.perf_counter() - t_all, 1),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
