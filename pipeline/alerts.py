"""Alerts: a run's outcome in, events for the configured hook out, delivered or not.

:func:`build_alerts` turns one build's outcome (its :class:`RunReport`, with the feed
ledger's count of failures in a row, or the error that stopped it) into events:
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
from datetime import UTC, date, datetime

import httpx

from .config import Config
from .errors import NewsletterError
from .httpclient import tls_context
from .report import RunReport

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
    report: RunReport | None = None,
    error: BaseException | None = None,
) -> list[dict[str, object]]:
    """The alert events one build deserves (an empty list for a healthy run).

    The feeds past their alert threshold are those the report's feed ledger marks
    (``alert``: failing ``fetch.alert_after_failures`` times in a row, or gone). A
    frozen (approved or sent) issue raises no story alert.
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
    elif report is not None and report.status != "frozen":
        count = len(report.stories)
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
    failing = [f for f in (report.feeds or ()) if f.alert] if report is not None else []
    if failing:
        names = ", ".join(f"{f.url} ({f.failures}x)" for f in failing)
        events.append(
            {
                "kind": "feeds-failing",
                "edition": day,
                "feeds": [
                    {
                        "source": f.url,
                        "name": f.name,
                        "failures": f.failures,
                        "error": f.last_error,
                        "status": f.status,
                    }
                    for f in failing
                ],
                "message": f"{len(failing)} feed(s) failing"
                f" {config.fetch.alert_after_failures} or more times in a row: {names}",
            }
        )
    return events
