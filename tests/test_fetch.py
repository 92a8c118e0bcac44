"""Fetching: every hostile server ends within its time bound with a precise error.

A real HTTP server on 127.0.0.1 serves each case; timeouts are made small
through the config so the whole file runs in a few seconds.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from feedserver import (
    FeedServer,
    drip,
    feed_route,
    fixture,
    flaky,
    gzip_bomb,
    gzipped,
    huge,
    redirect,
    send,
    serve,
    slow,
    stall_headers,
    status,
)
from loopback import start, stop

from pipeline.config import Fetch
from pipeline.errors import FetchError
from pipeline.ingest._fetch import (
    FetchRequest,
    FetchResponse,
    GoneError,
    fetch_all,
    fetch_sync,
)

CFG = Fetch(
    timeout=2.0,
    connect_timeout=1.0,
    read_timeout=0.8,
    retries=2,
    retry_backoff=0.05,
    retry_after_max=1.5,
    max_bytes=1024 * 1024,
    user_agent="ledger-test/1.0 (+https://x.example)",
)
RSS = fixture("own/desk.rss")


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    routes = {
        "/ok.xml": feed_route(RSS),
        "/gz.xml": gzipped(RSS),
        "/r1": redirect("/r2"),
        "/r2": redirect("/r3", 307),
        "/r3": redirect("/ok.xml"),
        "/moved": redirect("/ok.xml", 301),
        "/moved2": redirect("/moved", 308),
        "/loop-a": redirect("/loop-b"),
        "/loop-b": redirect("/loop-a"),
        "/missing": status(404),
        "/gone": status(410),
        "/busy-then-ok": flaky(1, 429, "1", feed_route(RSS)),
        "/down-then-ok": flaky(2, 503, "0", feed_route(RSS)),
        "/always-503": status(503),
        "/busy-long": status(429, {"Retry-After": "3600"}),
        "/drip": drip,
        "/stall": stall_headers,
        "/huge": huge(declared=True),
        "/huge-stream": huge(declared=False),
        "/bomb": gzip_bomb(),
        "/slow-ok": slow(0.5, feed_route(RSS)),
        # a CDN's Content-Security-Policy can run past 8 KB
        "/long-header": lambda h: send(h, 200, RSS, headers={"X-Policy": "a" * 12_000}),
    }
    for i in range(7):
        routes[f"/hop{i}"] = redirect(f"/hop{i + 1}")
    routes["/hop7"] = feed_route(RSS)
    with serve(routes) as s:
        yield s


def local(url: str, **kw: str) -> FetchRequest:
    """The test server is on 127.0.0.1: each request allows its own origin, as a feed
    entry with ``allow_internal: true`` does (fetches refuse internal addresses otherwise)."""
    return FetchRequest(url, allow_internal=url, **kw)


def fetch_one(url: str, cfg: Fetch = CFG, **kw: str) -> FetchResponse:
    [res] = fetch_sync([local(url, **kw)], cfg)
    if isinstance(res, FetchError):
        raise res
    return res


def timed_error(url: str, bound: float, cfg: Fetch = CFG) -> tuple[FetchError, float]:
    t0 = time.perf_counter()
    [res] = fetch_sync([local(url)], cfg)
    elapsed = time.perf_counter() - t0
    assert isinstance(res, FetchError), f"{url} should fail"
    assert elapsed < bound, f"{url} took {elapsed:.2f}s"
    assert str(res).startswith(url + ": ")
    return res, elapsed


def test_200_sends_user_agent_and_returns_validators(server: FeedServer) -> None:
    res = fetch_one(server.url("/ok.xml"))
    assert res.status == 200 and res.body == RSS
    assert res.etag == '"v1"' and res.last_modified.endswith("GMT")
    sent = server.hits("/ok.xml")[-1]
    assert sent["User-Agent"] == CFG.user_agent
    assert "gzip" in sent["Accept-Encoding"]


def test_a_header_of_12_kb_is_read(server: FeedServer) -> None:
    res = fetch_one(server.url("/long-header"))
    assert res.status == 200 and res.body == RSS


def test_conditional_get_gives_304_with_no_body(server: FeedServer) -> None:
    res = fetch_one(server.url("/ok.xml"), etag='"v1"', last_modified="x")
    assert res.status == 304 and res.body == b""
    sent = server.hits("/ok.xml")[-1]
    assert sent["If-None-Match"] == '"v1"' and sent["If-Modified-Since"] == "x"


def test_connections_are_reused_after_a_304_a_redirect_and_an_error(server: FeedServer) -> None:
    # one connection slot: each request waits for the one before it, whose connection
    # must then be back in the pool, its response read to the end
    cfg = CFG.model_copy(update={"concurrency": 1, "per_host": 1, "retries": 0})
    before = server.connections
    not_modified = [local(server.url("/ok.xml") + f"?n={i}", etag='"v1"') for i in range(4)]
    others = [local(server.url(p)) for p in ("/r1", "/missing?reuse", "/ok.xml")]
    out = fetch_sync(not_modified + others, cfg)
    assert [getattr(r, "status", "error") for r in out] == [304] * 4 + [200, "error", 200]
    assert server.connections - before == 1


def test_gzip_body_is_decoded(server: FeedServer) -> None:
    assert fetch_one(server.url("/gz.xml")).body == RSS


def test_redirect_chain_is_followed_but_not_remembered_when_temporary(server: FeedServer) -> None:
    res = fetch_one(server.url("/r1"))
    assert res.final_url == server.url("/ok.xml") and res.moved_to == ""


def test_permanent_redirects_report_the_new_url(server: FeedServer) -> None:
    assert fetch_one(server.url("/moved2")).moved_to == server.url("/ok.xml")


def test_redirect_loop_is_named(server: FeedServer) -> None:
    err, _ = timed_error(server.url("/loop-a"), 1.0)
    assert "redirect loop" in str(err) and "/loop-b" in str(err)


def test_more_than_five_redirects_fail(server: FeedServer) -> None:
    err, _ = timed_error(server.url("/hop0"), 1.0)
    assert "more than 5 redirects" in str(err)
    assert fetch_one(server.url("/hop2")).status == 200  # exactly five hops is fine


def test_404_and_410(server: FeedServer) -> None:
    err, _ = timed_error(server.url("/missing"), 1.0)
    assert "HTTP 404" in str(err)
    err, _ = timed_error(server.url("/gone"), 1.0)
    assert isinstance(err, GoneError) and "410" in str(err)
    assert len(server.hits("/missing")) == 1  # no retry on a plain 4xx


@pytest.mark.slow
def test_429_honours_retry_after_then_succeeds(server: FeedServer) -> None:
    t0 = time.perf_counter()
    res = fetch_one(server.url("/busy-then-ok"))
    assert res.status == 200 and res.attempts == 2
    assert 0.9 < time.perf_counter() - t0 < 1.9  # waited the 1 s Retry-After


def test_503_is_retried_with_backoff(server: FeedServer) -> None:
    assert fetch_one(server.url("/down-then-ok")).attempts == 3
    err, _ = timed_error(server.url("/always-503"), 1.5)
    assert "HTTP 503" in str(err) and "after 3 attempts" in str(err)


def test_retry_after_over_the_cap_fails_at_once(server: FeedServer) -> None:
    err, _ = timed_error(server.url("/busy-long"), 0.5)
    assert "Retry-After 3600 s is over the 1.5 s cap" in str(err)


@pytest.mark.slow
def test_drip_server_hits_the_total_timeout(server: FeedServer) -> None:
    err, _ = timed_error(server.url("/drip"), CFG.timeout + 0.7)
    assert "2 s total timeout" in str(err)


@pytest.mark.slow
def test_silent_server_hits_the_read_timeout(server: FeedServer) -> None:
    cfg = CFG.model_copy(update={"retries": 0})
    err, _ = timed_error(server.url("/stall"), 1.5, cfg)
    assert "read timeout" in str(err)


def test_declared_huge_body_is_refused_before_reading(server: FeedServer) -> None:
    err, _ = timed_error(server.url("/huge"), 1.0)
    assert "1073741824 bytes declared, over the 1 MB cap" in str(err)


def test_undeclared_huge_body_is_cut_while_streaming(server: FeedServer) -> None:
    err, _ = timed_error(server.url("/huge-stream"), 1.5)
    assert "body exceeds the 1 MB cap" in str(err)


def test_gzip_bomb_is_stopped(server: FeedServer) -> None:
    err, _ = timed_error(server.url("/bomb"), 1.5)
    assert "decompression bomb" in str(err)
    roomy = CFG.model_copy(update={"max_compression_ratio": 100_000})
    err, _ = timed_error(server.url("/bomb"), 1.5, roomy)
    assert "decompressed body exceeds the 1 MB cap" in str(err)


def test_unreachable_host_is_an_error_not_a_hang() -> None:
    err, _ = timed_error("http://127.0.0.1:9/feed.xml", 2.5)
    assert "cannot connect" in str(err)


def test_concurrent_fetches_respect_per_host_bound(server: FeedServer) -> None:
    cfg = CFG.model_copy(update={"per_host": 2, "concurrency": 8})
    urls = [server.url("/ok.xml") + f"?n={i}" for i in range(6)]
    t0 = time.perf_counter()
    out = fetch_sync([local(u) for u in urls], cfg)
    assert all(isinstance(r, FetchResponse) and r.status == 200 for r in out)
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.slow
def test_waiting_for_a_host_slot_does_not_count_against_the_timeout(server: FeedServer) -> None:
    # per_host 1: three 0.5 s answers from one host take 1.5 s in a row, more than the
    # 1.2 s timeout, yet each fetch itself is quick
    cfg = CFG.model_copy(update={"per_host": 1, "timeout": 1.2, "retries": 0})
    urls = [server.url("/slow-ok") + f"?n={i}" for i in range(3)]
    t0 = time.perf_counter()
    out = fetch_sync([local(u) for u in urls], cfg)
    assert [getattr(r, "status", str(r)) for r in out] == [200, 200, 200]
    assert time.perf_counter() - t0 >= 1.4  # they really were serialized


def test_memory_stays_bounded_on_huge_bodies_and_bombs(server: FeedServer) -> None:
    import tracemalloc

    tracemalloc.start()
    try:
        out = fetch_sync([local(server.url(p)) for p in ("/huge-stream", "/bomb", "/huge")], CFG)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert all(isinstance(r, FetchError) for r in out)
    assert peak < 8 * CFG.max_bytes  # a few caps' worth, not 1 GB or 64 MB


def test_an_https_feed_with_a_certificate_no_one_signed_fails_clearly(
    certificate: tuple[Path, Path],
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    start(httpd)
    try:
        url = f"https://127.0.0.1:{httpd.server_address[1]}/feed.xml"
        err, _ = timed_error(url, 2.5)
        assert "certificate verify failed" in str(err)
    finally:
        stop(httpd)


def test_no_more_requests_than_the_concurrency_are_in_flight_and_answers_keep_their_order() -> None:
    lock, now, most = threading.Lock(), [0], [0]

    def tracked(h: BaseHTTPRequestHandler) -> None:
        with lock:
            now[0] += 1
            most[0] = max(most[0], now[0])
        time.sleep(0.05)
        with lock:
            now[0] -= 1
        send(h, 200, RSS, "application/rss+xml")

    with serve({"/t": tracked}) as srv:
        urls = [srv.url("/t") + f"?n={i}" for i in range(24)]
        cfg = CFG.model_copy(update={"concurrency": 5, "per_host": 5})
        out = fetch_sync([local(u) for u in urls], cfg)
    assert [r.url for r in out] == urls
    assert all(isinstance(r, FetchResponse) and r.status == 200 for r in out)
    assert most[0] == 5


def test_a_failing_on_done_stops_the_run_and_requests_still_waiting_are_never_made(
    server: FeedServer,
) -> None:
    def boom(req: FetchRequest, res: FetchResponse | FetchError) -> None:
        raise RuntimeError("the store failed")

    cfg = CFG.model_copy(update={"concurrency": 2, "per_host": 2})
    urls = [server.url("/slow-ok") + f"?stop={i}" for i in range(10)]
    with pytest.raises(RuntimeError, match="the store failed"):
        asyncio.run(fetch_all([local(u) for u in urls], cfg, boom))
    made = sum(len(server.hits("/slow-ok?stop=" + str(i))) for i in range(10))
    assert 1 <= made <= 4
