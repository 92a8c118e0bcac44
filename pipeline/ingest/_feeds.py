"""Feed documents (bytes) in, :class:`ParsedFeed` of plain entries out.

Three paths, chosen per document:

* JSON Feed 1.0 / 1.1 with :mod:`json`;
* the lxml fast path (``_xmlfeed``) for RSS 2.0 / 0.9x, RSS 1.0 / 0.90 (RDF) and
  Atom 1.0 / 0.3, well-formed or broken only by HTML entities XML lacks;
* :mod:`feedparser` for everything else: ill-formed XML, wrong encodings, CDF...
  It stays the reference for correctness: a test compares the fast path's fields
  with its output over the whole corpus. A document with no feed element at all
  is refused without it.

Entry HTML is returned raw: callers sanitize only what they keep. Dates are
aware UTC datetimes. A document that is not a feed raises
:class:`~pipeline.errors.SourceError` with a precise reason.
"""

from __future__ import annotations

import io
import json
import re
import zlib
from typing import Any

import feedparser

from ..errors import SourceError
from ..models import Image
from ._entries import Entry, ParsedFeed, is_image, parse_date, plain_title, resolve, struct_date
from ._sanitize import html_to_text, squash
from ._xmlfeed import read_xml, syntax_error

__all__ = ["TOLERANT_MAX_BYTES", "Entry", "ParsedFeed", "parse_feed"]

# the tolerant parser is linear but slow (seconds a MB): an ill-formed document
# larger than this is refused rather than read for longer than a feed may take
TOLERANT_MAX_BYTES = 256 * 1024

_HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S
)
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
_ALTERNATE = re.compile(rb"<link[^>]+type=[\"']application/(?:rss|atom)\+xml[\"'][^>]*>", re.I)
_UNKNOWN_POS = re.compile(r"^<unknown>:(\d+):(\d+):")
_DECL_ENCODING = re.compile(r"""^(<\?xml[^>]*encoding=["'])([^"']*)(["'])""")
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_BYTES = 20 * 1024 * 1024
_HREF = re.compile(rb"href=[\"']([^\"']+)[\"']", re.I)
# the elements feedparser finds a feed or its entries by, under any prefix and case:
# a document with none of them is no feed to it either
_FEED_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?(?:rss|feed|rdf|channel|item|entry)\b", re.I)


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
        e.link = resolve(base, str(raw.get("url", "") or raw.get("external_url", "") or ""))
        e.title = plain_title(str(raw.get("title", "") or ""))
        html = raw.get("content_html")
        text = raw.get("content_text")
        summary = raw.get("summary")
        if isinstance(html, str) and html.strip():
            e.html = html
        elif isinstance(text, str) and text.strip():
            e.plain = "\n\n".join(p.strip() for p in text.split("\n") if p.strip())
        elif isinstance(summary, str):
            e.plain = squash(summary)
        e.published = parse_date(str(raw.get("date_published", "") or ""))
        e.updated = parse_date(str(raw.get("date_modified", "") or ""))
        authors = raw.get("authors")
        author = authors[0] if isinstance(authors, list) and authors else raw.get("author")
        if isinstance(author, dict):
            e.author = squash(str(author.get("name", "") or ""))
        image = raw.get("image") or raw.get("banner_image")
        if isinstance(image, str) and image:
            e.image = Image(url=resolve(base, image))
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
        if url and is_image(url, m.get("type", ""), m.get("medium", "")):
            return Image(url=url)
    for enc in entry.get("enclosures", []):
        href = enc.get("href", "")
        if href and is_image(href, enc.get("type", ""), ""):
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
    out.title = plain_title(*_fp_value(feed.get("title_detail"), feed.get("title", "")))
    out.link = str(feed.get("link", "") or "")
    for raw in d.entries:
        e = Entry()
        title, kind = _fp_value(raw.get("title_detail"), raw.get("title", ""))
        e.title = plain_title(title, "html" if "html" in kind else ("text" if kind else ""))
        e.link = str(raw.get("link", "") or "")
        e.guid = str(raw.get("id", "") or "")
        # dict.get: feedparser's own get() maps a missing published to updated, noisily
        e.published = struct_date(dict.get(raw, "published_parsed"))
        e.updated = struct_date(dict.get(raw, "updated_parsed"))
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
    if head.startswith((b"<?xml", b"<rss", b"<feed")) or not _HTML_START.match(head):
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
    doc = stripped if stripped.startswith(b"<?xml") else data
    fast = read_xml(doc, url, where)
    if fast is not None:
        return fast
    if len(data) > TOLERANT_MAX_BYTES:
        raise SourceError(
            where,
            f"not well-formed XML ({syntax_error(doc)}), and at {len(data)} bytes over"
            f" the {TOLERANT_MAX_BYTES} bytes the tolerant parser reads; the publisher must"
            " fix the feed",
        )
    if b"\0" not in data[:4] and not _FEED_ELEMENT.search(data):  # ASCII-compatible bytes
        raise SourceError(
            where,
            "not a feed (no RSS, Atom or JSON Feed found): no rss, feed, RDF, channel, item"
            f" or entry element ({syntax_error(doc)})",
        )
    return _feedparser(data, url, content_type, where)
