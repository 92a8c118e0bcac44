"""Build: a config and an edition date in, ``outbox/<date>/`` out.

This is the one entry point the CLI, the scheduler and the preview server call.
It runs ingest -> select -> summarize -> draft -> render -> outbox and returns a
:class:`BuildResult` whose ``report`` is also written as ``report.json``.

The draft belongs to the editor: when ``draft.md`` differs from every version the
pipeline wrote, the build renders the edited draft and generates nothing; an
explicit ``regenerate`` keeps the old draft as a numbered backup. A pristine draft
with no new items is re-rendered as it is, so a rebuild changes no file.
Approved or sent issues are frozen unless ``force`` is given.

A build holds the newsletter's lock (:mod:`pipeline.lock`) for its whole run, so
a second build waits ``schedule.lock_wait_seconds`` and then stops with exit 3.
A failed build, too few stories or feeds failing in a row fire the alert hook.
``report.json`` carries a ``history`` of the runs that changed the issue; runs
that changed nothing leave it byte for byte and live in the state store only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from .alerts import build_alerts, fire_alert
from .config import Config
from .draft import draft_sha, format_draft, parse_draft
from .errors import DraftError, NoIssueError, StaleIssueError
from .ingest import feed_health, ingest
from .lock import build_lock
from .models import (
    Article,
    Finding,
    IngestResult,
    Issue,
    QuickLink,
    RenderedIssue,
    Selection,
    StorySummary,
)
from .outbox import publish, sweep_temporary
from .render import lint_email, render
from .sections import remember_pipeline_draft
from .select import select
from .send import SENT_STATES
from .store import PrunePolicy, Store, open_store, prune
from .summarize import check_story, check_style, house_style_for, summarize

__all__ = [
    "BuildResult",
    "backup_draft",
    "build_issue",
    "issue_dir",
    "lint_issue",
    "load_issue",
    "load_rendered",
    "render_draft",
]

BuildStatus = Literal["built", "unchanged", "edited-draft-rendered", "frozen", "rendered"]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildResult:
    """What one build did: its status, the outbox folder, files written, the report."""

    edition: date
    outbox: Path
    status: BuildStatus
    written: tuple[str, ...] = ()
    report: dict[str, Any] = field(default_factory=dict)


class _Timer:
    def __init__(self, progress: Progress | None) -> None:
        self.timings: dict[str, float] = {}
        self._progress = progress

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self._progress:
            self._progress(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - start, 4)


def issue_dir(config: Config, edition: date) -> Path:
    """The outbox folder of one edition."""
    return config.outbox_path / edition.isoformat()


def load_issue(config: Config, edition: date) -> Issue:
    """Read the edition's draft (as edited) into an :class:`Issue`."""
    return _load_draft(config, edition)[1]


def _load_draft(config: Config, edition: date) -> tuple[str, Issue]:
    path = issue_dir(config, edition) / "draft.md"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DraftError(
            "no draft for this date; run `newsletter build` first", file=str(path)
        ) from None
    return text, parse_draft(text, file=str(path))


def _draft_on_disk(path: Path, regenerate: bool) -> tuple[str | None, Issue | None]:
    """The draft's text as it is now, and its issue (None when it is unreadable and
    about to be regenerated)."""
    text = path.read_text(encoding="utf-8") if path.exists() else None
    if text is None:
        return None, None
    try:
        return text, parse_draft(text, file=str(path))
    except DraftError:
        if not regenerate:
            raise
        return text, None


def _story_article(store: Store, story: StorySummary) -> Article | None:
    """The article a story's facts must come from: its item's title, text and outlets."""
    item = store.get_item(story.id)
    if item is None:
        return None
    return Article(
        id=story.id, title=item.title, text=item.text, source=item.source, sources=story.sources
    )


def _subject(config: Config, issue_date: date, stories: tuple[StorySummary, ...]) -> str:
    lead = stories[0].headline if stories else config.newsletter.name
    try:
        return config.newsletter.subject.format(
            lead_headline=lead, date=issue_date.isoformat(), name=config.newsletter.name
        )
    except (KeyError, IndexError, ValueError):
        return lead


def backup_draft(folder: Path) -> str:
    """Keep the folder's current draft as ``backups/draft-N.md``; return that name."""
    backups = folder / "backups"
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
    publish(backups, {target.name: (folder / "draft.md").read_bytes()})
    return f"backups/{target.name}"


def _generate(
    config: Config, store: Store, edition: date, timer: _Timer, report: dict[str, Any]
) -> tuple[Issue, Selection]:
    with timer.stage("select"):
        selection = select(config, store, edition)
    if not selection.stories:
        raise NoIssueError(f"no fresh stories for {edition.isoformat()}: nothing to build")
    with timer.stage("summarize"):
        run = summarize(selection.stories, config, store=store)
    report["summarizer"] = {
        "engine": config.summarizer.engine,
        "calls": run.calls,
        "tokens": run.tokens,
        "cache_hits": run.cache_hits,
        "errors": list(run.errors),
    }
    report["errors"] += list(run.errors)
    tz = config.newsletter.tz
    issue = Issue(
        date=edition,
        subject=_subject(config, edition, run.stories),
        intro=config.newsletter.intro or "Good morning. Here is what matters in business today.",
        stories=run.stories,
        quick_links=tuple(QuickLink(a.title, a.url, a.source) for a in selection.quick_links),
        generated_at=datetime.now(tz).replace(microsecond=0),
    )
    return issue, selection


def _findings(config: Config, store: Store, issue: Issue) -> list[Finding]:
    out: list[Finding] = []
    style = house_style_for(config)
    for story in issue.stories:
        article = _story_article(store, story)
        if article is None:  # an editor's own story: no source to check facts against
            found: tuple[Finding, ...] = check_style(story, style)
        else:
            checked = check_story(story, article, style)
            found = (*checked.style, *checked.facts)
        out += [replace(f, story=story.id) for f in found]
    return out


def _sources_report(result: IngestResult) -> list[dict[str, Any]]:
    return [
        {
            "source": s.source,
            "kind": s.kind,
            "status": s.status,
            "items": s.listed,
            "new": s.new,
            "updated": s.updated,
            "error": s.error,
            "warnings": list(s.warnings),
        }
        for s in result.sources
    ]


def _history_entry(report: dict[str, Any]) -> dict[str, Any]:
    sources = report.get("sources", [])
    failed = sum(1 for src in sources if src.get("status") == "error")
    timings = report.get("timings", {})
    return {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": report.get("status"),
        "stories": len(report.get("stories", [])),
        "sources_ok": len(sources) - failed,
        "sources_failed": failed,
        "warnings": len(report.get("warnings", [])),
        "errors": len(report.get("errors", [])),
        "seconds": round(sum(timings.values()), 3),
    }


def _report_json(folder: Path, report: dict[str, Any]) -> bytes:
    """The report as JSON with this run appended to the history of earlier reports."""
    history: list[Any] = []
    try:
        previous = json.loads((folder / "report.json").read_bytes())
        if isinstance(previous, dict) and isinstance(previous.get("history"), list):
            history = previous["history"]
    except (OSError, ValueError):
        pass  # no report yet, or one a killed run never finished: start a new history
    report["history"] = [*history, _history_entry(report)]
    return json.dumps(report, indent=2, ensure_ascii=False, default=str).encode("utf-8") + b"\n"


def _finish(
    config: Config,
    store: Store,
    issue: Issue,
    folder: Path,
    report: dict[str, Any],
    timer: _Timer,
    status: BuildStatus,
    *,
    draft: str,
    drafted: bool = False,
) -> list[str]:
    """Render the issue, check it, write the outbox files and record the run.

    ``draft`` is the text of the draft the issue came from: its fingerprint goes
    into report.json, so lint and send can tell an email older than its draft."""
    written: list[str] = []
    report["draft_sha"] = draft_sha(draft)
    with timer.stage("render"):
        rendered = render(issue, config)
        findings = _findings(config, store, issue) + list(lint_email(rendered, config))
    report["warnings"] += list(rendered.warnings)
    own = {s.id: [f for f in findings if f.story == s.id] for s in issue.stories}
    report.update(
        status=status,
        subject=rendered.subject,
        stories=[
            {
                "id": s.id,
                "headline": s.headline,
                "section": s.section,
                "engine": s.engine,
                # why the offline engine wrote it ("" when it was not a fallback); a
                # fallback is flagged even when the checks find nothing
                "fallback": s.fallback,
                "flagged": s.flagged or bool(own[s.id]),
                "sources": [{"name": r.name, "url": r.url} for r in s.sources],
                "findings": [f.as_dict() for f in own[s.id]],
            }
            for s in issue.stories
        ],
        quick_links=len(issue.quick_links),
        email={
            "html_bytes": len(rendered.html.encode("utf-8")),
            "text_bytes": len(rendered.text.encode("utf-8")),
            "eml_bytes": len(rendered.eml),
            "findings": [f.as_dict() for f in findings if not f.story],
        },
        timings=timer.timings,
    )
    with timer.stage("write"):
        written += publish(
            folder,
            {
                "issue.html": rendered.html.encode("utf-8"),
                "issue.txt": rendered.text.encode("utf-8"),
                "issue.eml": rendered.eml,
            },
        )
        # report.json is rewritten only when the issue changed, so a no-op
        # rebuild touches no file; every run is kept in the state store.
        if drafted or written or _rendered_from(folder) != report["draft_sha"]:
            written += publish(folder, {"report.json": _report_json(folder, report)})
    report["timings"] = timer.timings
    store.record_run(issue.date, report)
    return written


def load_rendered(config: Config, edition: date) -> RenderedIssue:
    """The edition's rendered email read back from its outbox files, as they are on disk
    (what ``lint`` checks and ``send`` sends). :class:`NoIssueError` names a missing file."""
    from email import message_from_bytes, policy

    folder = issue_dir(config, edition)
    _refuse_stale(folder, edition)
    files: dict[str, bytes] = {}
    for name in ("issue.html", "issue.txt", "issue.eml"):
        try:
            files[name] = (folder / name).read_bytes()
        except OSError as exc:
            raise NoIssueError(
                f"cannot read {folder / name}: {exc.strerror or exc}; "
                f"run `newsletter build --date {edition}` first"
            ) from None
    subject = message_from_bytes(files["issue.eml"], policy=policy.default).get("Subject", "")
    return RenderedIssue(
        html=files["issue.html"].decode("utf-8", "replace"),
        text=files["issue.txt"].decode("utf-8", "replace"),
        eml=files["issue.eml"],
        subject=str(subject),
    )


def _rendered_from(folder: Path) -> str | None:
    """The fingerprint of the draft the outbox's email was rendered from, if recorded."""
    try:
        report = json.loads((folder / "report.json").read_bytes())
    except (OSError, ValueError):
        return None
    sha = report.get("draft_sha") if isinstance(report, dict) else None
    return sha if isinstance(sha, str) else None


def _refuse_stale(folder: Path, edition: date) -> None:
    """:class:`StaleIssueError` when draft.md changed after issue.eml was rendered from
    it (an edit saved during a build): linting or sending it would miss the edit."""
    draft, eml = folder / "draft.md", folder / "issue.eml"
    try:
        text = draft.read_text(encoding="utf-8")
        recorded = _rendered_from(folder)
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
            f" run `newsletter render --date {edition}` first"
        )


def lint_issue(config: Config, edition: date, rendered: RenderedIssue) -> list[Finding]:
    """Every finding on the edition: style and facts per story of the draft, then the
    rendered email (as read back from the outbox)."""
    issue = load_issue(config, edition)
    with open_store(config.state_path) as store:
        findings = _findings(config, store, issue)
    return findings + list(lint_email(rendered, config))


def render_draft(config: Config, edition: date, *, progress: Progress | None = None) -> BuildResult:
    """Re-render the edition's draft as edited, without ingesting or generating."""
    timer = _Timer(progress)
    folder = issue_dir(config, edition)
    sweep_temporary(folder)
    text, issue = _load_draft(config, edition)
    report: dict[str, Any] = {
        "newsletter": config.newsletter.name,
        "date": edition.isoformat(),
        "errors": [],
        "warnings": [],
        "sources": [],
    }
    with (
        build_lock(config, wait=config.schedule.lock_wait_seconds),
        open_store(config.state_path) as store,
    ):
        written = _finish(config, store, issue, folder, report, timer, "rendered", draft=text)
    return BuildResult(edition, folder, "rendered", tuple(written), report)


def _alert(config: Config, events: list[dict[str, object]], report: dict[str, Any]) -> None:
    """Fire each event; note it (and any delivery error) in the in-memory report."""
    for event in events:
        error = fire_alert(config, event)
        report.setdefault("alerts", []).append(
            {**event, "delivery_error": error} if error else event
        )


def _failing_feeds(report: dict[str, Any]) -> list[dict[str, object]]:
    """Feeds past their alert threshold after this run (none when nothing was fetched)."""
    return [
        {
            "source": f["url"],
            "name": f["name"],
            "failures": f["failures"],
            "error": f["last_error"],
            "status": f["status"],
        }
        for f in report.get("feeds", [])
        if f.get("alert")
    ]


def build_issue(
    config: Config,
    edition: date,
    *,
    regenerate: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> BuildResult:
    """Build (or rebuild) the issue of ``edition`` into the outbox; see the module doc.

    Holds the build lock throughout (:class:`LockedError` after
    ``schedule.lock_wait_seconds``); fires the alert hook on failure, on too few
    stories and on feeds failing in a row.
    """
    with build_lock(config, wait=config.schedule.lock_wait_seconds):
        try:
            result = _build(config, edition, regenerate=regenerate, force=force, progress=progress)
        except Exception as exc:
            _alert(config, build_alerts(config, edition, error=exc), {})
            raise
    events = build_alerts(
        config, edition, report=result.report, failing_feeds=_failing_feeds(result.report)
    )
    _alert(config, events, result.report)
    return result


def _build(
    config: Config,
    edition: date,
    *,
    regenerate: bool,
    force: bool,
    progress: Progress | None,
) -> BuildResult:
    timer = _Timer(progress)
    folder = issue_dir(config, edition)
    sweep_temporary(folder)
    draft_path = folder / "draft.md"
    report: dict[str, Any] = {
        "newsletter": config.newsletter.name,
        "date": edition.isoformat(),
        "errors": [],
        "warnings": [],
    }
    # a build checks the store and backs it up first: never build from a lost one
    with open_store(config.state_path, check=True) as store:
        existing, current = _draft_on_disk(draft_path, regenerate)
        recorded = store.issue(edition)
        frozen = {"approved", *SENT_STATES}
        if not force and (
            (current and current.status in frozen) or (recorded and recorded[1] in frozen)
        ):
            return BuildResult(edition, folder, "frozen", report={**report, "status": "frozen"})

        with timer.stage("ingest"):
            ingested = ingest(config, store, items=False)  # counts only: memory
        report["sources"] = _sources_report(ingested)
        report["errors"] += [s.error for s in ingested.failed]
        # the feed ledger after this run: failing, stale and gone feeds, and alerts
        report["feeds"] = [h.as_dict() for h in feed_health(config, store) if h.status != "ok"]

        # the editor may have saved while we ingested: decide on the draft as it is now
        existing, current = _draft_on_disk(draft_path, regenerate)
        edited = existing is not None and not store.is_pipeline_draft(edition, draft_sha(existing))
        fresh = ingested.new > 0 or any(s.updated for s in ingested.sources)
        # a pipeline draft older than the one last committed means a run died between
        # reserving its items and writing its draft: finish that run's work
        interrupted = (
            existing is not None
            and not edited
            and (recorded is None or recorded[0] != draft_sha(existing))
        )
        written: list[str] = []
        status: BuildStatus
        draft = existing or ""  # the text of the draft this run renders
        if current is not None and edited and not regenerate:
            issue, status = current, "edited-draft-rendered"
            report["warnings"].append(
                f"{draft_path}: edited by hand; rendered as edited (use --regenerate to replace)"
            )
        elif (
            current is not None and not edited and not fresh and not interrupted and not regenerate
        ):
            issue, status = current, "unchanged"
        else:
            issue, selection = _generate(config, store, edition, timer, report)
            text = format_draft(issue, newsletter=config.newsletter.name)
            # under the lock, just before replacing it: a draft saved since it was read
            # is the editor's, and an edit always wins over a generated draft
            saved, saved_issue = _draft_on_disk(draft_path, regenerate)
            if saved is not None and saved != existing and saved_issue is not None:
                issue, status, draft = saved_issue, "edited-draft-rendered", saved
                report["warnings"].append(
                    f"{draft_path}: saved during this build; the edit is kept and rendered"
                    " (use --regenerate to replace it)"
                )
            else:
                with timer.stage("draft"):
                    if existing is not None and existing != text:
                        report["warnings"].append(f"previous draft kept as {backup_draft(folder)}")
                    ids = [
                        i
                        for a in (*selection.stories, *selection.quick_links)
                        for i in (a.item_ids or (a.id,))
                    ]
                    store.commit_draft(edition, draft_sha(text), ids)
                    written += publish(folder, {"draft.md": text.encode("utf-8")})
                remember_pipeline_draft(config.state_path, folder / "draft.md", edition)
                status, draft = "built", text

        written += _finish(
            config, store, issue, folder, report, timer, status, draft=draft, drafted=bool(written)
        )
        with timer.stage("prune"):  # retention: never by a date still to come
            today = min(edition, datetime.now(config.newsletter.tz).date())
            prune(store, PrunePolicy.of(config), today)
    return BuildResult(edition, folder, status, tuple(written), report)
