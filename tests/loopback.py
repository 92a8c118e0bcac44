"""Loopback HTTP servers run from a thread: the tests' stand-ins for outside services, and the
static file server the browser tests load pages from.

In: a ``ThreadingHTTPServer`` bound to 127.0.0.1, or a folder. Out: the server answering from
a daemon thread (``start``) until ``stop``; ``running`` does both around a block and yields the
base URL; ``serving(folder)`` serves a folder's files that way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# stopping a server waits up to one poll, and most tests stop one: poll often
POLL_SECONDS = 0.01


def start(httpd: ThreadingHTTPServer) -> None:
    """Answer requests from a daemon thread; a request still running never blocks ``stop``."""
    httpd.daemon_threads = True
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True
    )
    thread.start()


def stop(httpd: ThreadingHTTPServer) -> None:
    httpd.shutdown()
    httpd.server_close()


@contextmanager
def running(httpd: ThreadingHTTPServer) -> Iterator[str]:
    """The server answering for the length of the block; yields ``http://127.0.0.1:PORT``."""
    start(httpd)
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        stop(httpd)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on a free port of 127.0.0.1 as a static host does (a folder's address
    without its slash is redirected to it); yield its base URL (no slash)."""
    handler = partial(_Quiet, directory=str(folder))
    with running(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as url:
        yield url
