"""End to end: the installed `newsletter` CLI builds an issue from the bundled sources."""

from __future__ import annotations

import email
import json
import os
import socket
import subprocess
from email.message import Message
from pathlib import Path

import pytest
from _schedule_helpers import copy_shipped_site
from llmserver import ChatServer, Reply
from newsletter_cli import CLI

from pipeline.draft import parse_draft
from pipeline.summarize import check_style

pytestmark = pytest.mark.slow  # the installed CLI, or whole builds of the shipped site

DATE = "2026-11-28"
FILES = ("draft.md", "issue.html", "issue.txt", "issue.eml", "report.json")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A copy of the shipped config and bundled sources (here, not the preview's site)."""
    return copy_shipped_site(tmp_path)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()}


def test_build_writes_a_complete_issue(site: Path) -> None:
    result = run("build", "--date", DATE, cwd=site)
    assert result.returncode == 0, result.stderr + result.stdout
    out = site / "outbox" / DATE
    for name in FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name

    issue = parse_draft((out / "draft.md").read_text(encoding="utf-8"))
    assert len(issue.stories) >= 3
    for story in issue.stories:
        for part in ("headline", "dek", "hook", "section", "lead_in", "kicker_label", "kicker"):
            assert getattr(story, part), f"{story.id} lacks {part}"
        assert 2 <= len(story.bullets) <= 4
        errors = [f for f in check_style(story) if f.severity == "error"]
        assert errors == [], errors
    assert issue.quick_links, "items past the top N become quick links"

    html = (out / "issue.html").read_bytes()
    assert len(html) < 102_400
    assert issue.stories[0].headline.split(".")[0][:30] in html.decode("utf-8").replace(
        "&#39;", "'"
    )

    msg = email.message_from_bytes((out / "issue.eml").read_bytes())
    assert msg.get_content_type() == "multipart/alternative"
    parts: dict[str, Message] = {p.get_content_type(): p for p in msg.get_payload()}  # type: ignore[union-attr]
    assert set(parts) == {"text/plain", "text/html"}
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "https://" in msg["List-Unsubscribe"]
    for header in ("Subject", "From", "Date", "Message-ID"):
        assert msg[header], header

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "built" and len(report["stories"]) == len(issue.stories)
    assert {s["status"] for s in report["sources"]} == {"ok"}
    assert set(report["timings"]) >= {"ingest", "select", "summarize", "render"}


def test_rebuild_with_no_new_items_changes_no_file(site: Path) -> None:
    assert run("build", "--date", DATE, cwd=site).returncode == 0
    out = site / "outbox" / DATE
    before = snapshot(out)
    again = run("build", "--date", DATE, cwd=site)
    assert again.returncode == 0, again.stderr
    assert snapshot(out) == before
    assert "unchanged" in again.stdout


def test_edited_draft_is_rendered_never_overwritten(site: Path) -> None:
    assert run("build", "--date", DATE, cwd=site).returncode == 0
    out = site / "outbox" / DATE
    draft = out / "draft.md"
    text = draft.read_text(encoding="utf-8")
    first = parse_draft(text).stories[0]
    edited = text.replace(first.headline, "Editors Rewrote This Headline By Hand Today. It Stays.")
    draft.write_text(edited, encoding="utf-8")

    result = run("build", "--date", DATE, cwd=site)
    assert result.returncode == 0, result.stderr
    assert draft.read_text(encoding="utf-8") == edited
    assert "Editors Rewrote This Headline" in (out / "issue.html").read_text(encoding="utf-8")
    text_part = (out / "issue.txt").read_text(encoding="utf-8")
    assert "EDITORS REWROTE THIS HEADLINE" in text_part.upper()

    regen = run("build", "--date", DATE, "--regenerate", cwd=site)
    assert regen.returncode == 0, regen.stderr
    assert (out / "backups" / "draft-1.md").read_text(encoding="utf-8") == edited
    assert "Editors Rewrote This Headline" not in draft.read_text(encoding="utf-8")


def test_render_command_rerenders_the_edited_draft(site: Path) -> None:
    assert run("build", "--date", DATE, cwd=site).returncode == 0
    draft = site / "outbox" / DATE / "draft.md"
    draft.write_text(
        draft.read_text(encoding="utf-8").replace(
            "intro: ", "intro: Hand-written intro for readers. "
        ),
        encoding="utf-8",
    )
    result = run("render", "--date", DATE, cwd=site)
    assert result.returncode == 0, result.stderr
    assert "Hand-written intro" in (site / "outbox" / DATE / "issue.txt").read_text(
        encoding="utf-8"
    )


def test_items_are_never_used_twice(site: Path) -> None:
    assert run("build", "--date", DATE, cwd=site).returncode == 0
    result = run("build", "--date", "2026-11-29", cwd=site)
    first = parse_draft((site / "outbox" / DATE / "draft.md").read_text(encoding="utf-8"))
    if result.returncode == 0:
        second = parse_draft((site / "outbox/2026-11-29/draft.md").read_text(encoding="utf-8"))
        assert not {s.id for s in first.stories} & {s.id for s in second.stories}
    else:
        assert result.returncode == 4 and "no fresh stories" in result.stderr


def test_config_error_is_one_line_with_file_line_and_key(site: Path) -> None:
    cfg = site / "config.yaml"
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace("  stories: 4", "  stories: four"), encoding="utf-8"
    )
    result = run("build", "--date", DATE, cwd=site)
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "\n" not in line
    assert "config.yaml:" in line and "issue.stories" in line and "'four'" in line


def test_every_command_has_help(site: Path) -> None:
    for cmd in (
        "build",
        "ingest",
        "render",
        "summarize",
        "lint",
        "send",
        "preview",
        "approve",
        "story",
        "schedule",
        "init",
        "publish",
    ):
        result = run(cmd, "--help", cwd=site)
        assert result.returncode == 0 and "Usage:" in result.stdout, cmd


def test_approved_issue_is_frozen_unless_forced(site: Path) -> None:
    assert run("build", "--date", DATE, cwd=site).returncode == 0
    out = site / "outbox" / DATE
    draft = out / "draft.md"
    draft.write_text(
        draft.read_text(encoding="utf-8").replace("status: draft", "status: approved"),
        encoding="utf-8",
    )
    before = snapshot(out)
    frozen = run("build", "--date", DATE, "--regenerate", cwd=site)
    assert frozen.returncode == 0 and "frozen" in frozen.stdout
    assert snapshot(out) == before
    forced = run("build", "--date", DATE, "--regenerate", "--force", cwd=site)
    assert forced.returncode == 0 and "built" in forced.stdout
    assert "status: draft" in draft.read_text(encoding="utf-8")


def test_a_broken_feed_is_reported_and_the_issue_still_builds(site: Path) -> None:
    (site / "samples" / "feeds" / "broken.xml").write_text("Hello, this is not a feed.", "utf-8")
    cfg = site / "config.yaml"
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace(
            "  feeds:\n",
            "  feeds:\n    - {url: samples/feeds/broken.xml, name: Broken Wire}\n"
            "    - {url: samples/feeds/missing.xml, name: Missing Wire}\n",
        ),
        encoding="utf-8",
    )
    result = run("build", "--date", DATE, "--log-format", "plain", cwd=site)
    assert result.returncode == 0, result.stderr
    report = json.loads((site / "outbox" / DATE / "report.json").read_text(encoding="utf-8"))
    failed = {s["source"]: s["error"] for s in report["sources"] if s["status"] == "error"}
    assert set(failed) == {"samples/feeds/broken.xml", "samples/feeds/missing.xml"}
    missing = failed["samples/feeds/missing.xml"]
    assert missing.startswith(str(site / "samples/feeds/missing.xml")) and "cannot read" in missing
    assert "not a feed" in failed["samples/feeds/broken.xml"]
    assert {f["name"] for f in report["feeds"] if f["status"] == "failing"} == {
        "Broken Wire",
        "Missing Wire",
    }
    assert "Sources: " in result.stdout and "2 failed" in result.stdout
    assert "Missing Wire" in result.stdout  # the summary names feeds needing attention
    assert len(report["stories"]) >= 3


def test_init_scaffolds_a_folder_that_builds(tmp_path: Path) -> None:
    folder = tmp_path / "weekly"
    created = run("init", str(folder), cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert (folder / "config.yaml").is_file() and (folder / "inbox" / "README.md").is_file()
    built = run("build", "--config", str(folder / "config.yaml"), "--date", DATE, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert (folder / "outbox" / DATE / "issue.eml").is_file()
    again = run("init", str(folder), cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_an_approved_issue_goes_on_the_web_archive(site: Path) -> None:
    built = run("build", "--date", DATE, "--publish", cwd=site)
    assert built.returncode == 0, built.stderr
    assert "0 issue(s) published" in built.stdout  # a draft is not public
    assert run("approve", "--date", DATE, cwd=site).returncode == 0
    published = run("publish", cwd=site)
    assert published.returncode == 0, published.stderr
    assert "1 issue(s) published" in published.stdout
    assert (site / "site" / "issues" / DATE / "index.html").is_file()
    assert "no file changed" in run("publish", cwd=site).stdout

    cfg = site / "config.yaml"
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace("/issues/{date}", "/{date}/{date}"),
        encoding="utf-8",
    )
    bad = run("publish", cwd=site)
    assert bad.returncode == 2 and "key 'newsletter.web_url'" in bad.stderr


def _use_llm(site: Path, base_url: str) -> None:
    cfg = site / "config.yaml"
    text = cfg.read_text(encoding="utf-8").replace("engine: extractive", "engine: llm")
    cfg.write_text(text.replace("http://127.0.0.1:11434/v1", base_url), encoding="utf-8")


def test_llm_answers_that_fail_validation_fall_back_and_are_counted(
    site: Path, chat: ChatServer
) -> None:
    chat.responder = lambda seen: Reply(content="Sure! Here it is")  # text, not a story
    _use_llm(site, chat.url)
    result = run("build", "--date", DATE, cwd=site)
    assert result.returncode == 0, result.stderr
    report = json.loads((site / "outbox" / DATE / "report.json").read_text("utf-8"))
    calls = len(chat.requests)
    assert report["summarizer"]["calls"] == calls > 0
    assert report["summarizer"]["tokens"] == 100 * calls  # the server's usage per answer
    assert {s["engine"] for s in report["stories"]} == {"extractive"}
    assert report["summarizer"]["errors"], "the fallback is reported"
    assert run("build", "--date", DATE, cwd=site).returncode == 0
    assert len(chat.requests) == calls, "a rebuild with nothing new makes no LLM call"


def test_a_dead_llm_endpoint_still_gives_an_issue(site: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    _use_llm(site, f"http://127.0.0.1:{port}/v1")
    result = run("build", "--date", DATE, cwd=site)
    assert result.returncode == 0, result.stderr
    report = json.loads((site / "outbox" / DATE / "report.json").read_text("utf-8"))
    assert any(f"127.0.0.1:{port}" in e for e in report["summarizer"]["errors"])
    assert len(report["stories"]) >= 3


def test_a_run_killed_between_reserving_and_writing_is_finished_by_the_next(site: Path) -> None:
    from datetime import date

    from pipeline.build import build_issue
    from pipeline.config import load_config
    from pipeline.store import open_store

    config = load_config(site / "config.yaml")
    edition = date.fromisoformat(DATE)
    first = build_issue(config, edition)
    story_ids = [s.id for s in first.report.stories]
    with open_store(config.state_path) as store:
        # what a run that died after commit_draft and before writing leaves behind
        store.commit_draft(edition, "0" * 64, story_ids[:1])
        assert store.used_in(story_ids[1]) is None
    again = build_issue(config, edition)
    assert again.status == "built"
    with open_store(config.state_path) as store:
        assert all(store.used_in(i) == DATE for i in story_ids)
