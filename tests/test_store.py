"""State store: items are deduplicated, updated in place, reserved once, never lost."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from pipeline.ids import item_id
from pipeline.models import Item
from pipeline.store import open_store


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


def test_same_link_with_tracking_params_is_one_item(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        assert store.upsert_items([make("A", "https://x.example/a?id=1")]) == (1, 0)
        assert store.upsert_items([make("A", "http://www.x.example/a/?id=1&utm_source=rss")]) == (
            0,
            0,
        )
        assert store.count_items() == 1


def test_guid_change_with_same_link_is_one_item(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        store.upsert_items([make("A", "https://x.example/a", guid="one")])
        assert store.upsert_items([make("A", "https://x.example/a", guid="two")]) == (0, 0)
        assert store.count_items() == 1


def test_updated_content_updates_the_stored_item(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        first = make("A", "https://x.example/a", guid="g")
        store.upsert_items([first])
        assert store.upsert_items([make("A", "https://x.example/a", guid="g", text="New.")]) == (
            0,
            1,
        )
        stored = store.get_item(first.id)
        assert stored is not None and stored.text == "New."


def test_reserved_items_are_not_candidates_for_other_dates(tmp_path: Path) -> None:
    since = datetime(2026, 11, 1, tzinfo=UTC)
    with open_store(tmp_path / "s.db") as store:
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


def test_draft_fingerprints_tell_pipeline_drafts_from_edits(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        store.commit_draft(date(2026, 11, 28), "aaa", [])
        assert store.is_pipeline_draft(date(2026, 11, 28), "aaa")
        assert not store.is_pipeline_draft(date(2026, 11, 28), "bbb")


def test_state_survives_reopen(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        store.upsert_items([make("A", "https://x.example/a")])
    with open_store(tmp_path / "s.db") as store:
        assert store.count_items() == 1
        old = datetime(2026, 11, 1, tzinfo=UTC)
        assert len(store.candidates(date(2026, 11, 28), old)) == 1
