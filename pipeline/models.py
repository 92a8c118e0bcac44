"""Frozen dataclasses passed between the stages.

ingest -> :class:`Item` (stored), :class:`SourceResult` per feed or file, and
:class:`FeedHealth` per configured feed (for the run report);
select -> :class:`Selection` of :class:`Article`;
summarize -> :class:`StorySummary` per article;
draft -> :class:`Issue` (what the editor edits and render reads);
render -> :class:`RenderedIssue`.

And the vocabularies more than one module reads: :data:`EditionStatus` (the rules on it
are :mod:`pipeline.edition`'s) and :data:`AlertKind` (the events :mod:`pipeline.alerts`
delivers).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from typing import Literal


@dataclass(frozen=True)
class Image:
    """An image the source offers for a story, with alt text and credit when known."""

    url: str
    alt: str = ""
    credit: str = ""


@dataclass(frozen=True)
class SourceRef:
    """Where a story came from: the outlet's name and the article's link."""

    name: str
    url: str = ""


@dataclass(frozen=True)
class Item:
    """One entry of a feed or one story file, normalised.

    ``text`` is plain text; ``html`` is sanitized HTML (never raw feed markup).
    ``published`` is timezone-aware UTC when the source gives a date.
    """

    id: str
    source: str
    origin: str
    title: str
    text: str
    url: str = ""
    html: str = ""
    guid: str = ""
    author: str = ""
    published: datetime | None = None
    image: Image | None = None


SourceStatus = Literal["ok", "error", "not-modified"]


@dataclass(frozen=True)
class SourceResult:
    """What one feed or story file gave: its items, or the error that stopped it."""

    source: str
    kind: Literal["feed", "file"]
    status: SourceStatus
    items: tuple[Item, ...] = ()
    new: int = 0
    updated: int = 0
    error: str = ""
    warnings: tuple[str, ...] = ()
    elapsed: float = 0.0
    # entries stored already as they are (or pruned): not worked out again, not in items
    unchanged: int = 0
    listed: int = 0  # every entry the source gave (items holds the new or changed ones)


@dataclass(frozen=True)
class IngestResult:
    """Every source's result for one ingest run."""

    sources: tuple[SourceResult, ...]
    elapsed: float = 0.0

    @property
    def failed(self) -> tuple[SourceResult, ...]:
        return tuple(s for s in self.sources if s.status == "error")

    @property
    def new(self) -> int:
        return sum(s.new for s in self.sources)


@dataclass(frozen=True)
class Article:
    """A story candidate chosen by select: the text the summarizer reads."""

    id: str
    title: str
    text: str
    url: str = ""
    source: str = ""
    sources: tuple[SourceRef, ...] = ()
    published: datetime | None = None
    image: Image | None = None
    item_ids: tuple[str, ...] = ()

    @property
    def outlets(self) -> tuple[str, ...]:
        """The outlet names a story may credit (its own first), once each: part of what the
        writer is given as the source and what the fact checker checks a story against."""
        return tuple(dict.fromkeys(n for n in (self.source, *(s.name for s in self.sources)) if n))

    @property
    def credits(self) -> tuple[SourceRef, ...]:
        """The sources a story written from this article cites."""
        if self.sources:
            return self.sources
        return (SourceRef(self.source, self.url),) if self.source or self.url else ()


@dataclass(frozen=True)
class Selection:
    """The stories and quick links chosen for one edition date."""

    date: date
    stories: tuple[Article, ...]
    quick_links: tuple[Article, ...] = ()


HealthStatus = Literal["ok", "failing", "stale", "gone", "never-fetched"]


@dataclass(frozen=True)
class FeedHealth:
    """One configured feed's health for the run report.

    ``alert`` is true once the feed failed ``fetch.alert_after_failures`` runs
    in a row (one bad fetch is not an alert).
    """

    url: str
    name: str
    status: HealthStatus
    failures: int = 0
    last_success: str | None = None
    last_error: str = ""
    last_error_at: str | None = None
    last_new_item: str | None = None
    moved_to: str = ""
    alert: bool = False

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


Severity = Literal["error", "warning"]

# The events the alert hook is told of (:mod:`pipeline.alerts` builds and delivers them).
AlertKind = Literal["build-failed", "few-stories", "feeds-failing", "build-missed", "send-failed"]


@dataclass(frozen=True)
class Finding:
    """One problem found in a story: a broken style rule or an unsupported fact.

    ``part`` names the story part (``headline``, ``bullets[1]``...), ``start`` and
    ``end`` the character span inside it when the finding has one.
    """

    rule: str
    message: str
    part: str = ""
    text: str = ""
    start: int = -1
    end: int = -1
    severity: Severity = "error"
    story: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "message": self.message,
            "part": self.part,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "severity": self.severity,
            "story": self.story,
        }


_BLANK_LINE = re.compile(r"\n\s*\n")


def paragraphs(text: str) -> tuple[str, ...]:
    """The paragraphs of a story part (nut graf, context...): split at blank lines, each
    with its whitespace collapsed, empty ones dropped. The draft and the email agree on it."""
    return tuple(p for p in (" ".join(c.split()) for c in _BLANK_LINE.split(text)) if p)


@dataclass(frozen=True)
class StoryParts:
    """The house style's anatomy of a story, in reading order: headline, dek, hook, nut graf,
    section header, context, lead-in, bullets, kicker label and kicker."""

    headline: str
    dek: str
    hook: str
    nut_graf: str
    section: str
    context: str
    lead_in: str
    bullets: tuple[str, ...]
    kicker_label: str
    kicker: str


STORY_PARTS = tuple(f.name for f in fields(StoryParts))  # the part names, in reading order


@dataclass(frozen=True)
class StorySummary(StoryParts):
    """One story in the house style (its :class:`StoryParts`), with its style and fact-check
    findings. ``fallback`` says why the offline engine wrote a story the LLM was asked for
    (empty when it was not a fallback).
    """

    id: str
    sources: tuple[SourceRef, ...] = ()
    image: Image | None = None
    style: tuple[Finding, ...] = ()
    facts: tuple[Finding, ...] = ()
    engine: str = "extractive"
    fallback: str = ""

    @property
    def errors(self) -> tuple[Finding, ...]:
        """The findings that keep a story out of an issue until an editor acts."""
        return tuple(f for f in (*self.style, *self.facts) if f.severity == "error")

    @property
    def flagged(self) -> bool:
        """Whether an editor must look: any finding (warnings too) or an LLM fallback."""
        return bool(self.style or self.facts or self.fallback)


@dataclass(frozen=True)
class SummaryRun:
    """What one summarize run produced: the stories, in order, and the LLM bookkeeping."""

    stories: tuple[StorySummary, ...]
    calls: int = 0
    tokens: int = 0
    cache_hits: int = 0
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuickLink:
    """A one-line pointer to an item that did not make a full story."""

    title: str
    url: str
    source: str = ""


# The one status vocabulary of an edition: ``draft`` (as the pipeline wrote it), ``edited``
# (by hand), ``approved`` (by the editor), ``sending`` (a send began: it may have gone out)
# and ``sent``. A draft's front matter may say any but ``sending``, which only a send
# records; the rules on it (what is frozen, what is sent) are :mod:`pipeline.edition`'s.
EditionStatus = Literal["draft", "edited", "approved", "sending", "sent"]


@dataclass(frozen=True)
class Issue:
    """One edition as the draft holds it: what render turns into email."""

    date: date
    subject: str
    intro: str
    stories: tuple[StorySummary, ...]
    quick_links: tuple[QuickLink, ...] = ()
    status: EditionStatus = "draft"
    generated_at: datetime | None = None


@dataclass(frozen=True)
class RenderedIssue:
    """The finished email: HTML, plain text, the .eml bytes, and render warnings."""

    html: str
    text: str
    eml: bytes
    subject: str
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Campaign:
    """An edition handed to a list provider: the campaign it created there.

    ``status`` is ``draft`` (created, not sent: a person sends it from the provider)
    or ``scheduled`` (the provider sends it at ``send_at``, UTC).
    """

    provider: str
    id: str
    url: str
    status: Literal["draft", "scheduled"]
    send_at: datetime | None = None
