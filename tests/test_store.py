"""State store: items are deduplicated, updated in place, reserved once, never lost."""

from __future__ import annotations

import ast
import re
import sqlite3
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pipeline
from pipeline.errors import StoreError
from pipeline.ids import item_id
from pipeline.models import Image, Item
from pipeline.store import (
    _V1,
    MIGRATIONS,
    FeedRecord,
    FeedWrite,
    Prepared,
    Sources,
    Stored,
    _statements,
    open_location,
    open_store,
    prepare,
)


def make(title: str, url: str, guid: str = "", text: str = "Body text.") -> Item:
    return Item(
        id=item_id(guid, url, title, text),
        source="Wire",
        origin="feed.xml",
        title=title,
        text=text,
        url=url,
        guid=guid,
        published=datetime(2026, 11, 27, 8, tzinfo=UTC),
    )


def test_same_link_with_tracking_params_is_one_item(any_state: str) -> None:
    with open_location(any_state) as store:
        assert store.upsert_items([make("A", "https://x.example/a?id=1")]) == (1, 0)
        assert store.upsert_items([make("A", "http://www.x.example/a/?id=1&utm_source=rss")]) == (
            0,
            0,
        )
        assert store.count_items() == 1


def test_guid_change_with_same_link_is_one_item(any_state: str) -> None:
    with open_location(any_state) as store:
        store.upsert_items([make("A", "https://x.example/a", guid="one")])
        assert store.upsert_items([make("A", "https://x.example/a", guid="two")]) == (0, 0)
        assert store.count_items() == 1


def test_updated_content_updates_the_stored_item(any_state: str) -> None:
    with open_location(any_state) as store:
        first = make("A", "https://x.example/a", guid="g")
        store.upsert_items([first])
        assert store.upsert_items([make("A", "https://x.example/a", guid="g", text="New.")]) == (
            0,
            1,
        )
        stored = store.get_item(first.id)
        assert stored is not None and stored.text == "New."


def test_reserved_items_are_not_candidates_for_other_dates(any_state: str) -> None:
    since = datetime(2026, 11, 1, tzinfo=UTC)
    with open_location(any_state) as store:
        a, b = make("A", "https://x.example/a"), make("B", "https://x.example/b")
        store.upsert_items([a, b])
        store.commit_draft(date(2026, 11, 28), "sha1", [a.id])
        ids = {i.id for i, _ in store.candidates(date(2026, 11, 29), since)}
        assert ids == {b.id}
        same_day = {i.id for i, _ in store.candidates(date(2026, 11, 28), since)}
        assert same_day == {a.id, b.id}
        # a used item seen again in a feed stays used, never new again
        assert store.upsert_items([make("A", "https://x.example/a")]) == (0, 0)
        assert store.used_in(a.id) == "2026-11-28"


def test_draft_fingerprints_tell_pipeline_drafts_from_edits(any_state: str) -> None:
    with open_location(any_state) as store:
        store.commit_draft(date(2026, 11, 28), "aaa", [])
        assert store.is_pipeline_draft(date(2026, 11, 28), "aaa")
        assert not store.is_pipeline_draft(date(2026, 11, 28), "bbb")


def test_state_survives_reopen(any_state: str) -> None:
    with open_location(any_state) as store:
        store.upsert_items([make("A", "https://x.example/a")])
    with open_location(any_state) as store:
        assert store.count_items() == 1
        old = datetime(2026, 11, 1, tzinfo=UTC)
        assert len(store.candidates(date(2026, 11, 28), old)) == 1


def test_llm_cache_keeps_the_newest_story_per_key(any_state: str) -> None:
    with open_location(any_state) as store:
        assert store.llm_cache_get("k1") is None
        store.llm_cache_put("k1", '{"headline": "One"}', model="m", prompt_version="v", tokens=9)
        store.llm_cache_put("k2", '{"headline": "Two"}', model="m", prompt_version="v", tokens=3)
        store.llm_cache_put("k1", '{"headline": "Again"}', model="m", prompt_version="v", tokens=4)
    with open_location(any_state) as store:
        assert store.llm_cache_get("k1") == '{"headline": "Again"}'
        assert store.llm_cache_get("k2") == '{"headline": "Two"}'


def _main_store(path: Path) -> None:
    """A store as the code before migrations made it (migration 1's DDL, no
    ``schema_version``), holding a row in every table."""
    conn = sqlite3.connect(path)
    conn.executescript(";\n".join(_statements(False, _V1)) + ";")
    item = (
        "INSERT INTO items (id, guid, url_key, source, origin, title, url, text, html, author,"
        " published, image, content_hash, first_seen, updated_at, used_in, raw_hash)"
        " VALUES (?, '', ?, 'Wire', 'feed.xml', ?, ?, 'Body.', '', '', ?, NULL, 'h', ?, ?, ?, ?)"
    )
    day = "2026-11-27T08:00:00+00:00"
    conn.execute(item, ("a", "x.example/a", "A", "https://x.example/a", day, day, day, None, "ra"))
    conn.execute(
        item, ("b", "x.example/b", "B", "https://x.example/b", day, day, day, "2026-11-20", "")
    )
    conn.executescript(
        """
        INSERT INTO feeds (url, etag, failures) VALUES ('https://x.example/feed', '"e1"', 2);
        INSERT INTO extracts VALUES ('x.example/a', 'https://x.example/a', 'Page.', '', 't');
        INSERT INTO issues VALUES ('2026-11-20', 'sha1', 'sent', '2026-11-20');
        INSERT INTO campaigns VALUES ('2026-11-20', 'listmonk', '7', 'u', 'draft', NULL, 't');
        INSERT INTO draft_versions VALUES ('2026-11-20', 'sha1', '2026-11-20');
        INSERT INTO runs (date, finished_at, report) VALUES ('2026-11-20', 't', '{}');
        INSERT INTO llm_cache VALUES ('k', 'm', 'v', '{}', 3, 't');
        INSERT INTO listings VALUES ('feed.xml', 4);
        INSERT INTO tombstones VALUES ('old', 'g', 'x.example/old', 'ro', 'feed.xml', 4, 'd');
        """
    )
    conn.commit()
    conn.close()


_TABLES = ("items", "feeds", "extracts", "issues", "campaigns", "draft_versions", "runs")
_TABLES += ("llm_cache", "listings", "tombstones", "uses")


def test_a_store_made_before_migrations_is_migrated_and_keeps_every_row(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    _main_store(path)
    with open_store(path, check=True, key="morning") as store:
        tables = {t: store.conn.execute(f"SELECT COUNT(*) FROM {t}").rows[0][0] for t in _TABLES}
        versions = [r[0] for r in store.conn.execute("SELECT version FROM schema_version")]
        morning = (store.used_in("b"), store.issue(date(2026, 11, 20)))
        campaigns = store.campaigns(date(2026, 11, 20))
        fresh = store.candidates(date(2026, 11, 28), datetime(2026, 11, 26, tzinfo=UTC))
        feed = store.feed_state("https://x.example/feed")
        assert store.listed("feed.xml", ["ra", "ro"]) == {"ra", "ro"}
    assert tables == dict.fromkeys(tables, 1) | {"items": 2}
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    # the ledger went to the newsletter that opened the store first
    assert morning == ("2026-11-20", ("sha1", "sent"))
    assert [c.id for c in campaigns] == ["7"]
    assert [i.id for i, _ in fresh] == ["a"]  # b was used by the morning edition
    assert (feed.etag, feed.failures) == ('"e1"', 2)
    with open_store(path, key="evening") as store:  # another newsletter: its own ledger
        assert store.used_in("b") is None and store.issue(date(2026, 11, 20)) is None
        assert {
            i.id
            for i, _ in store.candidates(date(2026, 11, 28), datetime(2026, 11, 26, tzinfo=UTC))
        } == {"a", "b"}
    with open_store(path, key="morning") as store:  # opened again: nothing to apply
        assert [r[0] for r in store.conn.execute("SELECT version FROM schema_version")] == versions


def test_a_store_from_a_newer_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with open_store(path) as store:
        store.conn.execute("INSERT INTO schema_version VALUES (99, 't')")
    newer = "schema version 99, newer than this program's"
    with pytest.raises(StoreError, match=newer), open_store(path):
        pass


def test_a_cache_the_llm_writer_made_itself_is_read_as_it_is(tmp_path: Path) -> None:
    # before the store owned the table, the LLM writer created it with this DDL
    path = tmp_path / "s.db"
    with open_store(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE llm_cache")
    conn.execute(
        "CREATE TABLE llm_cache (key TEXT PRIMARY KEY, model TEXT NOT NULL, prompt_version TEXT"
        " NOT NULL, story TEXT NOT NULL, tokens INTEGER NOT NULL DEFAULT 0,"
        " created_at TEXT NOT NULL)"
    )
    conn.execute("INSERT INTO llm_cache VALUES ('k', 'm', 'v2', '{\"a\": 1}', 5, '2026-11-01')")
    conn.commit()
    conn.close()
    with open_store(path) as store:
        assert store.llm_cache_get("k") == '{"a": 1}'


_SQL = re.compile(
    r"\b(?:CREATE (?:TABLE|INDEX)|DROP (?:TABLE|INDEX)|SELECT\b.+\bFROM|INSERT (?:OR \w+ )?INTO"
    r"|UPDATE \w+ SET|DELETE FROM|PRAGMA)\b",
    re.DOTALL,
)
_CONNECTION = {"conn", "transaction", "execute", "executemany", "executescript", "cursor"}


def _sql_outside_the_store() -> list[str]:
    root = Path(pipeline.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name in ("store.py", "_sql.py") and path.parent == root:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(root)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Attribute) and node.attr in _CONNECTION:
                found.append(f"{where}: .{node.attr}")
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _SQL.search(node.value)
            ):
                found.append(f"{where}: SQL {node.value[:40]!r}")
    return found


def test_no_module_but_the_store_runs_sql_or_touches_its_connection() -> None:
    assert _sql_outside_the_store() == []


def test_a_group_commits_its_feeds_together_and_a_failing_one_undoes_only_its_own(
    any_state: str,
) -> None:
    a, b = make("A", "https://x.example/a"), make("B", "https://x.example/b")
    with open_location(any_state) as store:
        before = store.commits
        with store.group():
            one = FeedRecord("one.xml", ok=True, etag='"1"')
            assert store.store_feed(one, [a], ["ra"], ["ra"]) == Stored(1, 0)
            with pytest.raises(ValueError):  # two items, one fingerprint: refused mid-write
                store.store_feed(FeedRecord("two.xml", ok=True, etag='"2"'), [b, a], ["rb"], ["rb"])
            store.record_feeds([FeedRecord("three.xml", ok=False, error="HTTP 500", gone=True)])
        assert store.commits == before + 1
        one, two, three = (store.feed_state(u) for u in ("one.xml", "two.xml", "three.xml"))
        assert (one.etag, one.last_new_item is not None) == ('"1"', True)
        assert (two.etag, two.last_success) == ("", None)  # nothing of it was kept
        assert (three.failures, three.gone, three.last_error) == (1, True, "HTTP 500")
        assert store.get_item(a.id) is not None and store.get_item(b.id) is None
        assert store.known(["ra", "rb"]) == {"ra"}
        listings = {r[0] for r in store.conn.execute("SELECT origin FROM listings").rows}
        assert listings == {"one.xml"}
        with pytest.raises(RuntimeError), store.group():  # a failing group keeps nothing
            store.store_feed(FeedRecord("four.xml", ok=True, etag='"4"'), [b], ["rb"], ["rb"])
            raise RuntimeError("the run stops")
        assert store.get_item(b.id) is None and store.feed_state("four.xml").etag == ""


def test_feeds_stored_at_once_count_as_stored_one_by_one(any_state: str) -> None:
    a, b, c = (make(t, f"https://x.example/{t}") for t in "ABC")
    b2 = make("B", "https://x.example/B", text="B, updated.")
    feeds = [
        FeedWrite(
            FeedRecord("one.xml", ok=True, etag='"1"'), prepare([a, b], ["ra", "rb"]), ["ra"]
        ),
        FeedWrite(FeedRecord("two.xml", ok=True, etag='"2"'), prepare([b2, c], ["rb2", "rc"]), []),
        FeedWrite(FeedRecord("three.xml", ok=True), prepare([]), ["ra"]),
        # the first feed's A as it is at its source, and C anew: A is known, nothing written
        FeedWrite(FeedRecord("four.xml", ok=True), prepare([c, a], ["rc2", "ra"]), ["ra"]),
    ]
    with open_location(any_state) as store:
        # the second feed updates an item the first stores: in order, as one by one
        assert store.store_feeds(feeds) == [
            Stored(2, 0),
            Stored(1, 1),
            Stored(0, 0),
            Stored(0, 0, known=(1,)),
        ]
        assert store.count_items() == 3
        assert store.get_item(b.id) == b2
        assert (store.feed_state("two.xml").etag, store.feed_state("three.xml").etag) == ('"2"', "")
        assert store.known(["ra", "rb", "rb2", "rc", "rc2"]) == {"ra", "rb2", "rc2"}
        listings = {r[0] for r in store.conn.execute("SELECT origin FROM listings").rows}
        assert listings == {"one.xml", "three.xml", "four.xml"}  # an empty listing is none
    with pytest.raises(ValueError):  # prints that are not the items' are refused
        prepare([a, c], ["ra"])


def test_items_another_newsletter_stored_after_a_draft_are_news_to_this_one(
    any_state: str,
) -> None:
    day = date(2026, 11, 28)
    mine = Sources(frozenset({"feed.xml"}))
    with open_location(any_state, key="tech") as tech:
        tech.commit_draft(day, "sha1", [])
        assert not tech.stored_since_draft(day, mine)
    time.sleep(1.1)  # the store's times have a resolution of a second
    # the morning newsletter's ingest stores an item of a feed both list
    with open_location(any_state, key="morning") as morning:
        morning.upsert_items([make("A", "https://x.example/a")])
    with open_location(any_state, key="tech") as tech:
        assert tech.stored_since_draft(day, mine)
        assert not tech.stored_since_draft(day, Sources(frozenset({"other.xml"})))
        assert not tech.stored_since_draft(date(2026, 11, 29), mine)  # no draft that day


_words = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)
_items = st.builds(
    Item,
    id=_words,
    source=_words,
    origin=_words,
    title=_words,
    text=_words,
    url=_words,
    html=_words,
    guid=_words,
    author=_words,
    published=st.none() | st.datetimes(timezones=st.just(UTC)),
    image=st.none() | st.builds(Image, url=_words, alt=_words, credit=_words),
)


@given(st.lists(_items, max_size=5), st.data())
def test_items_made_ready_to_store_give_back_the_same_items(
    items: list[Item], data: st.DataObject
) -> None:
    # a worker process hands items over as these columns: nothing may change on the way
    ready = prepare(items, [f"r{n}" for n in range(len(items))] if items else [])
    assert ready.items() == tuple(items)
    keep = data.draw(st.lists(st.integers(0, max(len(items) - 1, 0)), max_size=len(items)))
    keep = keep if items else []
    assert ready.only(keep).items() == tuple(items[n] for n in keep)
    assert Prepared.joined([ready, ready]).items() == tuple(items) * 2
