"""HTTP handlers of the preview: requests in, pages, the email, JSON and redirects out.

Routes::

    GET  /[?page=<n>]                        index of issues, newest first, by pages
    GET  /issue/<date>                       one issue (frames, findings, stories, text)
    GET  /issue/<date>/email.html[?view=dark] the rendered email (for the frames)
    GET  /api/version[?date=<date>|?page=<n>] {"version": ...}: pages poll it to live-reload
    GET  /static/preview.{js,css}
    POST /issue/<date>/approve               token and draft fingerprint in the form
    POST /issue/<date>/story/<id>/<drop|up|down|regenerate>

Every request must carry our own ``Host`` (else 421); every POST the session
token and, when the browser sends one, our own ``Origin`` (else 403).
"""

from __future__ import annotations

import io
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Mapping
from datetime import date
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from ..desk import Verb
from ._pages import email_page, index_page, issue_page
from ._security import (
    EMAIL_HEADERS,
    PAGE_HEADERS,
    allowed_hosts,
    host_allowed,
    new_token,
    origin_allowed,
    token_ok,
)
from ._state import PreviewState
from ._watch import Watcher

__all__ = ["PreviewServer"]

_STATIC = Path(__file__).resolve().parent / "static"
_STATIC_TYPES = {
    "preview.js": "text/javascript; charset=utf-8",
    "preview.css": "text/css; charset=utf-8",
}
_ISSUE = re.compile(r"^/issue/(\d{4}-\d{2}-\d{2})(/email\.html)?/?$")
_ACTION = re.compile(
    r"^/issue/(\d{4}-\d{2}-\d{2})/(?:(approve)|story/([\w-]+)/(drop|up|down|regenerate))$"
)
_MAX_FORM = 64 * 1024
_WRITE_TIMEOUT = 30.0  # seconds a client may take to take a page


class _Flash:
    """The outcome of the last action per edition, shown on its page for a few seconds
    (not popped: the page may be loaded twice, by the redirect and by live reload)."""

    _SECONDS = 8.0

    def __init__(self) -> None:
        self._messages: dict[date, tuple[float, str]] = {}

    def put(self, edition: date, message: str) -> None:
        self._messages[edition] = (time.monotonic() + self._SECONDS, message)

    def get(self, edition: date) -> str:
        until, message = self._messages.get(edition, (0.0, ""))
        return message if time.monotonic() < until else ""


class PreviewServer(ThreadingHTTPServer):
    """The preview: a threaded HTTP server with its live state, token and file watcher.

    ``start()`` serves in a background thread (for tests); ``serve_forever()``
    serves in the caller's thread. ``close()`` stops both and the watcher.

    Under load it stays bounded: a listen backlog for bursts of connections, at most
    ``max_threads`` connections served at once (the others wait in the backlog), and a
    connection that takes over ``request_timeout`` seconds to send a request, or sits
    idle that long between requests, is closed (slowloris).
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the listen backlog; 5 made bursts of 50 wait seconds
    max_threads = 32
    request_timeout = 10.0

    def __init__(self, state: PreviewState, host: str, port: int, *, watch: bool = True) -> None:
        self._slots = threading.BoundedSemaphore(self.max_threads)
        self._closing = False
        super().__init__((host, port), _Handler)
        self.state = state
        self.token = new_token()
        self.host = host
        self.port = int(self.server_address[1])
        self.allowed = allowed_hosts(host, self.port)
        self.flash = _Flash()
        self._thread: threading.Thread | None = None
        config = state.config
        config.outbox_path.mkdir(parents=True, exist_ok=True)
        self.watcher = (
            Watcher(
                outbox=config.outbox_path.resolve(),
                templates=config.templates_path.resolve(),
                config_file=state.config_file,
                on_change=state.changed,
            )
            if watch
            else None
        )

    @property
    def url(self) -> str:
        """The address to open in a browser."""
        name = "127.0.0.1" if self.host in ("0.0.0.0", "", "127.0.0.1") else self.host
        return f"http://{name}:{self.port}/"

    def start(self) -> PreviewServer:
        """Serve and watch in background threads; return self."""
        if self.watcher:
            self.watcher.start()
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name="preview-http",
        )
        self._thread.start()
        return self

    def process_request(self, request: Any, client_address: Any) -> None:
        # wait for a free handler thread; the kernel queues new connections meanwhile
        while not self._slots.acquire(timeout=0.2):
            if self._closing:
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def close(self) -> None:
        """Stop serving and watching, and release the port."""
        self._closing = True
        if self.watcher:
            self.watcher.stop()
        if self._thread:
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()

    def __enter__(self) -> PreviewServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _DeadlineReader(io.RawIOBase):
    """The socket as read by a handler, with one deadline for a whole request: a
    per-read timeout alone lets a client send one byte every few seconds forever."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.deadline = 0.0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request was not received in time")
        self.sock.settimeout(left)
        try:
            return self.sock.recv_into(buffer)
        finally:
            self.sock.settimeout(_WRITE_TIMEOUT)


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"
    server_version = "newsletter-preview"
    sys_version = ""
    timeout = _WRITE_TIMEOUT

    def setup(self) -> None:
        super().setup()
        self._reader = _DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        # the wait for the request line counts too: an idle keep-alive connection ends
        self._reader.deadline = time.monotonic() + self.server.request_timeout
        super().handle_one_request()

    def log_message(self, format: str, *args: Any) -> None:
        # quiet by default: only server errors go to stderr
        if len(args) > 1 and str(args[1]).startswith("5"):
            sys.stderr.write("preview: " + (format % args) + "\n")

    # -- responses ----------------------------------------------------------
    def _send(
        self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] = PAGE_HEADERS
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status >= 400:
            # a refused request may leave an unread body behind: never reuse the connection
            self.send_header("Connection", "close")
            self.close_connection = True
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _text(self, status: int, message: str) -> None:
        self._send(status, (message + "\n").encode("utf-8"), "text/plain; charset=utf-8")

    def _html(self, page: str, headers: Mapping[str, str] = PAGE_HEADERS) -> None:
        self._send(200, page.encode("utf-8"), "text/html; charset=utf-8", headers)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        for k, v in PAGE_HEADERS.items():
            self.send_header(k, v)
        self.end_headers()

    def _guard(self) -> bool:
        """Refuse a foreign Host (DNS rebinding); True when the request may go on."""
        if host_allowed(self.headers.get("Host"), self.server.allowed):
            return True
        self._text(
            HTTPStatus.MISDIRECTED_REQUEST,
            "421 Misdirected Request: this preview answers only to "
            + " or ".join(sorted(self.server.allowed)),
        )
        return False

    # -- GET ------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if not self._guard():
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        state = self.server.state
        try:
            page = _page(query.get("page", ["1"])[0])
            if url.path in ("/", "/api/version") and page is None:
                self._text(404, "no such page of the index")
            elif url.path == "/":
                self._html(index_page(state, page=page or 1))
            elif url.path == "/api/version":
                edition = _date(query.get("date", [""])[0])
                body = json.dumps({"version": state.version(edition, page=page or 1)})
                self._send(200, body.encode("utf-8"), "application/json")
            elif url.path.startswith("/static/") and url.path[8:] in _STATIC_TYPES:
                name = url.path[8:]
                self._send(200, (_STATIC / name).read_bytes(), _STATIC_TYPES[name])
            elif (m := _ISSUE.match(url.path)) and (edition := _date(m.group(1))):
                if m.group(2):
                    dark = query.get("view", [""])[0] == "dark"
                    self._html(email_page(state, edition, dark=dark), EMAIL_HEADERS)
                elif not state.has_draft(edition):
                    self._text(404, f"no draft for {edition.isoformat()} in the outbox")
                else:
                    flash = self.server.flash.get(edition)
                    self._html(issue_page(state, edition, token=self.server.token, flash=flash))
            else:
                self._text(404, "not found")
        except Exception as exc:  # a page must fail alone, never the server
            self._text(500, f"preview error: {type(exc).__name__}: {exc}")

    # -- POST -----------------------------------------------------------------
    def do_POST(self) -> None:
        if not self._guard():
            return
        if not origin_allowed(
            self.headers.get("Origin"), self.headers.get("Sec-Fetch-Site"), self.server.allowed
        ):
            self._text(HTTPStatus.FORBIDDEN, "403 Forbidden: cross-site request refused")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_FORM:
            self._text(HTTPStatus.BAD_REQUEST, "400 Bad Request: form too large or unreadable")
            return
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        sent = form.get("token", [self.headers.get("X-Preview-Token", "")])[0]
        if not token_ok(sent, self.server.token):
            self._text(
                HTTPStatus.FORBIDDEN,
                "403 Forbidden: missing or wrong session token; reload the page",
            )
            return
        m = _ACTION.match(urlsplit(self.path).path)
        edition = _date(m.group(1)) if m else None
        if m is None or edition is None:
            self._text(404, "not found")
            return
        expect = form.get("sha", [None])[0] or None
        story = m.group(3) or ""
        verb = cast(Verb, m.group(4) or "approve")  # the route admits the desk's verbs only
        message = self.server.state.act(edition, verb, story, expect_sha=expect)
        self.server.flash.put(edition, message)
        anchor = f"#story-{story}" if story and verb in ("up", "down") else ""
        self._redirect(f"/issue/{edition.isoformat()}{anchor}")


def _page(value: str) -> int | None:
    """An index page's number (1 up) from the query, None when it is not one."""
    return int(value) if re.fullmatch(r"[1-9][0-9]{0,5}", value) else None


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
