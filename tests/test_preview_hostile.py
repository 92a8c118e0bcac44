"""The desk under hostile load, over real sockets on 127.0.0.1: a non-ASCII token,
bursts of connections, slowloris clients, and a build holding the lock."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from preview_site import DAY, draft_path, make_site, request, serving, version

from pipeline.config import Config
from pipeline.lock import build_lock
from pipeline.preview import PreviewServer
from pipeline.preview._state import PreviewState


def test_a_non_ascii_token_is_a_clean_403(tmp_path: Path) -> None:
    with serving(make_site(tmp_path)) as srv:
        path = f"/issue/{DAY}/approve"
        assert request(srv, "POST", path, body={"token": "é", "sha": "x"})[0] == 403
        headers = {"X-Preview-Token": "\u00e9\u00e9"}
        assert request(srv, "POST", path, body={"sha": "x"}, headers=headers)[0] == 403
        assert request(srv, "GET", "/")[0] == 200  # and it goes on serving


@pytest.mark.slow
def test_a_burst_of_connections_is_served_quickly(tmp_path: Path) -> None:
    with serving(make_site(tmp_path)) as srv:

        def one(_: int) -> tuple[int, float]:
            t0 = time.perf_counter()
            status = request(srv, "GET", f"/api/version?date={DAY}")[0]
            return status, time.perf_counter() - t0

        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(one, range(300)))
    assert [s for s, _ in results] == [200] * 300
    # a backlog of 5 dropped connections: the client retried after 1 s, 3 s, 7 s...
    assert max(t for _, t in results) < 3.0


class _Small(PreviewServer):
    max_threads = 4
    request_timeout = 0.6


@pytest.mark.slow
def test_slowloris_connections_are_cut_and_threads_stay_bounded(tmp_path: Path) -> None:
    config = make_site(tmp_path)
    before = threading.active_count()
    with _Small(PreviewState(config), "127.0.0.1", 0, watch=False).start() as srv:
        slow = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(12)]
        for s in slow:
            s.sendall(b"GET / HTTP/1.1\r\n")
        peak = 0
        closed: set[int] = set()
        end = time.monotonic() + 6
        while len(closed) < len(slow) and time.monotonic() < end:
            peak = max(peak, threading.active_count() - before)
            for n, s in enumerate(slow):  # one header byte at a time, never finishing
                if n in closed:
                    continue
                try:
                    s.sendall(b"X")
                    s.settimeout(0.01)
                    if s.recv(1024) == b"":
                        closed.add(n)
                except TimeoutError:
                    pass
                except OSError:
                    closed.add(n)
            time.sleep(0.1)
        assert closed == set(range(len(slow)))  # every one was cut, none got a page
        t0 = time.perf_counter()
        assert request(srv, "GET", "/")[0] == 200
        assert time.perf_counter() - t0 < 2.0
    for s in slow:
        s.close()
    assert peak <= _Small.max_threads + 1  # the serving thread itself, plus the handlers


@pytest.mark.slow
def test_the_version_poll_never_waits_for_a_build(tmp_path: Path) -> None:
    config: Config = make_site(tmp_path)
    with serving(config) as srv:
        old = version(srv)
        held, release = threading.Event(), threading.Event()

        def build() -> None:  # a build holding the newsletter's lock for a while
            with build_lock(config, wait=0):
                held.set()
                release.wait(20)

        builder = threading.Thread(target=build)
        builder.start()
        held.wait(5)
        try:
            path = draft_path(config)
            path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
            time.sleep(0.6)  # the watcher sees the save; its render waits for the lock
            t0 = time.perf_counter()
            assert version(srv) == old
            assert time.perf_counter() - t0 < 1.0  # 8.6 s before: it waited on the render
        finally:
            release.set()
            builder.join()
