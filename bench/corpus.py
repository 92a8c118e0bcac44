"""The whole feed corpus through ingest: every file ingests or gives a clear error.

Usage: .venv/bin/python bench/corpus.py [CORPUS_DIR]

CORPUS_DIR defaults to ../shared/corpus/feeds beside the repository (or
$FEED_CORPUS), else the fixtures' sample (tests/fixtures/ingest/corpus). Every
file is given to :func:`pipeline.ingest.ingest` as a ``--source`` (one run, a
fresh state store in a temporary folder). A file passes when its result is
``ok`` or an ``error`` whose message names the file and a reason; an exception
escaping ingest, or a file taking more than 5 s, fails the run. Prints a table
per folder, the slowest files and the error kinds, then one JSON object of the
figures as the last line. Exit status 1 on any failure.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdata import feed_corpus  # noqa: E402

from pipeline.config import Config  # noqa: E402
from pipeline.ingest import ingest  # noqa: E402
from pipeline.store import open_store  # noqa: E402

SLOW = 5.0


def main(argv: list[str]) -> int:
    corpus = Path(argv[0]) if argv else feed_corpus()
    files = sorted(str(p) for p in corpus.rglob("*") if p.is_file())
    if not files:
        print(f"no files under {corpus}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        config = Config.model_validate(
            {
                "newsletter": {
                    "name": "Corpus",
                    "sender": {"name": "C", "email": "c@example.com"},
                    "signup_url": "https://example.com/s",
                    "unsubscribe_url": "https://example.com/u",
                    "postal_address": "1 Main St",
                },
                "root": tmp,
            }
        )
        t0 = time.perf_counter()
        crashed = ""
        with open_store(Path(tmp) / "state.sqlite3") as store:
            try:
                result = ingest(config, store, sources=files)
            except Exception:  # the very thing this script exists to catch
                crashed = traceback.format_exc()
            stored = store.count_items()
        elapsed = time.perf_counter() - t0
    if crashed:
        print(crashed)
        print(json.dumps({"files": len(files), "crashed": True}))
        return 1
    per_folder: dict[str, Counter[str]] = {}
    kinds: Counter[str] = Counter()
    unclear = []
    for r in result.sources:
        folder = Path(r.source).relative_to(corpus).parts[0]
        per_folder.setdefault(folder, Counter())[r.status] += 1
        if r.status == "error":
            reason = r.error.removeprefix(r.source).lstrip(":0123456789")
            if not r.error.startswith(r.source) or len(reason.strip(" :")) < 5:
                unclear.append(r.error)
            kinds[reason.strip(" :").split(":")[0][:48]] += 1
    slowest = sorted(result.sources, key=lambda r: r.elapsed, reverse=True)[:5]
    too_slow = [r.source for r in result.sources if r.elapsed > SLOW]
    print(f"{'folder':18} {'files':>6} {'ok':>6} {'error':>6}")
    for folder, c in sorted(per_folder.items()):
        print(f"{folder:18} {sum(c.values()):6d} {c['ok']:6d} {c['error']:6d}")
    print("slowest:", ", ".join(f"{Path(r.source).name} {r.elapsed:.3f}s" for r in slowest))
    print("error kinds:")
    for kind, n in kinds.most_common(12):
        print(f"  {n:5d}  {kind}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ok = sum(c["ok"] for c in per_folder.values())
    figures = {
        "files": len(files),
        "sources": len(result.sources),
        "ok": ok,
        "errors": len(result.failed),
        "crashed": False,
        "unclear_errors": len(unclear),
        "over_5s": len(too_slow),
        "items_stored": stored,
        "seconds": round(elapsed, 2),
        "slowest_s": round(slowest[0].elapsed, 3),
        "peak_rss_mb": round(peak_mb, 1),
    }
    for e in unclear[:5]:
        print("unclear:", e)
    print(json.dumps(figures))
    return 1 if unclear or too_slow or len(result.sources) != len(files) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
