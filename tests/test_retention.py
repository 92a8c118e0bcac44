"""The store stays cheap as history grows: the candidate query reads only what can be chosen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipeline.ids import item_id
from pipeline.models import Item
from pipeline.store import Store, open_store

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

    store.conn.set_progress_handler(count, 1)
    try:
        run()
    finally:
        store.conn.set_progress_handler(None, 1)
    return steps


def test_candidate_query_uses_its_indexes_not_a_scan(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        statements: list[str] = []
        store.conn.set_trace_callback(statements.append)
        store.candidates(EDITION, SINCE)
        store.conn.set_trace_callback(None)
        [sql] = statements
        plan = [r[3] for r in store.conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]
    searches = [p for p in plan if p.startswith(("SEARCH", "SCAN"))]
    assert searches == [
        "SEARCH items USING INDEX items_unused_by_date (<expr>>?)",
        "SEARCH items USING INDEX items_used (used_in=?)",
    ]


def test_candidate_query_cost_follows_the_window_not_the_history(tmp_path: Path) -> None:
    recent = [_item(100_000 + n, SINCE + timedelta(hours=n % 20)) for n in range(40)]
    with open_store(tmp_path / "s.db") as store:
        store.upsert_items(recent)
        store.commit_draft(EDITION, "today", [recent[0].id])
        _history(store, 0, 200)

        def query() -> None:
            rows = store.candidates(EDITION, SINCE)
            assert {i.id for i, _ in rows} == {i.id for i in recent}

        small = _steps(store, query)
        _history(store, 200, 8000)
        large = _steps(store, query)
    # forty times the history; the same rows to read, in a deeper B-tree at most
    assert large < small * 1.1, (small, large)
