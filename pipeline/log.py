"""Logging, progress and the run summary: records and a run report in, text out.

:func:`setup_logging` sends the ``pipeline`` loggers to stderr in one of three
shapes: ``auto`` (rich colour on a terminal, plain lines otherwise), ``plain``
(``2026-03-08T06:00:01Z INFO schedule: ...``, for cron mail and files) or
``json`` (one object per line, for log collectors). :func:`progress_reporter`
gives the ``progress`` callback a build takes: a live spinner on a terminal,
an INFO line per step otherwise. :func:`print_summary` prints one screen about a
finished run from its report dict (stories clean and flagged, fallbacks named,
sources ok and failed, warnings, time per stage).
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Literal, TextIO

__all__ = ["LogFormat", "print_summary", "progress_reporter", "setup_logging", "summary_lines"]

LogFormat = Literal["auto", "plain", "json"]

log = logging.getLogger("pipeline")

# attributes every LogRecord has; anything else came in through ``extra=`` and
# belongs in the JSON object
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_MAX_LISTED = 5  # failed sources and warnings shown before "and N more"
_MAX_STORIES = 8  # headlines shown: the summary must fit one screen


def _utc(record: logging.LogRecord) -> str:
    return (
        datetime.fromtimestamp(record.created, UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
    )


class _PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        name = record.name.removeprefix("pipeline.")
        line = f"{_utc(record)} {record.levelname} {name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return line


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": _utc(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(data, default=str, ensure_ascii=False)


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def setup_logging(
    log_format: LogFormat = "auto", *, verbose: bool = False, stream: TextIO | None = None
) -> None:
    """Route the ``pipeline`` and ``apscheduler`` loggers to ``stream`` (stderr) in one shape.

    Calling it again replaces the handlers it installed before.
    """
    out = stream if stream is not None else sys.stderr
    handler: logging.Handler
    if log_format == "auto" and _is_terminal(out):
        from rich.console import Console
        from rich.logging import RichHandler

        handler = RichHandler(console=Console(file=out), show_path=False, markup=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(out)
        handler.setFormatter(_JsonFormatter() if log_format == "json" else _PlainFormatter())
    level = logging.DEBUG if verbose else logging.INFO
    for name in ("pipeline", "apscheduler"):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, "_pipeline_handler", False)]:
            logger.removeHandler(old)
        setattr(handler, "_pipeline_handler", True)  # noqa: B010 - a tag, not a field
        logger.addHandler(handler)
        # APScheduler's own INFO lines repeat ours ("Added job", "Running job"...)
        quiet = logging.INFO if verbose else logging.WARNING
        logger.setLevel(level if name == "pipeline" else quiet)
        logger.propagate = False


@contextmanager
def progress_reporter(
    title: str, *, stream: TextIO | None = None, logger: logging.Logger | None = None
) -> Iterator[Callable[[str], None]]:
    """A ``progress`` callback for a long run: a spinner on a terminal, log lines otherwise."""
    out = stream if stream is not None else sys.stderr
    target = logger or log
    if not _is_terminal(out):
        yield lambda step: target.info("%s: %s", title, step)
        return
    from rich.console import Console

    console = Console(file=out)
    with console.status(f"{title}…") as status:

        def report(step: str) -> None:
            status.update(f"{title}: {step}")

        yield report


def _count(value: object) -> int:
    if isinstance(value, int):
        return value
    return len(value) if isinstance(value, list | tuple | dict) else 0


def _sources(report: Mapping[str, object]) -> tuple[int, list[str]]:
    ok, failed = 0, []
    sources = report.get("sources", [])
    for src in sources if isinstance(sources, list | tuple) else []:
        if not isinstance(src, Mapping):
            continue
        if src.get("status") == "error":
            name = src.get("name") or src.get("source") or "?"
            failed.append(f"{name}: {src.get('error') or 'failed'}")
        else:
            ok += 1
    return ok, failed


def _flagged(story: Mapping[str, object]) -> bool:
    """An editor must look: findings, or a fallback (never clean, even without findings)."""
    return bool(story.get("flagged") or story.get("findings") or story.get("fallback"))


def _listed(items: list[str]) -> list[str]:
    lines = [f"  - {_short(i)}" for i in items[:_MAX_LISTED]]
    if len(items) > _MAX_LISTED:
        lines.append(f"  … and {len(items) - _MAX_LISTED} more (see report.json)")
    return lines


def _short(text: str, width: int = 96) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def summary_lines(report: Mapping[str, object]) -> list[str]:
    """The run summary as plain lines (at most about 30), from a build's report dict."""
    edition = report.get("edition") or report.get("date") or "?"
    lines = [f"Issue {edition}: {report.get('status', '?')}"]
    stories = report.get("stories")
    listed = [s for s in stories if isinstance(s, Mapping)] if isinstance(stories, list) else []
    flagged = sum(1 for s in listed if _flagged(s))
    fallbacks = sum(1 for s in listed if s.get("fallback"))
    lines.append(
        f"Stories: {_count(stories)}"
        + (f" (+{_count(report['quick_links'])} quick links)" if report.get("quick_links") else "")
        + (f": {len(listed) - flagged} clean, {flagged} flagged" if listed else "")
        + (f" ({fallbacks} of them by the offline fallback)" if fallbacks else "")
    )
    for n, story in enumerate(listed[:_MAX_STORIES], 1):
        notes = []
        if story.get("fallback"):
            notes.append(f"fallback: {_short(str(story['fallback']), 60)}")
        if flags := _count(story.get("findings", [])):
            notes.append(f"{flags} finding(s)")
        note = f"  [{'; '.join(notes)}]" if notes else ""
        lines.append(f"  {n}. {_short(str(story.get('headline', '')), 80)}{note}")
    if len(listed) > _MAX_STORIES:
        hidden = [n for n, s in enumerate(listed, 1) if n > _MAX_STORIES and s.get("fallback")]
        more = f" (fallback: {', '.join(f'story {n}' for n in hidden)})" if hidden else ""
        lines.append(f"  … and {len(listed) - _MAX_STORIES} more{more}")
    ok, failed = _sources(report)
    lines.append(f"Sources: {ok} ok, {len(failed)} failed")
    lines += _listed(failed)
    feeds = report.get("feeds")
    if isinstance(feeds, list) and feeds:
        lines.append(f"Feeds needing attention: {len(feeds)}")
        lines += _listed(
            [
                f"{f.get('status')}: {f.get('name') or f.get('url')}"
                + (
                    f" ({f.get('failures')} failures in a row: {f.get('last_error')})"
                    if f.get("failures")
                    else ""
                )
                + (" [alert]" if f.get("alert") else "")
                for f in feeds
                if isinstance(f, Mapping)
            ]
        )
    raw_warnings = report.get("warnings", [])
    warnings = [str(w) for w in raw_warnings] if isinstance(raw_warnings, list | tuple) else []
    lines.append(f"Warnings: {len(warnings)}")
    lines += _listed(warnings)
    timings = report.get("timings")
    if isinstance(timings, Mapping) and timings:
        parts = [
            f"{stage} {float(sec):.2f}s"
            for stage, sec in timings.items()
            if isinstance(sec, int | float)
        ]
        lines.append("Time: " + ", ".join(parts))
    if report.get("outbox"):
        lines.append(f"Outbox: {report['outbox']}")
    alerts = report.get("alerts")
    if isinstance(alerts, list | tuple) and alerts:
        lines.append(f"Alerts: {len(alerts)}")
        lines += _listed(
            [str(a.get("message", a)) if isinstance(a, Mapping) else str(a) for a in alerts]
        )
    return lines


def print_summary(report: Mapping[str, object], *, stream: TextIO | None = None) -> None:
    """Print the one-screen run summary: a rich panel on a terminal, plain lines otherwise."""
    out = stream if stream is not None else sys.stdout
    lines = summary_lines(report)
    if not _is_terminal(out):
        out.write("\n".join(lines) + "\n")
        out.flush()
        return
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    body = Text("\n".join(lines[1:]))
    Console(file=out).print(Panel(body, title=lines[0], expand=False))
