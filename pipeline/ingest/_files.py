"""Story files dropped by editors in, :class:`Item` objects out.

Kinds: Markdown (``.md``) with an optional YAML front matter (title, url,
source, date, image, image_alt, image_credit, author), plain text (``.txt``,
first line is the title) and HTML (``.html``: title from ``<title>`` or the
first ``<h1>``, main text by trafilatura). A malformed or unknown front matter
key raises :class:`SourceError` naming ``file:line``.

Only regular files are read, at most :data:`STORY_MAX_BYTES` each: FIFOs,
devices, folders named like stories, dangling links and links leading out of
the inbox are refused with a message. Every step is linear in the file's size
(Markdown by cmark, which has no quadratic inputs).
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

import cmarkgfm
import yaml
from cmarkgfm.cmark import Options

from ..errors import SourceError
from ..ids import item_id
from ..models import Image, Item
from ..safe_yaml import load_yaml_nodes
from ._sanitize import html_to_text, sanitize, squash

__all__ = ["STORY_MAX_BYTES", "STORY_SUFFIXES", "read_file", "read_story"]

STORY_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".html", ".htm"})
# one article, even a saved page with its markup: ten times the longest we have seen
STORY_MAX_BYTES = 2 * 1024 * 1024
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
    html = cmarkgfm.markdown_to_html(body.strip(), options=Options.CMARK_OPT_UNSAFE)
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
    :data:`STORY_MAX_BYTES`), and, when it comes from the ``inbox`` folder, only if
    it is in that folder, not a link out of it.
    """
    data = read_file(path, label, min(max_bytes, STORY_MAX_BYTES), inside=inbox)
    text = _decode(Path(label), data)
    suffix = path.suffix.lower()
    if suffix in (".md", ".markdown"):
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
