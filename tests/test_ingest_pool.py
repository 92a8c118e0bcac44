"""Feeds read for the first time in a worker process: the same items and results as a
reading in-process, the worker ended with its parent, and no worker in a daemon process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from html import escape
from pathlib import Path

import pytest
from feedserver import Route, feed_route, send, serve
from test_ingest import make_config

from pipeline.config import load_config
from pipeline.ingest import ingest
from pipeline.ingest._pool import Pool
from pipeline.models import SourceResult
from pipeline.store import open_store

ROOT = Path(__file__).resolve().parent.parent


def _feed(f: int, extra: str = "") -> bytes:
    entries = "".join(
        f"<item><title>Feed {f} story {i}</title><guid>f{f}-{i}</guid>"
        f"<link>https://f{f}.example/{i}?utm_source=rss</link>"
        f"<pubDate>Fri, 27 Nov 2026 {i:02d}:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;Story {i} of feed {f}.&lt;/p&gt;</description></item>"
        for i in range(5)
    )
    return (
        f'<rss version="2.0"><channel><title>F{f}</title>{entries}{extra}</channel></rss>'.encode()
    )


SHARED = (  # an entry the first feed lists too: known when the others are read
    "<item><title>Feed 0 story 1</title><guid>f0-1</guid>"
    "<link>https://f0.example/1?utm_source=rss</link>"
    "<pubDate>Fri, 27 Nov 2026 01:00:00 GMT</pubDate>"
    "<description>&lt;p&gt;Story 1 of feed 0.&lt;/p&gt;</description></item>"
)
ODD = "<item><title></title><description></description></item>"  # warned of, skipped


def _routes(n: int) -> dict[str, Route]:
    routes: dict[str, Route] = {
        f"/f{f}.xml": feed_route(_feed(f, SHARED if f == 7 else ODD if f == 9 else ""))
        for f in range(n)
    }
    routes["/page"] = lambda h: send(h, 200, b"<html><title>Hi</title></html>", "text/html")
    return routes


def _same(r: SourceResult) -> tuple[object, ...]:
    return (r.source, r.status, r.items, r.new, r.updated, r.unchanged, r.listed, r.warnings)


def _rows(path: Path) -> list[tuple[object, ...]]:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT id, guid, url_key, source, origin, title, url, text, html, author,"
            " published, image, content_hash, raw_hash FROM items ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


@pytest.mark.slow  # a worker process
def test_a_first_reading_in_the_worker_gives_what_one_in_process_gives(tmp_path: Path) -> None:
    feeds = 40  # over the pool's threshold of first readings in one run
    with serve(_routes(feeds)) as srv:
        first = srv.url("/f0.xml")
        rest = [srv.url(f"/f{f}.xml") for f in range(1, feeds)] + [srv.url("/page")]
        results = {}
        for label, chunk in (("pool", len(rest)), ("here", 10)):  # 10 a run: no pool
            folder = tmp_path / label
            folder.mkdir()
            cfg = make_config(folder, [first, *rest])
            with open_store(cfg.state_path) as store:
                ingest(cfg, store, sources=[first])
                got = []
                for at in range(0, len(rest), chunk):
                    got += ingest(cfg, store, sources=rest[at : at + chunk]).sources
            results[label] = [_same(r) for r in got]
            assert _rows(cfg.state_path)
        assert results["pool"] == results["here"]
        assert _rows(tmp_path / "pool" / "state.sqlite3") == _rows(
            tmp_path / "here" / "state.sqlite3"
        )
        by = {r[0]: r for r in results["pool"]}
        assert by[srv.url("/f7.xml")][5] == 1  # the shared entry: known, not worked out
        assert by[srv.url("/f9.xml")][7]  # a skipped entry is said
        assert by[srv.url("/page")][1] == "error"


def _pid() -> int:
    return os.getpid()


@pytest.mark.slow  # a worker process
def test_the_pool_runs_calls_in_another_process() -> None:
    with Pool(wanted=True) as pool:
        assert pool.working
        assert asyncio.run(pool.run(30, _pid)) != os.getpid()
    assert not pool.working  # closed: calls run here
    assert asyncio.run(pool.run(30, _pid)) == os.getpid()
    with Pool(wanted=False) as pool:
        assert not pool.working
        assert asyncio.run(pool.run(30, _pid)) == os.getpid()


def _in_a_daemon(out: multiprocessing.Queue[tuple[bool, bool]]) -> None:
    with Pool(wanted=True) as pool:
        out.put((pool.working, asyncio.run(pool.run(30, _pid)) == os.getpid()))


@pytest.mark.slow  # a worker process
def test_a_daemon_process_like_a_celery_worker_reads_in_process() -> None:
    out: multiprocessing.Queue[tuple[bool, bool]] = multiprocessing.Queue()
    proc = multiprocessing.get_context("fork").Process(target=_in_a_daemon, args=(out,))
    proc.daemon = True  # a daemon may not start children
    proc.start()
    try:
        assert out.get(timeout=20) == (False, True)
    finally:
        proc.join(10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone too (its parent, init here, reaps it)
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split(") ", 1)[1][:1] != "Z"


@pytest.mark.slow  # a worker process
def test_the_worker_ends_when_its_parent_is_killed() -> None:
    code = (
        "import asyncio, os, sys, time\n"
        "from pipeline.ingest._pool import Pool\n"
        "pool = Pool(wanted=True)\n"
        "print(asyncio.run(pool.run(30, os.getpid)), flush=True)\n"
        "time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None
        worker = int(proc.stdout.readline())
        assert worker != proc.pid and _alive(worker)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 5
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker)


@pytest.mark.slow  # a worker process
def test_full_texts_fetched_after_a_reading_in_the_worker_are_what_is_stored(
    tmp_path: Path,
) -> None:
    article = (
        "<html><body><article><h1>Quarry Bank lifts savings rate</h1>"
        + "".join(f"<p>Paragraph {n}: Quarry Bank raised its savings rate.</p>" for n in range(6))
        + "</article></body></html>"
    ).encode()
    feeds = 40
    routes: dict[str, Route] = {}
    with serve(routes) as srv:
        for f in range(feeds):
            routes[f"/a{f}"] = lambda h: send(h, 200, article, "text/html; charset=utf-8")
            feed = (
                f'<rss version="2.0"><channel><title>Bank {f}</title><item>'
                f"<title>Quarry Bank lifts savings rate {f}</title><link>{srv.url(f'/a{f}')}"
                "</link><description>Quarry Bank raised a rate.</description></item>"
                "</channel></rss>"
            ).encode()
            routes[f"/f{f}.xml"] = lambda h, body=feed: send(h, 200, body)
        make_config(tmp_path, [srv.url(f"/f{f}.xml") for f in range(feeds)])
        p = tmp_path / "config.yaml"
        p.write_text(p.read_text() + "  full_text: true\n", encoding="utf-8")
        cfg = load_config(p)
        with open_store(cfg.state_path) as store:
            results = ingest(cfg, store).sources
            assert [r.new for r in results] == [1] * feeds
            stored = [store.get_item(r.items[0].id) for r in results]
        assert all(i is not None and "Paragraph 5: Quarry Bank" in i.text for i in stored)


def _stuck_unless_in(parent: int) -> str:
    """Hangs in the worker (as a lock copied held by the fork would), answers here."""
    if os.getpid() != parent:
        time.sleep(60)
    return "here"


@pytest.mark.slow  # a worker process
def test_a_worker_that_stops_answering_is_ended_and_the_call_runs_here() -> None:
    with Pool(wanted=True) as pool:
        worker = asyncio.run(pool.run(30, _pid))
        t0 = time.monotonic()
        assert asyncio.run(pool.run(0.5, _stuck_unless_in, os.getpid())) == "here"
        assert time.monotonic() - t0 < 5
        assert not pool.working  # later calls run here
        deadline = time.monotonic() + 5
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker)


@pytest.mark.slow  # a worker process
def test_no_fork_outside_the_main_thread() -> None:
    # the scheduler runs builds in its worker threads: a fork there copies their locks, held
    seen: list[tuple[bool, bool]] = []

    def build() -> None:
        with Pool(wanted=True) as pool:
            seen.append((pool.working, asyncio.run(pool.run(30, _pid)) == os.getpid()))

    job = threading.Thread(target=build)
    job.start()
    job.join(20)
    assert seen == [(False, True)]


@pytest.mark.slow  # a worker process
def test_new_feed_files_read_in_the_worker_give_what_reading_them_here_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.ingest as ingest_module

    with Pool(wanted=True) as pool:
        assert pool.working  # this machine can fork one: the pool run below uses it
    padding = "<p>" + "Harbour trade grew in the quarter. " * 40 + "</p>"
    names = [f"wire{f}.xml" for f in range(12)]
    results, rows, shown = {}, {}, {}
    for label, least in (("pool", 0), ("here", 1 << 40)):
        monkeypatch.setattr(ingest_module, "_FILE_POOL_MIN", least)
        folder = tmp_path / label
        folder.mkdir()
        for f, name in enumerate(names):
            entries = "".join(
                f"<item><title>Wire {f} story {i}</title><guid>w{f}-{i}</guid>"
                f"<link>https://w{f}.example/{i}</link><description>{escape(padding)}"
                f"</description></item>"
                for i in range(30)
            )
            (folder / name).write_text(
                f'<rss version="2.0"><channel><title>Wire {f}</title>{entries}{SHARED}'
                "</channel></rss>",
                encoding="utf-8",
            )
        (folder / names[3]).write_text("<html><body>Moved.</body></html>", encoding="utf-8")
        (folder / names[5]).unlink()  # missing
        cfg = make_config(folder, [str(folder / n) for n in names])
        with open_store(cfg.state_path) as store:
            got = ingest(cfg, store).sources
        # the same but for the folder each was read from
        results[label] = [_same(r) for r in got]
        rows[label] = repr(_rows(cfg.state_path)).replace(str(folder), "FOLDER")
        shown[label] = repr(results[label]).replace(str(folder), "FOLDER")
    assert [r[1] for r in results["pool"]] == ["ok"] * 3 + ["error"] + ["ok"] + ["error"] + [
        "ok"
    ] * 6
    assert shown["pool"] == shown["here"]
    assert rows["pool"] == rows["here"]
    # the entry every file lists is stored once, and known in all but the first to store it
    assert sorted(r[5] for r in results["pool"] if r[1] == "ok") == [0] + [1] * 9
