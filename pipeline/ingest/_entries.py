"""What every feed reader produces, and the field readers they share.

In: raw field values as a feed gives them (date strings, titles that may be HTML,
relative links, text mis-decoded by the publisher). Out: :class:`Entry` and
:class:`ParsedFeed`, the plain values the feed paths (``_xmlfeed``, JSON Feed and
feedparser in ``_feeds``) return: aware UTC datetimes, plain titles, absolute links.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

import feedparser

from ..models import Image
from ._sanitize import html_to_text, looks_like_html, squash

__all__ = ["Entry", "ParsedFeed"]

_LONGEST_DATE = 100  # longer "dates" are not dates, and date parsers are not linear


@dataclass
class Entry:
    """One feed entry, unsanitized: ``html`` is raw, ``text`` its plain text.

    ``text`` is worked out from ``html`` on first use only (``plain`` holds it
    when the source gave plain text), so parsing costs nothing for entries the
    caller skips.
    """

    title: str = ""
    link: str = ""
    guid: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    author: str = ""
    html: str = ""
    plain: str | None = None
    image: Image | None = None

    @property
    def text(self) -> str:
        if self.plain is None:
            self.plain = html_to_text(self.html)
        return self.plain


@dataclass
class ParsedFeed:
    """A parsed document: feed title and link, entries, the path that parsed it."""

    title: str = ""
    link: str = ""
    entries: list[Entry] = field(default_factory=list)
    engine: str = "fast"
    warnings: list[str] = field(default_factory=list)


# -- dates ------------------------------------------------------------------
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        start=1,
    )
}
_ZONES = {
    "Z": 0,
    "GMT": 0,
    "UT": 0,
    "UTC": 0,
    "EST": -300,
    "EDT": -240,
    "CST": -360,
    "CDT": -300,
    "MST": -420,
    "MDT": -360,
    "PST": -480,
    "PDT": -420,
}
_RFC822 = re.compile(
    r"(?:[A-Za-z]{3},?\s+)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"\s*(Z|[A-Za-z]{1,3}T?|[+-]\d{4})?\s*$"
)


@functools.lru_cache(maxsize=256)  # a feed writes all its dates in one or two zones
def _offset(zone: str) -> timedelta:
    """An RFC 822 zone ("EST", "+0530") as its offset from UTC; ValueError if unknown."""
    minutes = _ZONES.get(zone.upper())
    if minutes is None:
        sign = -1 if zone[0] == "-" else 1
        minutes = sign * (int(zone[1:3]) * 60 + int(zone[3:5]))
    return timedelta(minutes=minutes)


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_date(value: str | None) -> datetime | None:
    """RFC 822 or ISO 8601 (and feedparser's many other formats) -> aware UTC."""
    if not value:
        return None
    value = value.strip()
    if not value or len(value) > _LONGEST_DATE:
        return None
    try:
        if value[:4].isdigit():
            return _utc(datetime.fromisoformat(value))
        m = _RFC822.match(value)
        if m:  # the common shape, without the email package's general parser
            day, mon, year, hh, mm, ss, zone = m.groups()
            dt = datetime(
                int(year),
                _MONTHS[mon.lower()],
                int(day),
                int(hh),
                int(mm),
                int(ss or 0),
                tzinfo=UTC,
            )
            offset = _offset(zone) if zone else None
            return dt - offset if offset else dt
        return _utc(parsedate_to_datetime(value))
    except (ValueError, TypeError, IndexError, KeyError, OverflowError):
        pass
    parsed = feedparser.datetimes._parse_date(value)
    return struct_date(parsed)


def struct_date(parsed: time.struct_time | None) -> datetime | None:
    """feedparser's struct_time (UTC) -> aware UTC datetime, or None."""
    if parsed is None:
        return None
    try:
        return datetime(*parsed[:6], tzinfo=UTC)
    except (ValueError, TypeError):
        return None


# -- titles, links, images --------------------------------------------------------
def plain_title(raw: str, kind: str = "") -> str:
    """A title as one line of plain text; ``kind`` "html"/"xhtml" says it is markup,
    "text" that it is not, "" that it is markup only if it looks like it."""
    if "<" not in raw and "&" not in raw:  # the common title: nothing to look at
        return squash(raw)
    if kind in ("html", "xhtml") or (kind == "" and looks_like_html(raw)):
        return squash(html_to_text(raw))
    return squash(raw)


def escape(text: str) -> str:
    """Plain text as HTML."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# a two-byte UTF-8 sequence (Latin letters, no-break space, ©...) read as two Latin-1
# characters: "Ã©" for "é". Three-byte leads are left alone: "é" and two no-break
# spaces are valid UTF-8 bytes too, for a Chinese character.
_DOUBLED = re.compile("[\u00c2-\u00df][\u0080-\u00bf]")


def undouble(text: str) -> str:
    """UTF-8 text that the publisher decoded as Latin-1 and encoded again ("Ã³" for
    "ó"), decoded once more, as feedparser does (more narrowly): Latin-1 text whose
    bytes happen to be valid UTF-8 with such a pair is all but unknown."""
    if text.isascii():
        return text
    try:  # fails fast on most text: at its first character past Latin-1, or first "é"
        fixed = text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text
    return fixed if _DOUBLED.search(text) else text


def is_web(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def resolve(base: str, link: str) -> str:
    """``link`` made absolute against ``base`` (either may be empty)."""
    link = link.strip()
    if not link or not base or "://" in link[:12]:
        return link
    return urljoin(base, link)


def is_image(url: str, mime: str, medium: str) -> bool:
    if medium:
        return medium == "image"
    if mime:
        return mime.startswith("image/")
    return url.lower().split("?")[0].endswith((".jpg", ".jpeg", ".png", ".gif", ".webp"))
