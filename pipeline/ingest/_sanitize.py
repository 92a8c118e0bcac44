"""HTML from feeds and pages made safe (nh3) or flattened to plain text.

In: untrusted HTML strings. Out: :func:`sanitize` gives HTML with no script,
style, event-handler attribute, ``javascript:`` URL or external stylesheet;
:func:`html_to_text` gives plain text with paragraph breaks kept.
"""

from __future__ import annotations

import html as _html
import re

import nh3

__all__ = ["html_to_text", "looks_like_html", "sanitize", "squash"]

_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "dd",
    "del",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
_ATTRS = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "blockquote": {"cite"},
    "q": {"cite"},
}
_SCHEMES = {"http", "https", "mailto"}

_DROP = re.compile(r"<(script|style|template|noscript|iframe|object)\b.*?</\1\s*>", re.S | re.I)
_DROP_HINT = re.compile(r"<(?:script|style|template|noscript|iframe|object)\b", re.I)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
# block elements end a paragraph; the alternation is nested by first letter so
# the many inline tags (<a>, <span>...) fail fast
_BLOCK = re.compile(
    r"<\s*/?\s*(?:p|d(?:iv|d|t)|b(?:r|lockquote)|li|ul|ol|h(?:[1-6r]|eader)|t(?:[rdh]|able)"
    r"|section|a(?:rticle|side)|f(?:ig(?:ure|caption)|ooter)|pre)\b[^>]*>",
    re.I,
)
_TAG = re.compile(r"<[^>]*>")
# runs of blanks, or any blank but a plain space: single spaces stay as they are
_BLANK = r"[ \t\r\f\v\u00a0\u200b]"
_SPACE = re.compile(rf"(?: {_BLANK}|[\t\r\f\v\u00a0\u200b]){_BLANK}*")
_BREAKS = re.compile(r"\s*\n\s*")
# known element names only, so "<gorilla>" in a plain title stays text
_HTMLISH = re.compile(
    r"</?(?:a|abbr|b|big|blockquote|br|center|cite|code|dd|del|div|dl|dt|em|font|h[1-6]|hr|i"
    r"|img|ins|kbd|li|ol|p|pre|q|s|small|span|strike|strong|sub|sup|table|td|th|tr|tt|u|ul)"
    r"\b[^>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]{2,8});",
    re.I,
)


def _c1_table() -> dict[int, str]:
    table = {}
    for code in range(0x80, 0xA0):
        try:
            table[code] = bytes([code]).decode("windows-1252")
        except UnicodeDecodeError:
            continue
    return table


# C1 control characters in feeds are windows-1252 punctuation read as Latin-1
_C1 = _c1_table()
_HAS_C1 = re.compile("[\x80-\x9f]")


def sanitize(html: str) -> str:
    """Untrusted HTML -> HTML safe to put in an email or a preview page."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRS,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()


def looks_like_html(text: str) -> bool:
    """True when a string carries tags or entities rather than plain text."""
    return bool(_HTMLISH.search(text))


def html_to_text(html: str) -> str:
    """HTML -> plain text: scripts and styles dropped, blocks become blank lines."""
    if not html:
        return ""
    text = _COMMENT.sub("", html) if "<!--" in html else html
    if "<" in text:
        if _DROP_HINT.search(text):
            text = _DROP.sub(" ", text)
        # in HTML a line break in the source is a space; only blocks break lines
        text = _BLOCK.sub("\n", text.replace("\r", " ").replace("\n", " "))
        text = _TAG.sub("", text)
    text = _html.unescape(text)
    if _HAS_C1.search(text):
        text = text.translate(_C1)
    text = _SPACE.sub(" ", text)
    parts = [p for p in _BREAKS.split(text) if p.strip()]
    return "\n\n".join(p.strip() for p in parts)


def squash(text: str) -> str:
    """Collapse all whitespace to single spaces (for titles and names)."""
    return " ".join(text.split())
