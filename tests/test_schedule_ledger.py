"""The edition ledger: an approved or sent issue is frozen; a build of its date does
nothing unless forced, however many new items arrive."""

from __future__ import annotations

from pathlib import Path

import pytest
from _schedule_helpers import add_feed_item, make_site, run_build

from pipeline.build import build_issue
from pipeline.cli import edition_date
from pipeline.store import open_store

pytestmark = pytest.mark.slow  # builds through the installed CLI

NEW_ITEM = """<item>
<title>Fenwick Rail Wins a $2 Billion Contract for 300 Commuter Cars</title>
<link>https://harbor-street.example/fenwick-rail-contract</link>
<guid isPermaLink="false">hs-fenwick-rail</guid>
<content:encoded><![CDATA[<p>Fenwick Rail won a $2 billion contract to build 300 commuter
rail cars for the Lakeshore transit authority, the company said, the largest order in its
history. Deliveries start in 2028 and run for six years, and the cars will be assembled at the
company's plant in Ohio, which will add 400 jobs. Fenwick shares rose 5% on the news, according
to the transit authority's board papers.</p>]]></content:encoded>
</item>"""


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()}


def test_a_sent_issue_is_frozen_unless_forced(tmp_path: Path) -> None:
    config = make_site(tmp_path)
    edition = edition_date(config, None)
    first = build_issue(config, edition)
    with open_store(config.state_path) as store:
        store.record_issue(edition, status="sent")
    before = snapshot(first.outbox)
    add_feed_item(config, NEW_ITEM)

    frozen = build_issue(config, edition)
    assert frozen.status == "frozen" and frozen.written == ()
    assert snapshot(first.outbox) == before
    with open_store(config.state_path) as store:
        recorded = store.issue(edition)
    assert recorded is not None and recorded[1] == "sent"

    forced = run_build(config, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "Fenwick Rail" in (first.outbox / "draft.md").read_text(encoding="utf-8")


def test_an_approved_draft_is_frozen_unless_forced(tmp_path: Path) -> None:
    config = make_site(tmp_path)
    edition = edition_date(config, None)
    first = build_issue(config, edition)
    draft = first.outbox / "draft.md"
    draft.write_text(
        draft.read_text(encoding="utf-8").replace("status: draft", "status: approved", 1), "utf-8"
    )
    before = snapshot(first.outbox)
    add_feed_item(config, NEW_ITEM)

    done = run_build(config)
    assert done.returncode == 0, done.stderr
    assert ": frozen" in done.stdout
    assert snapshot(first.outbox) == before

    forced = build_issue(config, edition, force=True)
    assert forced.status == "edited-draft-rendered", "force renders; the editor's draft still wins"
    assert draft.read_text(encoding="utf-8") == before["draft.md"][0].decode("utf-8")
