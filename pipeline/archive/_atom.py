"""Atom feed: the published issues (newest first) in, an RFC 4287 document (bytes) out.

Built with lxml, so every text is escaped by the serializer; characters XML 1.0 cannot
carry (control characters a feed once held) are dropped first. The output depends only
on its input: a publish with nothing new rewrites nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

__all__ = ["FeedEntry", "FeedHead", "atom_feed"]

_NS = "http://www.w3.org/2005/Atom"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# a feed with no entry yet still needs an <updated>: a fixed one keeps it byte-stable
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedHead:
    """The feed's own metadata: its title, subtitle, site and self URLs."""

    title: str
    subtitle: str
    site_url: str
    self_url: str


@dataclass(frozen=True)
class FeedEntry:
    """One issue in the feed: its page URL (also its id), subject, summary and body HTML."""

    url: str
    title: str
    summary: str
    content_html: str
    published: datetime
    updated: datetime


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _add(parent: etree._Element, tag: str, text: str = "", **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{_NS}}}{tag}", {k: _xml(v) for k, v in attrs.items()})
    if text:
        el.text = _xml(text)
    return el


def atom_feed(head: FeedHead, entries: Sequence[FeedEntry]) -> bytes:
    """The Atom document for ``entries`` (given newest first)."""
    feed = etree.Element(f"{{{_NS}}}feed", nsmap={None: _NS})
    _add(feed, "id", head.site_url)
    _add(feed, "title", head.title)
    if head.subtitle:
        _add(feed, "subtitle", head.subtitle)
    _add(feed, "updated", _stamp(max((e.updated for e in entries), default=_NEVER)))
    _add(feed, "link", rel="self", type="application/atom+xml", href=head.self_url)
    _add(feed, "link", rel="alternate", type="text/html", href=head.site_url)
    author = _add(feed, "author")
    _add(author, "name", head.title)
    for e in entries:
        entry = _add(feed, "entry")
        _add(entry, "id", e.url)
        _add(entry, "title", e.title)
        _add(entry, "link", rel="alternate", type="text/html", href=e.url)
        _add(entry, "published", _stamp(e.published))
        _add(entry, "updated", _stamp(e.updated))
        if e.summary:
            _add(entry, "summary", e.summary)
        _add(entry, "content", e.content_html, type="html")
    data: bytes = etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return data
