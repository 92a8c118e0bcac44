"""The edition: one status and its rules, report.json both ways, and the checked send."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import get_args

import pytest
from _schedule_helpers import make_site as make_feed_site
from preview_site import EDITION, draft_path

from pipeline.build import build_issue, render_draft
from pipeline.config import Config
from pipeline.desk import approve
from pipeline.edition import Edition, EditionStatus, frozen, sent
from pipeline.errors import DraftError, ReportError, SendError
from pipeline.models import RenderedIssue
from pipeline.report import RunReport
from pipeline.send import Delivery, checked_send
from pipeline.store import open_store


def today(config: Config) -> date:
    return datetime.now(config.newsletter.tz).date()


@pytest.fixture
def built(tmp_path: Path) -> Config:
    """A site whose edition of today was built from its feed (its email lints clean)."""
    config = make_feed_site(tmp_path)
    build_issue(config, today(config))
    return config


def test_frozen_and_sent_are_the_two_rules_on_one_vocabulary() -> None:
    statuses: tuple[EditionStatus, ...] = get_args(EditionStatus)
    assert statuses == ("draft", "edited", "approved", "sending", "sent")
    assert [s for s in statuses if frozen(s)] == ["approved", "sending", "sent"]
    assert [s for s in statuses if sent(s)] == ["sending", "sent"]


def test_the_status_follows_the_send_then_the_draft(site: Config) -> None:
    edition = Edition(site, EDITION)
    assert edition.status() == "draft"  # as the pipeline wrote it
    path = draft_path(site)
    path.write_text(path.read_text(encoding="utf-8").replace("## ", "## Edited: ", 1), "utf-8")
    assert edition.status() == "edited"
    approve(site, EDITION)
    assert edition.status() == "approved"
    with open_store(site.state_path) as store:
        store.record_issue(EDITION, status="sending")
        assert edition.status(store) == "sending"
        store.record_issue(EDITION, status="sent")
        assert edition.status(store) == "sent"
    path.write_text("not a draft", encoding="utf-8")
    assert edition.status() == "sent", "the send's record wins over any draft"


def test_a_sent_issue_is_neither_rebuilt_nor_edited(site: Config) -> None:
    with open_store(site.state_path) as store:
        store.record_issue(EDITION, status="sent")
    assert build_issue(site, EDITION).status == "frozen"
    with pytest.raises(DraftError, match="was sent"):
        approve(site, EDITION)


# -- report.json ---------------------------------------------------------------


def test_a_build_report_reads_back_to_the_same_bytes(tmp_path: Path) -> None:
    feeds = [
        {"url": "feed.xml", "name": "Harbor Street Journal"},
        {"url": "missing.xml", "name": "Gone Gazette"},  # fails: the feed ledger has a row
    ]
    config = make_feed_site(tmp_path, {"sources": {"feeds": feeds}})
    day = today(config)
    result = build_issue(config, day)
    path = Edition(config, day).folder / "report.json"
    data = path.read_bytes()
    report = RunReport.from_json(data, file=str(path))
    assert (report.to_json() + "\n").encode("utf-8") == data
    assert report.summarizer is not None and report.summarizer.engine == "extractive"
    assert [f.name for f in report.feeds or ()] == ["Gone Gazette"]
    assert [s.status for s in report.sources] == ["ok", "error"]
    assert len(report.history) == 1 and report.history[0].status == "built"
    assert report.stories == result.report.stories
    assert report.findings == result.report.findings


def test_a_render_report_leaves_out_what_a_render_does_not_do(site: Config) -> None:
    data = json.loads((Edition(site, EDITION).folder / "report.json").read_bytes())
    assert "feeds" not in data and "summarizer" not in data and "alerts" not in data
    assert data["sources"] == [] and data["status"] == "rendered"


def test_an_old_report_reads_with_defaults(site: Config) -> None:
    edition = Edition(site, EDITION)
    path = edition.folder / "report.json"
    # as an early version wrote it: no draft fingerprint, no flag, no history
    old = {
        "newsletter": "The Ledger",
        "date": EDITION.isoformat(),
        "status": "built",
        "stories": [{"id": "a", "headline": "A", "findings": [{"rule": "r", "message": "m"}]}],
    }
    path.write_text(json.dumps(old), encoding="utf-8")
    report = edition.read_report()
    assert report is not None and report.history == () and report.draft_sha == ""
    [story] = report.stories
    assert not story.flagged and story.needs_a_look
    assert story.findings[0].severity == "error" and story.findings[0].start == -1
    assert edition.rendered_from() is None  # lint and send fall back to the files' times


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("{", "not JSON"),
        ("[]", "is not an object"),
        ('{"date": "someday"}', "'date' must be a date (YYYY-MM-DD) (got 'someday')"),
        ('{"newsletter": "The Ledger"}', "'date' must be a date"),
        ('{"date": "2026-11-28", "stories": [{"headline": 3}]}', "'stories[0].headline'"),
        ('{"date": "2026-11-28", "email": {"eml_bytes": 1.5}}', "'email.eml_bytes'"),
    ],
)
def test_a_malformed_report_is_an_error_naming_the_file(
    site: Config, text: str, names: str
) -> None:
    edition = Edition(site, EDITION)
    path = edition.folder / "report.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReportError) as info:
        edition.read_report()
    assert str(info.value).startswith(f"{path}: ") and names in str(info.value)
    # a build does not stop at it: it starts the history afresh
    render_draft(site, EDITION)
    report = edition.read_report()
    assert report is not None and [h.status for h in report.history] == ["rendered"]


# -- the checked send ----------------------------------------------------------


class Recorder:
    """A delivery that keeps what it was given (the slot a list provider fills)."""

    def __init__(self, fail: str = "") -> None:
        self.sent: list[RenderedIssue] = []
        self.fail = fail

    def __call__(self, rendered: RenderedIssue) -> str:
        if self.fail:
            raise SendError(self.fail)
        self.sent.append(rendered)
        return "the recorder"


def _recorded(config: Config) -> str | None:
    with open_store(config.state_path) as store:
        row = store.issue(today(config))
    return row[1] if row else None


def test_a_checked_send_goes_out_once_unless_forced(built: Config) -> None:
    day, deliver = today(built), Recorder()
    result = checked_send(built, day, Delivery(deliver))
    assert result.delivered == "the recorder" and len(deliver.sent) == 1
    assert deliver.sent[0].eml == (Edition(built, day).folder / "issue.eml").read_bytes()
    assert _recorded(built) == "sent"
    with pytest.raises(SendError, match="already marked sent"):
        checked_send(built, day, Delivery(deliver))
    assert len(deliver.sent) == 1
    checked_send(built, day, Delivery(deliver), test=True)  # a test copy: allowed, recorded nowhere
    checked_send(built, day, Delivery(deliver), force=True)
    assert len(deliver.sent) == 3 and _recorded(built) == "sent"


def test_a_failed_delivery_leaves_the_issue_as_it_was(built: Config) -> None:
    with pytest.raises(SendError, match="relay said no"):
        checked_send(built, today(built), Delivery(Recorder(fail="relay said no")))
    assert _recorded(built) == "draft"
    assert Edition(built, today(built)).status() == "draft"


def test_a_checked_send_lints_first_and_shows_the_findings(built: Config) -> None:
    day = today(built)
    folder = Edition(built, day).folder
    html = (folder / "issue.html").read_text(encoding="utf-8")
    headline = html.split("</h3>", 1)[0].rsplit(">", 1)[1]
    (folder / "issue.html").write_text(html.replace(headline, "TK", 1), encoding="utf-8")
    deliver, shown = Recorder(), []
    with pytest.raises(SendError, match="blocking lint finding"):
        checked_send(built, day, Delivery(deliver), show=shown.append)
    assert deliver.sent == [] and _recorded(built) == "draft"
    assert any(f.severity == "error" for f in shown[0])
    checked_send(built, day, Delivery(deliver), force=True)
    assert len(deliver.sent) == 1


def test_a_render_sweeps_what_a_killed_run_left_in_the_folder_and_its_backups(
    site: Config,
) -> None:
    folder = Edition(site, EDITION).folder
    (folder / "backups").mkdir(exist_ok=True)
    left = [folder / ".tmp-1-2-issue.html", folder / "backups" / ".tmp-1-2-generated-stories.json"]
    for path in left:
        path.write_text("half", encoding="utf-8")
    kept = folder / "backups" / "draft-1.md"
    kept.write_text("an editor's backup", encoding="utf-8")
    render_draft(site, EDITION)
    assert [p for p in left if p.exists()] == []
    assert kept.read_text(encoding="utf-8") == "an editor's backup"
