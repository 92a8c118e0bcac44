"""An edit saved while a build runs wins, and lint and send refuse an email older than
its draft.

The build really runs (ingest over HTTP from 127.0.0.1, select, summarize, render);
its feed server holds the answer until the test has saved the editor's change, so the
save lands inside the build every time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from _schedule_helpers import add_feed_item, make_site
from click.testing import CliRunner
from feedserver import send, serve

from pipeline import build as build_module
from pipeline.build import BuildResult, build_issue
from pipeline.cli import cli
from pipeline.config import Config
from pipeline.edition import issue_dir

EMPTY = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
NEW_ITEM = """<item><title>Harbor Street Bank opens a tenth branch in Quay City</title>
<link>https://hsj.example/bank-branch</link><guid>hsj-bank-branch</guid>
<description>Harbor Street Bank opened its tenth branch on Monday, the lender said, as deposits
rose 12% in a year.</description></item>"""


@contextmanager
def site_with_a_held_feed(
    tmp_path: Path,
) -> Iterator[tuple[Config, threading.Event, Callable[[], None]]]:
    """A built site whose second feed, on 127.0.0.1, can hold its answer: ``held`` is set
    when a build is waiting on it, calling ``release`` lets it answer."""
    held, go, hold = threading.Event(), threading.Event(), [False]

    def feed(h: BaseHTTPRequestHandler) -> None:
        if hold[0]:
            held.set()
            go.wait(20)
        send(h, 200, EMPTY)

    with serve({"/quiet.xml": feed}) as srv:
        feeds: list[dict[str, Any]] = [
            {"url": "feed.xml", "name": "Harbor Street Journal"},
            {"url": srv.url("/quiet.xml"), "allow_internal": True},
        ]
        config = make_site(tmp_path, {"sources": {"feeds": feeds}})
        assert build_issue(config, today(config)).status == "built"
        hold[0] = True
        yield config, held, go.set


def today(config: Config) -> date:
    return datetime.now(config.newsletter.tz).date()


def edit(config: Config) -> str:
    """The editor's change: the lead story's headline, saved to draft.md."""
    path = issue_dir(config, today(config)) / "draft.md"
    lines = path.read_text(encoding="utf-8").split("\n")
    first = next(i for i, line in enumerate(lines) if line.startswith("## "))
    lines[first] = "## Edited while the build ran"
    text = "\n".join(lines)
    path.write_text(text, encoding="utf-8")
    return text


def build_while_editing(
    config: Config, held: threading.Event, release: Callable[[], None]
) -> tuple[BuildResult, str]:
    out: list[BuildResult] = []
    runner = threading.Thread(target=lambda: out.append(build_issue(config, today(config))))
    runner.start()
    assert held.wait(20), "the build never fetched the held feed"
    text = edit(config)
    release()
    runner.join(60)
    return out[0], text


def assert_the_edit_won(config: Config, result: BuildResult, text: str) -> None:
    folder = issue_dir(config, today(config))
    assert (folder / "draft.md").read_text(encoding="utf-8") == text
    assert result.status == "edited-draft-rendered"
    assert "edited while the build ran" in (folder / "issue.txt").read_text("utf-8").lower()
    assert not any(
        "Edited while" in p.read_text(encoding="utf-8") for p in folder.glob("backups/*.md")
    )


def test_an_edit_saved_during_a_build_with_new_items_wins(tmp_path: Path) -> None:
    with site_with_a_held_feed(tmp_path) as (config, held, release):
        add_feed_item(config, NEW_ITEM)  # a regenerating build: it used to back the edit up
        result, text = build_while_editing(config, held, release)
    assert_the_edit_won(config, result, text)


def test_an_edit_saved_during_a_build_without_new_items_is_rendered(tmp_path: Path) -> None:
    with site_with_a_held_feed(tmp_path) as (config, held, release):
        result, text = build_while_editing(config, held, release)  # used to say "unchanged"
    assert_the_edit_won(config, result, text)


def test_an_edit_saved_while_the_stories_are_written_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with site_with_a_held_feed(tmp_path) as (config, _, release):
        release()
        add_feed_item(config, NEW_ITEM)
        real = build_module._generate
        saved: list[str] = []

        def generate_then_save(*args: Any, **kwargs: Any) -> Any:
            out = real(*args, **kwargs)
            saved.append(edit(config))  # the editor saves while the summaries are written
            return out

        monkeypatch.setattr(build_module, "_generate", generate_then_save)
        result = build_issue(config, today(config))
    assert_the_edit_won(config, result, saved[0])
    assert any("saved during this build; the edit is kept" in w for w in result.report.warnings)


def test_lint_and_send_refuse_an_email_older_than_its_draft(tmp_path: Path) -> None:
    config = make_site(tmp_path)
    day = today(config)
    build_issue(config, day)
    edit(config)
    cfg = str(Path(config.root) / "config.yaml")
    runner = CliRunner()
    for args in (["lint"], ["send", "--to", "desk@example.com", "--test"]):
        result = runner.invoke(cli, [*args, "--config", cfg, "--date", day.isoformat()])
        assert result.exit_code == 4, result.output
        assert "is older than" in result.output and "draft.md" in result.output
        assert f"run `newsletter render --date {day}` first" in result.output
    assert runner.invoke(cli, ["render", "--config", cfg, "--date", day.isoformat()]).exit_code == 0
    assert runner.invoke(cli, ["lint", "--config", cfg, "--date", day.isoformat()]).exit_code != 4
