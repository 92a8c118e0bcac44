"""HTML from feeds and pages made safe (nh3) or flattened to plain text.

In: untrusted HTML strings. Out: :func:`sanitize` gives HTML with no script,
style, event-handler attribute, ``javascript:`` URL or external stylesheet;
:func:`html_to_text` gives plain text with paragraph breaks kept.
"""

from __future__ import annotations

import functools
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

# Every pattern below runs in time linear in its input: a construct that is never
# closed ('<script ' * 16000, '<!-- ' * 16000, '<a ' * 40000) must not make each of
# its starts scan to the end of the text.
_DROPPED = ("script", "style", "template", "noscript", "iframe", "object")
# the first-letter lookahead lets most '<' fail before the case-blind names are tried
_DROP_OPEN = re.compile(r"<(?=[sStTnNiIoO])(script|style|template|noscript|iframe|object)\b", re.I)
_DROP_CLOSE = {name: re.compile(rf"</{name}\s*>", re.I) for name in _DROPPED}
# block elements end a paragraph; the alternation is nested by first letter so
# the many inline tags (<a>, <span>...) fail fast; possessive blanks never backtrack
_BLOCK_AT = re.compile(
    r"<(?=\s*+/?\s*+(?:p|d(?:iv|d|t)|b(?:r|lockquote)|li|ul|ol|h(?:[1-6r]|eader)|t(?:[rdh]|able)"
    r"|section|a(?:rticle|side)|f(?:ig(?:ure|caption)|ooter)|pre)\b)",
    re.I,
)
_TAG = re.compile(r"<[^>]*>")
# runs of blanks, or any blank but a plain space: single spaces stay as they are
_BLANK = r"[ \t\r\f\v\u00a0\u200b]"
_SPACE = re.compile(rf"(?: {_BLANK}|[\t\r\f\v\u00a0\u200b]){_BLANK}*")
_ODD_BLANK = re.compile(r"[\t\r\f\v\u00a0\u200b]")
# known element names only, so "<gorilla>" in a plain title stays text
_HTML_NAMES = frozenset((
    "a", "abbr", "b", "big", "blockquote", "br", "center", "cite", "code", "dd", "del", "div",
    "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "ol", "p", "pre", "q", "s", "small", "span", "strike", "strong", "sub", "sup",
    "table", "td", "th", "tr", "tt", "u", "ul",
))  # fmt: skip
# a complete tag only: '[^<>]' stops at the next '<', so a '<' never closed costs one step
_TAGLIKE = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)[^<>]*>")
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]{2,8});")


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


# built once: nh3.clean() builds its whole policy from these sets on every call,
# ten times the cost of cleaning a short item
_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    attributes=_ATTRS,
    url_schemes=_SCHEMES,
    link_rel="noopener noreferrer",
    strip_comments=True,
)


def sanitize(html: str) -> str:
    """Untrusted HTML -> HTML safe to put in an email or a preview page."""
    if not html:
        return ""
    return _CLEANER.clean(html).strip()


def looks_like_html(text: str) -> bool:
    """True when a string carries tags or entities rather than plain text."""
    if _ENTITY.search(text):
        return True
    return any(m.group(1).lower() in _HTML_NAMES for m in _TAGLIKE.finditer(text))


def _without_comments(text: str) -> str:
    """Drop ``<!-- ... -->``; an unclosed comment stays text, as it always did."""
    out, pos = [], 0
    while (start := text.find("<!--", pos)) >= 0:
        end = text.find("-->", start + 4)
        if end < 0:  # no later comment can close either: one scan, not one per start
            break
        out.append(text[pos:start])
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)


def _without_dropped(text: str) -> str:
    """Drop script, style and the like with their content. An element that is never
    closed keeps its content as text; its name is then never searched for again."""
    out, pos, search = [], 0, 0
    names: tuple[str, ...] = _DROPPED
    while names and (m := _opening(names).search(text, search)) is not None:
        name = m.group(1).lower()
        close = _DROP_CLOSE[name].search(text, m.end())
        if close is None:
            names = tuple(n for n in names if n != name)
            search = m.end()
            continue
        out.append(text[pos : m.start()] + " ")
        pos = search = close.end()
    out.append(text[pos:])
    return "".join(out)


@functools.cache
def _opening(names: tuple[str, ...]) -> re.Pattern[str]:
    """The start tags of these elements (the ones still worth looking for)."""
    return re.compile(rf"<({'|'.join(names)})\b", re.I)


def html_to_text(html: str) -> str:
    """HTML -> plain text: scripts and styles dropped, blocks become blank lines.

    Linear in the length of ``html`` whatever it holds."""
    if not html:
        return ""
    text = _without_comments(html) if "<!--" in html else html
    if "<" in text:
        if _DROP_OPEN.search(text):
            text = _without_dropped(text)
        # in HTML a line break in the source is a space; only blocks break lines
        text = text.replace("\r", " ").replace("\n", " ")
        # a '<' after the last '>' opens no tag: leave that tail alone, so every '<'
        # the tag patterns look at has its '>' ahead of it
        end = text.rfind(">") + 1
        head = _TAG.sub("", _BLOCK_AT.sub("\n<", text[:end]))
        text = head + text[end:]
    text = _html.unescape(text)
    # the guards below look for single characters (a fast scan each, isascii() costs
    # nothing); a character-class search costs more than the rest of the work together
    if not text.isascii() and _HAS_C1.search(text):
        text = text.translate(_C1)
    if "  " in text or _odd_blank(text):
        text = _SPACE.sub(" ", text)
    return "\n\n".join(filter(None, map(str.strip, text.split("\n"))))


def _odd_blank(text: str) -> bool:
    """Whether ``text`` holds a blank other than a plain space (``_ODD_BLANK``)."""
    if "\t" in text or "\r" in text or "\f" in text or "\v" in text:
        return True
    return not text.isascii() and _ODD_BLANK.search(text) is not None


def squash(text: str) -> str:
    """Collapse all whitespace to single spaces (for titles and names)."""
    return " ".join(text.split())
