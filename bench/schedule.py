"""Scheduling and locking figures: DST correctness and cost of the daily trigger, lock latency.

For ten years of days in four zones and the wall-clock times that DST skips or
repeats, counts the dates APScheduler's CronTrigger and our DailyTrigger fire
0, 1 or 2 times (stepping as a running scheduler does), and how long each takes
per fire. Then times an uncontended build_lock round trip and the hand-off from
one process releasing the lock to a waiting one getting it.

Run: .venv/bin/python bench/schedule.py   (prints a table, then one JSON line)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from pipeline.config import load_config
from pipeline.lock import build_lock
from pipeline.schedule import DailyTrigger

ZONES = ("America/New_York", "Europe/London", "America/Santiago", "Australia/Lord_Howe")
TIMES = ("00:30", "01:30", "02:30")
FIRST, LAST = date(2026, 1, 1), date(2035, 12, 31)
CONFIG = """newsletter:
  name: Bench
  sender: {name: Bench, email: bench@example.com}
  signup_url: https://example.com/s
  unsubscribe_url: https://example.com/u
  postal_address: 1 Bench Street
"""


def _fires(trigger: object, tz: ZoneInfo) -> tuple[list[datetime], float]:
    get_next = trigger.get_next_fire_time  # type: ignore[attr-defined]
    now = datetime.combine(FIRST, clock(0), tzinfo=tz)
    end = datetime.combine(LAST, clock(23, 59), tzinfo=tz).astimezone(UTC)
    out: list[datetime] = []
    prev = None
    start = time.perf_counter()
    while True:
        nxt = get_next(prev, now)
        if nxt is None or nxt.astimezone(UTC) > end:
            break
        out.append(nxt)
        prev = nxt
        now = (nxt.astimezone(UTC) + timedelta(seconds=1)).astimezone(tz)
    return out, time.perf_counter() - start


def _dates_fired(fires: list[datetime], tz: ZoneInfo) -> Counter[int]:
    per_day = Counter(f.astimezone(tz).date() for f in fires)
    days = (LAST - FIRST).days + 1
    return Counter(per_day.get(FIRST + timedelta(days=i), 0) for i in range(days))


def _triggers() -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    for name in ("cron", "daily"):
        counts: Counter[int] = Counter()
        seconds = n = 0.0
        for zone in ZONES:
            tz = ZoneInfo(zone)
            for at in TIMES:
                hour, minute = map(int, at.split(":"))
                trigger: object = (
                    CronTrigger(hour=hour, minute=minute, timezone=tz)
                    if name == "cron"
                    else DailyTrigger(clock(hour, minute), range(7), tz)
                )
                fires, took = _fires(trigger, tz)
                counts += _dates_fired(fires, tz)
                seconds += took
                n += len(fires)
        figures[name] = {
            "dates_skipped": counts[0],
            "dates_once": counts[1],
            "dates_repeated": sum(v for k, v in counts.items() if k > 1),
            "us_per_fire": round(seconds / n * 1e6, 1),
        }
    return figures


def _lock() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.yaml").write_text(CONFIG, encoding="utf-8")
        config = load_config(Path(tmp) / "config.yaml")
        rounds = []
        for _ in range(200):
            start = time.perf_counter()
            with build_lock(config, wait=1):
                pass
            rounds.append(time.perf_counter() - start)
        handoffs = []
        holder = (
            "import sys, time; from pipeline.config import load_config;"
            " from pipeline.lock import build_lock\n"
            "with build_lock(load_config(sys.argv[1]), wait=5):\n"
            "    print('locked', flush=True); time.sleep(0.3)\n"
            "print(repr(time.time()), flush=True)"
        )
        for _ in range(5):
            proc = subprocess.Popen(
                [sys.executable, "-c", holder, str(Path(tmp) / "config.yaml")],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "locked"
            with build_lock(config, wait=10):
                got = time.time()
            released = float(proc.stdout.readline())
            proc.wait()
            handoffs.append(max(got - released, 0.0))
    return {
        "lock_round_trip_us": round(statistics.median(rounds) * 1e6, 1),
        "lock_handoff_ms_median": round(statistics.median(handoffs) * 1e3, 1),
        "lock_handoff_ms_max": round(max(handoffs) * 1e3, 1),
    }


def main() -> None:
    triggers = _triggers()
    lock = _lock()
    days = (LAST - FIRST).days + 1
    runs = len(ZONES) * len(TIMES)
    print(f"{days} days x {runs} (zone, time) pairs: {', '.join(ZONES)} at {', '.join(TIMES)}")
    print(f"{'trigger':<8} {'skipped':>8} {'once':>8} {'repeated':>9} {'us/fire':>8}")
    for name, fig in triggers.items():
        print(
            f"{name:<8} {fig['dates_skipped']:>8.0f} {fig['dates_once']:>8.0f}"
            f" {fig['dates_repeated']:>9.0f} {fig['us_per_fire']:>8.1f}"
        )
    print(
        f"build_lock round trip {lock['lock_round_trip_us']} us; hand-off between processes"
        f" {lock['lock_handoff_ms_median']} ms median, {lock['lock_handoff_ms_max']} ms max"
    )
    flat = {f"{name}_{k}": v for name, fig in triggers.items() for k, v in fig.items()}
    print(json.dumps({**flat, **lock}))


if __name__ == "__main__":
    main()
