"""Draft: an :class:`Issue` in, ``draft.md`` text out, and back.

The draft is the editor's file: YAML front matter (date, status, subject, intro)
then one section per story, then the quick links. ``format_draft`` writes it,
``parse_draft`` reads an edited one back into an :class:`Issue` (errors name the
file and line). Story layout, each part on its own line or paragraph::

    ## Headline In Title Case. Then Its Consequence.
    <!-- story: g0123456789abcdef -->
    **Section:** The Supply Question
    **Dek:** One sentence naming the subject.
    **Sources:** [Markets Wire](https://...) · [Tech Desk](https://...)
    **Image:** ![alt text](https://...) Photo by ... via ...

    Hook paragraph (more paragraphs may follow: they are kept).

    Lead-in sentence ending with a colon:

    - Bullet with its attribution.
    - Another bullet.

    **Kicker Label:** The kicker's analysis.

    > **Check:** editor notes the pipeline adds (fact-check flags); ignored on read.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import yaml

from .errors import DraftError
from .models import Image, Issue, QuickLink, SourceRef, StorySummary

__all__ = ["draft_sha", "format_draft", "parse_draft"]

QUICK_LINKS_MARK = "<!-- quick-links -->"
_STORY_MARK = re.compile(r"^<!--\s*story:\s*([\w-]+)\s*-->$")
_META = re.compile(r"^\*\*(Section|Dek|Sources?|Image):\*\*\s*(.*)$")
_KICKER = re.compile(r"^\*\*(.+?):\*\*\s*(.*)$", re.S)
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)\s]+)\)\s*(.*)$")
_BULLET = re.compile(r"^[-*+]\s+(.*)$")
_QUICK = re.compile(r"^[-*+]\s+\[([^\]]+)\]\(([^)\s]+)\)\s*(?:[—–-]\s*(.*))?$")
_STATUSES = ("draft", "edited", "approved", "sent")
_HELP = (
    "<!-- This draft is yours to edit: the pipeline never overwrites an edited draft. "
    "Keep each story's '## ' headline and **Label:** lines; set status: approved when ready. -->"
)


def draft_sha(text: str) -> str:
    """The fingerprint the state store keeps to tell a pristine draft from an edited one."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _one_line(s: str) -> str:
    return " ".join(s.split())


def _story_md(story: StorySummary) -> list[str]:
    out = [f"## {_one_line(story.headline)}", f"<!-- story: {story.id} -->"]
    out.append(f"**Section:** {_one_line(story.section)}")
    out.append(f"**Dek:** {_one_line(story.dek)}")
    if story.sources:
        links = " · ".join(f"[{_one_line(s.name)}]({s.url})" for s in story.sources)
        out.append(f"**Sources:** {links}")
    if story.image:
        credit = f" {_one_line(story.image.credit)}" if story.image.credit else ""
        out.append(f"**Image:** ![{_one_line(story.image.alt)}]({story.image.url}){credit}")
    out.append("")
    for para in story.hook.split("\n\n"):
        if para.strip():
            out += [_one_line(para), ""]
    if story.lead_in:
        out += [_one_line(story.lead_in), ""]
    out += [f"- {_one_line(b)}" for b in story.bullets]
    out.append("")
    if story.kicker_label or story.kicker:
        label = _one_line(story.kicker_label).rstrip(":")
        out += [f"**{label}:** {_one_line(story.kicker)}", ""]
    for f in story.facts:
        out.append(f"> **Check:** {f.part}: {_one_line(f.message)}")
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
    front["subject"] = issue.subject
    front["intro"] = issue.intro
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
            tail = f" — {_one_line(link.source)}" if link.source else ""
            lines.append(f"- [{_one_line(link.title)}]({link.url}){tail}")
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
        data = yaml.safe_load("\n".join(lines[1:end])) or {}
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


def _parse_story(block: _Block, file: str, index: int) -> StorySummary:
    story_id = ""
    meta: dict[str, str] = {}
    rest: list[tuple[int, str]] = []
    for lineno, text in block.body:
        s = text.strip()
        if m := _STORY_MARK.match(s):
            story_id = m.group(1)
        elif s.startswith(">"):
            continue  # pipeline notes (fact-check flags): regenerated, not content
        elif (m := _META.match(s)) and not _has_content(rest):
            meta[m.group(1).rstrip("s")] = m.group(2).strip()
        elif s.startswith("<!--") and s.endswith("-->"):
            continue
        else:
            rest.append((lineno, text))
    if not block.headline:
        raise DraftError(f"story {index} has an empty headline", file=file, line=block.line)
    if not story_id:
        story_id = "e" + hashlib.sha256(block.headline.encode()).hexdigest()[:16]
    hook: list[str] = []
    lead_in = ""
    bullets: list[str] = []
    label = kicker = ""
    paras = _paragraphs(rest)
    for lineno, para in paras:
        first = para[0].strip()
        if _BULLET.match(first):
            item: list[str] = []
            for text in para:
                if m := _BULLET.match(text.strip()):
                    if item:
                        bullets.append(" ".join(item))
                    item = [m.group(1).strip()]
                elif item:
                    item.append(text.strip())  # a wrapped bullet continues
            if item:
                bullets.append(" ".join(item))
            continue
        joined = " ".join(t.strip() for t in para)
        if bullets and (m := _KICKER.match(joined)):
            label, kicker = m.group(1).strip() + ":", m.group(2).strip()
        elif bullets or label:
            raise DraftError(
                f"story '{block.headline}': text after the bullets must be the kicker,"
                " starting with a bold label like **The Bottom Line:**",
                file=file,
                line=lineno,
            )
        else:
            hook.append(joined)
    if hook and hook[-1].endswith(":") and bullets:
        lead_in = hook.pop()
    sources: list[SourceRef] = []
    if "Source" in meta:
        sources = [SourceRef(name, url) for name, url in _LINK.findall(meta["Source"])]
        if not sources and meta["Source"]:
            sources = [SourceRef(meta["Source"], "")]
    image = None
    if meta.get("Image"):
        m = _IMAGE.match(meta["Image"])
        if not m:
            raise DraftError(
                "**Image:** must look like ![alt text](https://...) credit",
                file=file,
                line=block.line,
            )
        image = Image(url=m.group(2), alt=m.group(1), credit=m.group(3).strip())
    return StorySummary(
        id=story_id,
        headline=block.headline,
        dek=meta.get("Dek", ""),
        hook="\n\n".join(hook),
        nut_graf="",
        section=meta.get("Section", ""),
        context="",
        lead_in=lead_in,
        bullets=tuple(bullets),
        kicker_label=label,
        kicker=kicker,
        sources=tuple(sources),
        image=image,
        engine="editor",
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
                links.append(QuickLink(m.group(1).strip(), m.group(2), (m.group(3) or "").strip()))
            continue
        stories.append(_parse_story(block, file, n))
    return Issue(
        date=edition,
        subject=str(front.get("subject") or ""),
        intro=str(front.get("intro") or ""),
        stories=tuple(stories),
        quick_links=tuple(links),
        status=status,  # type: ignore[arg-type]
        generated_at=generated if isinstance(generated, datetime) else None,
    )
