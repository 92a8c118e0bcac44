"""Benchmark: the preview's live reload and page times on the test fixture site.

In: nothing (it lays out ``tests/fixtures/preview`` in a temporary folder and serves it on
127.0.0.1). Out: a table of the time from saving ``draft.md`` to the re-rendered version
being visible at ``/api/version`` (what open pages poll), the issue page and index
response times, and a desk move through the page (form post, draft rewrite, render,
page); then one JSON object of the figures (milliseconds) as the last line.

Usage: ``python bench/preview.py [ROUNDS]``
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from preview_site import DAY, draft_path, make_site, request, serving, version

from pipeline.preview import PreviewServer


def _move(srv: PreviewServer) -> None:
    """Move the first story down through the page's form, as the editor does."""
    page = request(srv, "GET", f"/issue/{DAY}")[2]
    form = dict(re.findall(r'name="(token|sha)" value="([^"]+)"', page)[:2])
    path = f"/issue/{DAY}/story/g1000000000000001/down"
    status = request(srv, "POST", path, body=form)[0]
    if status != 303:
        raise SystemExit(f"the move was refused: HTTP {status}")


def _timed(fn: object, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - start) * 1000)
    return out


def main(rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        config = make_site(Path(tmp))
        with serving(config) as srv:
            request(srv, "GET", f"/issue/{DAY}")
            path = draft_path(config)
            reload_ms = []
            for n in range(rounds):
                before = version(srv)
                text = path.read_text(encoding="utf-8")
                start = time.perf_counter()
                path.write_text(
                    re.sub(r"(?m)^intro: .*$", f"intro: Good morning, round {n}.", text),
                    encoding="utf-8",
                )
                while version(srv) == before:
                    if time.perf_counter() - start > 5:
                        raise SystemExit(f"no reload within 5 s (round {n})")
                    time.sleep(0.005)
                reload_ms.append((time.perf_counter() - start) * 1000)
            page_ms = _timed(lambda: request(srv, "GET", f"/issue/{DAY}"), rounds)
            index_ms = _timed(lambda: request(srv, "GET", "/"), rounds)
            move_ms = _timed(lambda: _move(srv), rounds)
    figures = {
        "reload_median_ms": round(statistics.median(reload_ms), 1),
        "reload_max_ms": round(max(reload_ms), 1),
        "issue_page_median_ms": round(statistics.median(page_ms), 1),
        "index_median_ms": round(statistics.median(index_ms), 1),
        "desk_move_median_ms": round(statistics.median(move_ms), 1),
        "rounds": rounds,
    }
    print(f"{'measure':<34}{'ms':>10}")
    for key, value in figures.items():
        if key != "rounds":
            print(f"{key:<34}{value:>10.1f}")
    print(f"({rounds} rounds; the bar for save-to-page is 2000 ms)")
    return figures


if __name__ == "__main__":
    result = main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
    print(json.dumps(result))
