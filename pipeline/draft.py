"""Draft: an :class:`Issue` in, ``draft.md`` text out, and back.

The draft is the editor's file: YAML front matter (date, status, subject, intro)
then one section per story, then the quick links. ``format_draft`` writes it,
``parse_draft`` reads an edited one back into an :class:`Issue` (errors name the
file and line). A story reads in the email's order, each part on its own line or
paragraph::

    ## Headline In Title Case. Then Its Consequence.
    <!-- story: g0123456789abcdef -->
    <!-- engine: extractive -->
    **Dek:** One sentence naming the subject.
    **Sources:** [Markets Wire](https://...) · [Tech Desk](https://...)
    **Image:** ![alt text](https://...) Photo by ... via ...

    > **Fallback:** the LLM's story was rejected (reason); the offline engine wrote this one.

    Hook paragraph.

    Nut graf paragraph(s).

    ### The Section Header

    Context paragraph(s).

    Lead-in sentence ending with a colon:

    - Bullet with its attribution.
    - Another bullet.

    **Kicker Label:** The kicker's analysis.

    > **Check:** editor notes the pipeline adds (fact-check flags); ignored on read.

Parts are told apart by place: above the ``###`` line the first paragraph is the
hook and the others the nut graf; below it the paragraph right above the bullets
is the lead-in and the others the context. The fallback note is part of the story
(``StorySummary.fallback``): deleting it clears the mark. The engine line is
optional (a story without one reads as the editor's).

Drafts written before the nut graf and context (a ``**Section:**`` line, no
``###``) read as they always did: every paragraph above the lead-in is the hook.

What ``format_draft`` writes, ``parse_draft`` reads back as the same story, its
text with whitespace collapsed: a paragraph that would read as markup starts with
a backslash, link text escapes ``\\ [ ]``, a URL with a space, parenthesis,
angle bracket or backslash is written ``<...>`` with ``\\ < >`` escaped, and a
kicker label escapes ``\\ *``.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, unquote

import yaml

from .errors import DraftError
from .models import (
    EditionStatus,
    Image,
    Issue,
    QuickLink,
    SourceRef,
    StorySummary,
    paragraphs,
)
from .safe_yaml import load_yaml

__all__ = [
    "FALLBACK_NOTE",
    "QUICK_LINKS_MARK",
    "draft_sha",
    "format_draft",
    "is_note",
    "parse_draft",
]

QUICK_LINKS_MARK = "<!-- quick-links -->"
FALLBACK_NOTE = "> **Fallback:**"
_STORY_MARK = re.compile(r"^<!--\s*story:\s*([\w-]+)\s*-->$")
_ENGINE_MARK = re.compile(r"^<!--\s*engine:\s*(\S+)\s*-->$")
_META = re.compile(r"^\*\*(Section|Dek|Sources?|Image):\*\*\s*(.*)$")
_SECTION = re.compile(r"^###(?:\s+(.*))?$")
_KICKER = re.compile(r"^\*\*(.*?):\*\*\s*(.*)$", re.S)
_FALLBACK = re.compile(r"^>\s*\*\*Fallback:\*\*\s*(.*)$")
# link text, then the URL as <...> (escapes inside) or bare up to a space or ')'
_LINK = re.compile(r"\[((?:\\.|[^\\\]])*)\]\((?:<((?:\\[\\<>]|[^\\<>])*)>|([^\s)]*))\)")
_IMAGE = re.compile(r"^!" + _LINK.pattern + r"\s*(.*)$")
_BULLET = re.compile(r"^[-*+]\s+(.*)$")
_QUICK = re.compile(r"^[-*+]\s+" + _LINK.pattern + r"\s*(?:[—–-]\s*(.*))?$")
# what a draft may say: every status but ``sending``, which only a send records
_STATUSES: tuple[EditionStatus, ...] = ("draft", "edited", "approved", "sent")
_HELP = (
    "<!-- This draft is yours to edit: the pipeline never overwrites an edited draft. "
    "Keep each story's '## ' headline, '### ' section header and **Label:** lines; delete a "
    "story's Fallback note once you have checked it; set status: approved when ready. -->"
)
# a paragraph starting with one of these would read as a heading, note, bullet, label
# or comment: the writer puts a backslash before it
_PARA_MARKUP = "\\#>*+-<"
_LINK_TEXT = "\\[]"
_ANGLE_URL = "\\<>"
_LABEL = "\\*"
_BARE_URL = re.compile(r"[^\s()<>\\]*")
_FALLBACK_WORDS = ("the LLM's story was rejected (", "); the offline engine wrote this one.")
_NO_REASON = "no reason given"
# an engine name in an HTML comment: percent-encoded but for ASCII punctuation, no "--"
_ENGINE_SAFE = "".join(c for c in string.punctuation if c != "%")


def draft_sha(text: str) -> str:
    """The fingerprint the state store keeps to tell a pristine draft from an edited one."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_note(line: str) -> bool:
    """Whether a draft line is a note the pipeline writes for the editor and reads as
    nothing (fact-check flags, conflicts). The fallback note is not one: it is part of
    its story, and deleting it is an edit."""
    s = line.strip()
    return s.startswith(">") and not _FALLBACK.match(s)


def _one_line(s: str) -> str:
    return " ".join(s.split())


def _escape(text: str, chars: str) -> str:
    return re.sub(f"([{re.escape(chars)}])", r"\\\1", text)


def _unescape(text: str, chars: str) -> str:
    return re.sub(f"\\\\([{re.escape(chars)}])", r"\1", text)


def _para_md(text: str) -> str:
    """One paragraph on one line, a backslash first where it would read as markup."""
    line = _one_line(text)
    return "\\" + line if line and line[0] in _PARA_MARKUP else line


def _para_text(line: str) -> str:
    """Undo :func:`_para_md`'s backslash."""
    return line[1:] if len(line) > 1 and line[0] == "\\" and line[1] in _PARA_MARKUP else line


def _link_md(text: str, url: str) -> str:
    """``[text](url)`` that reads back as the same text and URL, whatever they hold."""
    url = _one_line(url)
    if not _BARE_URL.fullmatch(url):
        url = f"<{_escape(url, _ANGLE_URL)}>"
    return f"[{_escape(_one_line(text), _LINK_TEXT)}]({url})"


def _link(m: re.Match[str]) -> tuple[str, str]:
    """(text, url) of a :data:`_LINK` match (the first three groups of the pattern)."""
    text, angle, bare = m.group(1, 2, 3)
    return _unescape(text, _LINK_TEXT), bare if angle is None else _unescape(angle, _ANGLE_URL)


def _fallback_md(reason: str) -> str:
    before, after = _FALLBACK_WORDS
    return f"{FALLBACK_NOTE} {before}{_one_line(reason) or _NO_REASON}{after}"


def _fallback_reason(note: str) -> str:
    """The reason in a fallback note; the note itself when the editor reworded it."""
    before, after = _FALLBACK_WORDS
    if note.startswith(before) and note.endswith(after) and len(note) > len(before + after):
        return note[len(before) : -len(after)]
    return note or _NO_REASON


def _engine_md(engine: str) -> str:
    # "--" would end the comment early; % is encoded, so "-%2D" reads back as "--"
    return quote(engine, safe=_ENGINE_SAFE).replace("--", "-%2D")


def _story_md(story: StorySummary) -> list[str]:
    out = [f"## {_one_line(story.headline)}", f"<!-- story: {story.id} -->"]
    if story.engine not in ("", "editor"):
        out.append(f"<!-- engine: {_engine_md(story.engine)} -->")
    out.append(f"**Dek:** {_one_line(story.dek)}".rstrip())
    if story.sources:
        links = " · ".join(_link_md(s.name, s.url) for s in story.sources)
        out.append(f"**Sources:** {links}")
    if story.image:
        credit = f" {_one_line(story.image.credit)}" if story.image.credit.strip() else ""
        out.append(f"**Image:** !{_link_md(story.image.alt, story.image.url)}{credit}")
    out.append("")
    if story.fallback:
        out += [_fallback_md(story.fallback), ""]
    # the hook is one paragraph: more (a hook from an old draft) read back as nut graf,
    # in the same place in the email
    for para in (*paragraphs(story.hook), *paragraphs(story.nut_graf)):
        out += [_para_md(para), ""]
    out += [f"### {_one_line(story.section)}".rstrip(), ""]
    for para in (*paragraphs(story.context), _one_line(story.lead_in)):
        if para:
            out += [_para_md(para), ""]
    bullets = [f"- {_one_line(b)}" for b in story.bullets if b.strip()]
    if bullets:
        out += [*bullets, ""]
    label = re.sub(r"[\s:]+$", "", _one_line(story.kicker_label))
    if label or story.kicker.strip():
        out += [f"**{_escape(label, _LABEL)}:** {_one_line(story.kicker)}".rstrip(), ""]
    for f in story.facts:
        out.append(f"> **Check:** {_one_line(f.part)}: {_one_line(f.message)}")
    if story.facts:
        out.append("")
    return out


def format_draft(issue: Issue, *, newsletter: str = "") -> str:
    """Write ``issue`` as the editable Markdown draft."""
    front: dict[str, Any] = {}
    if newsletter:
        front["newsletter"] = newsletter
    front["date"] = issue.date
    front["status"] = issue.status
    # one line each, like every story part: a line separator inside would split the YAML
    front["subject"] = _one_line(issue.subject)
    front["intro"] = _one_line(issue.intro)
    if issue.generated_at:
        front["generated_at"] = issue.generated_at.isoformat(timespec="seconds")
    lines = [
        "---",
        yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000).strip(),
        "---",
        "",
        _HELP,
        "",
    ]
    for story in issue.stories:
        lines += _story_md(story)
    if issue.quick_links:
        lines += ["## More Stories Worth a Look", QUICK_LINKS_MARK, ""]
        for link in issue.quick_links:
            tail = f" — {_one_line(link.source)}" if link.source.strip() else ""
            lines.append(f"- {_link_md(link.title, link.url)}{tail}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


@dataclass
class _Block:
    headline: str
    line: int
    body: list[tuple[int, str]]


def _front_matter(lines: list[str], file: str) -> tuple[dict[str, Any], int]:
    if not lines or lines[0].strip() != "---":
        raise DraftError("the draft must start with a '---' front matter block", file=file, line=1)
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            break
    else:
        raise DraftError("front matter is not closed with '---'", file=file, line=1)
    try:
        data = load_yaml("\n".join(lines[1:end]), first_line=2) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        raise DraftError(
            f"front matter is not valid YAML: {getattr(exc, 'problem', exc)}", file=file, line=line
        ) from None
    if not isinstance(data, dict):
        raise DraftError("front matter must be key: value lines", file=file, line=2)
    return data, end + 1


def _paragraphs(body: list[tuple[int, str]]) -> list[tuple[int, list[str]]]:
    paras: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for lineno, text in body:
        if not text.strip():
            if current:
                paras.append((start, current))
                current = []
            continue
        if not current:
            start = lineno
        current.append(text.rstrip())
    if current:
        paras.append((start, current))
    return paras


@dataclass
class _Body:
    """The paragraphs of a story (or of its part below the section header), sorted."""

    texts: list[str]
    bullets: list[str]
    label: str = ""
    kicker: str = ""


def _bullet_items(para: list[str]) -> list[str]:
    items: list[str] = []
    item: list[str] = []
    for text in para:
        if m := _BULLET.match(text.strip()):
            if item:
                items.append(" ".join(item))
            item = [m.group(1).strip()]
        elif item:
            item.append(text.strip())  # a wrapped bullet continues
    if item:
        items.append(" ".join(item))
    return items


def _read_body(
    paras: list[tuple[int, list[str]]], headline: str, file: str, *, kicker_alone: bool
) -> _Body:
    """Text paragraphs, then bullets, then the kicker. ``kicker_alone``: a story with no
    bullets may still end with a kicker (old drafts: the kicker follows bullets)."""
    body = _Body([], [])
    for n, (lineno, para) in enumerate(paras):
        if _BULLET.match(para[0].strip()):
            body.bullets += _bullet_items(para)
            continue
        joined = " ".join(t.strip() for t in para)
        may_be_kicker = body.bullets or (kicker_alone and n == len(paras) - 1)
        if may_be_kicker and (m := _KICKER.match(joined)):
            raw = m.group(1).strip()
            body.label = _unescape(raw, _LABEL) + ":" if raw else ""
            body.kicker = m.group(2).strip()
        elif body.bullets or body.label:
            raise DraftError(
                f"story '{headline}': text after the bullets must be the kicker,"
                " starting with a bold label like **The Bottom Line:**",
                file=file,
                line=lineno,
            )
        else:
            body.texts.append(_para_text(joined))
    return body


@dataclass(frozen=True)
class _Parts:
    hook: str
    nut_graf: str
    section: str
    context: str
    lead_in: str
    body: _Body


def _old_layout(rest: list[tuple[int, str]], section: str, headline: str, file: str) -> _Parts:
    """A story without a ``###`` header: every paragraph above the lead-in is the hook."""
    body = _read_body(_paragraphs(rest), headline, file, kicker_alone=False)
    hook = body.texts
    lead_in = hook.pop() if hook and hook[-1].endswith(":") and body.bullets else ""
    return _Parts("\n\n".join(hook), "", section, "", lead_in, body)


def _new_layout(
    rest: list[tuple[int, str]], header: tuple[int, str], headline: str, file: str
) -> _Parts:
    """Hook and nut graf above the ``###`` header; context, lead-in, bullets, kicker below."""
    above = _paragraphs([(n, t) for n, t in rest if n < header[0]])
    for lineno, para in above:
        if _BULLET.match(para[0].strip()):
            raise DraftError(
                f"story '{headline}': bullets go below the '### ' section header",
                file=file,
                line=lineno,
            )
    texts = [_para_text(" ".join(t.strip() for t in para)) for _, para in above]
    below = _paragraphs([(n, t) for n, t in rest if n > header[0]])
    body = _read_body(below, headline, file, kicker_alone=True)
    lead_in = body.texts.pop() if body.bullets and body.texts else ""
    return _Parts(
        texts[0] if texts else "",
        "\n\n".join(texts[1:]),
        header[1],
        "\n\n".join(body.texts),
        lead_in,
        body,
    )


def _parse_story(block: _Block, file: str, index: int) -> StorySummary:
    story_id = ""
    engine = "editor"
    fallback = ""
    meta: dict[str, tuple[int, str]] = {}
    headers: list[tuple[int, str]] = []
    rest: list[tuple[int, str]] = []
    for lineno, text in block.body:
        s = text.strip()
        if m := _STORY_MARK.match(s):
            story_id = m.group(1)
        elif m := _ENGINE_MARK.match(s):
            engine = unquote(m.group(1))
        elif m := _FALLBACK.match(s):
            fallback = _fallback_reason(m.group(1))
        elif is_note(s):
            continue
        elif (m := _META.match(s)) and not _has_content(rest):
            meta[m.group(1).rstrip("s")] = (lineno, m.group(2).strip())
        elif s.startswith("<!--") and s.endswith("-->"):
            continue
        else:
            if m := _SECTION.match(s):
                headers.append((lineno, (m.group(1) or "").strip()))
            rest.append((lineno, text))
    if not block.headline:
        raise DraftError(f"story {index} has an empty headline", file=file, line=block.line)
    if not story_id:
        story_id = "e" + hashlib.sha256(block.headline.encode()).hexdigest()[:16]
    if len(headers) > 1:
        raise DraftError(
            f"story '{block.headline}' has a second '### ' section header; keep one",
            file=file,
            line=headers[1][0],
        )
    if headers and "Section" in meta:
        raise DraftError(
            f"story '{block.headline}' has both a **Section:** line and a '### ' section"
            " header; keep the '### ' one",
            file=file,
            line=meta["Section"][0],
        )
    if headers:
        parts = _new_layout(rest, headers[0], block.headline, file)
    else:
        parts = _old_layout(rest, meta.get("Section", (0, ""))[1], block.headline, file)
    sources: list[SourceRef] = []
    if "Source" in meta:
        sources = [SourceRef(*_link(m)) for m in _LINK.finditer(meta["Source"][1])]
        if not sources and meta["Source"][1]:
            sources = [SourceRef(meta["Source"][1], "")]
    image = None
    if meta.get("Image", (0, ""))[1]:
        lineno, value = meta["Image"]
        if not (m := _IMAGE.match(value)):
            raise DraftError(
                "**Image:** must look like ![alt text](https://...) credit", file=file, line=lineno
            )
        alt, url = _link(m)
        image = Image(url=url, alt=alt, credit=m.group(4).strip())
    return StorySummary(
        id=story_id,
        headline=block.headline,
        dek=meta.get("Dek", (0, ""))[1],
        hook=parts.hook,
        nut_graf=parts.nut_graf,
        section=parts.section,
        context=parts.context,
        lead_in=parts.lead_in,
        bullets=tuple(parts.body.bullets),
        kicker_label=parts.body.label,
        kicker=parts.body.kicker,
        sources=tuple(sources),
        image=image,
        engine=engine,
        fallback=fallback,
    )


def _has_content(rest: list[tuple[int, str]]) -> bool:
    return any(t.strip() for _, t in rest)


def parse_draft(text: str, *, file: str = "draft.md") -> Issue:
    """Read a (possibly hand-edited) draft back into an :class:`Issue`."""
    lines = text.splitlines()
    front, body_start = _front_matter(lines, file)
    try:
        edition = front["date"]
        if isinstance(edition, str):
            edition = date.fromisoformat(edition)
        if not isinstance(edition, date):
            raise ValueError(edition)
    except (KeyError, ValueError):
        raise DraftError("front matter needs 'date: YYYY-MM-DD'", file=file, line=2) from None
    status = str(front.get("status", "draft"))
    if status not in _STATUSES:
        raise DraftError(
            f"status must be one of {', '.join(_STATUSES)} (got {status!r})", file=file, line=2
        )
    generated = front.get("generated_at")
    if isinstance(generated, str):
        try:
            generated = datetime.fromisoformat(generated)
        except ValueError:
            raise DraftError(
                f"generated_at is not a timestamp: {generated!r}", file=file, line=2
            ) from None
    blocks: list[_Block] = []
    for i in range(body_start, len(lines)):
        if lines[i].startswith("## "):
            blocks.append(_Block(lines[i][3:].strip(), i + 1, []))
        elif blocks:
            blocks[-1].body.append((i + 1, lines[i]))
    stories: list[StorySummary] = []
    links: list[QuickLink] = []
    for n, block in enumerate(blocks, 1):
        if any(t.strip() == QUICK_LINKS_MARK for _, t in block.body):
            for lineno, t in block.body:
                s = t.strip()
                if not s or s == QUICK_LINKS_MARK or s.startswith("<!--"):
                    continue
                m = _QUICK.match(s)
                if not m:
                    raise DraftError(
                        "a quick link must look like '- [Title](https://...) — Source'",
                        file=file,
                        line=lineno,
                    )
                title, url = _link(m)
                links.append(QuickLink(title.strip(), url, (m.group(4) or "").strip()))
            continue
        stories.append(_parse_story(block, file, n))
    return Issue(
        date=edition,
        subject=str(front.get("subject") or ""),
        intro=str(front.get("intro") or ""),
        stories=tuple(stories),
        quick_links=tuple(links),
        status=status,
        generated_at=generated if isinstance(generated, datetime) else None,
    )
