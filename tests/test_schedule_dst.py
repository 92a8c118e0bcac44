"""One build per edition date across daylight-saving changes, with frozen clocks.

Fire times come from ``trigger.get_next_fire_time(prev, now)`` stepped the way
APScheduler steps it (run, then ask for the next one after the run), over weeks
around the spring and autumn changes of America/New_York and Europe/London. No
sleeping: the clock is whatever the test says it is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from _schedule_helpers import make_config

from pipeline.config import parse_days
from pipeline.errors import ConfigError
from pipeline.schedule import DailyTrigger

# (zone, first day, last day) spanning each 2026 change by a few weeks
WINDOWS = [
    ("America/New_York", date(2026, 2, 20), date(2026, 3, 25)),  # spring: Mar 8, 02:00 -> 03:00
    ("America/New_York", date(2026, 10, 15), date(2026, 11, 20)),  # autumn: Nov 1, 02:00 -> 01:00
    ("Europe/London", date(2026, 3, 10), date(2026, 4, 15)),  # spring: Mar 29, 01:00 -> 02:00
    ("Europe/London", date(2026, 10, 10), date(2026, 11, 10)),  # autumn: Oct 25, 02:00 -> 01:00
]
# ordinary times, and the ones the changes skip or repeat in either zone
TIMES = ["06:00", "00:00", "23:59", "00:30", "01:00", "01:30", "01:59", "02:00", "02:30"]


def fires(trigger: DailyTrigger, first: date, last: date, run_seconds: float) -> list[datetime]:
    """Every fire between ``first`` and ``last`` as a running scheduler sees them:
    after each run the clock has moved on by ``run_seconds``."""
    tz = trigger.timezone
    now = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last, time(23, 59, 59), tzinfo=tz).astimezone(UTC)
    out: list[datetime] = []
    prev: datetime | None = None
    while True:
        nxt = trigger.get_next_fire_time(prev, now)
        assert nxt is not None
        if nxt.astimezone(UTC) > end:
            return out
        out.append(nxt)
        prev = nxt
        now = (nxt.astimezone(UTC) + timedelta(seconds=run_seconds)).astimezone(tz)


def dates_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.mark.parametrize(("zone", "first", "last"), WINDOWS)
@pytest.mark.parametrize("at", TIMES)
@pytest.mark.parametrize("run_seconds", [1, 45 * 60])
def test_exactly_one_fire_per_date_none_skipped(
    zone: str, first: date, last: date, at: str, run_seconds: float
) -> None:
    tz = ZoneInfo(zone)
    trigger = DailyTrigger(time.fromisoformat(at), range(7), tz)
    got = fires(trigger, first, last, run_seconds)
    assert [f.astimezone(tz).date() for f in got] == dates_between(first, last)
    utc = [f.astimezone(UTC) for f in got]
    assert utc == sorted(set(utc)), "fire times must strictly increase"


def test_spring_gap_time_still_runs_that_day_after_the_gap() -> None:
    tz = ZoneInfo("America/New_York")
    trigger = DailyTrigger(time(2, 30), range(7), tz)
    fire = trigger.get_next_fire_time(None, datetime(2026, 3, 8, 0, 0, tzinfo=tz))
    assert fire is not None
    assert fire.astimezone(UTC) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT
    assert fire.astimezone(tz).date() == date(2026, 3, 8)
    london = DailyTrigger(time(1, 30), range(7), ZoneInfo("Europe/London"))
    fire = london.get_next_fire_time(None, datetime(2026, 3, 29, 0, 0, tzinfo=UTC))
    assert fire is not None and fire.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_autumn_repeated_time_fires_once_at_its_first_occurrence() -> None:
    tz = ZoneInfo("America/New_York")
    trigger = DailyTrigger(time(1, 30), range(7), tz)
    first = trigger.get_next_fire_time(None, datetime(2026, 11, 1, 0, 0, tzinfo=tz))
    assert first is not None and first.astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    # asked again just after it ran (wall clock 01:30 again, an hour later): next day
    again = trigger.get_next_fire_time(first, datetime(2026, 11, 1, 6, 31, tzinfo=UTC))
    assert again is not None and again.astimezone(tz).date() == date(2026, 11, 2)


@pytest.mark.parametrize(("zone", "first", "last"), WINDOWS)
def test_a_restart_at_any_minute_finds_the_same_next_fire(
    zone: str, first: date, last: date
) -> None:
    """A scheduler started at an arbitrary moment (prev unknown) never skips or repeats
    a date: its next fire is the first fire at or after that moment."""
    tz = ZoneInfo(zone)
    trigger = DailyTrigger(time(1, 30), range(7), tz)
    schedule = [f.astimezone(UTC) for f in fires(trigger, first, last + timedelta(days=2), 1)]
    moment = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last, time(0), tzinfo=tz).astimezone(UTC)
    while moment < end:
        nxt = trigger.get_next_fire_time(None, moment.astimezone(tz))
        assert nxt is not None
        assert nxt.astimezone(UTC) == min(f for f in schedule if f >= moment)
        prev = trigger.previous_fire_time(moment)
        if prev is not None and prev.astimezone(UTC) >= schedule[0]:
            assert prev.astimezone(UTC) == max(f for f in schedule if f <= moment)
        moment += timedelta(minutes=17)


def test_weekday_names_choose_the_days() -> None:
    tz = ZoneInfo("Europe/London")
    trigger = DailyTrigger(time(6), parse_days("mon-fri"), tz)
    got = fires(trigger, date(2026, 3, 23), date(2026, 4, 5), 1)
    assert [f.date() for f in got] == [
        d for d in dates_between(date(2026, 3, 23), date(2026, 4, 5)) if d.weekday() < 5
    ]
    sunday = DailyTrigger(time(7), parse_days("sun"), tz)
    fire = sunday.get_next_fire_time(None, datetime(2026, 3, 25, tzinfo=tz))
    assert fire is not None and fire.strftime("%a %Y-%m-%d %H:%M") == "Sun 2026-03-29 07:00"


def test_config_builds_the_trigger_and_refuses_day_numbers(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"schedule": {"build_at": "6:05", "days": "sat-sun"}})
    trigger = DailyTrigger.from_config(config)
    assert str(trigger) == "daily at 06:05 America/New_York on sat,sun"
    with pytest.raises(ConfigError) as info:
        make_config(tmp_path, {"schedule": {"days": "1-5"}})
    message = str(info.value)
    assert "schedule.days" in message and "day name" in message and "'1-5'" in message
    with pytest.raises(ConfigError) as info:
        make_config(tmp_path, {"schedule": {"build_at": "25:00"}})
    assert "schedule.build_at" in str(info.value)


def test_trigger_survives_the_job_store_round_trip() -> None:
    import pickle

    trigger = DailyTrigger(time(2, 30), parse_days("mon,wed"), ZoneInfo("America/New_York"))
    copy = pickle.loads(pickle.dumps(trigger))
    assert repr(copy) == repr(trigger)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert copy.get_next_fire_time(None, now) == trigger.get_next_fire_time(None, now)


@pytest.mark.parametrize(
    "zone",
    [
        "America/Santiago",  # changes at midnight: 00:30 does not exist on the spring day
        "America/Havana",  # also at midnight, northern dates
        "Australia/Lord_Howe",  # a 30-minute change
        "Asia/Kolkata",  # no change at all
    ],
)
@pytest.mark.parametrize("at", ["00:00", "00:30", "01:30", "02:30", "23:30"])
def test_odd_zones_over_two_whole_years(zone: str, at: str) -> None:
    trigger = DailyTrigger(time.fromisoformat(at), range(7), ZoneInfo(zone))
    first, last = date(2026, 1, 1), date(2027, 12, 31)
    got = fires(trigger, first, last, 1)
    assert [f.astimezone(trigger.timezone).date() for f in got] == dates_between(first, last)
