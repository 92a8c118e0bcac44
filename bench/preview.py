"""Benchmark: the preview's live reload and page times on the test fixture site.

In: nothing (it lays out ``tests/fixtures/preview`` in a temporary folder and serves it on
127.0.0.1). Out: a table of the time from saving ``draft.md`` to the re-rendered version
being visible at ``/api/version`` (what open pages poll), the issue page and index
response times, and a desk move through the page (form post, draft rewrite, render,
page); then one JSON object of the figures (milliseconds) as the last line.

With ``--issues N`` it measures the index instead, on an outbox of N editions (the
fixture's draft copied to the N-1 days before it: the store records the pipeline as
their writer and those older than a week as sent; every fifth one is edited by hand):
the first index request, then the median of 20 after warm-up of the index, of the
index's ``/api/version`` (what an open index polls every second) and of the index's
rows read in-process (the part before the template), and the first request of the
oldest page. The bar is 50 ms at 365 issues and at 1825 (five years).

Usage: ``python bench/preview.py [ROUNDS]`` or ``python bench/preview.py --issues N``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from preview_site import DAY, EDITION, draft_path, make_site, request, serving, version

from pipeline.config import Config
from pipeline.draft import draft_sha
from pipeline.edition import issue_dir
from pipeline.outbox import publish
from pipeline.preview import PreviewServer
from pipeline.store import open_store

INDEX_ROUNDS = 20
WARM_UP = 3


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


def lay_out(config: Config, issues: int) -> None:
    """Copy the fixture's draft to the ``issues - 1`` days before it, as a daily
    newsletter's outbox looks after that many issues (each draft last saved k days ago)."""
    text = draft_path(config).read_text(encoding="utf-8")
    with open_store(config.state_path) as store:
        for k in range(issues):
            day = EDITION - timedelta(days=k)
            if k == 0:
                _saved_ago(draft_path(config), k)
                continue
            written = re.sub(r"(?m)^date: .*$", f"date: {day.isoformat()}", text)
            store.commit_draft(day, draft_sha(written), [])
            if k % 5 == 0:  # edited by hand after the pipeline wrote it
                written = written.replace("Good morning.", "Good morning, readers.")
            publish(issue_dir(config, day), {"draft.md": written.encode("utf-8")})
            if k >= 7:
                store.record_issue(day, status="sent")
            _saved_ago(draft_path(config, day), k)


def _saved_ago(path: Path, days: int) -> None:
    stamp = time.time_ns() - (days * 24 + 1) * 3600 * 10**9
    os.utime(path, ns=(stamp, stamp))


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def index_figures(issues: int) -> dict[str, float]:
    """The index's times on an outbox of ``issues`` editions (milliseconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = make_site(Path(tmp))
        lay_out(config, issues)
        with serving(config) as srv:
            start = time.perf_counter()
            status, _, page = request(srv, "GET", "/")
            first_ms = (time.perf_counter() - start) * 1000
            if status != 200 or page.count("<tr data-date=") < min(issues, 2):
                raise SystemExit(f"the index is wrong: HTTP {status}")
            for _ in range(WARM_UP):
                request(srv, "GET", "/")
            index_ms = _timed(lambda: request(srv, "GET", "/"), INDEX_ROUNDS)
            version_ms = _timed(lambda: request(srv, "GET", "/api/version"), INDEX_ROUNDS)
            rows_ms = _timed(srv.state.index, INDEX_ROUNDS)
            pages = srv.state.index().pages
            start = time.perf_counter()
            request(srv, "GET", f"/?page={pages}")
            last_page_ms = (time.perf_counter() - start) * 1000
    figures = {
        "issues": issues,
        "index_first_ms": round(first_ms, 1),
        "index_median_ms": _median(index_ms),
        "index_max_ms": round(max(index_ms), 1),
        "index_version_median_ms": _median(version_ms),
        "index_rows_median_ms": _median(rows_ms),
        "index_oldest_page_first_ms": round(last_page_ms, 1),
        "rounds": INDEX_ROUNDS,
    }
    print(f"{'measure (' + str(issues) + ' issues)':<34}{'ms':>10}")
    for key, value in figures.items():
        if key not in ("issues", "rounds"):
            print(f"{key:<34}{value:>10.2f}")
    print(f"(median of {INDEX_ROUNDS} after {WARM_UP} warm-up; the bar for the index is 50 ms)")
    return figures


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
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rounds", nargs="?", type=int, default=10, help="live-reload rounds")
    ap.add_argument("--issues", type=int, help="measure the index on N editions instead")
    args = ap.parse_args()
    result = index_figures(args.issues) if args.issues else main(args.rounds)
    print(json.dumps(result))
