"""Alerts: a run's outcome in, events for the configured hook out, delivered or not.

:func:`build_alerts` turns one build's outcome (its report, or the error that
stopped it, and each failed feed's count of failures in a row) into events:
``build-failed``, ``few-stories`` (fewer than ``alerts.min_stories``) and
``feeds-failing`` (a feed failing ``fetch.alert_after_failures`` runs in a row,
or gone).
:func:`fire_alert` delivers one event and returns an error string or None.

The hook is ``alerts.command`` (run without a shell; the event as JSON on stdin
and its ``kind`` and ``message`` in ``NEWSLETTER_ALERT_KIND`` and
``NEWSLETTER_ALERT_MESSAGE``) and/or ``alerts.url`` (the event POSTed as JSON).
Both are bounded by ``alerts.timeout``. Firing never raises: an alert that
cannot be delivered must not turn a finished build into a crash, so the failure
comes back as a string for the run report and the log.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

import httpx

from .config import Config
from .errors import NewsletterError

__all__ = ["build_alerts", "fire_alert"]

log = logging.getLogger(__name__)

_TAIL = 300  # characters of a failing command's stderr or a refusing server's body kept


def _tail(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TAIL else "..." + text[-_TAIL:]


def _run_command(config: Config, body: bytes, event: dict[str, object]) -> str | None:
    argv = config.alerts.argv
    env = {
        **os.environ,
        "NEWSLETTER_ALERT_KIND": str(event.get("kind", "")),
        "NEWSLETTER_ALERT_MESSAGE": str(event.get("message", "")),
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
        with httpx.Client(timeout=config.alerts.timeout, follow_redirects=False) as client:
            response = client.post(url, content=body, headers={"Content-Type": "application/json"})
    except httpx.TimeoutException:
        return f"alert POST to {url} timed out after {config.alerts.timeout:g} s"
    except httpx.HTTPError as exc:
        return f"alert POST to {url} failed: {exc or type(exc).__name__}"
    if not 200 <= response.status_code < 300:
        return f"alert POST to {url} got HTTP {response.status_code}: {_tail(response.text)}"
    return None


def fire_alert(config: Config, event: dict[str, object]) -> str | None:
    """Deliver ``event`` to every configured hook; return None or what went wrong.

    ``newsletter`` and ``time`` are added to the event when missing. With no
    hook configured nothing happens and None is returned.
    """
    alerts = config.alerts
    if not alerts.url and not alerts.argv:
        return None
    full: dict[str, object] = {
        "newsletter": config.newsletter.name,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        **event,
    }
    errors: list[str] = []
    try:
        body = json.dumps(full, default=str, ensure_ascii=False).encode("utf-8")
        if alerts.argv:
            errors.append(_run_command(config, body, full) or "")
        if alerts.url:
            errors.append(_post(config, body) or "")
    except Exception as exc:  # an alert must never crash the run it reports on
        errors.append(f"alert failed: {type(exc).__name__}: {exc}")
    message = "; ".join(e for e in errors if e)
    if message:
        log.warning("%s", message)
        return message
    log.info("alert %s delivered", full.get("kind", "event"))
    return None


def build_alerts(
    config: Config,
    edition: date,
    *,
    report: Mapping[str, object] | None = None,
    error: BaseException | None = None,
    failing_feeds: Sequence[Mapping[str, object]] = (),
) -> list[dict[str, object]]:
    """The alert events one build deserves (an empty list for a healthy run).

    ``failing_feeds`` are the feeds past their alert threshold (``source``,
    ``failures`` in a row, last ``error``), as :func:`pipeline.ingest.feed_health`
    flags them. A frozen (approved or sent) issue raises no story alert.
    """
    day = edition.isoformat()
    events: list[dict[str, object]] = []
    if error is not None:
        code = error.exit_code if isinstance(error, NewsletterError) else 1
        events.append(
            {
                "kind": "build-failed",
                "edition": day,
                "exit_code": code,
                "error": type(error).__name__,
                "message": f"the build of {day} failed: {error}",
            }
        )
    elif report is not None and report.get("status") != "frozen":
        stories = report.get("stories")
        count = len(stories) if isinstance(stories, list | tuple) else 0
        if count < config.alerts.min_stories:
            events.append(
                {
                    "kind": "few-stories",
                    "edition": day,
                    "stories": count,
                    "min_stories": config.alerts.min_stories,
                    "message": f"the issue of {day} has {count} stories,"
                    f" fewer than the minimum of {config.alerts.min_stories}",
                }
            )
    if failing_feeds:
        names = ", ".join(f"{f.get('source')} ({f.get('failures')}x)" for f in failing_feeds)
        events.append(
            {
                "kind": "feeds-failing",
                "edition": day,
                "feeds": [dict(f) for f in failing_feeds],
                "message": f"{len(failing_feeds)} feed(s) failing"
                f" {config.fetch.alert_after_failures} or more times in a row: {names}",
            }
        )
    return events
