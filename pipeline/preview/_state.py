"""The preview's live state: the config and the outbox in, per-issue versions, errors and views out.

Each edition the editor looks at is re-rendered (through :func:`render_draft`,
whose report carries the style, fact and email-lint findings)
when its draft, a template, the house style or the config changes. A render that
fails keeps the last good files on disk and records the error (with file and
line) to show above them; a version counter per edition tells open pages to reload.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ..build import render_draft
from ..config import Config, load_config
from ..desk import Verb, act
from ..draft import draft_sha, parse_draft
from ..edition import Edition
from ..errors import NewsletterError
from ..models import Finding

__all__ = ["EditionState", "PreviewState"]

_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _describe(exc: BaseException) -> str:
    """One line naming what failed; our errors already carry file and line."""
    if isinstance(exc, NewsletterError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


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

    # -- reading ------------------------------------------------------------
    def version(self, edition: date | None = None) -> str:
        """The token a page compares to know it is stale: for one edition, its render
        count; for the index, the drafts' modification times."""
        if edition is None:
            stamps = []
            for d in self.dates():
                try:
                    stamps.append(Edition(self.config, d).draft_path.stat().st_mtime_ns)
                except OSError:
                    continue
            return f"{self.global_version}.{hash(tuple(stamps)) & 0xFFFFFFFF:x}"
        # no lock: a render holds it while it waits for a build's lock, and pages poll
        # this every second; reading one counter is atomic
        state = self._editions.get(edition)
        return f"{self.global_version}.{state.version if state else 0}"

    def edition(self, edition: date) -> EditionState:
        """The edition's state, rendering it first if its draft changed since last seen."""
        self.refresh(edition)
        with self._lock:
            return self._editions[edition]

    def dates(self) -> list[date]:
        """Every edition in the outbox that has a draft, newest first."""
        out = self.config.outbox_path
        found = []
        if out.is_dir():
            for p in out.iterdir():
                if _DATE_DIR.match(p.name) and (p / "draft.md").is_file():
                    try:
                        found.append(date.fromisoformat(p.name))
                    except ValueError:
                        continue
        return sorted(found, reverse=True)

    def rows(self) -> list[dict[str, Any]]:
        """The index: each edition's date, state, story count, subject or error."""
        rows = []
        for d in self.dates():
            path = Edition(self.config, d).draft_path
            row: dict[str, Any] = {"date": d.isoformat(), "stories": "", "subject": "", "error": ""}
            try:
                text = path.read_text(encoding="utf-8")
                issue = parse_draft(text, file=str(path))
                row.update(
                    stories=len(issue.stories),
                    subject=issue.subject,
                    state=Edition(self.config, d).status(),
                )
            except (OSError, UnicodeDecodeError, NewsletterError) as exc:
                row.update(state="broken", error=_describe(exc))
            rows.append(row)
        return rows

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
