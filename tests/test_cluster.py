"""Same-event clustering: one event from several outlets becomes one group.

tests/fixtures/cluster/stories.yaml labels each item with its event; real feed
items from the ingest corpus sample serve as background noise.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from pipeline.cluster import cluster_items, similarity
from pipeline.ingest._feeds import parse_feed
from pipeline.models import Item

FIXTURES = Path(__file__).parent / "fixtures"
ROWS = yaml.safe_load((FIXTURES / "cluster" / "stories.yaml").read_text(encoding="utf-8"))
ITEMS = [
    Item(id=f"s{i}", source=r["source"], origin="fixture", title=r["title"], text=r["text"])
    for i, r in enumerate(ROWS)
]
EVENT = {f"s{i}": r["event"] for i, r in enumerate(ROWS)}


def background() -> list[Item]:
    out = []
    for name in (
        "rss-parser/guardian.rss",
        "netnewswire/DaringFireball.rss",
        "netnewswire/livemint.xml",
        "feedjira/TechCrunch.xml",
    ):
        data = (FIXTURES / "ingest" / "corpus" / name).read_bytes()
        for e in parse_feed(data).entries:
            out.append(
                Item(id=f"b{len(out)}", source=name, origin=name, title=e.title, text=e.text)
            )
    return out


def events(groups: list[tuple[Item, ...]]) -> list[list[str]]:
    return [[EVENT.get(i.id, "background") for i in g] for g in groups]


def test_each_event_is_one_group_and_different_events_stay_apart() -> None:
    groups = cluster_items(ITEMS)
    assert events(groups) == [
        ["northwind-deal"] * 3,
        ["northwind-ceo"],
        ["lumen-eggs"] * 2,
        ["orbit-fab"] * 2,
        ["quarry-rate"],
        ["dovetail-raise"],
        ["orbit-results"],
        ["pixelwave-prices"],
    ]


def test_groups_hold_within_real_feed_noise() -> None:
    noise = background()
    assert len(noise) > 100
    groups = cluster_items(ITEMS + noise)
    ours = [g for g in events(groups) if any(e != "background" for e in g)]
    for g in ours:
        assert len(set(g)) == 1, g  # no event mixed with another or with noise
    assert sorted(len(g) for g in ours) == [1, 1, 1, 1, 1, 2, 2, 3]


def test_order_stable_and_every_item_once() -> None:
    items = ITEMS + background()
    groups = cluster_items(items)
    flat = [i.id for g in groups for i in g]
    assert sorted(flat) == sorted(i.id for i in items)
    pos = {it.id: n for n, it in enumerate(items)}
    firsts = [pos[g[0].id] for g in groups]
    assert firsts == sorted(firsts)
    for g in groups:
        assert [pos[i.id] for i in g] == sorted(pos[i.id] for i in g)
    assert cluster_items(items) == groups  # deterministic


def test_edge_cases() -> None:
    assert cluster_items([]) == []
    one = ITEMS[0]
    assert cluster_items([one]) == [(one,)]
    twin = Item(id="t", source="Other", origin="x", title=one.title, text=one.text)
    assert cluster_items([one, twin]) == [(one, twin)]
    assert similarity(one, twin) > 0.99
    assert similarity(ITEMS[0], ITEMS[1]) < 0.3  # same company, different event
