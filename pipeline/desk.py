"""Desk: an edition date and one editor action in, a changed ``draft.md`` and a fresh render out.

The actions are the editor's: approve the issue, drop a story, move it up or down,
regenerate one story; :func:`act` runs one by name (the CLI's ``story`` commands and
the preview's buttons). Every action goes through the draft file, so what the editor
sees in the preview is what ``render`` and ``send`` use, and then re-renders it with
:func:`pipeline.build.render_draft`. A sent issue (:func:`pipeline.edition.sent`) is
left as it is.

The draft is edited as text, section by section (a section starts at a ``## ``
line; a story's ``### `` section header stays inside it), so everything the
editor typed elsewhere survives byte for byte. A regenerate keeps the previous
draft as ``backups/draft-N.md``; when the story it replaces was edited by hand,
the new version is put right after it under the id ``<id>-regenerated`` with a
note, and the editor keeps one of the two by dropping the other (dropping the
original promotes the regenerated one to the original id).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Literal

from .build import BuildResult, render_draft
from .config import Config
from .draft import draft_sha, format_draft, parse_draft
from .edition import Edition, sent
from .errors import DraftError, SummarizeError
from .lock import build_lock
from .models import Issue
from .outbox import publish
from .sections import DraftSections, Section, fingerprint, split_sections
from .select import article_from
from .store import open_state
from .summarize import summarize

__all__ = [
    "REGENERATED_SUFFIX",
    "DeskResult",
    "Verb",
    "act",
    "approve",
    "drop_story",
    "move_story",
    "regenerate_story",
]

Action = Literal["approve", "drop", "move", "regenerate"]
Verb = Literal["approve", "drop", "up", "down", "regenerate"]  # what the editor asks for
REGENERATED_SUFFIX = "-regenerated"
_CONFLICT_NOTE = "> **Conflict:**"
_MARK = re.compile(r"^<!--\s*story:\s*([\w-]+)\s*-->\s*$")
_STATUS = re.compile(r"^status\s*:.*$")
# one writer at a time inside a process (the preview server is threaded)
_LOCK = threading.Lock()


@contextmanager
def _locked(config: Config) -> Iterator[None]:
    """One desk action at a time in this process, and never beside a build: a build
    (cron, scheduler) and a desk action would otherwise both write the draft."""
    with _LOCK, build_lock(config, wait=config.schedule.lock_wait_seconds):
        yield


@dataclass(frozen=True)
class DeskResult:
    """What one desk action did to the edition's draft."""

    edition: date
    action: Action
    message: str
    story: str = ""
    changed: bool = False
    conflict: bool = False
    backup: str = ""
    rendered: BuildResult | None = None


def _load(config: Config, edition: date, expect_sha: str | None) -> tuple[Edition, DraftSections]:
    ed = Edition(config, edition)
    ed.remember_generated()
    text = ed.draft_text()
    path = ed.draft_path
    if expect_sha is not None and draft_sha(text) != expect_sha:
        raise DraftError(
            "the draft changed on disk since this page was loaded; nothing was"
            " done: look again and retry",
            file=str(path),
        )
    draft = split_sections(text, path)
    if sent(ed.status()):
        raise DraftError("this issue was sent; its draft is kept as sent", file=str(path))
    return ed, draft


def _save(ed: Edition, before: DraftSections, text: str, *, backup: bool) -> str:
    """Write the new draft unless someone else changed it meanwhile; return the backup name."""
    parse_draft(text, file=str(before.path))  # never write a draft that does not read back
    if before.path.read_text(encoding="utf-8") != before.text:
        raise DraftError(
            "the draft changed on disk while the desk was working; nothing was written: retry",
            file=str(before.path),
        )
    kept = ed.backup_draft() if backup else ""
    publish(before.path.parent, {"draft.md": text.encode("utf-8")})
    return kept


def _finish(
    config: Config,
    edition: date,
    action: Action,
    message: str,
    story: str = "",
    *,
    conflict: bool = False,
    backup: str = "",
) -> DeskResult:
    rendered = render_draft(config, edition)
    return DeskResult(
        edition,
        action,
        message,
        story,
        changed=True,
        conflict=conflict,
        backup=backup,
        rendered=rendered,
    )


def approve(config: Config, edition: date, *, expect_sha: str | None = None) -> DeskResult:
    """Set ``status: approved`` in the draft's front matter and re-render.

    A later build on that date leaves an approved issue alone unless forced.
    """
    with _locked(config):
        ed, draft = _load(config, edition, expect_sha)
        if draft.status in ("approved", "sent"):
            return DeskResult(edition, "approve", "already approved")
        head = list(draft.head)
        close = next(i for i in range(1, len(head)) if head[i].strip() == "---")
        for i in range(1, close):
            if _STATUS.match(head[i]):
                head[i] = "status: approved"
                break
        else:
            head.insert(close, "status: approved")
        draft.head = head
        _save(ed, draft, draft.render(), backup=False)
    return _finish(config, edition, "approve", "approved: a later build leaves it unless forced")


def drop_story(
    config: Config, edition: date, story_id: str, *, expect_sha: str | None = None
) -> DeskResult:
    """Remove one story from the draft (the previous draft is kept as a backup).

    Dropping a story that has a side-by-side ``<id>-regenerated`` version keeps
    that version under the original id.
    """
    with _locked(config):
        ed, draft = _load(config, edition, expect_sha)
        i = draft.index(story_id)
        if len(draft.story_ids()) == 1:
            raise DraftError(
                f"story '{story_id}' is the only story; an issue needs one", file=str(draft.path)
            )
        del draft.sections[i]
        message = f"dropped story {story_id}"
        alt = story_id + REGENERATED_SUFFIX
        if alt in draft.story_ids():
            section = draft.sections[draft.index(alt)]
            section.lines = _marked(
                [t for t in section.lines if not t.startswith(_CONFLICT_NOTE)], story_id
            )
            section.story = story_id
            message += "; the regenerated version takes its place"
        kept = _save(ed, draft, draft.render(), backup=True)
    return _finish(config, edition, "drop", message, story_id, backup=kept)


def move_story(
    config: Config, edition: date, story_id: str, delta: int, *, expect_sha: str | None = None
) -> DeskResult:
    """Move one story ``delta`` places (negative is up), clamped to the story list."""
    with _locked(config):
        ed, draft = _load(config, edition, expect_sha)
        draft.index(story_id)
        slots = [i for i, s in enumerate(draft.sections) if s.story]
        order = [draft.sections[i] for i in slots]
        at = next(n for n, s in enumerate(order) if s.story == story_id)
        to = max(0, min(len(order) - 1, at + delta))
        if to == at:
            where = "first" if at == 0 else "last"
            return DeskResult(edition, "move", f"story {story_id} is already {where}", story_id)
        order.insert(to, order.pop(at))
        for slot, section in zip(slots, order, strict=True):
            draft.sections[slot] = section
        _save(ed, draft, draft.render(), backup=False)
    return _finish(config, edition, "move", f"moved story {story_id} to place {to + 1}", story_id)


def _pipeline_sections(ed: Edition, draft: DraftSections) -> set[str]:
    """Fingerprints of story sections known to be written by the pipeline, not by hand:
    from the draft itself or a backup when their fingerprint is a pipeline draft's,
    and from the ledger (the desk's regenerations, pristine drafts seen before)."""
    known = ed.generated()
    candidates = [draft.text] + [p.read_text(encoding="utf-8") for p in ed.backups()]
    with open_state(ed.config) as store:
        for text in candidates:
            if not store.is_pipeline_draft(ed.date, draft_sha(text)):
                continue
            try:
                known |= {fingerprint(s.lines) for s in split_sections(text, draft.path).sections}
            except DraftError:
                continue
    return known


def _marked(lines: list[str], story_id: str) -> list[str]:
    """The section with its ``<!-- story: -->`` marker set to ``story_id``."""
    return [f"<!-- story: {story_id} -->" if _MARK.match(t.strip()) else t for t in lines]


def _regenerated_section(ed: Edition, story_id: str, issue: Issue) -> list[str]:
    current = next(s for s in issue.stories if s.id == story_id)
    with open_state(ed.config) as store:
        item = store.get_item(story_id.removesuffix(REGENERATED_SUFFIX))
        if item is None:
            raise DraftError(
                f"story '{story_id}' has no source item in the state store"
                " (written by hand?): nothing to regenerate it from",
                file=str(ed.draft_path),
            )
        article = article_from([item], story=current)
        run = summarize((article,), ed.config, store=store)
    if run.errors or not run.stories:
        raise SummarizeError(
            f"regenerating story {story_id} failed: "
            + ("; ".join(run.errors) or "no story came back")
        )
    story = replace(run.stories[0], id=item.id)
    one = Issue(date=ed.date, subject="", intro="", stories=(story,))
    sections = split_sections(format_draft(one), Path("regenerated")).sections
    return _marked(sections[0].lines, story_id)


def regenerate_story(
    config: Config, edition: date, story_id: str, *, expect_sha: str | None = None
) -> DeskResult:
    """Write one story afresh from its source item, keeping every other story and edit.

    The previous draft is kept as ``backups/draft-N.md``. A story edited by hand is
    not replaced: the new version goes right after it as ``<id>-regenerated``.
    """
    with _locked(config):
        ed, draft = _load(config, edition, expect_sha)
        i = draft.index(story_id)
        issue = parse_draft(draft.text, file=str(draft.path))
        fresh = _regenerated_section(ed, story_id, issue)
        base = story_id.removesuffix(REGENERATED_SUFFIX)
        old = draft.sections[i]
        if fingerprint(old.lines) == fingerprint(fresh):
            return DeskResult(
                edition, "regenerate", f"story {story_id} is already as generated", story_id
            )
        conflict = story_id == base and fingerprint(old.lines) not in _pipeline_sections(ed, draft)
        if conflict:
            alt = base + REGENERATED_SUFFIX
            lines = _marked(fresh, alt)
            below = next((i for i, t in enumerate(lines) if i and not t.startswith("<!--")), 2)
            lines[below:below] = [
                f"{_CONFLICT_NOTE} story {base} was edited by hand, so this"
                " regenerated version is kept beside it: drop the one you do not want."
            ]
            section = Section(lines, alt)
            if alt in draft.story_ids():
                draft.sections[draft.index(alt)] = section
            else:
                draft.sections.insert(i + 1, section)
            message = (
                f"story {base} was edited by hand: both versions are kept side by side"
                f" ({base} and {alt}); drop the one you do not want"
            )
        else:
            draft.sections[i] = Section(fresh, story_id)
            message = f"regenerated story {story_id}"
        kept = _save(ed, draft, draft.render(), backup=True)
        ed.remember({fingerprint(_marked(fresh, base))})
    return _finish(config, edition, "regenerate", message, story_id, conflict=conflict, backup=kept)


def act(
    config: Config, edition: date, verb: Verb, story: str = "", *, expect_sha: str | None = None
) -> DeskResult:
    """Run one desk action by the name the editor uses (``approve`` needs no story)."""
    if verb == "approve":
        return approve(config, edition, expect_sha=expect_sha)
    if verb == "drop":
        return drop_story(config, edition, story, expect_sha=expect_sha)
    if verb == "regenerate":
        return regenerate_story(config, edition, story, expect_sha=expect_sha)
    return move_story(config, edition, story, -1 if verb == "up" else 1, expect_sha=expect_sha)
