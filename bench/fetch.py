"""Fetch speed: N feeds on 127.0.0.1, each answer delayed 100 ms.

Usage: .venv/bin/python bench/fetch.py [--feeds 200] [--latency 0.1]

A server process on 127.0.0.1 serves N distinct RSS feeds (20 items each),
waiting ``latency`` seconds before every answer and honouring If-None-Match,
and counts the TCP connections it accepts. It is a bare asyncio protocol with its
answers made up front, so it takes little of the cores the client runs on (a real
feed server's CPU is not the client's). Run 1 ingests all of them into a
fresh state store (fetch, parse, store, feed health); run 2 repeats with the
stored ETags, so every feed answers 304. The latency floor is
ceil(N / 200) x latency (200 requests in flight at once). Targets for 2,000
feeds: run 1 under 2 s, run 2 under 1 s, and run 2 opening no more connections
than run 1 left open (a 304's connection is reused). The client config raises the
connection bounds (concurrency 200, per_host 200) since every feed shares one
host here; with the defaults (16 / 4 per host) one host is rate limited on
purpose. Prints a table (wall and CPU seconds, the reading worker's CPU seconds, new
connections, store commits), then one JSON object of the figures as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import multiprocessing.sharedctypes
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import Config  # noqa: E402
from pipeline.ingest import ingest  # noqa: E402
from pipeline.store import open_store  # noqa: E402


def feed_xml(n: int) -> bytes:
    """Feed ``n``: 20 items of its own."""
    items = "".join(
        f"<item><title>Feed {n} story {i}: Harbour Freight adds route {i}</title>"
        f"<link>https://feed{n}.example/story/{i}</link><guid>feed{n}-{i}</guid>"
        f"<pubDate>Fri, 27 Nov 2026 {i % 24:02d}:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;Story {i} of feed {n}: the company said the new route "
        f"starts in spring and adds {i * 10} jobs.&lt;/p&gt;</description></item>"
        for i in range(20)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {n}</title><link>https://feed{n}.example/</link>{items}</channel></rss>"
    ).encode()


class FeedServer:
    """Feeds ``/0.xml`` to ``/<N-1>.xml`` on 127.0.0.1, each answer ``latency`` seconds late
    (304 for its ETag), served by a process of its own; counts what it was asked."""

    def __init__(self, feeds: int, latency: float) -> None:
        self.counts = multiprocessing.Array("i", 3)  # connections, requests, 304 answers
        port_q: multiprocessing.Queue[int] = multiprocessing.Queue()
        self.proc = multiprocessing.Process(
            target=_serve, args=(port_q, feeds, latency, self.counts), daemon=True
        )
        self.proc.start()
        self.base = f"http://127.0.0.1:{port_q.get(timeout=10)}"

    @property
    def accepted(self) -> int:
        """TCP connections accepted so far."""
        return int(self.counts[0])

    @property
    def requests(self) -> int:
        return int(self.counts[1])

    @property
    def not_modified(self) -> int:
        return int(self.counts[2])

    def close(self) -> None:
        self.proc.terminate()
        self.proc.join(5)


def _count(counts: multiprocessing.sharedctypes.SynchronizedArray[int], which: int) -> None:
    with counts.get_lock():
        counts[which] += 1


def _serve(
    port_q: multiprocessing.Queue[int],
    feeds: int,
    latency: float,
    counts: multiprocessing.sharedctypes.SynchronizedArray[int],
) -> None:
    """The server's loop: a bare protocol (no stream reader, answers made up front), so it
    takes as little as it can of the cores the client runs on (a real feed server's CPU
    is not the client's)."""
    oks = [
        b'HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: "f%d"\r\n'
        b"Content-Length: %d\r\n\r\n" % (n, len(body)) + body
        for n, body in enumerate(feed_xml(n) for n in range(feeds))
    ]
    loop = asyncio.new_event_loop()

    class Feed(asyncio.Protocol):
        """One connection: each request answered ``latency`` seconds after it is read
        (one at a time, as HTTP/1.1 without pipelining asks), 304 for its feed's ETag."""

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            _count(counts, 0)  # one protocol per accepted TCP connection
            assert isinstance(transport, asyncio.Transport)
            self.transport = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while b"\r\n\r\n" in self.buffer:
                head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
                _count(counts, 1)
                n = int(head.split(b" ", 2)[1].strip(b"/").split(b".")[0])
                etag = b'if-none-match: "f%d"' % n
                fresh = etag in head.lower()
                loop.call_later(latency, self.answer, n, fresh)

        def answer(self, n: int, fresh: bool) -> None:
            if self.transport.is_closing():
                return
            if fresh:
                _count(counts, 2)
                self.transport.write(
                    b'HTTP/1.1 304 Not Modified\r\nETag: "f%d"\r\nContent-Length: 0\r\n\r\n' % n
                )
            else:
                self.transport.write(oks[n])

    server = loop.run_until_complete(loop.create_server(Feed, "127.0.0.1", 0, backlog=1024))
    port_q.put(server.sockets[0].getsockname()[1])
    loop.run_forever()


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended (and been waited for)."""
    t = os.times()
    return t.children_user + t.children_system


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.1)
    args = ap.parse_args()
    server = FeedServer(args.feeds, args.latency)
    try:
        urls = [f"{server.base}/{n}.xml" for n in range(args.feeds)]
        with tempfile.TemporaryDirectory() as tmp:
            config = Config.model_validate(
                {
                    "newsletter": {
                        "name": "Bench",
                        "sender": {"name": "B", "email": "b@example.com"},
                        "signup_url": "https://example.com/s",
                        "unsubscribe_url": "https://example.com/u",
                        "postal_address": "1 Main St",
                    },
                    "fetch": {"concurrency": 200, "per_host": 200, "timeout": 10},
                    # the server is on 127.0.0.1, which feeds may reach only when allowed
                    "sources": {"feeds": [{"url": u, "allow_internal": True} for u in urls]},
                    "root": tmp,
                }
            )
            runs = []
            with open_store(Path(tmp) / "state.sqlite3") as store:
                for label in ("first (200)", "second (304)"):
                    before, commits = server.accepted, store.commits
                    c0, t0, k0 = time.process_time(), time.perf_counter(), _children_cpu()
                    # counts only, as every command asks (builds, the CLI, workers)
                    result = ingest(config, store, sources=urls, items=False)
                    elapsed = time.perf_counter() - t0
                    cpu = time.process_time() - c0
                    # ingest's reading worker, reaped when the run ends (the server runs on)
                    worker = _children_cpu() - k0
                    statuses: dict[str, int] = {}
                    for s in result.sources:
                        statuses[s.status] = statuses.get(s.status, 0) + 1
                    conns, commits = server.accepted - before, store.commits - commits
                    runs.append((label, elapsed, cpu, worker, conns, commits, statuses, result.new))
    finally:
        server.close()
    print(
        f"{args.feeds} feeds on 127.0.0.1, {args.latency * 1000:.0f} ms latency each,"
        " concurrency 200, per_host 200"
    )
    print(
        f"{'run':14} {'seconds':>8} {'cpu s':>7} {'worker s':>9} {'conns':>6} {'commits':>8}"
        f" {'new items':>10}  statuses"
    )
    for label, elapsed, cpu, worker, conns, commits, statuses, new in runs:
        print(
            f"{label:14} {elapsed:8.3f} {cpu:7.3f} {worker:9.3f} {conns:6d} {commits:8d}"
            f" {new:10d}  {statuses}"
        )
    (_, first, cpu1, w1, conns1, tx1, st1, new1), (_, second, cpu2, w2, conns2, tx2, st2, _) = runs
    figures = {
        "feeds": args.feeds,
        "latency_ms": round(args.latency * 1000),
        "latency_floor_s": round(-(-args.feeds // 200) * args.latency, 3),
        "first_run_s": round(first, 3),
        "first_run_cpu_s": round(cpu1, 3),
        "first_run_worker_cpu_s": round(w1, 3),
        "first_run_connections": conns1,
        "first_run_commits": tx1,
        "first_run_ok": st1.get("ok", 0),
        "first_run_new_items": new1,
        "second_run_s": round(second, 3),
        "second_run_cpu_s": round(cpu2, 3),
        "second_run_worker_cpu_s": round(w2, 3),
        "second_run_connections": conns2,
        "second_run_commits": tx2,
        "second_run_not_modified": st2.get("not-modified", 0),
        "first_under_2s": first < 2.0,
        "second_under_1s": second < 1.0,
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
