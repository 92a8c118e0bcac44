"""Several newsletters, feeds in common: requests and wall time of one ingest each against
``ingest --all`` (each feed fetched once).

Usage: .venv/bin/python bench/fleet.py [--newsletters 3] [--shared 40] [--own 20] [--latency 0.1]

``bench/fetch.py``'s server on 127.0.0.1 serves every feed (20 items each) after ``latency``
seconds and counts the requests and its 304 answers. Each newsletter lists the ``shared``
feeds and ``own`` feeds of its own. Run 1 ingests each newsletter on its own, one after
another, into fresh stores (as separate ``newsletter ingest`` runs would); run 2 ingests the
deployment at once into fresh stores (:func:`pipeline.fleet.ingest_all`); run 3 repeats run
2 with the stored ETags (every answer a 304). Prints a table, then one JSON object of the
figures as the last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fetch import FeedServer  # noqa: E402

from pipeline.deployment import Deployment, load_deployment  # noqa: E402
from pipeline.fleet import ingest_all  # noqa: E402
from pipeline.ingest import ingest  # noqa: E402
from pipeline.store import open_store  # noqa: E402


def _deployment(root: Path, base: str, newsletters: int, shared: int, own: int) -> Deployment:
    """Feeds 0 to shared-1 in every newsletter, then ``own`` feeds of each one's own."""
    shipped = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    entries = []
    for n in range(newsletters):
        feeds = [*range(shared), *range(shared + n * own, shared + (n + 1) * own)]
        config = {
            "newsletter": shipped["newsletter"],
            "sources": {
                "feeds": [{"url": f"{base}/{f}.xml", "allow_internal": True} for f in feeds]
            },
            "paths": {"outbox": f"outbox{n}", "state": f"state{n}/newsletter.sqlite3"},
            # every feed shares one host here: raise the per-host bound, as bench/fetch.py
            "fetch": {"concurrency": 200, "per_host": 200},
        }
        (root / f"n{n}.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        entries.append(f"  n{n}: n{n}.yaml\n")
    path = root / "newsletters.yaml"
    path.write_text("newsletters:\n" + "".join(entries), encoding="utf-8")
    return load_deployment(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--newsletters", type=int, default=3)
    ap.add_argument("--shared", type=int, default=40)
    ap.add_argument("--own", type=int, default=20)
    ap.add_argument("--latency", type=float, default=0.1)
    args = ap.parse_args()
    union = args.shared + args.newsletters * args.own
    server = FeedServer(union, args.latency)
    rows = []

    def row(label: str, t0: float, before: tuple[int, int]) -> None:
        asked = (server.requests - before[0], server.not_modified - before[1])
        rows.append((label, time.perf_counter() - t0, *asked))

    try:
        with tempfile.TemporaryDirectory() as tmp:
            shape = (args.newsletters, args.shared, args.own)
            (Path(tmp) / "separate").mkdir()
            (Path(tmp) / "together").mkdir()
            separate = _deployment(Path(tmp) / "separate", server.base, *shape)
            together = _deployment(Path(tmp) / "together", server.base, *shape)
            before, t0 = (server.requests, server.not_modified), time.perf_counter()
            for config in separate.newsletters:
                with open_store(config.state_path) as store:
                    ingest(config, store)
            row("one ingest per newsletter", t0, before)
            for label in ("ingest --all", "ingest --all again (ETags)"):
                before, t0 = (server.requests, server.not_modified), time.perf_counter()
                outcomes = ingest_all(together)
                assert all(o.error is None for o in outcomes), outcomes
                row(label, t0, before)
    finally:
        server.close()
    entries = args.newsletters * (args.shared + args.own)
    print(
        f"{args.newsletters} newsletters x ({args.shared} shared + {args.own} own) feeds on"
        f" 127.0.0.1, {args.latency * 1000:.0f} ms each: {entries} feed entries, {union} feeds"
    )
    print(f"{'run':<30} {'wall s':>8} {'requests':>9} {'304s':>6}")
    for label, wall, requests, not_modified in rows:
        print(f"{label:<30} {wall:>8.2f} {requests:>9} {not_modified:>6}")
    print(
        json.dumps(
            {
                "newsletters": args.newsletters,
                "feed_entries": entries,
                "feeds": union,
                "latency_ms": round(args.latency * 1000),
                "separate": {"wall_s": round(rows[0][1], 3), "requests": rows[0][2]},
                "all": {"wall_s": round(rows[1][1], 3), "requests": rows[1][2]},
                "all_again": {
                    "wall_s": round(rows[2][1], 3),
                    "requests": rows[2][2],
                    "not_modified": rows[2][3],
                },
                "requests_saved": rows[0][2] - rows[1][2],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
