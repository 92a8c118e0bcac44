"""Build: a config and an edition date in, ``outbox/<date>/`` out.

This is the one entry point the CLI, the scheduler and the preview server call.
It runs ingest -> select -> summarize -> draft -> render -> outbox and returns a
:class:`BuildResult` whose ``report`` (with the run's status) is also written as
``report.json``. Ingest and summarize go through a :class:`pipeline.tasks.Runner`: in this
process, or with ``tasks.engine: celery`` as tasks on workers; the rest runs here either way.

The draft belongs to the editor; the draft on disk decides what a rebuild does:

* none: generate, write the draft, render;
* the pipeline draft last committed (its fingerprint in the store) and no new items:
  re-render it as it is, so a rebuild changes no file;
* an older pipeline draft (a run died before writing its own): generate again,
  finishing that run;
* a pipeline draft and new items: regenerate, the old draft kept in ``backups/``;
* edited by hand (it differs from every version the pipeline wrote): render it as
  edited and generate nothing; ``regenerate`` replaces it, keeping a numbered backup;
* frozen (:func:`pipeline.edition.frozen`: approved or sent in the draft, or a send
  recorded): nothing unless ``force`` is given;
* saved by the editor while the build ran: the edit wins. The draft is read again
  after ingest and just before it would be replaced (under the lock), and the edit
  is rendered.

A build holds the newsletter's lock (:mod:`pipeline.lock`) for its whole run, so
a second build waits ``schedule.lock_wait_seconds`` and then stops with exit 3.
A failed build, too few stories or feeds failing in a row fire the alert hook.
``report.json`` carries a ``history`` of the runs that changed the issue; runs
that changed nothing leave it byte for byte and live in the state store only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from .alerts import AlertEvent, build_alerts, fire_alert
from .config import Config
from .draft import draft_sha, format_draft, parse_draft
from .edition import Edition, frozen
from .errors import DraftError, NoIssueError
from .ingest import Prefetched, feed_health
from .lock import build_lock
from .models import (
    Article,
    Finding,
    Issue,
    QuickLink,
    RenderedIssue,
    Selection,
    StorySummary,
)
from .outbox import publish
from .render import lint_email, render
from .report import (
    AlertNote,
    BuildStatus,
    EmailReport,
    RunReport,
    SourceReport,
    StoryReport,
    SummarizerReport,
)
from .select import article_from, select, sources_of
from .store import PrunePolicy, Store, open_state, prune
from .summarize import check_story, check_style, house_style_for
from .tasks import Runner, runner_for

__all__ = ["BuildResult", "build_issue", "lint_issue", "render_draft"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildResult:
    """What one build did: the outbox folder, the run report, files written."""

    edition: date
    outbox: Path
    report: RunReport
    written: tuple[str, ...] = ()

    @property
    def status(self) -> BuildStatus:
        """What the build did; the report holds it (and ``report.json`` its history)."""
        return self.report.status


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
    """The article a story's facts must come from: its item, as select reads it."""
    item = store.get_item(story.id)
    return None if item is None else article_from([item], story=story)


def _subject(config: Config, issue_date: date, stories: tuple[StorySummary, ...]) -> str:
    lead = stories[0].headline if stories else config.newsletter.name
    try:
        return config.newsletter.subject.format(
            lead_headline=lead, date=issue_date.isoformat(), name=config.newsletter.name
        )
    except (KeyError, IndexError, ValueError):
        return lead


def _generate(
    config: Config, store: Store, edition: date, timer: _Timer, runner: Runner
) -> tuple[Issue, Selection, SummarizerReport]:
    with timer.stage("select"):
        selection = select(config, store, edition)
    if not selection.stories:
        raise NoIssueError(f"no fresh stories for {edition.isoformat()}: nothing to build")
    with timer.stage("summarize"):
        run = runner.summarize(config, store, selection.stories)
    tz = config.newsletter.tz
    issue = Issue(
        date=edition,
        subject=_subject(config, edition, run.stories),
        intro=config.newsletter.intro or "Good morning. Here is what matters in business today.",
        stories=run.stories,
        quick_links=tuple(QuickLink(a.title, a.url, a.source) for a in selection.quick_links),
        generated_at=datetime.now(tz).replace(microsecond=0),
    )
    return issue, selection, SummarizerReport.of(config.summarizer.engine, run)


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


def _warn(report: RunReport, message: str) -> RunReport:
    return replace(report, warnings=(*report.warnings, message))


def _finish(
    config: Config,
    store: Store,
    issue: Issue,
    ed: Edition,
    report: RunReport,
    timer: _Timer,
    status: BuildStatus,
    *,
    draft: str,
    drafted: bool = False,
) -> tuple[RunReport, list[str]]:
    """Render the issue, check it, write the outbox files and record the run.

    ``draft`` is the text of the draft the issue came from: its fingerprint goes
    into report.json, so lint and send can tell an email older than its draft."""
    written: list[str] = []
    with timer.stage("render"):
        rendered = render(issue, config)
        findings = _findings(config, store, issue) + list(lint_email(rendered, config))
    report = replace(
        report,
        warnings=(*report.warnings, *rendered.warnings),
        draft_sha=draft_sha(draft),
        status=status,
        subject=rendered.subject,
        stories=tuple(
            StoryReport.of(s, [f for f in findings if f.story == s.id]) for s in issue.stories
        ),
        quick_links=len(issue.quick_links),
        email=EmailReport(
            html_bytes=len(rendered.html.encode("utf-8")),
            text_bytes=len(rendered.text.encode("utf-8")),
            eml_bytes=len(rendered.eml),
            findings=tuple(f for f in findings if not f.story),
        ),
        timings=dict(timer.timings),
    )
    with timer.stage("write"):
        written += publish(
            ed.folder,
            {
                "issue.html": rendered.html.encode("utf-8"),
                "issue.txt": rendered.text.encode("utf-8"),
                "issue.eml": rendered.eml,
            },
        )
        # report.json is rewritten only when the issue changed, so a no-op
        # rebuild touches no file; every run is kept in the state store.
        if drafted or written or ed.rendered_from() != report.draft_sha:
            report, names = ed.write_report(report, datetime.now(UTC))
            written += names
    report = replace(report, timings=dict(timer.timings))
    store.record_run(issue.date, report)
    return report, written


def lint_issue(config: Config, edition: date, rendered: RenderedIssue) -> list[Finding]:
    """Every finding on the edition: style and facts per story of the draft, then the
    rendered email (as read back from the outbox)."""
    issue = Edition(config, edition).load_issue()
    with open_state(config) as store:
        findings = _findings(config, store, issue)
    return findings + list(lint_email(rendered, config))


def render_draft(config: Config, edition: date, *, progress: Progress | None = None) -> BuildResult:
    """Re-render the edition's draft as edited, without ingesting or generating."""
    timer = _Timer(progress)
    ed = Edition(config, edition)
    ed.sweep()
    text, issue = ed.read_draft()
    report = RunReport(newsletter=config.newsletter.name, date=edition)
    with (
        build_lock(config, wait=config.schedule.lock_wait_seconds),
        open_state(config) as store,
    ):
        report, written = _finish(config, store, issue, ed, report, timer, "rendered", draft=text)
    return BuildResult(edition, ed.folder, report, tuple(written))


def _alert(config: Config, events: list[AlertEvent]) -> tuple[AlertNote, ...]:
    """Fire each event; note it (and any delivery error) for the run summary."""
    return tuple(AlertNote(e.kind, e.message, fire_alert(config, e) or "") for e in events)


def build_issue(
    config: Config,
    edition: date,
    *,
    regenerate: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    prefetched: Prefetched | None = None,
) -> BuildResult:
    """Build (or rebuild) the issue of ``edition`` into the outbox; see the module doc.

    Holds the build lock throughout (:class:`LockedError` after
    ``schedule.lock_wait_seconds``); fires the alert hook on failure, on too few
    stories and on feeds failing in a row. ``prefetched``: feeds already fetched for
    several newsletters (:func:`pipeline.ingest.prefetch`), ingested without a fetch.
    """
    with build_lock(config, wait=config.schedule.lock_wait_seconds):
        try:
            # tasks.engine: fetching and summarizing here, or as tasks on Celery workers
            with runner_for(config) as runner:
                result = _build(
                    config,
                    edition,
                    regenerate=regenerate,
                    force=force,
                    progress=progress,
                    runner=runner,
                    prefetched=prefetched,
                )
        except Exception as exc:
            _alert(config, build_alerts(config, edition, error=exc))
            raise
    alerts = _alert(config, build_alerts(config, edition, report=result.report))
    return replace(result, report=replace(result.report, alerts=alerts))


def _build(
    config: Config,
    edition: date,
    *,
    regenerate: bool,
    force: bool,
    progress: Progress | None,
    runner: Runner,
    prefetched: Prefetched | None = None,
) -> BuildResult:
    timer = _Timer(progress)
    ed = Edition(config, edition)
    folder, draft_path = ed.folder, ed.draft_path
    ed.sweep()
    report = RunReport(newsletter=config.newsletter.name, date=edition)
    # a build checks the store and backs it up (a lost one is refused as it opens; the
    # integrity check and the backup run beside the build, which waits for them before
    # it writes a draft or an output: never publish from a broken store)
    with open_state(config, check=True) as store:
        _draft_on_disk(draft_path, regenerate)  # a broken draft stops a build unless replaced
        recorded = store.issue(edition)
        if not force and frozen(ed.status(store)):
            return BuildResult(edition, folder, replace(report, status="frozen"))

        with timer.stage("ingest"):
            # counts only (memory); a feed fetched for several newsletters is not fetched again
            ingested = runner.ingest(config, store, prefetched=prefetched)
        report = replace(
            report,
            errors=(*report.errors, *(s.error for s in ingested.failed)),
            sources=tuple(SourceReport.of(s) for s in ingested.sources),
            # the feed ledger after this run: failing, stale and gone feeds, and alerts
            feeds=tuple(h for h in feed_health(config, store) if h.status != "ok"),
        )

        # the editor may have saved while we ingested: decide on the draft as it is now
        existing, current = _draft_on_disk(draft_path, regenerate)
        edited = existing is not None and not store.is_pipeline_draft(edition, draft_sha(existing))
        fresh = (
            ingested.new > 0
            or any(s.updated for s in ingested.sources)
            # a deployment's newsletters may share a store: another's ingest may have
            # stored this one's new items first
            or (config.key != "default" and store.stored_since_draft(edition, sources_of(config)))
        )
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
            report = _warn(
                report,
                f"{draft_path}: edited by hand; rendered as edited (use --regenerate to replace)",
            )
        elif (
            current is not None and not edited and not fresh and not interrupted and not regenerate
        ):
            issue, status = current, "unchanged"
        else:
            issue, selection, summarizer = _generate(config, store, edition, timer, runner)
            store.checked()
            report = replace(
                report, summarizer=summarizer, errors=(*report.errors, *summarizer.errors)
            )
            text = format_draft(issue, newsletter=config.newsletter.name)
            # under the lock, just before replacing it: a draft saved since it was read
            # is the editor's, and an edit always wins over a generated draft
            saved, saved_issue = _draft_on_disk(draft_path, regenerate)
            if saved is not None and saved != existing and saved_issue is not None:
                issue, status, draft = saved_issue, "edited-draft-rendered", saved
                report = _warn(
                    report,
                    f"{draft_path}: saved during this build; the edit is kept and rendered"
                    " (use --regenerate to replace it)",
                )
            else:
                with timer.stage("draft"):
                    if existing is not None and existing != text:
                        report = _warn(report, f"previous draft kept as {ed.backup_draft()}")
                    ids = [
                        i
                        for a in (*selection.stories, *selection.quick_links)
                        for i in (a.item_ids or (a.id,))
                    ]
                    store.commit_draft(edition, draft_sha(text), ids)
                    written += publish(folder, {"draft.md": text.encode("utf-8")})
                ed.remember_generated(store)
                status, draft = "built", text

        store.checked()
        report, files = _finish(
            config, store, issue, ed, report, timer, status, draft=draft, drafted=bool(written)
        )
        with timer.stage("prune"):  # retention: never by a date still to come
            today = min(edition, datetime.now(config.newsletter.tz).date())
            prune(store, PrunePolicy.of(config), today)
        # the run summary shows prune's time too (report.json was written before it)
        report = replace(report, timings=dict(timer.timings))
    return BuildResult(edition, folder, report, (*written, *files))
