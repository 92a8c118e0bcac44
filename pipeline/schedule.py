"""The scheduler: a config in, a foreground process that ingests, builds and sends out.

:func:`run_scheduler` runs one APScheduler 3.x ``BlockingScheduler`` with jobs made
from the ``schedule`` section: ingest every N minutes, build once a day at a
wall-clock time in the newsletter's timezone (on the named days), and send after
the build when asked. Jobs live in a SQLite job store that only this process
may open (a second scheduler on the same store stops with :class:`LockedError`,
since APScheduler's FAQ forbids sharing one). At most one job runs at a time,
missed runs are coalesced into one and run if they are late by less than the
misfire grace time. SIGINT and SIGTERM stop it after the running job finishes.

The daily build uses :class:`DailyTrigger`, not ``CronTrigger``: cron fires twice
on the autumn day a wall-clock time repeats. This trigger fires exactly once on
every chosen date: at the first occurrence of a repeated time, and at the
shifted time (02:30 becomes 03:30) when the spring change skips it. The
edition ledger (the state store's ``issues`` table) turns a repeated fire for
a date that already has a complete issue into a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from .config import Config

__all__ = ["DailyTrigger"]

_DAY_ABBR = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class DailyTrigger(BaseTrigger):  # type: ignore[misc]
    """Fires once on each chosen weekday at a wall-clock time in a timezone."""

    __slots__ = ("at", "timezone", "weekdays")

    def __init__(self, at: time, weekdays: Iterable[int], timezone: ZoneInfo) -> None:
        self.at = at.replace(second=0, microsecond=0, tzinfo=None)
        self.weekdays = frozenset(weekdays)
        self.timezone = timezone
        if not self.weekdays:
            raise ValueError("a daily trigger needs at least one weekday")

    @classmethod
    def from_config(cls, config: Config) -> DailyTrigger:
        """The build trigger of ``config``: ``schedule.build_at`` on ``schedule.days``."""
        return cls(config.schedule.at, config.schedule.weekdays, config.newsletter.tz)

    def fire_time_on(self, day: date) -> datetime | None:
        """The moment the trigger fires on ``day`` (aware), or None if it skips the day.

        A wall-clock time that happens twice resolves to its first occurrence
        (fold 0); one that does not happen resolves, through UTC, to the same
        distance past the gap (02:30 on a 02:00->03:00 day is 03:30).
        """
        if day.weekday() not in self.weekdays:
            return None
        wall = datetime.combine(day, self.at).replace(tzinfo=self.timezone, fold=0)
        return wall.astimezone(UTC).astimezone(self.timezone)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The first fire time at or after ``now`` (or just after the previous fire)."""
        # compare in UTC: aware datetimes sharing one tzinfo compare by wall clock
        # and ignore fold, which is exactly how cron repeats the autumn hour
        start = now.astimezone(UTC)
        if previous_fire_time is not None:
            start = min(start, previous_fire_time.astimezone(UTC) + timedelta(microseconds=1))
        day = start.astimezone(self.timezone).date() - timedelta(days=1)
        for offset in range(9):
            fire = self.fire_time_on(day + timedelta(days=offset))
            if fire is not None and fire.astimezone(UTC) >= start:
                return fire
        return None  # pragma: no cover - a non-empty weekday set always fires within 8 days

    def previous_fire_time(self, now: datetime) -> datetime | None:
        """The latest fire time at or before ``now``: the edition a late run serves."""
        limit = now.astimezone(UTC)
        day = limit.astimezone(self.timezone).date() + timedelta(days=1)
        for offset in range(9):
            fire = self.fire_time_on(day - timedelta(days=offset))
            if fire is not None and fire.astimezone(UTC) <= limit:
                return fire
        return None  # pragma: no cover

    def __getstate__(self) -> dict[str, Any]:
        return {"version": 1, "at": self.at.isoformat(), "weekdays": sorted(self.weekdays),
                "timezone": self.timezone.key}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.at = time.fromisoformat(state["at"])
        self.weekdays = frozenset(state["weekdays"])
        self.timezone = ZoneInfo(state["timezone"])

    def __str__(self) -> str:
        days = ",".join(_DAY_ABBR[d] for d in sorted(self.weekdays))
        return f"daily at {self.at:%H:%M} {self.timezone.key} on {days}"

    def __repr__(self) -> str:
        return (f"<DailyTrigger at={self.at:%H:%M} weekdays={sorted(self.weekdays)}"
                f" timezone={self.timezone.key!r}>")
