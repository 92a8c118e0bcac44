"""Select: fresh, unused items ranked by recency and source weight; the rest become links."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from pipeline.config import load_config
from pipeline.ids import item_id
from pipeline.models import Item
from pipeline.select import select
from pipeline.store import open_store

CONFIG = """\
newsletter:
  name: T
  sender: {name: T, email: t@example.com}
  signup_url: https://t.example/s
  unsubscribe_url: https://t.example/u
  postal_address: 1 Road
  timezone: America/New_York
sources:
  feeds:
    - {url: heavy.xml, weight: 3}
    - {url: light.xml, weight: 0.5}
issue: {stories: 2, quick_links: 2, max_age_hours: 72}
"""
TOPICS = [
    "Quillon chip exports to Asia climbed sharply as foundries expanded wafer output",
    "Halvorsen grocery prices fell after supermarkets trimmed frozen meal margins",
    "Corrin airline orders for jets surged with transatlantic routes opening",
    "Calloway bank dividends rose while capital ratios beat regulatory minimums",
    "Meridian freight rates slumped because container ships outnumber cargo",
    "Pemberton cloud outages knocked online shops offline during checkout peaks",
    "Oakhaven insurance premiums jumped along hurricane coasts after storm claims",
    "Sundial coffee beans cost more once drought hit Brazilian harvests",
]


def body(n: int) -> str:
    """A distinct story body per item, so no two items cluster as one event."""
    return " ".join([TOPICS[n % len(TOPICS)] + "."] * 5)


def item(n: int, origin: str, day: int, text: str = "") -> Item:
    text = text or body(n)
    url = f"https://x.example/{n}"
    return Item(
        id=item_id("", url, TOPICS[n % len(TOPICS)][:40], text),
        source=origin,
        origin=origin,
        title=TOPICS[n % len(TOPICS)][:40],
        text=text,
        url=url,
        published=datetime(2026, 11, day, 12, tzinfo=UTC),
    )


def test_ranks_by_weight_and_recency_and_fills_quick_links(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(CONFIG)
    config = load_config(tmp_path / "config.yaml")
    origin = {"heavy": str(tmp_path / "heavy.xml"), "light": str(tmp_path / "light.xml")}
    items = [
        item(1, origin["light"], 28),  # newest but light source
        item(2, origin["heavy"], 27),  # heavy source, a day old
        item(3, origin["heavy"], 20),  # too old: outside max_age_hours
        item(4, origin["light"], 27, "Short teaser only."),  # too short for a story
        item(5, origin["light"], 26),
    ]
    with open_store(config.state_path) as store:
        store.upsert_items(items)
        sel = select(config, store, date(2026, 11, 28))
    assert [a.id for a in sel.stories] == [items[1].id, items[0].id]
    assert items[2].id not in {a.id for a in (*sel.stories, *sel.quick_links)}
    assert [a.id for a in sel.quick_links] == [items[3].id, items[4].id]
    assert sel.stories[0].sources[0].url == "https://x.example/2"


def test_selection_is_stable_for_the_same_date(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(CONFIG)
    config = load_config(tmp_path / "config.yaml")
    with open_store(config.state_path) as store:
        store.upsert_items([item(n, str(tmp_path / "light.xml"), 27) for n in range(6)])
        first = select(config, store, date(2026, 11, 28))
        again = select(config, store, date(2026, 11, 28))
    assert first == again
