"""The store stays bounded and cheap as history grows.

Retention (`prune`, at the end of each build and as `newsletter prune`) removes what no
issue needs and keeps what one does; a pruned item its feed still lists stays pruned; the
candidate query reads only what can be chosen; an entry unchanged at its source is not
worked out again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from click.testing import CliRunner
from configs import NEWSLETTER_YAML

from pipeline.build import build_issue
from pipeline.cli import cli
from pipeline.config import Config, load_config
from pipeline.ids import item_id
from pipeline.ingest import ingest
from pipeline.models import Item
from pipeline.report import RunReport
from pipeline.store import (
    _V1,
    PrunePolicy,
    Sources,
    Store,
    _statements,
    open_location,
    open_state,
    open_store,
    prune,
)

EDITION = date(2026, 11, 28)
SINCE = datetime(2026, 11, 27, tzinfo=UTC)


def _item(n: int, published: datetime, origin: str = "wire.xml") -> Item:
    url = f"https://wire.example/story/{n}"
    return Item(
        id=item_id(url, url, f"Story {n}", ""),
        source="Wire",
        origin=origin,
        title=f"Story {n}",
        text=f"Body of story {n}.",
        url=url,
        guid=url,
        published=published,
    )


def _run(day: date) -> tuple[date, RunReport]:
    return day, RunReport(newsletter="Test", date=day, status="built")


def _history(store: Store, first: int, count: int) -> None:
    """``count`` items from the year before the edition, a tenth of them used by old issues."""
    old = [_item(n, SINCE - timedelta(days=2 + n % 360)) for n in range(first, first + count)]
    store.upsert_items(old)
    for k in range(0, count, 10):
        day = date(2025, 12, 1) + timedelta(days=k % 300)
        store.commit_draft(day, f"sha-{first + k}", [old[k].id])


def _steps(store: Store, run: Callable[[], object]) -> int:
    """SQLite virtual-machine steps a call takes: the rows it walks, counted exactly."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    store.conn.raw.set_progress_handler(count, 1)
    try:
        run()
    finally:
        store.conn.raw.set_progress_handler(None, 1)
    return steps


def test_candidate_query_uses_its_indexes_not_a_scan(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        statements: list[str] = []
        store.conn.raw.set_trace_callback(statements.append)
        store.candidates(EDITION, SINCE)
        store.conn.raw.set_trace_callback(None)
        [sql] = statements
        plan = [r[3] for r in store.conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]
    searches = [p for p in plan if p.startswith(("SEARCH", "SCAN"))]
    assert searches == [
        "SEARCH i USING INDEX items_by_date (<expr>>?)",
        "SEARCH u USING COVERING INDEX sqlite_autoindex_uses_1 (newsletter=? AND item_id=?)",
        "SEARCH u USING INDEX uses_by_date (newsletter=? AND date=?)",
        "SEARCH i USING INDEX sqlite_autoindex_items_1 (id=?)",
    ]


def test_candidate_query_cost_follows_the_window_not_the_history(tmp_path: Path) -> None:
    recent = [_item(100_000 + n, SINCE + timedelta(hours=n % 20)) for n in range(40)]
    with open_store(tmp_path / "s.db") as store:
        store.upsert_items(recent)
        store.commit_draft(EDITION, "today", [recent[0].id])
        _history(store, 0, 200)

        def query() -> None:
            rows = store.candidates(EDITION, SINCE, Sources(frozenset({"wire.xml"})))
            assert {i.id for i, _ in rows} == {i.id for i in recent}

        small = _steps(store, query)
        _history(store, 200, 8000)
        large = _steps(store, query)
    # forty times the history; the same rows to read, in a deeper B-tree at most
    assert large < small * 1.1, (small, large)


# -- retention -----------------------------------------------------------------------------
TODAY = date(2026, 11, 28)
NOON = datetime(2026, 11, 28, 12, tzinfo=UTC)


def _ids(store: Store) -> set[str]:
    return {r[0] for r in store.conn.execute("SELECT id FROM items")}


def test_prune_removes_old_unused_items_and_keeps_what_an_issue_needs(any_state: str) -> None:
    old, recent = NOON - timedelta(days=40), NOON - timedelta(days=2)
    gone, fresh, sent, held, undated = (_item(n, old) for n in range(5))
    fresh = _item(1, recent)
    undated = Item(id="h-undated", source="Desk", origin="inbox/a.md", title="Undated", text=".")
    with open_location(any_state) as store:
        store.upsert_items([gone, fresh, sent, held, undated])
        store.commit_draft(date(2026, 10, 19), "sent-sha", [sent.id])
        store.record_issue(date(2026, 10, 19), status="sent")
        store.commit_draft(date(2026, 10, 20), "open-sha", [held.id])  # still a draft
        report = prune(store, PrunePolicy(unused_item_days=30), TODAY)
        assert report.items == 1 and _ids(store) == {fresh.id, sent.id, held.id, undated.id}
        # undated items age by when they were first seen (now): gone 31 days from now
        later = datetime.now(UTC).date() + timedelta(days=31)
        assert prune(store, PrunePolicy(unused_item_days=30), later).items == 2
        assert _ids(store) == {sent.id, held.id}
        # 0 keeps unused items forever
        store.upsert_items([_item(9, old)])
        assert prune(store, PrunePolicy(unused_item_days=0), later).items == 0


def test_a_newsletter_prunes_no_item_another_used_or_holds(any_state: str) -> None:
    # several newsletters share a store: one's prune keeps what any other's issue needs
    old = NOON - timedelta(days=40)
    sent, held, gone = (_item(n, old) for n in range(3))
    with open_location(any_state, key="morning") as morning:
        morning.upsert_items([sent, held, gone])
        morning.commit_draft(date(2026, 10, 19), "sent-sha", [sent.id])
        morning.record_issue(date(2026, 10, 19), status="sent")
        morning.record_run(*_run(TODAY - timedelta(days=100)))
    with open_location(any_state, key="evening") as evening:
        evening.commit_draft(date(2026, 10, 20), "open-sha", [held.id])
        report = prune(evening, PrunePolicy(unused_item_days=30, run_days=90), TODAY)
        kept = _ids(evening)
    with open_location(any_state, key="morning") as morning:
        morning_runs = prune(morning, PrunePolicy(unused_item_days=0, run_days=90), TODAY).runs
    assert (report.items, report.runs) == (1, 0)  # evening had no old run of its own
    assert kept == {sent.id, held.id} and morning_runs == 1


def test_unused_items_a_build_may_still_select_are_kept_whatever_the_policy(
    tmp_path: Path,
) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        NEWSLETTER_YAML + "issue: {max_age_hours: 2400}\nretention: {unused_item_days: 7}\n",
        encoding="utf-8",
    )
    policy = PrunePolicy.of(load_config(cfg))
    assert policy.unused_item_days == 101  # 100 days of selection window, and a day more
    cfg.write_text(NEWSLETTER_YAML + "retention: {unused_item_days: 0}\n", encoding="utf-8")
    assert PrunePolicy.of(load_config(cfg)).unused_item_days == 0


def test_runs_draft_fingerprints_and_full_texts_go_the_ledgers_stay(any_state: str) -> None:
    with open_location(any_state) as store:
        store.record_run(*_run(TODAY - timedelta(days=91)))
        store.record_run(*_run(TODAY - timedelta(days=89)))
        edition = TODAY - timedelta(days=1)
        for n in range(14):
            store.commit_draft(edition, f"sha-{n}", [])
        store.record_issue(edition, draft_sha="sha-0")  # the ledger names an old one
        store.record_feed("https://wire.example/rss", ok=True, etag='"v1"', last_modified="Tue")
        store.save_extract("https://wire.example/story/1", "Full text.")
        policy = PrunePolicy(run_days=90, draft_version_keep=10, extract_days=30)
        report = prune(store, policy, TODAY)
        assert (report.runs, report.draft_versions, report.extracts) == (1, 3, 0)
        kept = [store.is_pipeline_draft(edition, f"sha-{n}") for n in range(14)]
        assert kept == [True, False, False, False] + [True] * 10
        assert store.cached_extract("https://wire.example/story/1") == ("Full text.", "")
        # full texts age by when they were fetched (now)
        later = datetime.now(UTC).date() + timedelta(days=31)
        assert prune(store, policy, later).extracts == 1
        assert store.cached_extract("https://wire.example/story/1") is None
        feed = store.feed_state("https://wire.example/rss")
        assert (feed.etag, feed.last_modified) == ('"v1"', "Tue")
        assert store.issue(edition) == ("sha-0", "draft")
        runs = store.conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    assert runs == 0


def test_a_dry_run_counts_the_same_and_removes_nothing(any_state: str) -> None:
    with open_location(any_state) as store:
        store.upsert_items([_item(n, NOON - timedelta(days=40 + n)) for n in range(20)])
        dry = prune(store, PrunePolicy(), TODAY, dry_run=True)
        assert dry.items == 20 and dry.dry_run and store.count_items() == 20
        if not any_state.startswith("postgresql"):  # PostgreSQL: the database's size, kept
            assert dry.bytes_after < dry.bytes_before
        real = prune(store, PrunePolicy(), TODAY)
        assert real.items == 20 and store.count_items() == 0


# -- a feed that still lists what was pruned -------------------------------------------------
def _rss(path: Path, entries: list[tuple[int, datetime, str]]) -> None:
    items = "".join(
        f"<item><title>Story {n}</title><link>https://wire.example/story/{n}</link>"
        f"<guid>https://wire.example/story/{n}</guid><pubDate>{format_datetime(when)}</pubDate>"
        f"<description>{body}</description></item>"
        for n, when, body in entries
    )
    path.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{items}'
        "</channel></rss>",
        encoding="utf-8",
    )


def _feed_config(tmp_path: Path, extra: str = "", state: str = "state/s.sqlite3") -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        NEWSLETTER_YAML
        + "sources:\n  feeds:\n    - {url: wire.xml, name: Wire}\n"
        + f'paths: {{state: "{state}"}}\n'
        + extra,
        encoding="utf-8",
    )
    return cfg


def test_a_pruned_item_its_feed_still_lists_is_never_new_again(
    tmp_path: Path, any_state: str
) -> None:
    old, recent = NOON - timedelta(days=40), NOON - timedelta(hours=3)
    feed = tmp_path / "wire.xml"
    _rss(feed, [(1, old, "Old story."), (2, recent, "New story.")])
    config = load_config(_feed_config(tmp_path, state=any_state))
    with open_state(config) as store:
        assert ingest(config, store).new == 2
        assert prune(store, PrunePolicy(), TODAY).items == 1
        again = ingest(config, store).sources[0]
        assert (again.new, again.updated, again.unchanged, again.listed) == (0, 0, 2, 2)
        # still listed, now edited at the source: matched by its guid, still pruned
        _rss(feed, [(1, old, "Old story, corrected."), (2, recent, "New story.")])
        edited = ingest(config, store).sources[0]
        assert (edited.new, edited.updated) == (0, 0) and store.count_items() == 1
        assert prune(store, PrunePolicy(), TODAY).tombstones == 0  # listed: kept
        # the feed drops it: its tombstone goes at the next prune
        _rss(feed, [(2, recent, "New story.")])
        ingest(config, store)
        assert prune(store, PrunePolicy(), TODAY).tombstones == 1
        left = store.conn.execute("SELECT COUNT(*) FROM tombstones").fetchone()[0]
    assert left == 0


def _one_old_story_pruned(tmp_path: Path, state: str) -> tuple[Path, Config]:
    """A feed of one old story, read, and the story pruned: (the feed file, the config)."""
    feed = tmp_path / "wire.xml"
    _rss(feed, [(1, NOON - timedelta(days=40), "Old story.")])
    config = load_config(_feed_config(tmp_path, state=state))
    with open_state(config) as store:
        ingest(config, store)
        assert prune(store, PrunePolicy(), TODAY).items == 1
    return feed, config


def test_a_pruned_item_its_source_dates_anew_is_a_new_story(tmp_path: Path, any_state: str) -> None:
    feed, config = _one_old_story_pruned(tmp_path, any_state)
    with open_state(config) as store:
        _rss(feed, [(1, NOON - timedelta(hours=1), "Old story, back in the news.")])
        back = ingest(config, store).sources[0]
        [(item, _)] = store.candidates(TODAY, SINCE)
        tombstones = store.conn.execute("SELECT COUNT(*) FROM tombstones").fetchone()[0]
    assert back.new == 1 and item.text == "Old story, back in the news." and tombstones == 0


def test_a_failing_or_empty_feed_keeps_its_tombstones(tmp_path: Path, any_state: str) -> None:
    feed, config = _one_old_story_pruned(tmp_path, any_state)
    with open_state(config) as store:
        feed.unlink()  # gone for a while, then an empty document
        assert ingest(config, store).sources[0].status == "error"
        assert prune(store, PrunePolicy(), TODAY).tombstones == 0
        feed.write_text('<rss version="2.0"><channel><title>W</title></channel></rss>')
        assert ingest(config, store).sources[0].status == "ok"
        assert prune(store, PrunePolicy(), TODAY).tombstones == 0
        _rss(feed, [(1, NOON - timedelta(days=40), "Old story.")])
        assert ingest(config, store).new == 0


# -- work done once ------------------------------------------------------------------------
def test_an_unchanged_entry_is_not_worked_out_again(tmp_path: Path) -> None:
    feed = tmp_path / "wire.xml"
    entries = [(n, NOON - timedelta(hours=n), f"<p>Story {n} body.</p>") for n in range(30)]
    _rss(feed, entries)
    config = load_config(_feed_config(tmp_path))
    with open_store(config.state_path) as store:
        first = ingest(config, store).sources[0]
        statements: list[str] = []
        store.conn.raw.set_trace_callback(statements.append)
        second = ingest(config, store).sources[0]
        store.conn.raw.set_trace_callback(None)
        # one entry changes: only it is worked out and written
        entries[4] = (4, entries[4][1], "<p>Story 4 body, updated.</p>")
        _rss(feed, entries)
        third = ingest(config, store).sources[0]
        stored = store.get_item(first.items[4].id)
    assert (first.new, len(first.items)) == (30, 30)
    assert (second.new, second.updated, second.items, second.unchanged) == (0, 0, (), 30)
    assert not [s for s in statements if s.startswith(("INSERT INTO items", "UPDATE items"))]
    assert (third.updated, third.unchanged, [i.id for i in third.items]) == (
        1,
        29,
        [first.items[4].id],
    )
    assert stored is not None and stored.text == "Story 4 body, updated."


def test_one_call_storing_the_same_story_twice_finds_the_first(any_state: str) -> None:
    # items are looked up a batch at a time: a story met again later in the same call,
    # in the same batch or the next, by id, guid or link, is the one stored first
    first = [_item(n, NOON) for n in range(600)]
    edited = Item(**{**first[10].__dict__, "text": "Corrected."})
    relinked = Item(**{**first[20].__dict__, "id": "g-other", "guid": "other"})
    moved = Item(**{**first[30].__dict__, "id": "g-moved", "guid": "moved", "text": "Moved."})
    with open_location(any_state) as store:
        counts = store.upsert_items([*first[:40], relinked, *first[40:], edited, moved])
        texts = [store.get_item(first[n].id) for n in (10, 20, 30)]
        stored = store.count_items()
    assert counts == (600, 2) and stored == 600
    assert [t.text if t else None for t in texts] == ["Corrected.", "Body of story 20.", "Moved."]


def test_a_build_keeps_counts_not_items(tmp_path: Path, any_state: str) -> None:
    _rss(tmp_path / "wire.xml", [(n, NOON - timedelta(hours=n), "Body.") for n in range(12)])
    config = load_config(_feed_config(tmp_path, state=any_state))
    with open_state(config) as store:
        [lean] = ingest(config, store, items=False).sources
        [again] = ingest(config, store, items=False).sources
        stored = store.count_items()
    assert (lean.items, lean.new, lean.listed, stored) == ((), 12, 12, 12)
    assert (again.items, again.new, again.unchanged, again.listed) == ((), 0, 12, 12)


# -- the file shrinks, and a store from before is brought up to date -------------------------
def _fill(store: Store, count: int, first: int = 0) -> None:
    """``count`` old unused items of some 5 KB each, and one recent."""
    body = "A long paragraph of story text. " * 150
    old = [_item(n, NOON - timedelta(days=40, minutes=n)) for n in range(first, first + count)]
    store.upsert_items([Item(**{**i.__dict__, "text": body + str(n)}) for n, i in enumerate(old)])
    store.upsert_items([_item(9999, NOON)])


def test_pruning_gives_the_space_back_to_the_file_system(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with open_store(path) as store:
        _fill(store, 1500)
    grown = path.stat().st_size
    with open_store(path) as store:
        report = prune(store, PrunePolicy(), TODAY)
        assert store.get_item(_item(9999, NOON).id) is not None
    assert report.items == 1500 and report.bytes_after < report.bytes_before / 10
    assert path.stat().st_size < grown / 10


def test_a_store_from_before_reuses_its_pages_until_compacted_once(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)  # a store as made before: no auto_vacuum, no fingerprints
    schema = ";\n".join(_statements(False, _V1)) + ";"
    old_schema = schema.replace(",\n    raw_hash TEXT NOT NULL DEFAULT ''", "", 1)  # items'

    old_schema = old_schema.replace(
        "CREATE INDEX IF NOT EXISTS items_raw_hash ON items(raw_hash) WHERE raw_hash != '';", ""
    )
    assert old_schema != schema
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(old_schema)
    conn.close()
    with open_store(path) as store:  # brought up to date as it opens
        _fill(store, 1500)
        assert prune(store, PrunePolicy(limit=1000), TODAY).items == 1000
    grown = path.stat().st_size
    with open_store(path) as store:
        _fill(store, 900, first=5000)  # into the pages the pruned items left
        assert store.conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    assert path.stat().st_size < grown * 1.05
    with open_store(path) as store:
        report = prune(store, PrunePolicy(), TODAY, compact=True)
        mode = store.conn.execute("PRAGMA auto_vacuum").fetchone()[0]
        left = store.count_items()
    assert report.items == 1400 and mode == 2 and left == 1  # incremental from now on
    assert path.stat().st_size < grown / 10


def test_a_build_prunes_the_oldest_first_up_to_its_limit(any_state: str) -> None:
    with open_location(any_state) as store:
        items = [_item(n, NOON - timedelta(days=40 + n)) for n in range(20)]
        store.upsert_items(items)
        assert prune(store, PrunePolicy(limit=5), TODAY).items == 5
        left = _ids(store)
    assert left == {i.id for i in items[:15]}


# -- a build prunes; `newsletter prune` says what goes -----------------------------------------
def test_a_build_prunes_at_its_end_and_the_command_says_what_goes(
    tmp_path: Path, any_state: str
) -> None:
    words = " ".join(["The harbour authority said container traffic rose again."] * 8)
    feed = tmp_path / "wire.xml"
    entries = [(n, NOON - timedelta(hours=n), words + f" Story {n}.") for n in range(1, 4)]
    _rss(feed, [*entries, (9, NOON - timedelta(days=60), words + " An old one.")])
    extra = "issue: {stories: 1, quick_links: 1, max_age_hours: 48}\n"
    path = _feed_config(tmp_path, extra, state=any_state)
    config = load_config(path)
    with open_state(config) as store:
        ingest(config, store)
        assert store.count_items() == 4
    dry = CliRunner().invoke(cli, ["prune", "--config", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would remove 1 unused items" in dry.output
    result = build_issue(config, TODAY)
    assert result.status == "built" and "prune" in result.report.timings
    with open_state(config) as store:
        kept = _ids(store)
        used = {i for i in kept if store.used_in(i)}
    old = item_id("https://wire.example/story/9", "", "", "")
    assert old not in kept and len(kept) == 3 and used  # the old one went; the issue's stay
    again = CliRunner().invoke(cli, ["prune", "--config", str(path)])
    assert again.exit_code == 0 and "removed 0 unused items" in again.output
