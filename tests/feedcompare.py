"""Our feed parser against feedparser on one document: what feedparser reads that we lose.

In: a feed document (bytes). Out: :func:`losses`, one short line per thing
``feedparser.parse`` (its defaults, the reference) reads and ``parse_feed`` does not:
fewer entries, or per entry (in document order) a title, web link, id or date that
differs from feedparser's, or text where feedparser has some and we have none.
Used by the corpus tests and by ``bench/ingest.py --corpus``.

Where the two read an entry differently on purpose, ours is the better reading:
a non-web link (``urn:``, ``gemini:``) is not compared, since ingest drops it anyway.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import feedparser

from pipeline.errors import SourceError
from pipeline.ingest._entries import Entry, ParsedFeed, plain_title, struct_date
from pipeline.ingest._feeds import parse_feed
from pipeline.ingest._sanitize import html_to_text


@dataclass(frozen=True)
class Reference:
    """What feedparser read of one entry, reduced to the fields ingest uses."""

    title: str
    link: str
    guid: str
    date: datetime | None
    has_text: bool


def _norm(s: str) -> str:
    return " ".join(s.split())


def reference(data: bytes) -> list[Reference]:
    """feedparser.parse with its defaults, one :class:`Reference` per entry."""
    return reduce(feedparser.parse(io.BytesIO(data)))


def reduce(parsed: Any) -> list[Reference]:
    """feedparser's result, one :class:`Reference` per entry."""
    out = []
    for r in parsed.entries:
        detail = r.get("title_detail") or {}
        kind = "html" if "html" in detail.get("type", "") else "text"
        texts = [c.get("value", "") for c in r.get("content", [])] + [r.get("summary", "")]
        out.append(
            Reference(
                title=_norm(plain_title(detail.get("value", ""), kind)) if detail else "",
                link=str(r.get("link", "")),
                guid=str(r.get("id", "")),
                date=struct_date(dict.get(r, "published_parsed") or dict.get(r, "updated_parsed")),
                has_text=any(_norm(html_to_text(t)) for t in texts if t),
            )
        )
    return out


def ours(data: bytes) -> ParsedFeed | None:
    """``parse_feed``'s reading, or None when it refuses the document."""
    try:
        return parse_feed(data, where="compare")
    except SourceError:
        return None


def _entry_losses(n: int, a: Entry, r: Reference) -> list[str]:
    lost = []
    if r.title and _norm(a.title) != r.title:
        lost.append(f"entry {n} title: {a.title!r} != {r.title!r}")
    if r.link.startswith(("http://", "https://")) and a.link != r.link:
        lost.append(f"entry {n} link: {a.link!r} != {r.link!r}")
    if r.guid and a.guid != r.guid:
        lost.append(f"entry {n} id: {a.guid!r} != {r.guid!r}")
    date = a.published or a.updated
    if r.date is not None and (date.replace(microsecond=0) if date else None) != r.date:
        lost.append(f"entry {n} date: {date} != {r.date}")
    if r.has_text and not _norm(a.text):
        lost.append(f"entry {n} text: none, feedparser has some")
    return lost


def losses(data: bytes, parsed: ParsedFeed | None = None) -> list[str]:
    """What feedparser reads in ``data`` that ``parse_feed`` (or ``parsed``) loses."""
    return compare(reference(data), parsed if parsed is not None else ours(data))


def compare(ref: list[Reference], parsed: ParsedFeed | None) -> list[str]:
    """What feedparser read (``ref``) that ``parsed`` lacks; None reads nothing."""
    got = parsed or ParsedFeed()
    if len(got.entries) < len(ref):
        return [f"entries: {len(got.entries)} of feedparser's {len(ref)}"]
    if len(got.entries) > len(ref):
        return []  # more than feedparser reads: nothing lost, nothing to pair up
    return [
        line
        for n, (a, r) in enumerate(zip(got.entries, ref, strict=True), start=1)
        for line in _entry_losses(n, a, r)
    ]
