"""Feed documents (bytes) in, :class:`ParsedFeed` of plain entries out.

Three paths, chosen per document:

* JSON Feed 1.0 / 1.1 with :mod:`json`;
* a fast path with lxml for well-formed RSS 2.0 / 0.9x, RSS 1.0 (RDF) and
  Atom 1.0 (about 100x ``feedparser.parse`` with its defaults);
* :mod:`feedparser` for everything else: ill-formed XML, wrong encodings, Atom
  0.3, CDF... It stays the reference for correctness, and a test compares the
  fast path's fields with its output on the corpus sample.

Entry HTML is returned raw: callers sanitize only what they keep. Dates are
aware UTC datetimes. A document that is not a feed raises
:class:`~pipeline.errors.SourceError` with a precise reason.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
from lxml import etree

from ..errors import SourceError
from ..models import Image
from ._sanitize import html_to_text, looks_like_html, squash

__all__ = ["TOLERANT_MAX_BYTES", "Entry", "ParsedFeed", "parse_feed"]

_ATOM = "{http://www.w3.org/2005/Atom}"
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_RSS1 = "{http://purl.org/rss/1.0/}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
_DC = "{http://purl.org/dc/elements/1.1/}"
_ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
# body elements only feedparser knows (xhtml:body, fullitem, dc:description...):
# an entry whose text would come from one of them goes to feedparser
_OTHER_BODIES = frozenset({"body", "fullitem", "description", "summary", "content"})
_XHTML_DIV = "{http://www.w3.org/1999/xhtml}div"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
# a blank run is tried from its first blank only: from every blank it would be quadratic
_XHTML_NS = re.compile(r'(?<!\s)\s++xmlns(:\w+)?="http://www\.w3\.org/1999/xhtml"')
_LONGEST_DATE = 100  # longer "dates" are not dates, and date parsers are not linear


# the tolerant parser is linear but slow (seconds a MB): an ill-formed document
# larger than this is refused rather than read for longer than a feed may take
TOLERANT_MAX_BYTES = 256 * 1024


def _new_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        # libxml2's own limits (10 MB per text node) are for unbounded input; ours is
        # capped by max_bytes, and a long item must not fall to the slow tolerant parser
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
    )


# one parser per thread: lxml parsers must not be shared by threads parsing at once
_PARSERS = threading.local()


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = _new_parser()
    return parser


_HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S
)
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
_ALTERNATE = re.compile(rb"<link[^>]+type=[\"']application/(?:rss|atom)\+xml[\"'][^>]*>", re.I)
_UNKNOWN_POS = re.compile(r"^<unknown>:(\d+):(\d+):")
_DECL_ENCODING = re.compile(r"""^(<\?xml[^>]*encoding=["'])([^"']*)(["'])""")
_SINGLE_BYTE = re.compile(r"(?i)(iso-?8859|latin|windows-125|cp125|us-ascii|ascii)")
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_BYTES = 20 * 1024 * 1024
_HREF = re.compile(rb"href=[\"']([^\"']+)[\"']", re.I)


class _NeedsReference(Exception):
    """The fast path met a construct only feedparser reads right."""


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


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _date(value: str | None) -> datetime | None:
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
            offset = _ZONES.get(zone.upper()) if zone else 0
            if offset is None:
                sign = -1 if zone[0] == "-" else 1
                offset = sign * (int(zone[1:3]) * 60 + int(zone[3:5]))
            dt = datetime(
                int(year),
                _MONTHS[mon.lower()],
                int(day),
                int(hh),
                int(mm),
                int(ss or 0),
                tzinfo=UTC,
            )
            return dt - timedelta(minutes=offset)
        return _utc(parsedate_to_datetime(value))
    except (ValueError, TypeError, IndexError, KeyError, OverflowError):
        pass
    parsed = feedparser.datetimes._parse_date(value)
    return _struct_date(parsed)


def _struct_date(parsed: time.struct_time | None) -> datetime | None:
    if parsed is None:
        return None
    try:
        return datetime(*parsed[:6], tzinfo=UTC)
    except (ValueError, TypeError):
        return None


# -- helpers ----------------------------------------------------------------
def _text(el: Any) -> str:
    return "".join(el.itertext()) if len(el) else (el.text or "")


def _plain_title(raw: str, kind: str = "") -> str:
    if kind in ("html", "xhtml") or (kind == "" and looks_like_html(raw)):
        return squash(html_to_text(raw))
    return squash(raw)


def _resolve(base: str, link: str) -> str:
    link = link.strip()
    if not link or not base or "://" in link[:12]:
        return link
    return urljoin(base, link)


def _base(el: Any, inherited: str) -> str:
    b = el.get(_XML_BASE)
    return _resolve(inherited, b) if b else inherited


def _is_image(url: str, mime: str, medium: str) -> bool:
    if medium:
        return medium == "image"
    if mime:
        return mime.startswith("image/")
    return url.lower().split("?")[0].endswith((".jpg", ".jpeg", ".png", ".gif", ".webp"))


def _media_image(child: Any, local: str) -> Image | None:
    url = child.get("url", "")
    if not url:
        return None
    if local in ("content", "enclosure") and not _is_image(
        url, child.get("type", ""), child.get("medium", "")
    ):
        return None
    alt = credit = ""
    for sub in child:
        tag = sub.tag if isinstance(sub.tag, str) else ""
        if tag.endswith("}description") or tag.endswith("}title"):
            alt = alt or squash(html_to_text(sub.text or ""))
        elif tag.endswith("}credit"):
            credit = squash(sub.text or "")
    return Image(url=url, alt=alt, credit=credit)


# -- fast path: lxml ----------------------------------------------------------
def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _media_extras(el: Any, e: Entry, extra: dict[str, str]) -> None:
    """Media RSS / iTunes fallbacks: image, title and description (podcasts, video)."""
    tag = el.tag
    local = tag.rsplit("}", 1)[-1]
    if "search.yahoo.com/mrss" in tag:
        if local in ("content", "thumbnail") and e.image is None:
            e.image = _media_image(el, local)
        elif local == "description":
            extra.setdefault("description", _text(el))
        elif local == "title":
            extra.setdefault("title", _text(el))
        elif local == "group":
            for sub in el:
                if isinstance(sub.tag, str):
                    _media_extras(sub, e, extra)
    elif tag == _ITUNES + "summary":
        extra.setdefault("itunes", _text(el))


_TITLE, _LINK, _GUID, _PUBDATE, _DCDATE, _DESC, _BODY, _AUTHOR, _ENCLOSURE = range(1, 10)
_ATOMLINK, _MEDIA, _OTHER = 10, 11, 12
_RSS_KINDS: dict[str, int] = {
    "title": _TITLE,
    _RSS1 + "title": _TITLE,
    "link": _LINK,
    _RSS1 + "link": _LINK,
    "guid": _GUID,
    "pubDate": _PUBDATE,
    _DC + "date": _DCDATE,
    "description": _DESC,
    _RSS1 + "description": _DESC,
    _CONTENT: _BODY,
    "author": _AUTHOR,
    _DC + "creator": _AUTHOR,
    "enclosure": _ENCLOSURE,
    _ATOM + "link": _ATOMLINK,
    _ITUNES + "summary": _MEDIA,
}


def _rss_kind(tag: str) -> int:
    """What an item child is (0: ignored), worked out once per distinct tag."""
    kind = _RSS_KINDS.get(tag)
    if kind is None:
        if "search.yahoo.com/mrss" in tag:
            kind = _MEDIA
        elif tag.rsplit("}", 1)[-1] in _OTHER_BODIES:
            kind = _OTHER
        else:
            kind = 0
        if len(_RSS_KINDS) < 10_000:  # bounded: tags come from untrusted documents
            _RSS_KINDS[tag] = kind
    return kind


def _rss_item(item: Any, base: str) -> Entry:
    e = Entry()
    desc = content = ""
    extra: dict[str, str] = {}
    permalink = False
    for child in item:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        kind = _rss_kind(tag)
        if not kind:
            continue
        if kind == _TITLE:
            e.title = _plain_title(_text(child))
        elif kind == _LINK:
            e.link = e.link or _text(child).strip()
        elif kind == _GUID:
            e.guid = _text(child).strip()
            permalink = child.get("isPermaLink", "true").strip().lower() != "false"
        elif kind == _PUBDATE:
            e.published = e.published or _date(child.text)
        elif kind == _DCDATE:
            e.updated = e.updated or _date(child.text)
        elif kind == _DESC:
            desc = _text(child)
        elif kind == _BODY:
            content = _text(child)
        elif kind == _AUTHOR:
            e.author = e.author or squash(_text(child))
        elif kind == _ENCLOSURE:
            e.image = e.image or _media_image(child, "enclosure")
        elif kind == _ATOMLINK:
            if child.get("rel", "alternate") == "alternate":
                extra.setdefault("link", child.get("href", ""))
        elif kind == _MEDIA:
            _media_extras(child, e, extra)
        else:
            extra["other"] = "yes"
    if not e.guid:
        e.guid = item.get(_RDF + "about", "")
    if not e.link and e.guid and permalink and e.guid.startswith(("http://", "https://")):
        e.link = e.guid
    e.link = e.link or extra.get("link", "")
    e.link = _resolve(base, e.link)
    _finish(e, content or desc, extra)
    return e


def _finish(e: Entry, html: str, extra: dict[str, str]) -> None:
    """Body and title, with media/iTunes text when the entry has none of its own."""
    if not html.strip():
        plain = extra.get("description") or extra.get("itunes") or ""
        html = _escape(plain).replace("\n", "<br>") if plain.strip() else ""
        if not html and extra.get("other"):
            raise _NeedsReference
    e.html = html
    if not e.title and extra.get("title"):
        e.title = _plain_title(extra["title"])


def _atom_text(el: Any) -> tuple[str, str]:
    """(html, kind) of an Atom text construct."""
    kind = el.get("type", "text").lower()
    if kind == "xhtml":
        div = el.find(_XHTML_DIV)
        target = div if div is not None else el
        inner = (target.text or "") + "".join(
            etree.tostring(c, encoding="unicode", with_tail=True) for c in target
        )
        return _XHTML_NS.sub("", inner), "xhtml"
    raw = _text(el)
    if kind in ("html", "text/html"):
        return raw, "html"
    if kind in ("text", "text/plain", ""):
        return _escape(raw), "text"
    return raw, kind


def _atom_entry(entry: Any, base: str) -> Entry:
    e = Entry()
    base = _base(entry, base)
    content = summary = ""
    extra: dict[str, str] = {}
    other_link = ""
    for child in entry:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag == _ATOM + "title":
            kind = child.get("type", "text").lower()
            if kind == "xhtml":
                e.title = squash(html_to_text(_atom_text(child)[0]))
            else:
                e.title = _plain_title(_text(child), "html" if "html" in kind else "text")
        elif tag == _ATOM + "link":
            rel = child.get("rel", "alternate")
            if rel == "alternate" and not e.link:
                e.link = _resolve(_base(child, base), child.get("href", ""))
            elif not other_link and child.get("href"):
                other_link = _resolve(_base(child, base), child.get("href", ""))
            if rel == "enclosure" and e.image is None:
                href = child.get("href", "")
                if href and _is_image(href, child.get("type", ""), ""):
                    e.image = Image(url=_resolve(base, href))
        elif tag == _ATOM + "id":
            e.guid = _text(child).strip()
        elif tag == _ATOM + "published":
            e.published = _date(child.text)
        elif tag == _ATOM + "updated":
            e.updated = _date(child.text)
        elif tag == _ATOM + "content" and not child.get("src"):
            content = _atom_text(child)[0]
        elif tag == _ATOM + "summary":
            summary = _atom_text(child)[0]
        elif tag == _ATOM + "author" and not e.author:
            name = child.find(_ATOM + "name")
            e.author = squash(_text(name)) if name is not None else ""
        elif "search.yahoo.com/mrss" in tag or tag == _ITUNES + "summary":
            _media_extras(child, e, extra)
    if not e.link:
        e.link = other_link or (e.guid if e.guid.startswith(("http://", "https://")) else "")
    _finish(e, content or summary, extra)
    return e


def _utf8_mislabelled(data: bytes) -> bytes:
    """A document declared single-byte (ISO-8859-x, windows-125x) whose bytes are
    valid UTF-8 with non-ASCII text is UTF-8: latin text is almost never valid
    UTF-8 by chance. Relabel it rather than produce mojibake."""
    m = _DECL_ENCODING.match(data[:200].decode("ascii", "replace"))
    if not m or not _SINGLE_BYTE.match(m.group(2)) or data.isascii():
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if re.fullmatch(r"(?i)iso-?8859-1|latin-?1|us-ascii|ascii", m.group(2)):
            # as browsers do: ISO-8859-1 means windows-1252 (curly quotes in 0x80-0x9f)
            text = data.decode("windows-1252", "replace")
        else:
            return data
    return _DECL_ENCODING.sub(r"\1utf-8\3", text, count=1).encode("utf-8")


def _fast(data: bytes, url: str, where: str = "feed") -> ParsedFeed | None:
    """Parse well-formed RSS/RDF/Atom 1.0 with lxml; None when another path must."""
    data = _utf8_mislabelled(data)
    try:
        root = etree.fromstring(data, _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        if "Excessive depth" in str(exc):
            # no feed nests thousands of elements deep, and the tolerant parser takes
            # seconds over such a document
            line, column = getattr(exc, "position", (0, 0))
            raise SourceError(
                where,
                f"not a feed: elements nested thousands deep (line {line}, column {column})",
            ) from None
        return None
    if root is None or not isinstance(root.tag, str):
        return None
    base = url if url.startswith(("http://", "https://")) else ""
    try:
        return _fast_tree(root, base)
    except _NeedsReference:
        return None


def _fast_tree(root: Any, base: str) -> ParsedFeed | None:
    out = ParsedFeed()
    if root.tag == "rss":
        channel = root.find("channel")
        if channel is None:
            return None
        out.title = _plain_title(channel.findtext("title") or "")
        out.link = (channel.findtext("link") or "").strip()
        base = base or (out.link if out.link.startswith(("http://", "https://")) else "")
        out.entries = [_rss_item(i, base) for i in channel.iter("item")]
        return out
    if root.tag == _RDF + "RDF":
        channel = root.find(_RSS1 + "channel")
        if channel is None:
            return None
        out.title = _plain_title(channel.findtext(_RSS1 + "title") or "")
        out.link = (channel.findtext(_RSS1 + "link") or "").strip()
        out.entries = [_rss_item(i, base) for i in root.iter(_RSS1 + "item")]
        return out
    if root.tag == _ATOM + "feed":
        base = _base(root, base)
        title = root.find(_ATOM + "title")
        out.title = _plain_title(_text(title)) if title is not None else ""
        for link in root.iterfind(_ATOM + "link"):
            if link.get("rel", "alternate") == "alternate":
                out.link = _resolve(base, link.get("href", ""))
                break
        out.entries = [_atom_entry(e, base) for e in root.iterfind(_ATOM + "entry")]
        return out
    return None


# -- JSON Feed ------------------------------------------------------------------
_MAX_DIGITS = 100  # no field of a JSON Feed needs a longer integer


class _HugeNumber(ValueError):
    pass


def _json_int(digits: str) -> int:
    if len(digits) > _MAX_DIGITS:
        raise _HugeNumber(
            f"invalid JSON Feed: an integer of {len(digits)} digits"
            f" (starting {digits[:12]}...); none of its fields needs over {_MAX_DIGITS}"
        )
    return int(digits)


def _json_feed(data: bytes, where: str) -> ParsedFeed:
    try:
        doc = json.loads(data.decode("utf-8-sig"), strict=False, parse_int=_json_int)
    except UnicodeDecodeError as exc:
        raise SourceError(
            where, f"JSON Feed is not UTF-8: {exc.reason} at byte {exc.start}"
        ) from None
    except json.JSONDecodeError as exc:
        raise SourceError(
            where, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise SourceError(
            where,
            "JSON nested too deeply: arrays or objects inside one another beyond the reader's"
            " limit of about 1000 levels",
        ) from None
    except _HugeNumber as exc:
        raise SourceError(where, str(exc)) from None
    if not isinstance(doc, dict):
        raise SourceError(where, "not a JSON Feed: the top level is not an object")
    version = str(doc.get("version", ""))
    standard = re.fullmatch(r"https?://jsonfeed\.org/version/1(\.1)?/?", version)
    if not standard and not re.fullmatch(r"1(\.[01])?", version):
        raise SourceError(where, f"not a JSON Feed 1.0/1.1: version is {version!r}")
    items = doc.get("items")
    if not isinstance(items, list):
        raise SourceError(where, "JSON Feed has no 'items' list")
    out = ParsedFeed(title=squash(str(doc.get("title", ""))), engine="json")
    if not standard:
        out.warnings.append(f"{where}: JSON Feed version {version!r} is not a jsonfeed.org URL")
    out.link = str(doc.get("home_page_url", "") or "")
    base = str(doc.get("feed_url", "") or "") or out.link
    for n, raw in enumerate(items):
        if not isinstance(raw, dict):
            out.warnings.append(f"{where}: items[{n}] is not an object, skipped")
            continue
        e = Entry()
        e.guid = str(raw.get("id", "") or "").strip()
        e.link = _resolve(base, str(raw.get("url", "") or raw.get("external_url", "") or ""))
        e.title = _plain_title(str(raw.get("title", "") or ""))
        html = raw.get("content_html")
        text = raw.get("content_text")
        summary = raw.get("summary")
        if isinstance(html, str) and html.strip():
            e.html = html
        elif isinstance(text, str) and text.strip():
            e.plain = "\n\n".join(p.strip() for p in text.split("\n") if p.strip())
        elif isinstance(summary, str):
            e.plain = squash(summary)
        e.published = _date(str(raw.get("date_published", "") or ""))
        e.updated = _date(str(raw.get("date_modified", "") or ""))
        authors = raw.get("authors")
        author = authors[0] if isinstance(authors, list) and authors else raw.get("author")
        if isinstance(author, dict):
            e.author = squash(str(author.get("name", "") or ""))
        image = raw.get("image") or raw.get("banner_image")
        if isinstance(image, str) and image:
            e.image = Image(url=_resolve(base, image))
        out.entries.append(e)
    return out


# -- feedparser, the tolerant reference ----------------------------------------------
def _fp_value(detail: Any, fallback: str) -> tuple[str, str]:
    if isinstance(detail, dict):
        return str(detail.get("value", "") or ""), str(detail.get("type", "") or "")
    return fallback, ""


def _fp_image(entry: Any) -> Image | None:
    for m in list(entry.get("media_content", [])) + list(entry.get("media_thumbnail", [])):
        url = m.get("url", "")
        if url and _is_image(url, m.get("type", ""), m.get("medium", "")):
            return Image(url=url)
    for enc in entry.get("enclosures", []):
        href = enc.get("href", "")
        if href and _is_image(href, enc.get("type", ""), ""):
            return Image(url=href)
    return None


def _feedparser(data: bytes, url: str, content_type: str, where: str) -> ParsedFeed:
    headers = {"content-location": url} if url.startswith(("http://", "https://")) else {}
    if content_type:
        headers["content-type"] = content_type
    try:
        d = feedparser.parse(io.BytesIO(data), response_headers=headers, sanitize_html=False)
    except Exception as exc:  # feedparser's loose parser can raise from deep inside
        raise SourceError(where, f"unreadable feed: {type(exc).__name__}: {exc}") from None
    bozo = d.get("bozo_exception")
    if bozo is not None:
        bozo = _UNKNOWN_POS.sub(r"line \1, column \2:", str(bozo))
    if not d.get("version") and not d.entries:
        reason = f": {bozo}" if bozo else ""
        raise SourceError(where, f"not a feed (no RSS, Atom or JSON Feed found){reason}")
    out = ParsedFeed(engine="feedparser")
    if bozo:
        out.warnings.append(f"{where}: not well-formed, read leniently: {bozo}")
    feed = d.get("feed", {})
    out.title = _plain_title(*_fp_value(feed.get("title_detail"), feed.get("title", "")))
    out.link = str(feed.get("link", "") or "")
    for raw in d.entries:
        e = Entry()
        title, kind = _fp_value(raw.get("title_detail"), raw.get("title", ""))
        e.title = _plain_title(title, "html" if "html" in kind else ("text" if kind else ""))
        e.link = str(raw.get("link", "") or "")
        e.guid = str(raw.get("id", "") or "")
        # dict.get: feedparser's own get() maps a missing published to updated, noisily
        e.published = _struct_date(dict.get(raw, "published_parsed"))
        e.updated = _struct_date(dict.get(raw, "updated_parsed"))
        e.author = squash(str(raw.get("author", "") or ""))
        content = raw.get("content") or []
        html = ""
        if content and isinstance(content[0], dict):
            html, kind = _fp_value(content[0], "")
        if not html:
            html, kind = _fp_value(raw.get("summary_detail"), str(raw.get("summary", "") or ""))
        if kind == "text/plain":
            html = html.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        e.html = html
        e.image = _fp_image(raw)
        out.entries.append(e)
    return out


def _not_html(data: bytes, where: str) -> None:
    head = data[:4096]
    if not _HTML_START.match(head):
        return
    title = _HTML_TITLE.search(head)
    name = squash(html_to_text(title.group(1).decode("utf-8", "replace"))) if title else ""
    hint = ""
    alt = _ALTERNATE.search(head)
    if alt:
        href = _HREF.search(alt.group(0))
        if href:
            hint = f"; the page links to a feed at {href.group(1).decode('utf-8', 'replace')}"
    shown = f" ({name!r})" if name else ""
    raise SourceError(where, f"not a feed: got an HTML page{shown}{hint}")


def _gunzip(data: bytes, where: str, max_bytes: int) -> bytes:
    """A gzip file saved as a feed: decode it in bounded steps."""
    obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = obj.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise SourceError(where, f"corrupt gzip data: {exc}") from None
    if len(out) > max_bytes:
        raise SourceError(where, f"gzip data expands past the {max_bytes} byte cap")
    return out


def _utf16_without_bom(data: bytes) -> bytes:
    """UTF-16 text with no BOM and no declaration: re-encode it as UTF-8."""
    if data[:2] == b"\x00<":
        text = data.decode("utf-16-be", "replace")
    elif data[:2] == b"<\x00":
        text = data.decode("utf-16-le", "replace")
    else:
        return data
    return _DECL_ENCODING.sub(r"\1utf-8\3", text, count=1).encode("utf-8")


def parse_feed(
    data: bytes,
    *,
    url: str = "",
    content_type: str = "",
    where: str = "",
    max_bytes: int = _MAX_BYTES,
) -> ParsedFeed:
    """Parse one feed document of any supported kind.

    ``url`` resolves relative links (an http(s) feed URL; ignored for files),
    ``content_type`` is the HTTP header if any, ``where`` names the source in
    errors, ``max_bytes`` caps a gzip-compressed file once expanded. Raises
    :class:`SourceError` when the document is not a feed.
    """
    where = where or url or "feed"
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data, where, max_bytes)
    data = _utf16_without_bom(data)
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise SourceError(where, "empty document")
    if stripped[:1] in (b"{", b"["):
        return _json_feed(stripped, where)
    _not_html(stripped, where)
    # a blank line before "<?xml" is the commonest real-world breakage: forgive it
    fast = _fast(stripped if stripped.startswith(b"<?xml") else data, url, where)
    if fast is not None:
        return fast
    if len(data) > TOLERANT_MAX_BYTES:
        raise SourceError(
            where,
            f"not well-formed XML ({_syntax_error(stripped)}), and at {len(data)} bytes over"
            f" the {TOLERANT_MAX_BYTES} bytes the tolerant parser reads; the publisher must"
            " fix the feed",
        )
    return _feedparser(data, url, content_type, where)


def _syntax_error(data: bytes) -> str:
    """Why lxml refuses a document, with its line and column."""
    try:
        etree.fromstring(_utf8_mislabelled(data), _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        return str(getattr(exc, "msg", None) or exc)
    return "not RSS, RDF or Atom 1.0"
