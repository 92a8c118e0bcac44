"""A draft's story sections: the text the desk edits, section by section.

In: a draft's text (and its path, for messages). Out: :class:`DraftSections`, the head
(front matter, notes) and one :class:`Section` per ``## `` heading with its story id,
and a section's fingerprint (what the edition's ledger of generated sections holds, so
that the desk tells a hand edit from generated text).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .draft import QUICK_LINKS_MARK, is_note, parse_draft
from .errors import DraftError
from .models import EditionStatus

__all__ = [
    "DraftSections",
    "Section",
    "fingerprint",
    "split_sections",
    "trimmed",
]


@dataclass
class Section:
    """One ``## `` section of a draft, as lines; a desk action edits it in place."""

    lines: list[str]
    story: str = ""  # the story id; "" for the quick links or a non-story section


@dataclass
class DraftSections:
    """A draft cut into its head and its sections (mutable: the desk rearranges it)."""

    path: Path
    text: str
    head: list[str]
    sections: list[Section]
    status: EditionStatus = "draft"

    def story_ids(self) -> list[str]:
        return [s.story for s in self.sections if s.story]

    def index(self, story_id: str) -> int:
        for i, s in enumerate(self.sections):
            if s.story == story_id:
                return i
        known = ", ".join(self.story_ids()) or "none"
        raise DraftError(
            f"no story '{story_id}' in the draft (stories: {known})", file=str(self.path)
        )

    def render(self) -> str:
        parts = ["\n".join(trimmed(self.head))]
        parts += ["\n".join(trimmed(s.lines)) for s in self.sections]
        return "\n\n".join(p for p in parts if p).rstrip("\n") + "\n"


def trimmed(lines: list[str]) -> list[str]:
    """The lines without trailing blank ones."""
    out = list(lines)
    while out and not out[-1].strip():
        out.pop()
    return out


def split_sections(text: str, path: Path) -> DraftSections:
    """Cut a draft into its head (front matter, notes) and its ``## `` sections.

    Story ids are taken from :func:`parse_draft`, so they match what render and
    the findings use, including ids derived from the headline for hand-written
    stories without a ``<!-- story: -->`` marker.
    """
    issue = parse_draft(text, file=str(path))
    lines = text.splitlines()
    body = 1
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            body = i + 1
            break
    head: list[str] = lines[:body]
    sections: list[Section] = []
    for line in lines[body:]:
        if line.startswith("## "):
            sections.append(Section([line]))
        elif sections:
            sections[-1].lines.append(line)
        else:
            head.append(line)
    ids = iter(s.id for s in issue.stories)
    for section in sections:
        if not any(t.strip() == QUICK_LINKS_MARK for t in section.lines):
            section.story = next(ids, "")
    return DraftSections(path, text, head, sections, issue.status)


def fingerprint(lines: list[str]) -> str:
    """The section's content as a hash (pipeline notes left out)."""
    # pipeline notes (fact-check flags, conflicts) are rewritten on every build: they
    # are not content; a fallback note is, so deleting it makes the story the editor's
    kept = [t.rstrip() for t in trimmed(lines) if not is_note(t)]
    return hashlib.sha256("\n".join(kept).encode("utf-8")).hexdigest()
