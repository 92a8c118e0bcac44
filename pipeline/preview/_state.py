"""The preview's live state: the config and the outbox in, per-issue versions, errors and views out.

Each edition the editor looks at is re-rendered (through :func:`render_draft`,
whose report carries the style, fact and email-lint findings)
when its draft, a template, the house style or the config changes. A render that
fails keeps the last good files on disk and records the error (with file and
line) to show above them; a version counter per edition tells open pages to reload.

The index (an :class:`IndexPage` of :class:`IndexRow`, newest first, ``PAGE`` a page)
is served from what changed: what was read from each draft is kept under the draft's
stamp (time, size, inode), so a page costs the outbox's listing, a stat per edition
shown, one store query for their statuses, and a read of the drafts that changed.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from ..build import render_draft
from ..config import Config, load_config
from ..desk import Verb, act
from ..draft import draft_sha
from ..edition import Edition, Ledger, Stamp, editions, read_ledger
from ..errors import NewsletterError
from ..models import EditionStatus, Finding

__all__ = ["PAGE", "EditionState", "IndexPage", "IndexRow", "PreviewState"]

PAGE = 60  # editions on an index page: two months of a daily

_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A draft changed this recently may change again within the file system's time
# granularity without its stamp changing (git's "racy clean"): it is read again until older.
_SETTLE_NS = 2_000_000_000


def _describe(exc: BaseException) -> str:
    """One line naming what failed; our errors already carry file and line."""
    if isinstance(exc, NewsletterError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class IndexRow:
    """One edition on the index: its state, story count and subject, or why its draft
    cannot be read (state ``broken``)."""

    date: date
    state: EditionStatus | Literal["broken"]
    stories: int = 0
    subject: str = ""
    error: str = ""


@dataclass(frozen=True)
class IndexPage:
    """One page of the index: its rows, its number, how many pages there are, and its
    version (as :meth:`PreviewState.version` gives it)."""

    rows: tuple[IndexRow, ...]
    page: int
    pages: int
    version: str


@dataclass(frozen=True)
class _Listing:
    """The outbox's editions, and for one page of the index the stamps of its drafts
    (None for a folder without one), newest first."""

    listed: tuple[date, ...]
    stamps: dict[date, Stamp | None]
    page: int
    pages: int

    def token(self) -> int:
        """Changes when an edition comes or goes, or a draft on the page changes."""
        return hash((self.listed, tuple(self.stamps.values()))) & 0xFFFFFFFF


@dataclass(frozen=True)
class _Read:
    """What the index keeps of one draft (not the draft: its subject, story count,
    status line and fingerprint, or why it cannot be read), as it was at ``stamp``."""

    stamp: Stamp
    settled: bool  # the draft was older than _SETTLE_NS when read: its stamp can be trusted
    subject: str = ""
    stories: int = 0
    draft_status: EditionStatus | None = None
    sha: str = ""
    error: str = ""


@dataclass
class EditionState:
    """What the preview knows about one edition since the server started."""

    version: int = 0
    sha: str | None = None
    error: str = ""
    findings: tuple[Finding, ...] = ()


class PreviewState:
    """Thread-safe live state shared by the HTTP handlers and the file watcher."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.config_file = Path(config.file).resolve()
        self.config_error = ""
        self.global_version = 0
        self._editions: dict[date, EditionState] = {}
        self._lock = threading.RLock()
        # the index's drafts as last read; its own lock, never held during a render
        self._reads: dict[date, _Read] = {}
        self._reads_lock = threading.Lock()

    # -- reading ------------------------------------------------------------
    def version(self, edition: date | None = None, *, page: int = 1) -> str:
        """The token a page compares to know it is stale: for one edition, its render
        count; for an index page, the outbox's editions and the stamps of its drafts."""
        if edition is None:
            return f"{self.global_version}.{self._list(page).token():x}"
        # no lock: a render holds it while it waits for a build's lock, and pages poll
        # this every second; reading one counter is atomic
        state = self._editions.get(edition)
        return f"{self.global_version}.{state.version if state else 0}"

    def edition(self, edition: date) -> EditionState:
        """The edition's state, rendering it first if its draft changed since last seen."""
        self.refresh(edition)
        with self._lock:
            return self._editions[edition]

    def has_draft(self, edition: date) -> bool:
        """Whether the edition has a draft in the outbox."""
        return Edition(self.config, edition).draft_stamp() is not None

    def index(self, page: int = 1) -> IndexPage:
        """A page of the index, newest first (a page past the last is the last): each
        edition's state, story count, subject or error. Only the page's drafts whose
        stamp changed are read; their statuses are one store query."""
        listing = self._list(page)
        version = f"{self.global_version}.{listing.token():x}"
        reads: dict[date, _Read] = {}
        with self._reads_lock:
            now = time.time_ns()
            for d, stamp in listing.stamps.items():
                if stamp is None:  # a folder without a draft (yet): not an edition
                    continue
                seen = self._reads.get(d)
                if seen is None or seen.stamp != stamp or not seen.settled:
                    seen = self._reads[d] = self._read(d, stamp, now)
                reads[d] = seen
            keep = set(listing.listed)
            if not self._reads.keys() <= keep:  # editions gone from the outbox
                self._reads = {d: r for d, r in self._reads.items() if d in keep}
        ledger: Ledger | None = None
        store_error = ""
        if any(not r.error for r in reads.values()):
            try:
                ledger = read_ledger(self.config, min(reads), max(reads))
            except NewsletterError as exc:  # shown on each row, as a broken draft is
                store_error = _describe(exc)
        rows = []
        for d, r in reads.items():
            if r.error or ledger is None:
                rows.append(IndexRow(d, "broken", error=r.error or store_error))
            else:
                state = ledger.status(d, r.draft_status, r.sha)
                rows.append(IndexRow(d, state, r.stories, r.subject))
        return IndexPage(tuple(rows), listing.page, listing.pages, version)

    def _list(self, page: int) -> _Listing:
        """The outbox's listing and the stamps of the drafts on ``page`` (a page past
        the last is the last)."""
        listed = tuple(editions(self.config))
        pages = max(1, -(-len(listed) // PAGE))
        page = min(max(page, 1), pages)
        shown = listed[(page - 1) * PAGE : page * PAGE]
        stamps = {d: Edition(self.config, d).draft_stamp() for d in shown}
        return _Listing(listed, stamps, page, pages)

    def _read(self, edition: date, stamp: Stamp, now: int) -> _Read:
        """Read and parse one draft for the index."""
        settled = now - stamp.mtime_ns > _SETTLE_NS
        try:
            text, issue = Edition(self.config, edition).read_draft()
        except (OSError, UnicodeDecodeError, NewsletterError) as exc:
            return _Read(stamp, settled, error=_describe(exc))
        return _Read(
            stamp, settled, issue.subject, len(issue.stories), issue.status, draft_sha(text)
        )

    # -- changing -----------------------------------------------------------
    def refresh(self, edition: date, *, force: bool = False) -> bool:
        """Re-render the edition when its draft changed (or when forced); True if it ran."""
        path = Edition(self.config, edition).draft_path
        with self._lock:
            state = self._editions.setdefault(edition, EditionState())
            try:
                sha: str | None = draft_sha(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                sha = None
            if not force and sha == state.sha and state.version:
                return False
            state.sha = sha
            Edition(self.config, edition).remember_generated()
            try:
                report = render_draft(self.config, edition).report
                state.error = ""
            except Exception as exc:  # a broken draft or template must not stop the server
                # the findings of the last good render stay, like its files
                state.error = _describe(exc)
            else:
                state.findings = report.findings
            state.version += 1
            return True

    def act(self, edition: date, verb: Verb, story: str, *, expect_sha: str | None) -> str:
        """Run one desk action (approve, drop, up, down, regenerate) and re-render; return
        the message for the editor. Holding the lock keeps the watcher's render of the
        same draft from running at the same time."""
        with self._lock:
            try:
                result = act(self.config, edition, verb, story, expect_sha=expect_sha)
                message = result.message + (
                    f" (previous draft kept as {result.backup})" if result.backup else ""
                )
            except Exception as exc:  # shown to the editor; the server goes on
                message = f"Not done: {_describe(exc)}"
            self.refresh(edition)
        return message

    def rerender_all(self) -> None:
        """After a template, house-style or config change: re-render every edition seen."""
        with self._lock:
            seen = list(self._editions)
        for d in seen:
            self.refresh(d, force=True)

    def reload_config(self) -> None:
        """Read the config file again; on an error keep the last good config and show it."""
        try:
            config = load_config(self.config_file)
        except Exception as exc:
            with self._lock:
                self.config_error = _describe(exc)
                self.global_version += 1
            return
        with self._lock:
            self.config = config
            self.config_error = ""
            self.global_version += 1
        with self._reads_lock:
            self._reads = {}  # the outbox may have moved
        self.rerender_all()

    def changed(self, paths: set[Path]) -> None:
        """React to changed files: the config, templates, or one edition's draft."""
        templates = self.config.templates_path.resolve()
        outbox = self.config.outbox_path.resolve()
        if self.config_file in paths:
            self.reload_config()
            return
        if any(p.is_relative_to(templates) for p in paths):
            self.rerender_all()
            with self._lock:
                self.global_version += 1
            return
        for p in paths:
            if (
                p.name == "draft.md"
                and p.parent.parent == outbox
                and _DATE_DIR.match(p.parent.name)
            ):
                self.refresh(date.fromisoformat(p.parent.name))
