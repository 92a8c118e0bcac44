"""Feed parsing speed, side by side in one run: our parser vs feedparser.parse.

Usage: .venv/bin/python bench/ingest.py [FEED ...]
       .venv/bin/python bench/ingest.py --corpus [DIR]

With no arguments it reads the largest feeds of the shared corpus
(../shared/corpus/feeds next to the repository, or $FEED_CORPUS) and, if that is
missing, the largest files of the test fixtures' sample
(tests/fixtures/ingest/corpus) and a large feed built from their items. For each
feed it measures:

* ``feedparser``: ``feedparser.parse`` with its defaults (the reference);
* ``ours``: ``pipeline.ingest._feeds.parse_feed`` (lxml fast path, feedparser
  fallback), bytes to entries with plain text;
* ``ours+items``: the same plus building stored items (nh3-sanitized HTML, ids);
* ``fastfeedparser`` and ``feedparser-rs`` when installed (candidates we measured).

Also times same-event clustering of 10,000 items. Prints a table, then one
JSON object of the figures as the last line.

``--corpus`` reads every file of a corpus folder (DIR, else the shared corpus,
else the fixtures' sample) through each parser, timed on a second pass: MB/s over the whole corpus,
the ratio to feedparser, the files that fall back to feedparser (or fail) and
their share of our time, and what we lose against feedparser
(tests/feedcompare.py: entries, and per entry a title, web link, id or date that
differs from feedparser's, or text where it has some and we have none). Its times are CPU
seconds, so other work on the machine does not inflate them.
"""

from __future__ import annotations

import gc
import io
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import feedparser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # feedcompare: what feedparser reads that we lose

from benchdata import FEED_SAMPLE, feed_corpus, shared_corpus  # noqa: E402
from feedcompare import Reference, compare, reduce  # noqa: E402

from pipeline.cluster import cluster_items  # noqa: E402
from pipeline.errors import SourceError  # noqa: E402
from pipeline.ingest import _items, _Source  # noqa: E402
from pipeline.ingest._feeds import ParsedFeed, parse_feed  # noqa: E402
from pipeline.models import Item  # noqa: E402

SAMPLE = FEED_SAMPLE

LARGE = [
    "rss-parser/giantbomb-podcast.rss",
    "netnewswire/yakubin.atom",
    "feedjira/CRE.xml",
    "netnewswire/russcox.atom",
    "netnewswire/dcrainmaker.xml",
]


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "SOURCES.md")


def _fixtures() -> list[tuple[str, bytes]]:
    """The largest files of the fixtures' sample and a large feed built from their
    items, when the shared corpus is absent."""
    largest = sorted(_files(SAMPLE), key=lambda p: p.stat().st_size)[-4:]
    return [(p.relative_to(SAMPLE).as_posix(), p.read_bytes()) for p in largest] + [_synthetic()]


def _synthetic() -> tuple[str, bytes]:
    """A ~2 MB RSS feed: the Guardian sample feed with its items repeated."""
    data = (SAMPLE / "rss-parser" / "guardian.rss").read_bytes()
    start, end = data.index(b"<item"), data.rindex(b"</item>") + len(b"</item>")
    items = data[start:end] * max(1, 2_000_000 // (end - start))
    return "synthetic (guardian.rss items)", data[:start] + items + data[end:]


def _best(fn: Callable[[], object], budget: float = 1.5, runs: int = 5) -> float:
    """Best wall time of up to ``runs`` calls within about ``budget`` seconds."""
    best = float("inf")
    spent = 0.0
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        spent += dt
        if spent > budget:
            break
    return best


def _candidates() -> dict[str, Callable[[bytes], object]]:
    out: dict[str, Callable[[bytes], object]] = {}
    try:
        import fastfeedparser

        out["fastfeedparser"] = fastfeedparser.parse
    except ImportError:
        pass
    try:
        import feedparser_rs

        out["feedparser-rs"] = feedparser_rs.parse
    except ImportError:
        pass
    return out


def _cluster_items(n: int) -> list[Item]:
    rng = random.Random(7)
    words = [f"w{i}" for i in range(5000)]
    names = [f"Company{i}" for i in range(800)]
    out = []
    for i in range(n):
        name = rng.choice(names)
        title = f"{name} " + " ".join(rng.choices(words, k=7))
        text = f"{name} said " + " ".join(rng.choices(words, k=60))
        out.append(Item(id=str(i), source="s", origin="o", title=title, text=text))
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["--corpus"]:
        return corpus_mode(Path(argv[1]) if len(argv) > 1 else None)
    feeds: list[tuple[str, bytes]] = []
    if argv:
        feeds = [(a, Path(a).read_bytes()) for a in argv]
    else:
        corpus = shared_corpus()
        feeds = [(n, (corpus / n).read_bytes()) for n in LARGE if (corpus / n).is_file()]
        if not feeds:
            print(f"no shared corpus at {corpus}: timing the fixtures' sample instead")
            feeds = _fixtures()
    cands = _candidates()
    src = _Source("bench", "feed-file", "Bench")
    rows = []
    totals = {"bytes": 0, "feedparser": 0.0, "ours": 0.0, "ours_items": 0.0}
    for name, data in feeds:
        fp = _best(lambda d=data: feedparser.parse(io.BytesIO(d)), budget=3.0, runs=2)
        ours = _best(lambda d=data: parse_feed(d))
        parsed = parse_feed(data)
        full = _best(lambda d=data: _items(parse_feed(d), src, "bench"))
        row = {
            "feed": name,
            "mb": len(data) / 1e6,
            "entries": len(parsed.entries),
            "engine": parsed.engine,
            "feedparser_s": fp,
            "ours_s": ours,
            "ours_items_s": full,
        }
        for cname, fn in cands.items():
            try:
                row[cname + "_s"] = _best(lambda d=data, f=fn: f(d))
            except Exception as exc:  # a candidate raising is itself a finding
                row[cname + "_s"] = float("nan")
                row[cname + "_error"] = type(exc).__name__
        rows.append(row)
        totals["bytes"] += len(data)
        totals["feedparser"] += fp
        totals["ours"] += ours
        totals["ours_items"] += full
    print(
        f"{'feed':38} {'MB':>5} {'n':>4} {'feedparser':>11} {'ours':>9} {'ours+items':>11}"
        f" {'speedup':>8}  " + "  ".join(f"{c:>15}" for c in cands)
    )
    for r in rows:
        mb = r["mb"]
        extra = "  ".join(f"{mb / r[c + '_s']:12.1f}MB/s" for c in cands)
        print(
            f"{r['feed'][:38]:38} {mb:5.2f} {r['entries']:4d} {mb / r['feedparser_s']:8.2f}MB/s"
            f" {mb / r['ours_s']:6.1f}MB/s {mb / r['ours_items_s']:8.1f}MB/s"
            f" {r['feedparser_s'] / r['ours_s']:7.0f}x  {extra}"
        )
    mb = totals["bytes"] / 1e6
    items = _cluster_items(10_000)
    t0 = time.perf_counter()
    groups = cluster_items(items)
    cluster_s = time.perf_counter() - t0
    figures = {
        "feeds": len(rows),
        "mb": round(mb, 3),
        "feedparser_mb_s": round(mb / totals["feedparser"], 2),
        "ours_mb_s": round(mb / totals["ours"], 1),
        "ours_items_mb_s": round(mb / totals["ours_items"], 1),
        "speedup_vs_feedparser": round(totals["feedparser"] / totals["ours"], 1),
        "speedup_with_items": round(totals["feedparser"] / totals["ours_items"], 1),
        "min_feed_speedup": round(min(r["feedparser_s"] / r["ours_s"] for r in rows), 1),
        "min_feed_mb_s": round(min(r["mb"] / r["ours_s"] for r in rows), 1),
        # per feed: the bar is >= 30 MB/s and >= 50x feedparser.parse on a large feed
        "per_feed_speedup": {r["feed"]: round(r["feedparser_s"] / r["ours_s"], 1) for r in rows},
        "feeds_meeting_bar": sum(
            r["feedparser_s"] / r["ours_s"] >= 50 and r["mb"] / r["ours_s"] >= 30 for r in rows
        ),
        "cluster_10k_items_s": round(cluster_s, 3),
        "cluster_10k_groups": len(groups),
    }
    for c in cands:
        secs = sum(r[c + "_s"] for r in rows)
        figures[c.replace("-", "_") + "_mb_s"] = round(mb / secs, 1) if secs == secs else None
    print(
        f"total {mb:.2f} MB: feedparser {figures['feedparser_mb_s']} MB/s, ours"
        f" {figures['ours_mb_s']} MB/s ({figures['speedup_vs_feedparser']}x), with items"
        f" {figures['ours_items_mb_s']} MB/s; clustering 10,000 items {cluster_s:.2f} s"
    )
    print(json.dumps(figures))
    return 0


def _ours(data: bytes) -> tuple[ParsedFeed | None, float]:
    t0 = time.process_time()
    try:
        parsed: ParsedFeed | None = parse_feed(data, where="bench")
    except SourceError:
        parsed = None
    return parsed, time.process_time() - t0


def _feedparser(data: bytes) -> tuple[list[Reference], float]:
    """feedparser.parse with its defaults (timed), reduced to what ingest uses."""
    t0 = time.process_time()
    try:
        parsed = feedparser.parse(io.BytesIO(data))
    except Exception:  # feedparser's own crash is not our loss
        return [], time.process_time() - t0
    spent = time.process_time() - t0
    return reduce(parsed), spent


def corpus_mode(folder: Path | None) -> int:
    """Every file of a corpus through each parser (timed on a second pass); one JSON
    object last.

    Times are CPU seconds of this process (parsing is single-threaded), so other
    work on the machine does not inflate them."""
    folder = folder or feed_corpus()
    files = _files(folder)
    src = _Source("bench", "feed-file", "Bench")
    fp_s = ours_s = items_s = 0.0
    engines: Counter[str] = Counter()
    spent: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    losing: list[str] = []
    docs = [path.read_bytes() for path in files]
    size = sum(map(len, docs))
    # one parser over the whole corpus, then the other: neither runs with the other's
    # data in the caches. Each is timed on its second pass (the first loads its code
    # and fills its caches), with the collector off (as in timeit), since the results
    # kept for the comparison would make its passes ever longer.
    for data in docs:
        _ours(data)
        _feedparser(data)
    gc.collect()
    gc.disable()
    ours = []
    for data in docs:
        parsed, dt = _ours(data)
        ours.append(parsed)
        ours_s += dt
        engine = parsed.engine if parsed is not None else "error"
        engines[engine] += 1
        spent[engine] += dt
    refs = []
    for data in docs:
        ref, dt = _feedparser(data)
        refs.append(ref)
        fp_s += dt
    gc.enable()
    for parsed in ours:
        if parsed is not None:
            t0 = time.process_time()
            _items(parsed, src, "bench")
            items_s += time.process_time() - t0
    for path, ref, parsed in zip(files, refs, ours, strict=True):
        here = compare(ref, parsed)
        if here:
            losing.append(f"{path.relative_to(folder).as_posix()}: {'; '.join(here)[:160]}")
        lost.update(re.sub(r"^entry \d+ ", "", line).split(":")[0] for line in here)
    mb = size / 1e6
    figures = {
        "corpus": str(folder),
        "files": len(files),
        "mb": round(mb, 2),
        "feedparser_mb_s": round(mb / fp_s, 2),
        "ours_mb_s": round(mb / ours_s, 1),
        "ours_items_mb_s": round(mb / (ours_s + items_s), 1),
        "speedup_vs_feedparser": round(fp_s / ours_s, 1),
        "speedup_with_items": round(fp_s / (ours_s + items_s), 1),
        "engines": dict(engines),
        "fallback_files": engines["feedparser"],
        "fallback_share_of_time": round(spent["feedparser"] / ours_s, 3),
        "error_files": engines["error"],
        "error_share_of_time": round(spent["error"] / ours_s, 3),
        "lost": dict(lost),
        "files_losing": len(losing),
    }
    for line in losing[:30]:
        print("loses:", line)
    print(
        f"{len(files)} files, {mb:.2f} MB: feedparser {figures['feedparser_mb_s']} MB/s, ours"
        f" {figures['ours_mb_s']} MB/s ({figures['speedup_vs_feedparser']}x), with items"
        f" {figures['ours_items_mb_s']} MB/s; engines {dict(engines)}; fallback files take"
        f" {figures['fallback_share_of_time']:.0%} of our time; lost vs feedparser:"
        f" {dict(lost)} in {len(losing)} files"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
