"""The run report: what one build or render found in, a typed :class:`RunReport` out, and
its JSON text (``report.json``) both ways.

In: the parts of a run (each source's result, the feed ledger, the summarizer's
bookkeeping, each story with its findings, the email's sizes and lint, time per stage).
Out: frozen dataclasses, :meth:`RunReport.to_json` (the text of ``report.json``, the same
bytes as before the report was typed) and :meth:`RunReport.from_json`, which reads any
report an earlier version wrote (a key it lacks takes its default) and turns one that is
not a report into :class:`ReportError` naming the file and the key. Only
:mod:`pipeline.edition` reads and writes the file; alerts, the run summary, the preview
and the scheduler get the typed report.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from datetime import date, datetime
from types import UnionType
from typing import Any, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from .errors import ReportError
from .models import (
    AlertKind,
    FeedHealth,
    Finding,
    SourceRef,
    SourceResult,
    SourceStatus,
    StorySummary,
    SummaryRun,
)

__all__ = [
    "AlertNote",
    "BuildStatus",
    "EmailReport",
    "HistoryEntry",
    "RunReport",
    "SourceReport",
    "StoryReport",
    "SummarizerReport",
]

BuildStatus = Literal["built", "unchanged", "edited-draft-rendered", "frozen", "rendered"]


@dataclass(frozen=True)
class SourceReport:
    """One feed's or story file's outcome in this run (its items are in the store)."""

    source: str
    kind: Literal["feed", "file"] = "feed"
    status: SourceStatus = "ok"
    items: int = 0
    new: int = 0
    updated: int = 0
    error: str = ""
    warnings: tuple[str, ...] = ()

    @classmethod
    def of(cls, result: SourceResult) -> SourceReport:
        return cls(
            result.source,
            result.kind,
            result.status,
            result.listed,
            result.new,
            result.updated,
            result.error,
            result.warnings,
        )


@dataclass(frozen=True)
class SummarizerReport:
    """The summarizer's bookkeeping for a run that generated stories."""

    engine: str
    calls: int = 0
    tokens: int = 0
    cache_hits: int = 0
    errors: tuple[str, ...] = ()

    @classmethod
    def of(cls, engine: str, run: SummaryRun) -> SummarizerReport:
        return cls(engine, run.calls, run.tokens, run.cache_hits, run.errors)


@dataclass(frozen=True)
class StoryReport:
    """One story of the issue as rendered: who wrote it, and what the checks found."""

    id: str
    headline: str = ""
    section: str = ""
    engine: str = ""
    # why the offline engine wrote it ("" when it was not a fallback); a fallback is
    # flagged even when the checks find nothing
    fallback: str = ""
    flagged: bool = False
    sources: tuple[SourceRef, ...] = ()
    findings: tuple[Finding, ...] = ()

    @classmethod
    def of(cls, story: StorySummary, findings: Sequence[Finding]) -> StoryReport:
        return cls(
            story.id,
            story.headline,
            story.section,
            story.engine,
            story.fallback,
            story.flagged or bool(findings),
            story.sources,
            tuple(findings),
        )

    @property
    def needs_a_look(self) -> bool:
        """An editor must look: findings, or a fallback (a report older than the
        ``flagged`` key says so through its fallback alone)."""
        return self.flagged or bool(self.findings) or bool(self.fallback)


@dataclass(frozen=True)
class EmailReport:
    """The finished email's sizes and the findings on it as a whole."""

    html_bytes: int = 0
    text_bytes: int = 0
    eml_bytes: int = 0
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class HistoryEntry:
    """One run that changed the issue, as ``report.json``'s history keeps it."""

    run_at: str
    status: str = ""
    stories: int = 0
    sources_ok: int = 0
    sources_failed: int = 0
    warnings: int = 0
    errors: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class AlertNote:
    """An alert this run fired (and why it could not be delivered); for the summary only."""

    kind: AlertKind
    message: str
    delivery_error: str = ""


@dataclass(frozen=True)
class RunReport:
    """One run of build or render: the fields in the order ``report.json`` has them.

    ``feeds`` is None when the run fetched nothing (a render) and ``summarizer`` when it
    generated nothing; both are then left out of the file, as before.
    """

    newsletter: str
    date: date
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    sources: tuple[SourceReport, ...] = ()
    feeds: tuple[FeedHealth, ...] | None = None
    summarizer: SummarizerReport | None = None
    draft_sha: str = ""  # the draft the email was rendered from: an older email is stale
    status: BuildStatus = "built"
    subject: str = ""
    stories: tuple[StoryReport, ...] = ()
    quick_links: int = 0
    email: EmailReport = EmailReport()
    timings: Mapping[str, float] = field(default_factory=dict)
    history: tuple[HistoryEntry, ...] = ()
    alerts: tuple[AlertNote, ...] = ()  # fired after the file is written: never in it

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding: style and facts per story, in issue order, then the email's."""
        return (*(f for s in self.stories for f in s.findings), *self.email.findings)

    def history_entry(self, run_at: datetime) -> HistoryEntry:
        """This run as an entry of the history."""
        failed = sum(1 for s in self.sources if s.status == "error")
        return HistoryEntry(
            run_at=run_at.isoformat(timespec="seconds"),
            status=self.status,
            stories=len(self.stories),
            sources_ok=len(self.sources) - failed,
            sources_failed=failed,
            warnings=len(self.warnings),
            errors=len(self.errors),
            seconds=round(sum(self.timings.values()), 3),
        )

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON text (``report.json`` is this and a newline)."""
        data = {f.name: _data(getattr(self, f.name)) for f in fields(self)}
        for key in ("feeds", "summarizer"):
            if data[key] is None:
                del data[key]
        if not self.alerts:
            del data["alerts"]
        return json.dumps(data, indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes, *, file: str) -> RunReport:
        """Read a report back; :class:`ReportError` names ``file`` when it is not one."""
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ReportError(f"not a run report: not JSON ({exc})", file=file) from None
        return _read(cls, _Row(data, "", file))


# The JSON of a report follows its dataclasses: a field is a key, in field order; a
# tuple is a list, a date its ISO form. Reading walks the same fields by their types.


def _data(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _data(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_data(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _data(v) for k, v in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return value


class _Row:
    """One JSON object of a report being read: each value of its kind, its default
    when missing, or :class:`ReportError` naming the file and the key."""

    def __init__(self, data: object, where: str, file: str) -> None:
        if not isinstance(data, dict):
            raise ReportError(f"not a run report: {where or 'the top'} is not an object", file=file)
        self.data: dict[str, object] = data
        self.where = where
        self.file = file

    def bad(self, key: str, want: str) -> ReportError:
        got = repr(self.data.get(key))
        got = got if len(got) <= 60 else got[:57] + "..."
        return ReportError(
            f"not a run report: '{self.where}{key}' must be {want} (got {got})", file=self.file
        )

    def row(self, key: str) -> _Row:
        return _Row(self.data[key], f"{self.where}{key}.", self.file)

    def rows(self, key: str) -> list[_Row]:
        value = self.data[key]
        if not isinstance(value, list):
            raise self.bad(key, "a list")
        return [_Row(v, f"{self.where}{key}[{n}].", self.file) for n, v in enumerate(value)]


_D = TypeVar("_D")


def _read(cls: type[_D], row: _Row) -> _D:
    """A dataclass from a JSON object: a key it lacks takes the field's default (a field
    without one, its type's empty value; a report without its date is not one)."""
    hints = get_type_hints(cls)
    values: dict[str, object] = {}
    for f in fields(cast(Any, cls)):
        if f.name in row.data:
            values[f.name] = _value(hints[f.name], row, f.name)
        elif f.default is MISSING and f.default_factory is MISSING:
            if hints[f.name] is date:
                raise row.bad(f.name, "a date (YYYY-MM-DD)")
            values[f.name] = _value(hints[f.name], _Row({f.name: None}, row.where, ""), f.name)
    return cast(Callable[..., _D], cls)(**values)


def _value(hint: object, row: _Row, key: str) -> object:
    """The value at ``key`` as the type ``hint`` says (None stands for a missing one)."""
    value = row.data[key]
    origin, args = get_origin(hint), get_args(hint)
    if origin in (UnionType, Union):  # X | None
        inner = next(a for a in args if a is not type(None))
        return None if value is None else _value(inner, row, key)
    if origin is Literal:
        if value is None:
            return args[0]
        if value not in args:
            raise row.bad(key, "one of " + ", ".join(map(str, args)))
        return value
    if origin is tuple:
        if value is None:
            return ()
        if args[0] is str:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise row.bad(key, "a list of strings")
            return tuple(value)
        return tuple(_read(args[0], r) for r in row.rows(key))
    if origin is Mapping:  # the timings: stage -> seconds
        sub = row.row(key) if value is not None else _Row({}, "", row.file)
        return {k: _value(float, sub, k) for k in sub.data}
    if isinstance(hint, type) and is_dataclass(hint):
        return _read(hint, row.row(key) if value is not None else _Row({}, "", row.file))
    if hint is date:
        try:
            if isinstance(value, str):
                return date.fromisoformat(value)
        except ValueError:
            pass
        raise row.bad(key, "a date (YYYY-MM-DD)")
    return _scalar(hint, row, key)


def _scalar(hint: object, row: _Row, key: str) -> object:
    value = row.data[key]
    if hint is str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise row.bad(key, "a string")
    elif hint is bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            raise row.bad(key, "true or false")
    elif hint is int:
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            raise row.bad(key, "a whole number")
    elif hint is float:
        if value is None:
            return 0
        # an int stays an int, so a report read and written again keeps its bytes
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise row.bad(key, "a number")
    else:  # pragma: no cover - a field of a type this reader does not know
        raise TypeError(f"no JSON reading for {hint!r}")
    return value
