"""The fast path: an XML feed document (bytes) in, a :class:`ParsedFeed` out, or None
when only feedparser reads it right.

lxml reads RSS 2.0 / 0.9x (also under the namespaces some publishers gave them), RSS
1.0 and 0.90 (RDF), and Atom 1.0, 0.3 and its pre-1.0 names, with the Dublin Core,
Media RSS, iTunes, content:encoded and XHTML body fields feedparser reads. A document
whose only faults are HTML entities XML does not define (``&nbsp;``), bare ampersands
or well-known prefixes used undeclared (``content:``) is read with those mended.
Fields follow feedparser (the reference; a test compares both over the corpus)
except where it is wrong: a web link is preferred to a ``gemini:`` one, an entry's
title is never a nested image's."""

from __future__ import annotations

import base64
import contextlib
import re
import threading
from html.entities import name2codepoint
from typing import Any

from lxml import etree

from ..errors import SourceError
from ..models import Image
from ._entries import (
    Entry,
    ParsedFeed,
    escape,
    is_image,
    is_web,
    parse_date,
    plain_title,
    resolve,
    undouble,
)
from ._sanitize import html_to_text, squash

__all__ = ["read_xml", "syntax_error"]

_ATOM_NS = "http://www.w3.org/2005/Atom"
_ATOM = "{" + _ATOM_NS + "}"
_RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDF = "{" + _RDF_NS + "}"
_RSS1_NS = "http://purl.org/rss/1.0/"
_RSS1 = "{" + _RSS1_NS + "}"
_XHTML_NS = "http://www.w3.org/1999/xhtml"
_XHTML_DIV = "{" + _XHTML_NS + "}div"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
# a blank run is tried from its first blank only: from every blank it would be quadratic
_XMLNS_XHTML = re.compile(r'(?<!\s)\s++xmlns(:\w+)?="http://www\.w3\.org/1999/xhtml"')
_DECL_ENCODING = re.compile(r"""^(<\?xml[^>]*encoding=["'])([^"']*)(["'])""")
_SINGLE_BYTE = re.compile(r"(?i)(iso-?8859|latin|windows-125|cp125|us-ascii|ascii)")
_UNDEFINED_ENTITY = re.compile(r"^Entity '([A-Za-z][A-Za-z0-9]{0,31})' not defined")
# an ampersand that starts no reference ("?a=1&b=2", "Q&A")
_AMPERSAND_ERRORS = ("xmlParseEntityRef: no name", "EntityRef: expecting ';'")
_UNDECLARED_PREFIX = re.compile(r"^Namespace prefix ([A-Za-z_][\w.-]{0,31}) on \S+ is not defined")
# where the root element's name ends, after the declaration, comments and doctype
_ROOT_NAME = re.compile(
    rb"(?:\s*+(?:<\?.*?\?>|<!--.*?-->|<![^>]*+>))*+\s*+<[A-Za-z_][\w.:-]*+", re.S
)
# the prefixes publishers use without declaring them, and what they stand for
_KNOWN_PREFIXES = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "media": "http://search.yahoo.com/mrss/",
    "slash": "http://purl.org/rss/1.0/modules/slash/",
    "wfw": "http://wellformedweb.org/CommentAPI/",
}
# each round of repairs costs one more parse: a document still broken after this
# many is left to feedparser (or refused when large)
_MAX_REPAIRS = 3
# elements whose children are feed structure, not content: the ones a document in an
# older namespace has renamed into the current one
_STRUCTURE = frozenset({"rss", "feed", "channel", "item", "entry", "author", "contributor"})


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


class _NeedsReference(Exception):
    """The fast path met a construct only feedparser reads right."""


# -- what an element is -----------------------------------------------------------
(
    _TITLE,
    _LINK,
    _GUID,
    _PUBLISHED,
    _UPDATED,
    _DESC,
    _BODY,
    _XBODY,
    _SUMMARY,
    _AUTHOR,
    _ENCLOSURE,
    _A_TITLE,
    _A_LINK,
    _A_ID,
    _A_CONTENT,
    _A_SUMMARY,
    _A_AUTHOR,
    _MEDIA,
    _OTHER,
) = range(1, 20)
_OWN = {  # RSS's own elements, unqualified or in the RSS 1.0 namespace, and Atom's names
    "title": _TITLE,
    "link": _LINK,
    "guid": _GUID,
    "id": _A_ID,
    "pubDate": _PUBLISHED,
    "published": _PUBLISHED,
    "issued": _PUBLISHED,
    "updated": _UPDATED,
    "modified": _UPDATED,
    "description": _DESC,
    "fullitem": _BODY,
    "body": _XBODY,
    "summary": _SUMMARY,
    "author": _AUTHOR,
    "enclosure": _ENCLOSURE,
}
_BY_NAMESPACE = {  # keys lower-cased: feedparser compares namespaces without case
    ns.lower(): kinds
    for ns, kinds in {
        _ATOM_NS: {
            "title": _A_TITLE,
            "link": _A_LINK,
            "id": _A_ID,
            "published": _PUBLISHED,
            "issued": _PUBLISHED,
            "updated": _UPDATED,
            "modified": _UPDATED,
            "content": _A_CONTENT,
            "summary": _A_SUMMARY,
            "description": _DESC,
            "author": _A_AUTHOR,
        },
        "http://purl.org/dc/elements/1.1/": {
            "title": _TITLE,
            "date": _UPDATED,
            "description": _DESC,
            "creator": _AUTHOR,
            "author": _AUTHOR,
        },
        "http://purl.org/dc/terms/": {"issued": _PUBLISHED, "modified": _UPDATED},
        "http://purl.org/rss/1.0/modules/content/": {"encoded": _BODY},
        _XHTML_NS: {"body": _XBODY},
        # iTunes' namespace is written with several cases
        "http://www.itunes.com/dtds/podcast-1.0.dtd": {"summary": _MEDIA, "author": _AUTHOR},
        "http://example.com/dtds/podcast-1.0.dtd": {"summary": _MEDIA, "author": _AUTHOR},
    }.items()
}
# body-like names feedparser reads as the entry's text when their namespace is the
# document's default one, even one it does not know
_BODY_NAMES = frozenset({"body", "fullitem", "description", "summary", "content"})
_KINDS: dict[str, int] = {}


def _kind(tag: Any) -> int:
    """What an entry's child is (0: ignored), worked out once per distinct tag."""
    kind = _KINDS.get(tag)
    if kind is not None:
        return kind
    if not isinstance(tag, str):
        return 0
    ns, _, local = tag[1:].rpartition("}") if tag[:1] == "{" else ("", "", tag)
    if ns in ("", _RSS1_NS):
        kind = _OWN.get(local, _OTHER if local in _BODY_NAMES else 0)
    elif "search.yahoo.com/mrss" in ns:
        kind = _MEDIA
    else:
        kind = _BY_NAMESPACE.get(ns.lower(), {}).get(local, 0)
        if not kind and local in _BODY_NAMES:
            kind = _OTHER  # read as a body only when unprefixed (see _entry)
    if len(_KINDS) < 10_000:  # bounded: tags come from untrusted documents
        _KINDS[tag] = kind
    return kind


# -- fields ---------------------------------------------------------------------------
def _text(el: Any) -> str:
    return "".join(el.itertext()) if len(el) else (el.text or "")


def _inline(el: Any) -> str:
    """The markup inside an element, as HTML: its text escaped, its children serialized."""
    inner = escape(el.text or "") + "".join(
        etree.tostring(c, encoding="unicode", with_tail=True) for c in el
    )
    return _XMLNS_XHTML.sub("", inner)


def _base(el: Any, inherited: str) -> str:
    b = el.get(_XML_BASE)
    return resolve(inherited, b) if b else inherited


_HTML_TYPES = frozenset({"html", "text/html"})
_XHTML_TYPES = frozenset({"xhtml", "application/xhtml+xml"})


def _atom_text(el: Any) -> tuple[str, bool]:
    """(value, is_html) of an Atom 1.0 or 0.3 text construct: HTML when is_html, else
    plain text. Atom 0.3's ``mode`` says how it is written (xml, escaped, base64); a
    type that is neither text nor XML is base64, as feedparser reads it."""
    kind = el.get("type", "").strip().lower()
    mode = el.get("mode", "").strip().lower()
    textual = kind in ("", "text", "html", "xhtml") or kind.startswith("text/")
    if mode == "base64" or not (textual or kind.endswith("xml")):
        raw = _text(el)
        with contextlib.suppress(ValueError):  # not base64 after all: the text as it is
            raw = base64.b64decode(raw).decode("utf-8")
        return raw, kind in _HTML_TYPES
    if kind in _XHTML_TYPES:
        div = el.find(_XHTML_DIV)
        return _inline(div if div is not None else el), True
    if mode == "xml" and len(el):  # Atom 0.3 inline markup
        return _inline(el), True
    return _text(el), kind in _HTML_TYPES


def _media_image(child: Any, local: str) -> Image | None:
    url = child.get("url", "")
    if not url:
        return None
    if local in ("content", "enclosure") and not is_image(
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


def _media_extras(el: Any, e: Entry, extra: dict[str, str]) -> None:
    """Media RSS / iTunes fallbacks: image, title and description (podcasts, video),
    also where they sit inside a media group, media content or an enclosure."""
    tag = el.tag
    local = tag.rsplit("}", 1)[-1]
    if "search.yahoo.com/mrss" in tag:
        if local in ("content", "thumbnail") and e.image is None:
            e.image = _media_image(el, local)
        elif local == "description":
            extra.setdefault("description", _text(el))
        elif local == "title":
            extra.setdefault("title", _text(el))
        if local in ("group", "content"):
            for sub in el:
                if isinstance(sub.tag, str):
                    _media_extras(sub, e, extra)
    elif local == "summary":  # iTunes
        extra.setdefault("itunes", _text(el))
    elif local == "enclosure":
        for sub in el:
            if isinstance(sub.tag, str) and "search.yahoo.com/mrss" in sub.tag:
                _media_extras(sub, e, extra)


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def _link_rank(href: str, rel: str = "alternate", kind: str = "") -> int:
    """Which link is the entry's (lowest first): a web page (or a relative link)
    before another scheme (gemini:, urn:), then the alternate before other
    relations, then an HTML one before other types."""
    rank = 0 if is_web(href) or not _SCHEME.match(href) else 4
    if rel != "alternate":
        return rank + 2
    return rank + (0 if kind in ("", "html", "text/html", "application/xhtml+xml") else 1)


def _entry(el: Any, base: str, utf8: bool, atom: bool) -> Entry:
    """One RSS item or Atom entry (``atom``: its plain fields are text, never HTML)."""
    e = Entry()
    base = _base(el, base)
    title = title_html = ""
    body = desc = ""
    extra: dict[str, str] = {}
    links: list[tuple[int, str]] = []
    permalink = False
    atom_id = ""
    kinds = _KINDS
    for child in el:
        tag = child.tag  # an entity reference's is a function: _kind gives it 0
        kind = kinds.get(tag)
        if kind is None:
            kind = _kind(tag)
        if not kind:
            continue
        if kind == _TITLE:
            if not title and not title_html:
                title = _text(child)
        elif kind == _A_TITLE:
            if not title and not title_html:
                value, is_html = _atom_text(child)
                if is_html:
                    title_html = value
                else:
                    title = value
        elif kind == _LINK and not child.get("href"):
            href = resolve(base, _text(child))
            if href:
                links.append((0 if is_web(href) else _link_rank(href), href))
        elif kind in (_A_LINK, _LINK):  # an Atom link, or one written like it in RSS
            rel = child.get("rel", "alternate").strip()
            href = resolve(_base(child, base), child.get("href") or _text(child))
            if href:
                links.append((_link_rank(href, rel, child.get("type", "").strip().lower()), href))
            enclosure = rel == "enclosure" and e.image is None and href
            if enclosure and is_image(href, child.get("type", ""), ""):
                e.image = Image(url=resolve(base, href))
        elif kind == _GUID:
            e.guid = _text(child).strip()
            permalink = child.get("isPermaLink", "true").strip().lower() != "false"
        elif kind == _A_ID:
            e.guid = atom_id = _text(child).strip()
        elif kind == _PUBLISHED:  # the last date of a kind wins, as in feedparser
            e.published = parse_date(child.text) or e.published
        elif kind == _UPDATED:
            e.updated = parse_date(child.text) or e.updated
        elif kind == _DESC:
            desc = _text(child)
        elif kind == _BODY:
            body = _text(child)
        elif kind == _XBODY:
            body = _inline(child)
        elif kind == _A_CONTENT:
            if not child.get("src"):
                value, is_html = _atom_text(child)
                body = value if is_html else escape(value)
        elif kind == _A_SUMMARY:
            value, is_html = _atom_text(child)
            desc = value if is_html else escape(value)
        elif kind == _SUMMARY:
            extra.setdefault("itunes", _text(child))
        elif kind == _AUTHOR:
            e.author = e.author or squash(_text(child))
        elif kind == _A_AUTHOR:
            if not e.author:
                name = child.find(_ATOM + "name")
                e.author = squash(_text(name)) if name is not None else ""
        elif kind == _ENCLOSURE:
            e.image = e.image or _media_image(child, "enclosure")
            if len(child):  # media titles and descriptions inside it
                _media_extras(child, e, extra)
        elif kind == _MEDIA:
            _media_extras(child, e, extra)
        elif child.prefix is None:  # a body in a namespace only feedparser knows
            extra["other"] = "yes"
    if not e.guid:
        e.guid = el.get(_RDF + "about", "")
    if e.guid and is_web(e.guid) and (permalink or atom_id):
        links.append((1 if permalink else 3, e.guid))  # a permalink guid, an Atom id
    if len(links) == 1:
        e.link = links[0][1]
    elif links:
        e.link = min(links, key=lambda r: r[0])[1]  # min keeps the first of a rank
    _finish(e, body or desc, extra, utf8)
    if title_html:
        e.title = squash(html_to_text(title_html))
    elif title:
        e.title = plain_title(title, "text" if atom else "")
    elif extra.get("title"):
        e.title = plain_title(extra["title"])
    if utf8:
        e.title = undouble(e.title)
    return e


def _finish(e: Entry, html: str, extra: dict[str, str], utf8: bool) -> None:
    """The body, with media/iTunes text when the entry has none of its own."""
    if not html.strip():
        plain = extra.get("description") or extra.get("itunes") or ""
        html = escape(plain).replace("\n", "<br>") if plain.strip() else ""
        if not html and extra.get("other"):
            raise _NeedsReference
    e.html = undouble(html) if utf8 else html


# -- documents ---------------------------------------------------------------------------
def _utf8_mislabelled(data: bytes) -> bytes:
    """A document declared single-byte (ISO-8859-x, windows-125x) whose bytes are
    valid UTF-8 with non-ASCII text is UTF-8: latin text is almost never valid
    UTF-8 by chance. Relabel it rather than produce mojibake."""
    head = data[:200]
    if not head.startswith(b"<?xml") or b"encoding" not in head:
        return data
    m = _DECL_ENCODING.match(head.decode("ascii", "replace"))
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


def _tree(data: bytes, where: str) -> Any:
    """The document's root element, or None when lxml cannot read it.

    Three faults are mended and the document read again (libxml2 reports up to a
    hundred faults of one parse, so one round mends them all): an HTML entity XML
    does not define is spelt as its character reference, any other ampersand that
    starts no XML reference is escaped (inside CDATA both are then text HTML reads
    the same), and a well-known prefix used undeclared is declared on the root."""
    for _ in range(_MAX_REPAIRS + 1):
        # the exception's error log is the thread's, which keeps the faults of earlier
        # documents: cleared, it holds this parse's only
        etree.clear_error_log()
        try:
            return etree.fromstring(data, _parser())
        except (etree.XMLSyntaxError, ValueError) as exc:
            msg = str(getattr(exc, "msg", None) or exc)
            if "Excessive depth" in msg:
                # no feed nests thousands of elements deep, and the tolerant parser takes
                # seconds over such a document
                line, column = getattr(exc, "position", (0, 0))
                raise SourceError(
                    where,
                    f"not a feed: elements nested thousands deep (line {line}, column {column})",
                ) from None
            log = getattr(exc, "error_log", None)
            errors = [e.message for e in log] if log else [msg]
            repaired = _repaired(data, errors)
            if repaired is None:
                return None
            data = repaired
    return None


def _repaired(data: bytes, errors: list[str]) -> bytes | None:
    """The document with the faults lxml named mended, or None when one cannot be."""
    mended = data
    names = {m.group(1) for e in errors if (m := _UNDEFINED_ENTITY.match(e))}
    if names or any(e.startswith(_AMPERSAND_ERRORS) for e in errors):
        for name in sorted(names):
            code = name2codepoint.get(name)
            if code:
                mended = mended.replace(f"&{name};".encode(), f"&#{code};".encode())
        # every other "&" that starts no XML reference is text: escape all, then put
        # the references back (each a C-speed pass, whatever the number of "&")
        mended = mended.replace(b"&", b"&amp;")
        for ref in (b"#", b"lt;", b"gt;", b"quot;", b"apos;", b"amp;"):  # "amp;" last
            mended = mended.replace(b"&amp;" + ref, b"&" + ref)
    prefixes = {m.group(1) for e in errors if (m := _UNDECLARED_PREFIX.match(e))}
    root = _ROOT_NAME.match(mended) if prefixes else None
    if root is not None:
        declarations = "".join(
            f' xmlns:{p}="{_KNOWN_PREFIXES[p]}"' for p in sorted(prefixes) if p in _KNOWN_PREFIXES
        )
        mended = mended[: root.end()] + declarations.encode() + mended[root.end() :]
    return mended if mended != data else None


def _adopt(elements: Any, old_ns: str, new_ns: str) -> None:
    """Rename the feed structure written in an older or unofficial namespace (Atom 0.3,
    RSS in a namespace, RSS 0.90) into the one this module reads, as feedparser reads
    them all as one. Content inside entries keeps its names."""
    old = "{" + old_ns + "}" if old_ns else ""
    new = "{" + new_ns + "}" if new_ns else ""
    stack = list(elements)
    while stack:
        el = stack.pop()
        tag = el.tag
        if not isinstance(tag, str) or (tag[:1] == "{") != bool(old) or not tag.startswith(old):
            continue
        local = tag[len(old) :]
        el.tag = new + local
        if local in _STRUCTURE:
            stack.extend(el)


def _namespace(el: Any) -> str:
    tag = el.tag
    return tag[1:].rpartition("}")[0] if isinstance(tag, str) and tag[:1] == "{" else ""


def _read_tree(root: Any, base: str, utf8: bool) -> ParsedFeed | None:
    out = ParsedFeed()
    ns = _namespace(root)
    local = root.tag.rpartition("}")[2] if isinstance(root.tag, str) else ""
    if local == "rss":
        if ns:
            _adopt([root], ns, "")
        channel = root.find("channel")
        if channel is None:  # items straight under <rss>, or none at all
            channel = root
        out.title = plain_title(channel.findtext("title") or "")
        out.link = (channel.findtext("link") or "").strip()
        base = base or (out.link if is_web(out.link) else "")
        out.entries = [_entry(i, base, utf8, False) for i in channel.iter("item")]
        return out
    if local == "RDF" and ns == _RDF_NS:
        own = {_namespace(c) for c in root if c.tag.rpartition("}")[2] in ("channel", "item")}
        for other in own - {_RSS1_NS, _RDF_NS}:
            _adopt(root, other, _RSS1_NS)  # RSS 0.90's namespace, or none at all
        channel = root.find(_RSS1 + "channel")
        if channel is not None:
            out.title = plain_title(channel.findtext(_RSS1 + "title") or "")
            out.link = (channel.findtext(_RSS1 + "link") or "").strip()
        out.entries = [_entry(i, base, utf8, False) for i in root.iter(_RSS1 + "item")]
        return out
    if local == "html":  # a feed inside an XHTML page, where feedparser finds it too
        inner = next(root.iter(_ATOM + "feed", "rss"), None)
        return _read_tree(inner, base, utf8) if inner is not None else None
    if local == "feed":
        if ns != _ATOM_NS:
            _adopt([root], ns, _ATOM_NS)
        base = _base(root, base)
        title = root.find(_ATOM + "title")
        out.title = plain_title(*_title_kind(title)) if title is not None else ""
        ranked = []
        for link in root.iterfind(_ATOM + "link"):
            href = resolve(base, link.get("href", ""))
            if href:
                rank = _link_rank(href, link.get("rel", "alternate"), link.get("type", ""))
                ranked.append((rank, href))
        out.link = min(ranked, key=lambda r: r[0])[1] if ranked else ""
        # feedparser reads an Atom <item> as an entry too
        out.entries = [
            _entry(e, base, utf8, True)
            for e in root
            if isinstance(e.tag, str) and e.tag in (_ATOM + "entry", _ATOM + "item")
        ]
        return out
    return None


def _title_kind(el: Any) -> tuple[str, str]:
    value, is_html = _atom_text(el)
    return value, "html" if is_html else "text"


def read_xml(data: bytes, url: str, where: str = "feed") -> ParsedFeed | None:
    """Parse a well-formed RSS/RDF/Atom document with lxml; None when feedparser must.

    ``url`` (http or https) resolves relative links; ``where`` names the source in
    the one error raised here, a document nested thousands of elements deep."""
    data = _utf8_mislabelled(data)
    root = _tree(data, where)
    if root is None or not isinstance(root.tag, str):
        return None
    encoding = (root.getroottree().docinfo.encoding or "utf-8").lower().replace("_", "-")
    base = url if is_web(url) else ""
    try:
        return _read_tree(root, base, encoding in ("utf-8", "utf8"))
    except _NeedsReference:
        return None


def syntax_error(data: bytes) -> str:
    """Why lxml refuses a document, with its line and column."""
    try:
        etree.fromstring(_utf8_mislabelled(data), _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        return str(getattr(exc, "msg", None) or exc)
    return "not RSS, RDF or Atom 1.0"
