"""Run reports: report.json's history, the one-screen summary and the log formats."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from _schedule_helpers import add_feed_item, make_site
from preview_site import EDITION
from preview_site import make_site as make_desk_site

from pipeline.build import build_issue, render_draft
from pipeline.cli import edition_date
from pipeline.log import print_summary, progress_reporter, setup_logging, summary_lines
from pipeline.report import RunReport, SourceReport

EXTRA_ITEM = """<item>
<title>Marlow Shipping Orders Six Container Ships Worth $900 Million</title>
<link>https://harbor-street.example/marlow-ships</link>
<guid isPermaLink="false">hs-marlow-ships</guid>
<content:encoded><![CDATA[<p>Marlow Shipping ordered six container ships worth $900 million
from a yard in Busan, the company said, its first order since 2019. Marlow expects the ships in
2029 and said they would burn 30% less fuel than the vessels they replace on its Asia routes,
which carry most of its cargo. Analysts at Fenwick Research said freight rates had been strong
enough this year to pay for the order without new debt.</p>]]></content:encoded>
</item>"""


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """setup_logging changes process-wide loggers: put them back for other tests."""
    saved = {
        name: (
            logging.getLogger(name).handlers[:],
            logging.getLogger(name).level,
            logging.getLogger(name).propagate,
        )
        for name in ("pipeline", "apscheduler")
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def test_report_history_grows_per_changing_run_and_a_no_op_rebuild_keeps_its_bytes(
    tmp_path: Path,
) -> None:
    config = make_site(tmp_path)
    edition = edition_date(config, None)
    first = build_issue(config, edition)
    report_path = first.outbox / "report.json"
    one = report_path.read_bytes()
    history = json.loads(one)["history"]
    assert [h["status"] for h in history] == ["built"]
    assert history[0]["stories"] == 3 and history[0]["sources_ok"] == 1

    again = build_issue(config, edition)
    assert again.status == "unchanged"
    assert report_path.read_bytes() == one, "a rebuild that changes nothing keeps the file"

    add_feed_item(config, EXTRA_ITEM)
    third = build_issue(config, edition)
    assert third.status == "built"
    history = json.loads(report_path.read_bytes())["history"]
    assert [h["status"] for h in history] == ["built", "built"]
    assert history[0] == json.loads(one)["history"][0], "earlier entries are kept as written"


def test_summary_fits_one_screen_and_names_what_matters(tmp_path: Path) -> None:
    config = make_site(tmp_path)
    result = build_issue(config, edition_date(config, None))
    report = replace(
        result.report,
        warnings=tuple(f"warning number {i}" for i in range(40)),
        sources=(
            *result.report.sources,
            SourceReport("https://gone.example/feed", status="error", error="HTTP 404"),
        ),
    )
    lines = summary_lines(report)
    assert len(lines) <= 30
    text = "\n".join(lines)
    assert lines[0] == f"Issue {result.edition.isoformat()}: built"
    assert "Stories: 3" in text
    assert f"  1. {result.report.stories[0].headline[:60]}" in text
    assert "Sources: 1 ok, 1 failed" in text and "HTTP 404" in text
    assert "Warnings: 40" in text and "and 35 more" in text
    assert "Time: ingest " in text and "render " in text
    out = io.StringIO()
    print_summary(report, stream=out)
    assert out.getvalue() == text + "\n"  # not a terminal: plain lines, no colour codes


def _report(**data: object) -> RunReport:
    """A report as a file holds it (older versions' files lack some keys)."""
    return RunReport.from_json(json.dumps({"date": "2026-11-28", **data}), file="report.json")


def test_a_fallback_is_flagged_and_named_never_counted_clean() -> None:
    finding = {"rule": "fact-number", "message": "600 is not in the source"}
    stories = [
        {"headline": "A Clean Story", "findings": [], "fallback": "", "flagged": False},
        {"headline": "A Story With a Finding", "findings": [finding], "flagged": True},
        # no finding at all, and still not clean: the LLM's own story was rejected
        {"headline": "A Fallback", "findings": [], "fallback": "bad JSON", "flagged": True},
    ]
    text = "\n".join(summary_lines(_report(status="built", stories=stories)))
    assert "Stories: 3: 1 clean, 2 flagged (1 of them by the offline fallback)" in text
    assert "  1. A Clean Story\n" in text + "\n"
    assert "  2. A Story With a Finding  [1 finding(s)]" in text
    assert "  3. A Fallback  [fallback: bad JSON]" in text
    # a report written before the flag existed: the fallback alone still flags it
    old = _report(stories=[{"headline": "Old", "findings": [], "fallback": "timeout"}])
    assert "Stories: 1: 0 clean, 1 flagged" in "\n".join(summary_lines(old))
    many = _report(stories=[*stories * 3, stories[2]])
    assert "  … and 2 more (fallback: story 9, story 10)" in summary_lines(many)


def test_report_json_carries_each_storys_fallback_and_flag(tmp_path: Path) -> None:
    # render_draft reads the draft back and checks it again (as render, lint and the
    # preview do): the fallback mark must come through that path into the report
    config = make_desk_site(tmp_path)
    result = render_draft(config, EDITION)
    path = result.outbox / "report.json"
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    stories = on_disk["stories"]
    assert [s["fallback"] for s in stories] == [
        "",
        "",
        "the answer named a figure its source lacks",
    ]
    for story in stories:
        assert story["flagged"] == bool(story["fallback"] or story["findings"])
    assert stories[2]["flagged"] and stories[2]["engine"] == "extractive"
    text = "\n".join(summary_lines(RunReport.from_json(path.read_bytes(), file=str(path))))
    assert "(1 of them by the offline fallback)" in text
    assert "[fallback: the answer named a figure its source lacks;" in text


def test_json_log_lines_carry_extra_fields_and_tracebacks() -> None:
    stream = io.StringIO()
    setup_logging("json", stream=stream)
    log = logging.getLogger("pipeline.test")
    log.info("built %s", "2026-03-08", extra={"edition": "2026-03-08"})
    try:
        raise ValueError("bad value")
    except ValueError:
        log.exception("crashed")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "built 2026-03-08" and first["edition"] == "2026-03-08"
    assert first["level"] == "info" and first["time"].endswith("Z")
    assert second["level"] == "error" and "ValueError: bad value" in second["exception"]


def test_progress_off_a_terminal_is_one_log_line_per_step() -> None:
    logs, screen = io.StringIO(), io.StringIO()
    setup_logging("plain", stream=logs)
    with progress_reporter("build 2026-03-08", stream=screen) as progress:
        progress("ingest")
        progress("render")
    lines = logs.getvalue().splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "pipeline: build 2026-03-08: ingest",
        "pipeline: build 2026-03-08: render",
    ]
    assert screen.getvalue() == ""
