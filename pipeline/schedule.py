"""The scheduler: a config (or a deployment) in, a foreground process that ingests, builds
and sends out.

:func:`run_scheduler` runs one APScheduler 3.x ``BlockingScheduler`` with jobs made
from the ``schedule`` section: ingest every N minutes, build once a day at a
wall-clock time in the newsletter's timezone (on the named days), and send after
the build when asked. Jobs live in a SQLite job store that only this process
may open (a second scheduler on the same store stops with :class:`LockedError`,
since APScheduler's FAQ forbids sharing one). At most one job runs at a time,
missed runs are coalesced into one and run if they are late by less than the
misfire grace time; a build whose scheduled time passed less than the grace time
ago while no scheduler ran is caught up at start. SIGINT and SIGTERM stop it
after the running job finishes.

The daily build uses :class:`DailyTrigger`, not ``CronTrigger``: cron fires twice
on the autumn day a wall-clock time repeats. This trigger fires exactly once on
every chosen date: at the first occurrence of a repeated time, and at the
shifted time (02:30 becomes 03:30) when the spring change skips it. The
edition's status (:meth:`pipeline.edition.Edition.status`) turns a repeated fire
for a date that already has a complete or frozen issue into a no-op, and a sent
issue is never sent again. Sending is ``newsletter send``'s own checked send
(:func:`pipeline.send.checked_send`): lint first, at most once.

:func:`run_fleet_scheduler` runs the same for every newsletter of a deployment in one
process: a build job per newsletter (``build:<key>``, its own time and timezone) and one
ingest job for all (:func:`pipeline.fleet.ingest_all`). Of several such processes only
the holder of the deployment's leader lock (:func:`pipeline.lock.advisory`) runs jobs;
the others stand by, trying it every few seconds. A build due within the grace time
whose edition is not complete runs at start, so a standby taking over from a leader
killed mid-build builds that edition.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import monotonic
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_SCHEDULER_START,
    JobEvent,
    JobExecutionEvent,
    SchedulerEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .alerts import AlertEvent, FailureKind, fire_alert
from .build import build_issue
from .config import Config
from .deployment import Deployment
from .edition import Edition, frozen
from .errors import LockedError, NewsletterError
from .fleet import ingest_all
from .ingest import ingest
from .lock import advisory, build_lock, file_lock
from .log import summary_lines
from .models import EditionStatus, IngestResult
from .send import checked_send, smtp_delivery
from .store import open_state

__all__ = ["DailyTrigger", "run_fleet_scheduler", "run_scheduler"]

log = logging.getLogger(__name__)

# the files of a complete issue; the ledger row alone may predate a crash
_ISSUE_FILES = ("draft.md", "issue.html", "issue.txt", "issue.eml", "report.json")
_INGEST_LOCK_WAIT = 1.0  # a build holds the lock and ingests anyway: skip rather than queue

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
        return {
            "version": 1,
            "at": self.at.isoformat(),
            "weekdays": sorted(self.weekdays),
            "timezone": self.timezone.key,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.at = time.fromisoformat(state["at"])
        self.weekdays = frozenset(state["weekdays"])
        self.timezone = ZoneInfo(state["timezone"])

    def __str__(self) -> str:
        days = ",".join(_DAY_ABBR[d] for d in sorted(self.weekdays))
        return f"daily at {self.at:%H:%M} {self.timezone.key} on {days}"

    def __repr__(self) -> str:
        return (
            f"<DailyTrigger at={self.at:%H:%M} weekdays={sorted(self.weekdays)}"
            f" timezone={self.timezone.key!r}>"
        )


def _issue_complete(config: Config, edition: date) -> EditionStatus | None:
    """The edition's status when it already has a finished issue, else None: a frozen
    one, or one the ledger knows whose files are all there."""
    ed = Edition(config, edition)
    with open_state(config) as store:
        recorded = store.issue(edition)
        status = ed.status(store)
    if frozen(status):
        return status
    if recorded is None:
        return None
    return status if all((ed.folder / name).is_file() for name in _ISSUE_FILES) else None


def _build_job(config: Config) -> None:
    """The daily job: build (and send) the edition of the latest scheduled time, once."""
    tz = config.newsletter.tz
    due = DailyTrigger.from_config(config).previous_fire_time(datetime.now(tz))
    edition = (due or datetime.now(tz)).astimezone(tz).date()
    status = _issue_complete(config, edition)
    if status == "sent" or (status is not None and not config.schedule.send):
        log.info("edition %s already has a complete issue (%s): nothing to do", edition, status)
        return
    if status is None and not _build(config, edition):
        return
    if config.schedule.send:
        _send(config, edition)


def _fail(
    config: Config,
    kind: FailureKind,
    what: str,
    exc: NewsletterError,
    edition: date,
) -> None:
    """Log a scheduled job's failure and fire the alert hook about it."""
    log.error("%s: %s", what, exc)
    fire_alert(config, AlertEvent.failure(kind, edition, exc, f"{what}: {exc}"))


def _build(config: Config, edition: date) -> bool:
    """Build one edition, logging its summary; False (logged, alerted) when it failed."""
    # a deployment's scheduler builds several newsletters: say which
    named = "" if config.key == "default" else f" for {config.key}"
    log.info("building the issue of %s%s", edition, named)
    try:
        result = build_issue(
            config, edition, progress=lambda step: log.info("build %s: %s", edition, step)
        )
    except LockedError as exc:
        # build_issue alerts on its own failures; being locked out is the scheduler's
        _fail(config, "build-failed", f"the scheduled build of {edition} did not run", exc, edition)
        return False
    except NewsletterError as exc:
        log.error("scheduled build of %s failed: %s", edition, exc)
        return False
    except Exception:
        log.exception("scheduled build of %s crashed", edition)
        return False
    for line in summary_lines(result.report, outbox=str(result.outbox)):
        log.info("%s", line)
    return True


def _send(config: Config, edition: date) -> None:
    """Send the edition's outbox files to ``schedule.send_to`` and mark it sent.

    The same checked send as ``newsletter send`` (lint first, at most once), never
    forced: a refused or failed send is logged and alerted, and the issue stays unsent.
    """
    to = config.schedule.send_to
    try:
        checked_send(config, edition, smtp_delivery(config, to))
    except NewsletterError as exc:
        _fail(config, "send-failed", f"the issue of {edition} was not sent", exc, edition)
        return
    log.info("sent the issue of %s to %s", edition, ", ".join(to))


def _ingest_job(config: Config) -> None:
    """The frequent job: fetch new items into the state store between builds."""
    try:
        with build_lock(config, wait=_INGEST_LOCK_WAIT), open_state(config) as store:
            result = ingest(config, store)
    except LockedError:
        log.info("ingest skipped: a build is running (it ingests too)")
        return
    except Exception:
        log.exception("scheduled ingest crashed")
        return
    _log_ingest("ingest", result)


def _log_ingest(what: str, result: IngestResult) -> None:
    failed = result.failed
    log.info(
        "%s: %d new item(s) from %d source(s), %d failed",
        what,
        result.new,
        len(result.sources),
        len(failed),
    )
    for src in failed:
        log.warning("%s: %s: %s", what, src.source, src.error)


def _fleet_ingest_job(deployment: Deployment) -> None:
    """A deployment's frequent job: every newsletter's sources, shared feeds fetched once."""
    try:
        outcomes = ingest_all(deployment, lock_wait=_INGEST_LOCK_WAIT)
    except Exception:
        log.exception("scheduled ingest crashed")
        return
    for one in outcomes:
        if isinstance(one.error, LockedError):
            log.info("ingest %s skipped: a build is running (it ingests too)", one.key)
        elif one.error is not None:
            log.error("ingest %s failed: %s", one.key, one.error)
        elif one.result is not None:
            _log_ingest(f"ingest {one.key}", one.result)


def _resume_at(
    config: Config,
    jobstore: SQLAlchemyJobStore,
    trigger: DailyTrigger,
    now: datetime,
    job_id: str = "build",
) -> datetime | None:
    """When the build job should next run, given what the last scheduler left.

    If the last scheduled time passed within the grace time and its edition has no
    complete issue, that time is returned so the build runs at once: no scheduler
    ran it, or one died during it (killed, or a leader whose standby takes over).
    Otherwise a remembered next run time is kept while the trigger is unchanged, so
    a run missed while no scheduler was up is caught up (within the grace time).
    """
    try:
        old = jobstore.lookup_job(job_id)
    except Exception:  # a job pickled by another version: start afresh
        old = None
    remembered: datetime | None = None
    if old is not None and repr(old.trigger) == repr(trigger) and old.next_run_time:
        remembered = old.next_run_time
    last = trigger.previous_fire_time(now)
    grace = timedelta(seconds=config.schedule.misfire_grace_seconds)
    if (
        last is not None
        and now - last <= grace
        and (remembered is None or remembered > now)
        and _issue_complete(config, last.astimezone(trigger.timezone).date()) is None
    ):
        return last
    return remembered


class _Stopper:
    """Stops the scheduler from a signal or a timer, after the running job finishes."""

    def __init__(self, scheduler: BlockingScheduler) -> None:
        self.scheduler = scheduler
        self.requested = threading.Event()
        self.previous: dict[int, Any] = {}
        self.thread: threading.Thread | None = None

    def install(self) -> None:
        self.previous = _install_signals(self._on_signal)

    def restore(self) -> None:
        _restore_signals(self.previous)
        self.previous = {}

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.requested.is_set():
            log.warning(
                "%s again: leaving now; a running build is abandoned (builds are"
                " crash-safe and the next run completes it)",
                name,
            )
            os._exit(128 + signum)
        log.info("%s: stopping after the running job finishes", name)
        self.stop()

    def stop(self) -> None:
        if self.requested.is_set():
            return
        self.requested.set()
        # shutdown(wait=True) blocks until the running job ends: never in a signal handler
        self.thread = threading.Thread(target=self._shutdown, name="scheduler-stop")
        self.thread.start()

    def _shutdown(self) -> None:
        with contextlib.suppress(SchedulerNotRunningError):
            self.scheduler.shutdown(wait=True)


def _log_next_runs(scheduler: BlockingScheduler) -> None:
    for job in scheduler.get_jobs():
        when = job.next_run_time.isoformat("T", "seconds") if job.next_run_time else "never"
        log.info("next %s: %s (%s)", job.id, when, job.trigger)


@dataclass(frozen=True)
class _Plan:
    """What one scheduler process runs: a daily build job per newsletter (by job id) and
    at most one ingest job (its function and argument, every N minutes)."""

    title: str
    timezone: ZoneInfo
    jobstore: Path
    builds: tuple[tuple[str, Config], ...]
    ingest: tuple[Callable[[Any], None], object, int] | None = None

    @property
    def grace(self) -> int:
        return min(c.schedule.misfire_grace_seconds for _, c in self.builds)


def run_scheduler(config: Config, *, stop_after: float | None = None) -> None:
    """Run the newsletter's jobs in the foreground until SIGINT/SIGTERM (or ``stop_after`` s).

    Raises :class:`LockedError` when another scheduler already uses the job store.
    """
    every = config.schedule.ingest_every_minutes
    plan = _Plan(
        config.newsletter.name,
        config.newsletter.tz,
        config.jobstore_path,
        (("build", config),),
        (_ingest_job, config, every) if every else None,
    )
    _run(plan, stop_after=stop_after)


def run_fleet_scheduler(
    deployment: Deployment, *, stop_after: float | None = None, poll: float = 5.0
) -> None:
    """One scheduler for every newsletter of ``deployment``: each one's daily build at its
    own time and timezone, one ingest job for all their sources (every the shortest
    ``schedule.ingest_every_minutes`` of theirs, shared feeds fetched once).

    Several may run, on several machines sharing the state: the one holding the
    deployment's leader lock acts, the others wait as standbys, trying the lock every
    ``poll`` seconds, and one takes over when the leader dies (its builds due within
    the grace time and not complete are then run at once).
    """
    everies = [c.schedule.ingest_every_minutes for c in deployment.newsletters]
    every = min((m for m in everies if m), default=0)
    plan = _Plan(
        f"{deployment.file} ({', '.join(deployment.keys)})",
        ZoneInfo("UTC"),
        deployment.jobstore_path,
        tuple((f"build:{c.key}", c) for c in deployment.newsletters),
        (_fleet_ingest_job, deployment, every) if every else None,
    )
    deadline = None if stop_after is None else monotonic() + stop_after
    said = False
    stopped = threading.Event()
    # SIGINT/SIGTERM stop a standby from its first moment: a signal while it tries the lock
    # is seen after the try (the leader's own run answers them while it leads)
    with _stop_on_signals(stopped):
        while not stopped.is_set():
            with advisory(deployment.newsletters[0], "scheduler") as leader:
                if leader and not stopped.is_set():
                    log.info("leader of %s: this scheduler acts", deployment.file)
                    left = None if deadline is None else max(deadline - monotonic(), 0.0)
                    _run(plan, stop_after=left)
                    return
            if not said:
                log.info(
                    "standby for %s: another scheduler leads; trying every %g s",
                    deployment.file,
                    poll,
                )
                said = True
            wait = poll if deadline is None else min(poll, deadline - monotonic())
            if wait <= 0 or stopped.wait(wait):
                break
    log.info("scheduler stopped")


def _install_signals(handler: Callable[[int, FrameType | None], None]) -> dict[int, Any]:
    """SIGINT and SIGTERM go to ``handler``; returns the handlers they had. Nothing changes
    outside the main thread: signal handlers can only be set there."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore_signals(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


@contextmanager
def _stop_on_signals(stopped: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stopped`` for the body (in the main thread only)."""
    previous = _install_signals(lambda signum, frame: stopped.set())
    try:
        yield
    finally:
        _restore_signals(previous)


def _run(plan: _Plan, *, stop_after: float | None) -> None:
    """Run ``plan``'s jobs until SIGINT/SIGTERM (or ``stop_after`` s); :class:`LockedError`
    when another scheduler already uses its job store."""
    tz = plan.timezone
    path = plan.jobstore
    what = "another `newsletter schedule` process using the same job store"
    with file_lock(path.with_name(path.name + ".lock"), wait=0, what=what):
        jobstore = SQLAlchemyJobStore(url=f"sqlite:///{path}")
        scheduler = BlockingScheduler(
            jobstores={"default": jobstore},
            # one worker: jobs never run side by side
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=tz,
        )
        jobstore.start(scheduler, "default")  # read what the last run left before replacing it
        now = datetime.now(tz)
        triggers: dict[str, BaseTrigger] = {}
        alert_to: dict[str, Config] = {}
        for job_id, config in plan.builds:
            trigger = DailyTrigger.from_config(config)
            resume = _resume_at(config, jobstore, trigger, now, job_id)
            extra: dict[str, Any] = {} if resume is None else {"next_run_time": resume}
            scheduler.add_job(
                _build_job,
                trigger,
                args=[config],
                id=job_id,
                name=job_id,
                replace_existing=True,
                misfire_grace_time=config.schedule.misfire_grace_seconds,
                **extra,
            )
            triggers[job_id] = trigger
            alert_to[job_id] = config
        if plan.ingest is not None:
            job, arg, every = plan.ingest
            triggers["ingest"] = IntervalTrigger(minutes=every, timezone=tz)
            scheduler.add_job(
                job,
                triggers["ingest"],
                args=[arg],
                id="ingest",
                name="ingest",
                replace_existing=True,
                misfire_grace_time=plan.grace,
                next_run_time=now,
            )
        for stale in {j.id for j in jobstore.get_all_jobs()} - set(triggers):
            jobstore.remove_job(stale)  # a job this plan no longer has (ingest turned off)

        stopper = _Stopper(scheduler)
        timer = threading.Timer(stop_after, stopper.stop) if stop_after is not None else None

        def on_start(event: SchedulerEvent) -> None:
            stopper.install()
            if timer is not None:
                timer.daemon = True
                timer.start()
            log.info("scheduler started for %s (%s, job store %s)", plan.title, tz.key, path)
            _log_next_runs(scheduler)

        def on_job(event: JobExecutionEvent) -> None:
            # computed from the trigger, not asked of the scheduler: this runs in the
            # worker thread, and a shutdown waiting for that thread holds the scheduler's
            # locks (asking it here deadlocks a stop that lands during a build)
            job_trigger = triggers.get(event.job_id)
            if job_trigger is not None:
                nxt = job_trigger.get_next_fire_time(event.scheduled_run_time, datetime.now(tz))
                if nxt is not None:
                    log.info("next %s: %s", event.job_id, nxt.isoformat("T", "seconds"))

        def on_missed(event: JobEvent) -> None:
            config = alert_to.get(event.job_id)
            grace = plan.grace if config is None else config.schedule.misfire_grace_seconds
            late = f"the {event.job_id} run due at {event.scheduled_run_time.isoformat()}"
            message = (
                f"{late} was missed by more than {grace}"
                " s (schedule.misfire_grace_seconds) and skipped"
            )
            log.warning("%s", message)
            if config is not None:
                fire_alert(
                    config, AlertEvent("build-missed", message, due=event.scheduled_run_time)
                )

        scheduler.add_listener(on_start, EVENT_SCHEDULER_START)
        scheduler.add_listener(on_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        scheduler.add_listener(on_missed, EVENT_JOB_MISSED)
        try:
            scheduler.start()
        finally:
            if timer is not None:
                timer.cancel()
            if stopper.thread is not None:
                stopper.thread.join()
            stopper.restore()
        log.info("scheduler stopped")
