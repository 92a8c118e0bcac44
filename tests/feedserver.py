"""A real HTTP server on 127.0.0.1 for the fetch and ingest tests.

Routes are plain functions taking the request handler; the server records every
request (path and headers) and counts the connections it accepts, so tests can check
what the client sent and that it reused its connections.
"""

from __future__ import annotations

import functools
import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from loopback import start, stop

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"

Route = Callable[[BaseHTTPRequestHandler], None]


class _QuietServer(ThreadingHTTPServer):
    accepted = 0  # TCP connections accepted: the fetch tests check they are reused

    def get_request(self) -> tuple[socket.socket, object]:
        request = super().get_request()
        self.accepted += 1  # one accepting thread: no lock needed
        return request

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up mid-body are the point of these tests


class FeedServer:
    """Serves ``routes`` (path -> handler function) until closed."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with server.lock:
                    server.requests.append((self.path, dict(self.headers.items())))
                route = server.routes.get(self.path.split("?")[0])
                try:
                    if route is None:
                        send(self, 404, b"not here", "text/plain")
                    else:
                        route(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        start(self.httpd)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def connections(self) -> int:
        """TCP connections accepted so far."""
        return self.httpd.accepted

    def hits(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [h for p, h in self.requests if p == path]

    def close(self) -> None:
        stop(self.httpd)


@contextmanager
def serve(routes: dict[str, Route]) -> Iterator[FeedServer]:
    server = FeedServer(routes)
    try:
        yield server
    finally:
        server.close()


def send(
    h: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    ctype: str = "application/rss+xml",
    headers: dict[str, str] | None = None,
) -> None:
    h.send_response(status)
    if ctype:
        h.send_header("Content-Type", ctype)
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def feed_route(body: bytes, etag: str = '"v1"', ctype: str = "application/rss+xml") -> Route:
    """200 with validators, 304 when the client sends them back."""
    modified = "Sat, 28 Nov 2026 08:00:00 GMT"

    def route(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == etag:
            send(h, 304, b"", "", {"ETag": etag})
            return
        send(h, 200, body, ctype, {"ETag": etag, "Last-Modified": modified})

    return route


def redirect(to: str, status: int = 302) -> Route:
    return lambda h: send(h, status, b"", "", {"Location": to})


def status(code: int, headers: dict[str, str] | None = None) -> Route:
    return lambda h: send(h, code, b"error page", "text/plain", headers)


def flaky(fail_times: int, code: int, retry_after: str, then: Route) -> Route:
    """Fail ``fail_times`` with ``code`` and Retry-After, then behave as ``then``."""
    count = [0]

    def route(h: BaseHTTPRequestHandler) -> None:
        count[0] += 1
        if count[0] <= fail_times:
            send(h, code, b"busy", "text/plain", {"Retry-After": retry_after})
        else:
            then(h)

    return route


def drip(h: BaseHTTPRequestHandler) -> None:
    """Headers at once, then one byte a second for a long time."""
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Length", "100000")
    h.end_headers()
    for _ in range(100):
        h.wfile.write(b" ")
        h.wfile.flush()
        time.sleep(1)


def slow(seconds: float, then: Route) -> Route:
    """Think for ``seconds``, then answer as ``then``."""

    def route(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        then(h)

    return route


def stall_headers(h: BaseHTTPRequestHandler) -> None:
    """Accept the connection, then say nothing for a long time."""
    time.sleep(30)


def huge(declared: bool) -> Route:
    """A 1 GB body generated on the fly (never stored), with or without Content-Length."""

    def route(h: BaseHTTPRequestHandler) -> None:
        size = 1 << 30
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        if declared:
            h.send_header("Content-Length", str(size))
        else:
            h.send_header("Connection", "close")
        h.end_headers()
        block = b"<!-- padding -->" * 4096
        sent = 0
        while sent < size:
            h.wfile.write(block)
            sent += len(block)
        h.close_connection = True

    return route


@functools.lru_cache(maxsize=2)
def _bomb(expanded: int) -> bytes:
    return gzip.compress(b"\0" * expanded, compresslevel=6)


def gzip_bomb(expanded: int = 64 * 1024 * 1024) -> Route:
    """A small gzip body (about 64 KB) that expands to ``expanded`` bytes of zeros."""
    body = _bomb(expanded)

    def route(h: BaseHTTPRequestHandler) -> None:
        send(h, 200, body, "application/rss+xml", {"Content-Encoding": "gzip"})

    return route


def gzipped(body: bytes) -> Route:
    data = gzip.compress(body)
    return lambda h: send(h, 200, data, "application/rss+xml", {"Content-Encoding": "gzip"})


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
