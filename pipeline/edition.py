"""The edition: a config and a date in; the edition's folder, its files and its status out.

An edition lives in ``outbox/<date>/``: ``draft.md`` (the editor's), the rendered
``issue.html``, ``issue.txt`` and ``issue.eml``, ``report.json`` (a
:class:`~pipeline.report.RunReport`) and ``backups/``: the numbered drafts a run
replaced and ``generated-stories.json``, the ledger of story sections the pipeline wrote
(so a regenerate never counts generated text as a hand edit). :class:`Edition` reads
and writes all of these; every other module goes through it.

One status (:data:`EditionStatus`): ``sending`` and ``sent`` as a send recorded them in
the state store, ``approved`` (or ``sent``) as the draft says, else ``draft`` for a
draft the pipeline wrote and ``edited`` for one it did not. Two rules on it, which
build, desk, schedule, send and the preview all follow: :func:`frozen` (a build leaves
the issue alone unless forced) and :func:`sent` (out of the editor's hands, and never
sent again unless forced).

For a view of many editions at once (the preview's index): :func:`editions` lists the
outbox's edition folders (the listing alone, no stat each), :meth:`Edition.draft_stamp`
is a draft's :class:`Stamp` (what a cache of what was read from it is keyed by), and
:func:`read_ledger` reads the store's side of the status of a range of dates in one
query, a :class:`Ledger` that applies the same status rule.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from email import message_from_bytes, policy
from pathlib import Path

from .config import Config
from .draft import draft_sha, parse_draft
from .errors import DraftError, NoIssueError, ReportError, StaleIssueError
from .models import EditionStatus, Issue, RenderedIssue
from .outbox import publish, sweep_temporary
from .report import RunReport
from .sections import fingerprint, split_sections
from .store import Store, open_state

__all__ = [
    "Edition",
    "EditionStatus",
    "Ledger",
    "Stamp",
    "editions",
    "frozen",
    "issue_dir",
    "read_ledger",
    "sent",
]

_LEDGER = "generated-stories.json"  # fingerprints of story sections the pipeline wrote
_EMAIL_FILES = ("issue.html", "issue.txt", "issue.eml")
_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def frozen(status: EditionStatus) -> bool:
    """Approved, being sent or sent: a build leaves the issue as it is unless forced."""
    return status in ("approved", "sending", "sent")


def sent(status: EditionStatus) -> bool:
    """Being sent or sent: the desk changes nothing, and a send repeats only when forced
    (a ``sending`` issue may have gone out before its run died)."""
    return status in ("sending", "sent")


def _status(
    recorded: EditionStatus | None, draft_status: EditionStatus | None, pristine: bool
) -> EditionStatus:
    """The one status from the store's record, the draft's own ``status:`` (None when
    there is no readable draft) and whether the draft is exactly as the pipeline wrote it."""
    if recorded is not None and sent(recorded):
        return recorded
    if draft_status in ("approved", "sent"):
        return draft_status
    if recorded == "approved":
        return "approved"
    return "draft" if pristine else "edited"


def issue_dir(config: Config, edition: date) -> Path:
    """The outbox folder of one edition."""
    return config.outbox_path / edition.isoformat()


@dataclass(frozen=True, slots=True)
class Stamp:
    """A file's identity as a cache key: a save in place changes its time or its size,
    an atomic replace (every write of ours) its inode."""

    mtime_ns: int
    size: int
    inode: int


def editions(config: Config) -> list[date]:
    """The dates of the edition folders in the outbox, newest first: from the listing
    alone (the file system's entry types, no stat each), so a folder may hold no draft."""
    found: list[date] = []
    try:
        entries = os.scandir(config.outbox_path)
    except OSError:
        return found
    with entries:
        for entry in entries:
            if _DATE_DIR.match(entry.name) and entry.is_dir():
                try:
                    found.append(date.fromisoformat(entry.name))
                except ValueError:
                    continue
    return sorted(found, reverse=True)


@dataclass(frozen=True)
class Ledger:
    """The store's side of the status of many editions, read at once: per date the
    status recorded and the fingerprints of the drafts the pipeline wrote."""

    entries: Mapping[date, tuple[EditionStatus | None, frozenset[str]]]

    def status(
        self, edition: date, draft_status: EditionStatus | None, sha: str | None
    ) -> EditionStatus:
        """The edition's status (as :meth:`Edition.status` gives it) from what its draft
        says (``status:``; None when it is missing or broken) and its fingerprint."""
        recorded, pipeline = self.entries.get(edition, (None, frozenset()))
        return _status(recorded, draft_status, sha in pipeline)


def read_ledger(config: Config, first: date, last: date) -> Ledger:
    """The state store's record of the editions from ``first`` to ``last``, in one
    query (:class:`StoreError` when the store cannot be read)."""
    with open_state(config) as s:
        return Ledger(s.issue_ledger(first, last))


@dataclass(frozen=True)
class Edition:
    """One edition of a newsletter: its folder and what is in it."""

    config: Config
    date: date

    @property
    def folder(self) -> Path:
        return issue_dir(self.config, self.date)

    @property
    def draft_path(self) -> Path:
        return self.folder / "draft.md"

    # -- the draft -----------------------------------------------------------
    def draft_stamp(self) -> Stamp | None:
        """The draft's :class:`Stamp`, None when there is no draft."""
        try:
            st = os.stat(self.draft_path)
        except OSError:
            return None
        return Stamp(st.st_mtime_ns, st.st_size, st.st_ino) if stat.S_ISREG(st.st_mode) else None

    def draft_text(self) -> str:
        """The draft as it is on disk; :class:`DraftError` when there is none."""
        try:
            return self.draft_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DraftError(
                "no draft for this date; run `newsletter build` first", file=str(self.draft_path)
            ) from None

    def read_draft(self) -> tuple[str, Issue]:
        """The draft's text and the :class:`Issue` it holds (as edited)."""
        text = self.draft_text()
        return text, parse_draft(text, file=str(self.draft_path))

    def load_issue(self) -> Issue:
        """The draft (as edited) as an :class:`Issue`."""
        return self.read_draft()[1]

    def backup_draft(self) -> str:
        """Keep the current draft as ``backups/draft-N.md``; return that name."""
        backups = self.folder / "backups"
        backups.mkdir(exist_ok=True)
        n = 1 + max(
            (
                int(p.stem.split("-")[-1])
                for p in backups.glob("draft-*.md")
                if p.stem.split("-")[-1].isdigit()
            ),
            default=0,
        )
        target = backups / f"draft-{n}.md"
        publish(backups, {target.name: self.draft_path.read_bytes()})
        return f"backups/{target.name}"

    def sweep(self) -> list[str]:
        """Remove the temporary files a killed run left in the folder and in ``backups/``
        (the ledger and draft backups are written there); return their names."""
        return sweep_temporary(self.folder) + sweep_temporary(self.folder / "backups")

    def backups(self) -> list[Path]:
        """The drafts kept in ``backups/``."""
        return sorted((self.folder / "backups").glob("draft-*.md"))

    # -- the status ----------------------------------------------------------
    def status(self, store: Store | None = None) -> EditionStatus:
        """The edition's one status (see the module doc); a missing or broken draft
        counts as none. Opens the state store when not given one."""
        with _opened(self.config, store) as s:
            record = s.issue(self.date)
            recorded = record[1] if record is not None else None
            if recorded is not None and sent(recorded):
                return recorded  # the draft need not be read
            try:
                text = self.draft_path.read_text(encoding="utf-8")
                issue: Issue | None = parse_draft(text, file=str(self.draft_path))
            except (OSError, UnicodeDecodeError, DraftError):
                text, issue = None, None
            pristine = text is not None and s.is_pipeline_draft(self.date, draft_sha(text))
            return _status(recorded, issue.status if issue else None, pristine)

    # -- the rendered email --------------------------------------------------
    def load_rendered(self) -> RenderedIssue:
        """The rendered email read back from the outbox files, as they are on disk (what
        ``lint`` checks and ``send`` sends). :class:`NoIssueError` names a missing file;
        :class:`StaleIssueError` when the draft changed after the email was rendered."""
        self._refuse_stale()
        files: dict[str, bytes] = {}
        for name in _EMAIL_FILES:
            try:
                files[name] = (self.folder / name).read_bytes()
            except OSError as exc:
                raise NoIssueError(
                    f"cannot read {self.folder / name}: {exc.strerror or exc}; "
                    f"run `newsletter build --date {self.date}` first"
                ) from None
        subject = message_from_bytes(files["issue.eml"], policy=policy.default).get("Subject", "")
        return RenderedIssue(
            html=files["issue.html"].decode("utf-8", "replace"),
            text=files["issue.txt"].decode("utf-8", "replace"),
            eml=files["issue.eml"],
            subject=str(subject),
        )

    def _refuse_stale(self) -> None:
        """:class:`StaleIssueError` when draft.md changed after issue.eml was rendered
        from it (an edit saved during a build): linting or sending it would miss the edit."""
        draft, eml = self.draft_path, self.folder / "issue.eml"
        try:
            text = draft.read_text(encoding="utf-8")
            recorded = self.rendered_from()
            # an outbox from before the fingerprint was recorded: compare the times
            stale = (
                recorded != draft_sha(text)
                if recorded is not None
                else draft.stat().st_mtime_ns > eml.stat().st_mtime_ns
            )
        except (OSError, UnicodeDecodeError):
            return  # a missing file is reported by whoever reads it
        if stale:
            raise StaleIssueError(
                f"{eml} is older than {draft} (the draft changed after the email was rendered);"
                f" run `newsletter render --date {self.date}` first"
            )

    # -- the run report ------------------------------------------------------
    def read_report(self) -> RunReport | None:
        """``report.json`` read back (None when there is none); :class:`ReportError`
        names the file when it cannot be read or is not a report."""
        path = self.folder / "report.json"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ReportError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
        return RunReport.from_json(data, file=str(path))

    def rendered_from(self) -> str | None:
        """The fingerprint of the draft the outbox's email was rendered from, if recorded."""
        try:
            report = self.read_report()
        except ReportError:
            return None
        return report.draft_sha if report is not None and report.draft_sha else None

    def write_report(self, report: RunReport, run_at: datetime) -> tuple[RunReport, list[str]]:
        """Write ``report.json``: the report with this run appended to the history the
        file holds. Returns the report as written and the names of the files written."""
        try:
            previous = self.read_report()
        except ReportError:
            previous = None  # one a killed run of an older version left: start a new history
        history = previous.history if previous is not None else ()
        written = replace(report, history=(*history, report.history_entry(run_at)))
        data = (written.to_json() + "\n").encode("utf-8")
        return written, publish(self.folder, {"report.json": data})

    # -- the ledger of generated story sections ------------------------------
    def generated(self) -> set[str]:
        """The fingerprints of story sections the pipeline wrote for this edition."""
        try:
            data = json.loads((self.folder / "backups" / _LEDGER).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return set()
        return {str(x) for x in data} if isinstance(data, list) else set()

    def remember(self, fingerprints: set[str]) -> None:
        """Add fingerprints to the ledger (written whole, or not at all)."""
        known = self.generated()
        if not fingerprints <= known:
            publish(
                self.folder / "backups",
                {_LEDGER: json.dumps(sorted(known | fingerprints), indent=0).encode("utf-8")},
            )

    def remember_generated(self, store: Store | None = None) -> None:
        """When the draft is exactly as the pipeline wrote it, remember its story sections
        as generated, so that a later hand edit of one story does not make a regenerate
        of another count as overwriting an edit. The build calls it when it writes a
        draft, the desk and the preview when they first see one; a missing or broken
        draft is left alone."""
        path = self.draft_path
        try:
            text = path.read_text(encoding="utf-8")
            with _opened(self.config, store) as s:
                if not s.is_pipeline_draft(self.date, draft_sha(text)):
                    return
            sections = split_sections(text, path).sections
        except (OSError, UnicodeDecodeError, DraftError):
            return
        self.remember({fingerprint(s.lines) for s in sections if s.story})


@contextmanager
def _opened(config: Config, store: Store | None) -> Iterator[Store]:
    """The caller's store, or the state store opened for the call."""
    if store is not None:
        yield store
        return
    with open_state(config) as opened:
        yield opened
