"""Story files dropped by editors in, :class:`Item` objects out.

Kinds: Markdown (``.md``) with an optional YAML front matter (title, url,
source, date, image, image_alt, image_credit, author), plain text (``.txt``,
first line is the title) and HTML (``.html``: title from ``<title>`` or the
first ``<h1>``, main text by trafilatura). A malformed or unknown front matter
key raises :class:`SourceError` naming ``file:line``.

Only regular files are read, at most :data:`STORY_MAX_BYTES` each (Markdown:
:data:`MARKDOWN_MAX_BYTES`): FIFOs, devices, folders named like stories, dangling
links and links leading out of the inbox are refused with a message. Every step is
linear in the file's size (Markdown by Python-Markdown after :func:`_defuse`, which
rewrites the inputs it is quadratic or recursive on).
"""

from __future__ import annotations

import html as _html
import os
import re
import stat
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import markdown
import yaml

from ..errors import SourceError
from ..ids import item_id
from ..models import Image, Item
from ..safe_yaml import load_yaml_nodes
from ._sanitize import html_to_text, sanitize, squash

__all__ = ["MARKDOWN_MAX_BYTES", "STORY_MAX_BYTES", "STORY_SUFFIXES", "read_file", "read_story"]

STORY_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".html", ".htm"})
# one article, even a saved page with its markup: ten times the longest we have seen
STORY_MAX_BYTES = 2 * 1024 * 1024
# a Markdown story is written by hand (10,000 words are 60 KB); Python-Markdown costs 1.3 s a MB of
# ordinary text and 7 us an escaped character of hostile text, so a smaller cap keeps the
# worst file near a second
MARKDOWN_MAX_BYTES = 128 * 1024
_MARKDOWN = frozenset({".md", ".markdown"})
_KEYS = frozenset(
    {"title", "url", "source", "date", "image", "image_alt", "image_credit", "author"}
)
_FENCE = re.compile(r"^---[ \t]*$", re.M)
_NOT_REGULAR = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_file(path: Path, label: str, max_bytes: int, *, inside: Path | None = None) -> bytes:
    """The bytes of the regular file at ``path``; :class:`SourceError` naming what it is
    otherwise, or when it is over ``max_bytes``.

    With ``inside`` (the inbox folder), a symbolic link must lead to a file within
    that folder: a link to /etc/passwd or /proc/self/environ is refused, not read.
    """
    try:
        target = path
        if path.is_symlink():
            target = Path(os.path.realpath(path))
            if not target.exists():
                raise SourceError(label, f"dangling symbolic link to {os.readlink(path)}")
            if inside is not None and not target.is_relative_to(os.path.realpath(inside)):
                raise SourceError(
                    label,
                    f"symbolic link to {target} leaves the folder {inside}; refused"
                    " (copy the file into the folder instead)",
                )
        # no O_NOFOLLOW race (the checked path swapped for a link), no wait on a FIFO
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise SourceError(label, f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        for test, kind in _NOT_REGULAR:
            if test(info.st_mode):
                raise SourceError(label, f"is {kind}, not a regular file; refused")
        if info.st_size > max_bytes:
            raise SourceError(
                label, f"file of {info.st_size} bytes is over the {max_bytes} byte cap"
            )
        chunks, size = [], 0
        while size <= max_bytes and (chunk := os.read(fd, 1 << 20)):
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:  # it grew while we read it
            raise SourceError(label, f"file is over the {max_bytes} byte cap")
        return b"".join(chunks)
    except OSError as exc:
        raise SourceError(label, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _element_text(text: str, name: str) -> str | None:
    """The content of the first ``<name ...>...</name>``, found in linear time (a
    regex ``<h1>(.*?)</h1>`` rescans to the end from every unclosed ``<h1>``)."""
    start = re.search(rf"<{name}\b[^<>]*>", text, re.I)
    if start is None:
        return None
    end = re.compile(rf"</{name}\s*>", re.I).search(text, start.end())
    return None if end is None else text[start.end() : end.start()]


def _md_heading(line: str) -> str | None:
    """The text of an ATX level-1 heading line (``# Title #``), else None."""
    if len(line) < 2 or line[0] != "#" or not line[1].isspace():
        return None
    title = line[1:].strip()
    bare = title.rstrip("#")
    if bare != title and (not bare or bare[-1].isspace()):  # a closing run of '#'
        title = bare.rstrip()
    return title or None


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceError(f"{path}:{line}", f"not UTF-8 text (byte {exc.start})") from None


def _when(value: Any, where: str, tz: ZoneInfo) -> datetime | None:
    """A front matter date: YAML date/datetime or an ISO string; naive = newsletter tz."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time(0, 0))
    else:
        try:
            dt = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise SourceError(
                where,
                f"key 'date': not a date like 2026-11-27 or 2026-11-27T09:30:00Z (got {value!r})",
            ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt.astimezone(UTC)


def _front_matter(path: Path, text: str) -> tuple[dict[str, Any], str, int]:
    """(fields, body, line number of the body's first line)."""
    if not text.startswith("---"):
        return {}, text, 1
    first_nl = text.find("\n")
    if first_nl < 0 or text[:first_nl].strip() != "---":
        return {}, text, 1
    close = _FENCE.search(text, first_nl + 1)
    if close is None:
        raise SourceError(f"{path}:1", "front matter opened with '---' is never closed")
    raw = text[first_nl + 1 : close.start()]
    body_line = text[: close.end()].count("\n") + 2
    try:
        data, node = load_yaml_nodes(raw, first_line=2)  # no aliases, no duplicate keys
    except yaml.YAMLError as exc:
        # the context mark points at the construct left open, the problem mark
        # often at the end of the front matter
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 2
        problem = getattr(exc, "problem", None) or str(exc)
        raise SourceError(f"{path}:{line}", f"malformed front matter: {problem}") from None
    if data is None:
        return {}, text[close.end() :], body_line
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise SourceError(f"{path}:2", "front matter must be 'key: value' lines")
    for key_node, _ in node.value:
        if key_node.value not in _KEYS:
            raise SourceError(
                f"{path}:{key_node.start_mark.line + 2}",
                f"unknown front matter key {key_node.value!r} (known: {', '.join(sorted(_KEYS))})",
            )
    return data, text[close.end() :], body_line


# Python-Markdown re-scans a block for each construct it takes off the block's front, a
# paragraph's text for each inline construct it finds in it, and its list of blocks for each
# block it takes: a block, a line and a call are kept small enough for that to cost little.
_MD_CHARS = 4096  # characters in a block or a line
_MD_LINES = 64  # lines in a block
_MD_BLOCKS = 256  # blocks in one call of markdown.markdown, and at most 64 KB
_MD_CALL_CHARS = 65536
_MD_BLANK = re.compile(r"(\n(?:[ \t]*\n)+)")  # the blank lines between blocks
# '<' that may open a tag, a comment, a declaration or an autolink
_MD_LT = re.compile(
    r"<(?=[A-Za-z/!?])(?!/?[A-Za-z][^\s\"'<>@]{0,60}(?:\s[^<>]{0,1000})?>"
    r"|!--[^<>]{0,1000}-->|[A-Za-z][A-Za-z0-9+.-]{0,30}:[^<>\s]{1,2000}>"
    r"|[^<>\s@]{1,200}@[^<>\s@]{1,200}>)"
)
_MD_URL = r"""(?:<[^<>\n]{0,2000}>|(?:[^\s()<>"']|\([^\s()<>"']{0,200}\)){0,2000})"""
_MD_TITLE = r"""(?:\s{1,20}(?:"[^"\n]{0,500}"|'[^'\n]{0,500}'))?"""
# '[' that opens no short '[text]', '[text](url)' or '[text](url "title")'
_MD_BRACKET = re.compile(
    rf"\[(?![^\[\]]{{0,1000}}\](?:\(\s{{0,20}}{_MD_URL}{_MD_TITLE}\s{{0,20}}\)|(?!\()))"
)
_MD_MARK = r"(?:>|[*+-][ \t]|\d+\.[ \t])"
# a fourth list or quote marker at the start of a line ('1. 1. 1. 1. ...', '> > > > ...')
_MD_NESTED = re.compile(
    rf"^([ \t]*(?:{_MD_MARK}[ \t]*){{3}}\d*)(?=>|[*+-][ \t]|(?<=\d)\.[ \t])", re.M
)
_MD_INNER_STARS = re.compile(r"(?<=[^\W_])\*+(?=[^\W_])")
_MD_RULE = re.compile(r"[ \t]*([*_-])(?:[ \t]*\1)*[ \t]*")  # '* * * *': a horizontal rule
_MD_INDENT = re.compile(r"^([ \t]{16})[ \t]+", re.M)  # lists nested by indentation


def _md_lines(line: str) -> list[str]:
    """``line``, cut at spaces (else anywhere) into lines of at most _MD_CHARS characters."""
    lines, start = [], 0
    while len(line) - start > _MD_CHARS:
        cut = line.rfind(" ", start + 1, start + _MD_CHARS)
        cut = start + _MD_CHARS if cut < 0 else cut
        lines.append(line[start:cut])
        start = cut + (line[cut] == " ")
    lines.append(line[start:])
    return lines


def _md_block(block: str) -> str:
    """``block`` (lines without a blank one), parted by blank lines into blocks of at most
    _MD_LINES lines and _MD_CHARS characters, its over-long lines cut."""
    if len(block) <= _MD_CHARS and block.count("\n") < _MD_LINES:
        return block
    out: list[str] = []
    lines = size = 0
    for line in block.split("\n"):
        for piece in _md_lines(line):
            if out and (lines == _MD_LINES or size + len(piece) > _MD_CHARS):
                out.append("")  # a blank line: a new block
                lines = size = 0
            out.append(piece)
            lines, size = lines + 1, size + len(piece) + 1
    return "\n".join(out)


def _md_unnest(m: re.Match[str]) -> str:
    end = m.string.find("\n", m.end())
    line = m.string[m.start() : None if end < 0 else end]
    return m.group() if _MD_RULE.fullmatch(line) else m.group(1) + "\\"


def _defuse(body: str) -> str:
    """``body`` rewritten where Python-Markdown would take more than linear time or recurse
    without bound, so that it renders it in linear time; a no-op on ordinary Markdown.

    Python-Markdown (3.11) is quadratic on an unclosed ``[`` (it looks for the ``]`` and
    the ``)`` to the end of the paragraph), on an unclosed ``<`` (its HTML parser and inline
    HTML), on many constructs in one block or paragraph (it re-scans the rest after each),
    and recurses once per list or quote level. Nothing is deleted: a character is escaped,
    a long block or line is parted at a line end or a space, deep indentation is cut.
    """
    parts = _MD_BLANK.split(body)
    parts[::2] = [_md_block(block) for block in parts[::2]]  # many constructs in one block
    # '  \n' * N: N empty blocks
    parts[1::2] = ["\n" * min(gap.count("\n"), _MD_LINES) for gap in parts[1::2]]
    text = "".join(parts)
    text = _MD_LT.sub("&lt;", text)  # '<script ' * 16000, '<a', '<![', '<div\n'
    text = _MD_BRACKET.sub(r"\\[", text)  # '[' * N, '![' * N, '[a](' * N
    text = _MD_INDENT.sub(r"\1", text)  # lists nested hundreds deep by indentation
    # asterisks inside a word are the word's ("f**k"), never emphasis: Python-Markdown
    # takes "*a**b*c" for emphasis and drops a letter (its output is "*a<strong>b</strong>")
    text = _MD_INNER_STARS.sub(lambda m: "\\*" * len(m.group(0)), text)
    return _MD_NESTED.sub(_md_unnest, text)  # '1. ' * N, '+ ' * N, '> ' * N on one line


def _render_markdown(body: str) -> str:
    """``body`` in HTML by Python-Markdown, defused, in calls of at most _MD_BLOCKS blocks
    and about _MD_CALL_CHARS characters (it pops each block off the front of a list)."""
    parts = _MD_BLANK.split(_defuse(body))
    html, start, size = [], 0, 0
    for i in range(0, len(parts), 2):
        size += len(parts[i])
        if i - start >= 2 * _MD_BLOCKS or size > _MD_CALL_CHARS or i + 2 >= len(parts):
            html.append(markdown.markdown("".join(parts[start : i + 1]), output_format="html"))
            start, size = i + 2, 0
    return "\n".join(html)


def _markdown(path: Path, text: str) -> dict[str, Any]:
    meta, body, _ = _front_matter(path, text)
    fields = dict(meta)
    lines = body.strip().splitlines()
    if not fields.get("title") and lines:
        heading = _md_heading(lines[0])
        if heading:
            fields["title"] = heading
            body = "\n".join(lines[1:])
    # raw HTML is kept here and made safe by sanitize() like every feed's HTML
    html = _render_markdown(body.strip())
    fields["html"] = html
    fields["text"] = html_to_text(html)
    return fields


def _plain(text: str) -> dict[str, Any]:
    lines = text.strip().splitlines()
    title = lines[0] if lines else ""
    paras = re.split(r"\n\s*\n", "\n".join(lines[1:]).strip())
    body = [squash(p) for p in paras if p.strip()]
    return {
        "title": title,
        "text": "\n\n".join(body),
        "html": "".join(f"<p>{_html.escape(p)}</p>" for p in body),
    }


def _html_page(text: str) -> dict[str, Any]:
    import trafilatura  # imported here: it costs ~0.7 s at start-up

    h1 = _element_text(text, "h1")
    title = html_to_text(_element_text(text, "title") or h1 or "")
    if h1:  # the headline beats a <title> carrying the site name
        title = html_to_text(h1) or title
    main = trafilatura.extract(
        text, output_format="txt", include_comments=False, favor_precision=True
    )
    body = main if main else html_to_text(text)
    paras = [squash(p) for p in body.split("\n") if p.strip()]
    if paras and squash(paras[0]) == squash(title):
        paras = paras[1:]
    fields: dict[str, Any] = {
        "title": title,
        "text": "\n\n".join(paras),
        "html": "".join(f"<p>{_html.escape(p)}</p>" for p in paras),
    }
    # a saved article page names its outlet, link, date and picture in its metadata
    meta = trafilatura.extract_metadata(text)
    if meta is not None:
        for key, value in (
            ("source", meta.sitename),
            ("url", meta.url),
            ("date", meta.date),
            ("image", meta.image),
        ):
            if value and urlsplit(str(value)).scheme in ("", "http", "https"):
                fields[key] = value
    return fields


def read_story(
    path: Path,
    *,
    label: str,
    default_source: str,
    tz: ZoneInfo,
    max_bytes: int,
    inbox: Path | None = None,
) -> Item:
    """One story file -> one :class:`Item`; raise :class:`SourceError` if unusable.

    ``label`` is how the file is named in errors and in ``Item.origin``; the file
    is read only if it is a regular file of at most ``max_bytes`` (and at most
    :data:`STORY_MAX_BYTES`, :data:`MARKDOWN_MAX_BYTES` for Markdown), and, when it
    comes from the ``inbox`` folder, only if it is in that folder, not a link out of it.
    """
    suffix = path.suffix.lower()
    cap = MARKDOWN_MAX_BYTES if suffix in _MARKDOWN else STORY_MAX_BYTES
    data = read_file(path, label, min(max_bytes, cap), inside=inbox)
    text = _decode(Path(label), data)
    if suffix in _MARKDOWN:
        fields = _markdown(Path(label), text)
    elif suffix == ".txt":
        fields = _plain(text)
    elif suffix in (".html", ".htm"):
        fields = _html_page(text)
    else:
        raise SourceError(label, f"not a story file (use {', '.join(sorted(STORY_SUFFIXES))})")
    title = squash(str(fields.get("title") or ""))
    if not title:
        raise SourceError(label, "no title (add 'title:' to the front matter or a first line)")
    url = str(fields.get("url") or "").strip()
    if url and urlsplit(url).scheme not in ("http", "https"):
        raise SourceError(label, f"key 'url': must be an http(s) link (got {url!r})")
    body = str(fields.get("text") or "")
    image = None
    if fields.get("image"):
        if urlsplit(str(fields["image"])).scheme not in ("http", "https"):
            got = fields["image"]
            raise SourceError(label, f"key 'image': must be an http(s) link (got {got!r})")
        image = Image(
            url=str(fields["image"]),
            alt=squash(str(fields.get("image_alt") or "")),
            credit=squash(str(fields.get("image_credit") or "")),
        )
    source = squash(str(fields.get("source") or "")) or (
        (urlsplit(url).hostname or "").removeprefix("www.") if url else default_source
    )
    # a file without a link keeps its identity by name, so edits update it
    guid = "" if url else f"file:{path.name}"
    return Item(
        id=item_id(guid, url, title, body),
        source=source,
        origin=label,
        title=title,
        text=body,
        url=url,
        html=sanitize(str(fields.get("html") or "")),
        guid=guid,
        author=squash(str(fields.get("author") or "")),
        published=_when(fields.get("date"), label, tz),
        image=image,
    )
