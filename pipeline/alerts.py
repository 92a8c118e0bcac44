"""Alerts: a run's outcome in, typed events for the configured hook out, delivered or not.

:func:`build_alerts` turns one build's outcome (its :class:`RunReport`, with the feed
ledger's count of failures in a row, or the error that stopped it) into
:class:`AlertEvent` events: ``build-failed``, ``few-stories`` (fewer than
``alerts.min_stories``) and ``feeds-failing`` (a feed failing
``fetch.alert_after_failures`` runs in a row, or gone). The scheduler makes its own:
``build-failed`` (locked out), ``build-missed`` and ``send-failed``.
:func:`fire_alert` delivers one event and returns an error string or None.

The hook is ``alerts.command`` (run without a shell; the event as JSON on stdin
and its ``kind`` and ``message`` in ``NEWSLETTER_ALERT_KIND`` and
``NEWSLETTER_ALERT_MESSAGE``) and/or ``alerts.url`` (the event POSTed as JSON).
Both get the same bytes, :meth:`AlertEvent.to_json`. Both are bounded by
``alerts.timeout``. Firing never raises: an alert that cannot be delivered must not
turn a finished build into a crash, so the failure comes back as a string for the
run report and the log.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

import httpx

from .config import Config
from .errors import NewsletterError
from .httpclient import tls_context
from .models import AlertKind, FeedHealth
from .report import RunReport

__all__ = ["AlertEvent", "FailureKind", "build_alerts", "fire_alert"]

log = logging.getLogger(__name__)

FailureKind = Literal["build-failed", "send-failed"]  # the kinds a job's error raises

_TAIL = 300  # characters of a failing command's stderr or a refusing server's body kept


@dataclass(frozen=True)
class AlertEvent:
    """One event for the hook: its kind, a line for people, and the fields its kind carries.

    ``build-failed`` and ``send-failed`` carry ``edition``, ``exit_code`` and ``error``
    (the exception's class name; see :meth:`failure`); ``few-stories`` ``edition``,
    ``stories`` and ``min_stories``; ``feeds-failing`` ``edition`` and ``feeds`` (those
    past the threshold); ``build-missed`` ``due``, the scheduled time that was skipped.
    """

    kind: AlertKind
    message: str
    edition: date | None = None
    exit_code: int = 0
    error: str = ""
    stories: int = 0
    min_stories: int = 0
    feeds: tuple[FeedHealth, ...] = ()
    due: datetime | None = None

    @classmethod
    def failure(
        cls,
        kind: FailureKind,
        edition: date,
        error: BaseException,
        message: str,
    ) -> AlertEvent:
        """A job that stopped on ``error``: its exit code as the CLI would give it."""
        code = error.exit_code if isinstance(error, NewsletterError) else 1
        return cls(kind, message, edition, exit_code=code, error=type(error).__name__)

    def to_json(self, newsletter: str, at: datetime) -> bytes:
        """The payload both hooks get: ``newsletter``, ``time``, ``kind``, then the kind's
        fields in the order hooks have always read them."""
        day = self.edition.isoformat() if self.edition is not None else None
        fields: dict[str, object]
        if self.kind == "few-stories":
            fields = {"edition": day, "stories": self.stories, "min_stories": self.min_stories}
        elif self.kind == "feeds-failing":
            fields = {"edition": day, "feeds": [_feed(f) for f in self.feeds]}
        elif self.kind == "build-missed":
            due = self.due.isoformat() if self.due is not None else None
            fields = {"message": self.message, "due": due}
        else:
            fields = {"edition": day, "exit_code": self.exit_code, "error": self.error}
        data = {
            "newsletter": newsletter,
            "time": at.isoformat(timespec="seconds"),
            "kind": self.kind,
            **fields,
        }
        data.setdefault("message", self.message)  # last, unless the kind placed it
        return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _feed(health: FeedHealth) -> dict[str, object]:
    return {
        "source": health.url,
        "name": health.name,
        "failures": health.failures,
        "error": health.last_error,
        "status": health.status,
    }


def _tail(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TAIL else "..." + text[-_TAIL:]


def _run_command(config: Config, body: bytes, event: AlertEvent) -> str | None:
    argv = config.alerts.argv
    env = {
        **os.environ,
        "NEWSLETTER_ALERT_KIND": event.kind,
        "NEWSLETTER_ALERT_MESSAGE": event.message,
    }
    try:
        done = subprocess.run(
            argv,
            input=body,
            capture_output=True,
            timeout=config.alerts.timeout,
            cwd=config.root,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"alert command {argv[0]!r} timed out after {config.alerts.timeout:g} s"
    except OSError as exc:
        return f"alert command {argv[0]!r} could not start: {exc.strerror or exc}"
    if done.returncode != 0:
        stderr = _tail(done.stderr.decode("utf-8", "replace"))
        return f"alert command {argv[0]!r} exited with {done.returncode}" + (
            f": {stderr}" if stderr else ""
        )
    return None


def _post(config: Config, body: bytes) -> str | None:
    url = config.alerts.url
    try:
        with httpx.Client(
            timeout=config.alerts.timeout, follow_redirects=False, verify=tls_context()
        ) as client:
            response = client.post(url, content=body, headers={"Content-Type": "application/json"})
    except httpx.TimeoutException:
        return f"alert POST to {url} timed out after {config.alerts.timeout:g} s"
    except httpx.HTTPError as exc:
        return f"alert POST to {url} failed: {exc or type(exc).__name__}"
    if not 200 <= response.status_code < 300:
        return f"alert POST to {url} got HTTP {response.status_code}: {_tail(response.text)}"
    return None


def fire_alert(config: Config, event: AlertEvent) -> str | None:
    """Deliver ``event`` to every configured hook; return None or what went wrong.

    The payload names the newsletter and the time of firing. With no hook
    configured nothing happens and None is returned.
    """
    alerts = config.alerts
    if not alerts.url and not alerts.argv:
        return None
    errors: list[str] = []
    try:
        body = event.to_json(config.newsletter.name, datetime.now(UTC))
        if alerts.argv:
            errors.append(_run_command(config, body, event) or "")
        if alerts.url:
            errors.append(_post(config, body) or "")
    except Exception as exc:  # an alert must never crash the run it reports on
        errors.append(f"alert failed: {type(exc).__name__}: {exc}")
    message = "; ".join(e for e in errors if e)
    if message:
        log.warning("%s", message)
        return message
    log.info("alert %s delivered", event.kind)
    return None


def build_alerts(
    config: Config,
    edition: date,
    *,
    report: RunReport | None = None,
    error: BaseException | None = None,
) -> list[AlertEvent]:
    """The alert events one build deserves (an empty list for a healthy run).

    The feeds past their alert threshold are those the report's feed ledger marks
    (``alert``: failing ``fetch.alert_after_failures`` times in a row, or gone). A
    frozen (approved or sent) issue raises no story alert.
    """
    day = edition.isoformat()
    events: list[AlertEvent] = []
    if error is not None:
        message = f"the build of {day} failed: {error}"
        events.append(AlertEvent.failure("build-failed", edition, error, message))
    elif report is not None and report.status != "frozen":
        count, least = len(report.stories), config.alerts.min_stories
        if count < least:
            message = f"the issue of {day} has {count} stories, fewer than the minimum of {least}"
            events.append(
                AlertEvent("few-stories", message, edition, stories=count, min_stories=least)
            )
    failing = tuple(f for f in (report.feeds or ()) if f.alert) if report is not None else ()
    if failing:
        names = ", ".join(f"{f.url} ({f.failures}x)" for f in failing)
        message = (
            f"{len(failing)} feed(s) failing"
            f" {config.fetch.alert_after_failures} or more times in a row: {names}"
        )
        events.append(AlertEvent("feeds-failing", message, edition, feeds=failing))
    return events
