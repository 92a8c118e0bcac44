"""Same-event clustering: items in, groups of items covering one event out.

Several outlets covering one event should become one story citing all of them.
Each item becomes a TF-IDF vector of its title (weighted up) and the start of
its text, with idf taken over the batch so shared names and numbers ("Northwind",
"1.2") count for much more than shared common words. Items whose cosine
similarity passes a threshold are joined (single link, union-find).

Order-stable: groups come in the order of their first item, and items keep
their input order inside a group. Every item is in exactly one group. Pairs are
only scored when they share at least two of their most telling terms, so large
batches stay near linear.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence

from .models import Item
from .words import NEWS_WORDS, STOPWORDS, stem

__all__ = ["cluster_items", "similarity"]

THRESHOLD = 0.3
_TITLE_WEIGHT = 3
_TEXT_TOKENS = 120
_INDEX_TERMS = 12
_WORD = re.compile(r"[^\W_]+(?:[.,'’][^\W_]+)*", re.UNICODE)
_STOP = STOPWORDS | NEWS_WORDS


def _terms(text: str) -> list[str]:
    out = []
    for m in _WORD.finditer(text.lower()):
        w = m.group(0).replace("’", "'").rstrip("'s") if "'" in m.group(0) else m.group(0)
        w = w.replace(",", "")
        if w and w not in _STOP and (len(w) > 1 or w.isdigit()):
            out.append(w if w[0].isdigit() else stem(w))
    return out


def _bag(item: Item) -> Counter[str]:
    bag: Counter[str] = Counter()
    for t in _terms(item.title):
        bag[t] += _TITLE_WEIGHT
    bag.update(_terms(item.text)[:_TEXT_TOKENS])
    return bag


def _vectors(items: Sequence[Item]) -> tuple[list[dict[str, float]], dict[str, int]]:
    bags = [_bag(it) for it in items]
    df: Counter[str] = Counter()
    for bag in bags:
        df.update(bag.keys())
    n = len(items)
    vecs = []
    for bag in bags:
        vec = {t: (1 + math.log(c)) * math.log(1 + n / df[t]) for t, c in bag.items()}
        norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
        vecs.append({t: w / norm for t, w in vec.items()})
    return vecs, dict(df)


def similarity(a: Item, b: Item) -> float:
    """Cosine similarity of two items (idf over just the pair, so names weigh most)."""
    va, vb = _vectors([a, b])[0]
    return sum(w * vb.get(t, 0.0) for t, w in va.items())


def cluster_items(items: Sequence[Item]) -> list[tuple[Item, ...]]:
    """Group items that cover the same event; order-stable, each item in one group."""
    n = len(items)
    if n == 0:
        return []
    vecs, df = _vectors(items)
    # index each item under its most telling terms (rare names and numbers); terms
    # in more than ``cap`` items say little and would make the pairing quadratic
    cap = max(8, n // 100)
    index: dict[str, list[int]] = defaultdict(list)
    tops: list[list[str]] = []
    for i, vec in enumerate(vecs):
        ranked = sorted(vec, key=vec.__getitem__, reverse=True)
        top = [t for t in ranked if df[t] <= cap][:_INDEX_TERMS]
        tops.append(top)
        for t in top:
            index[t].append(i)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, top in enumerate(tops):
        shared: Counter[int] = Counter()
        for t in top:
            for j in index[t]:
                if j > i:
                    shared[j] += 1
        need = 2 if len(top) > 2 else 1
        vec = vecs[i]
        for j, count in shared.items():
            if count >= need:  # score candidates exactly
                other = vecs[j]
                if sum(vec[t] * other[t] for t in vec.keys() & other.keys()) >= THRESHOLD:
                    parent[find(j)] = find(i)
    groups: dict[int, list[Item]] = {}
    for i, item in enumerate(items):  # dicts keep insertion order: first item first
        groups.setdefault(find(i), []).append(item)
    return [tuple(g) for g in groups.values()]
