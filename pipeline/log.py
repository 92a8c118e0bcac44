"""Logging, progress and the run summary: records and a run report in, text out.

:func:`setup_logging` sends the ``pipeline`` loggers to stderr in one of three
shapes: ``auto`` (rich colour on a terminal, plain lines otherwise), ``plain``
(``2026-03-08T06:00:01Z INFO schedule: ...``, for cron mail and files) or
``json`` (one object per line, for log collectors). :func:`progress_reporter`
gives the ``progress`` callback a build takes: a live spinner on a terminal,
an INFO line per step otherwise. :func:`print_summary` prints one screen about a
finished run from its :class:`~pipeline.report.RunReport` (stories clean and flagged,
fallbacks named, sources ok and failed, warnings, time per stage).
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Literal, TextIO

from .report import RunReport

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
    """Route the ``pipeline``, ``apscheduler`` and ``celery`` loggers to ``stream`` (stderr) in one
    shape.

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
    for name in ("pipeline", "apscheduler", "celery"):  # celery: `newsletter worker`
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, "_pipeline_handler", False)]:
            logger.removeHandler(old)
        setattr(handler, "_pipeline_handler", True)  # noqa: B010 - a tag, not a field
        logger.addHandler(handler)
        # APScheduler's and Celery's own INFO lines repeat ours ("Added job", "Task ...")
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


def _listed(items: list[str]) -> list[str]:
    lines = [f"  - {_short(i)}" for i in items[:_MAX_LISTED]]
    if len(items) > _MAX_LISTED:
        lines.append(f"  … and {len(items) - _MAX_LISTED} more (see report.json)")
    return lines


def _short(text: str, width: int = 96) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def summary_lines(report: RunReport, *, outbox: str = "") -> list[str]:
    """The run summary as plain lines (at most about 30) from a run's report; ``outbox``
    says where its files are, when the caller wants it shown."""
    lines = [f"Issue {report.date.isoformat()}: {report.status}"]
    stories = report.stories
    flagged = sum(1 for s in stories if s.needs_a_look)
    fallbacks = sum(1 for s in stories if s.fallback)
    lines.append(
        f"Stories: {len(stories)}"
        + (f" (+{report.quick_links} quick links)" if report.quick_links else "")
        + (f": {len(stories) - flagged} clean, {flagged} flagged" if stories else "")
        + (f" ({fallbacks} of them by the offline fallback)" if fallbacks else "")
    )
    for n, story in enumerate(stories[:_MAX_STORIES], 1):
        notes = []
        if story.fallback:
            notes.append(f"fallback: {_short(story.fallback, 60)}")
        if story.findings:
            notes.append(f"{len(story.findings)} finding(s)")
        note = f"  [{'; '.join(notes)}]" if notes else ""
        lines.append(f"  {n}. {_short(story.headline, 80)}{note}")
    if len(stories) > _MAX_STORIES:
        hidden = [n for n, s in enumerate(stories, 1) if n > _MAX_STORIES and s.fallback]
        more = f" (fallback: {', '.join(f'story {n}' for n in hidden)})" if hidden else ""
        lines.append(f"  … and {len(stories) - _MAX_STORIES} more{more}")
    failed = [f"{s.source}: {s.error or 'failed'}" for s in report.sources if s.status == "error"]
    lines.append(f"Sources: {len(report.sources) - len(failed)} ok, {len(failed)} failed")
    lines += _listed(failed)
    if report.feeds:
        lines.append(f"Feeds needing attention: {len(report.feeds)}")
        lines += _listed(
            [
                f"{f.status}: {f.name or f.url}"
                + (f" ({f.failures} failures in a row: {f.last_error})" if f.failures else "")
                + (" [alert]" if f.alert else "")
                for f in report.feeds
            ]
        )
    lines.append(f"Warnings: {len(report.warnings)}")
    lines += _listed(list(report.warnings))
    if report.timings:
        parts = [f"{stage} {float(sec):.2f}s" for stage, sec in report.timings.items()]
        lines.append("Time: " + ", ".join(parts))
    if outbox:
        lines.append(f"Outbox: {outbox}")
    if report.alerts:
        lines.append(f"Alerts: {len(report.alerts)}")
        lines += _listed([a.message for a in report.alerts])
    return lines


def print_summary(report: RunReport, *, outbox: str = "", stream: TextIO | None = None) -> None:
    """Print the one-screen run summary: a rich panel on a terminal, plain lines otherwise."""
    out = stream if stream is not None else sys.stdout
    lines = summary_lines(report, outbox=outbox)
    if not _is_terminal(out):
        out.write("\n".join(lines) + "\n")
        out.flush()
        return
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    body = Text("\n".join(lines[1:]))
    Console(file=out).print(Panel(body, title=lines[0], expand=False))
