"""The per-newsletter build lock: a config in, exclusive use of its state out.

Every run that writes an issue (``newsletter build``, the scheduler, the preview
server) holds one lock per newsletter. With a SQLite state it is an OS file lock
(``fcntl.flock``) on a file next to the state store; with a PostgreSQL state it is a
session advisory lock keyed by the newsletter's key, on a connection of its own, so
two machines never build the same newsletter at once. The kernel (or the database
server, when the holder's connection drops) releases it when the holder exits, even
on ``kill -9``, so a crash never leaves a stale lock behind. A second run waits a
bounded time and then raises :class:`LockedError` naming the holder: its pid (the
lock file's text: pid, start time, command, read only for that message) or, on
PostgreSQL, its application name (machine and pid) from ``pg_stat_activity``.

:func:`advisory` is the same for any named lock shared by all the processes using a
state store (the scheduler's leader lock): a config and a name in, whether it was
acquired out.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ._sql import PgLock, safe_url
from .config import Config
from .errors import LockedError, StoreError

__all__ = ["advisory", "build_lock", "file_lock", "lock_path"]

# Paths this thread already holds: a nested build_lock (the scheduler's job calling
# build_issue) must not wait on its own lock.
_held = threading.local()


def _held_here() -> set[object]:
    held: set[object] = getattr(_held, "paths", set())
    _held.paths = held
    return held


def lock_path(config: Config) -> Path:
    """The lock file of ``config``'s newsletter: the state store's name plus ``.lock``
    (``.<key>.lock`` for a newsletter of a deployment, so newsletters sharing one store
    build side by side, each alone)."""
    state = config.state_path
    own = "" if config.key == "default" else f".{config.key}"
    return state.with_name(f"{state.name}{own}.lock")


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    if not text:
        return "pid unknown"
    pid, _, rest = text.partition(" ")
    started, _, command = rest.partition(" ")
    return f"pid {pid}, started {started or '?'}" + (f", running {command}" if command else "")


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def file_lock(path: Path, *, wait: float, what: str) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` for the body, waiting at most ``wait`` seconds.

    ``what`` names the lock's purpose in the :class:`LockedError` message, which
    also names the file and the holder's pid. Re-entrant within one thread.
    """
    held = _held_here()
    if path in held:
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot open the lock file {path}: {exc.strerror or exc}") from None
    try:
        deadline = time.monotonic() + max(wait, 0.0)
        pause = 0.02
        while not _try_lock(fd):
            left = deadline - time.monotonic()
            if left <= 0:
                raise LockedError(
                    f"{what} holds the lock {path} ({_holder(path)});"
                    f" gave up after waiting {wait:g} s"
                )
            # poll with a growing pause: flock has no timed wait
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.25)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        command = " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {started} {command}\n".encode(), 0)
        held.add(path)
        try:
            yield
        finally:
            held.discard(path)
    finally:
        os.close(fd)  # closing the descriptor releases the flock


@contextmanager
def pg_lock(url: str, name: str, *, wait: float, what: str) -> Iterator[None]:
    """Hold the session advisory lock ``name`` on the PostgreSQL database at ``url`` for
    the body, polling ``pg_try_advisory_lock`` for at most ``wait`` seconds; then
    :class:`LockedError` naming ``what`` and the holder. Re-entrant within one thread."""
    import psycopg

    held = _held_here()
    token = ("pg", url, name)
    if token in held:
        yield
        return
    where = safe_url(url)
    try:
        lock = PgLock(url, name)
    except psycopg.Error as exc:
        raise StoreError(
            f"state store {where}: cannot connect for the lock {name}: {_why(exc)}"
        ) from None
    try:
        try:
            _take(lock, wait, f"{what} holds the lock {name} on {where}")
        except psycopg.Error as exc:
            raise StoreError(f"state store {where}: taking the lock {name}: {_why(exc)}") from None
        held.add(token)
        try:
            yield
        finally:
            held.discard(token)
    finally:
        lock.close()  # the session ends, and its lock with it


def _take(lock: PgLock, wait: float, message: str) -> None:
    deadline = time.monotonic() + max(wait, 0.0)
    pause = 0.02
    while not lock.try_acquire():
        left = deadline - time.monotonic()
        if left <= 0:
            holder = lock.holder() or "released since"
            raise LockedError(f"{message} ({holder}); gave up after waiting {wait:g} s")
        time.sleep(min(pause, left))  # polled: an advisory lock has no timed wait
        pause = min(pause * 2, 0.25)


def _why(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


@contextmanager
def build_lock(config: Config, *, wait: float) -> Iterator[None]:
    """Hold the newsletter's build lock for the body, waiting at most ``wait`` seconds.

    Raises :class:`LockedError` (exit code 3) naming the lock (file, or PostgreSQL
    lock) and its holder. Re-entrant within one thread.
    """
    what = "another run of this newsletter"
    if config.state_in_database:
        with pg_lock(config.paths.state, f"build:{config.key}", wait=wait, what=what):
            yield
        return
    with file_lock(lock_path(config), wait=wait, what=what):
        yield


@contextmanager
def advisory(config: Config, name: str, *, wait: float = 0.0) -> Iterator[bool]:
    """Try to hold the lock ``name`` (shared by every process using this config's state
    store) for the body, waiting at most ``wait`` seconds; yield whether it was acquired.

    A flock on ``<state>.<name>.lock`` beside a SQLite store, a session advisory lock on
    a PostgreSQL one: either way released when the holder dies (kill -9 too), so a
    standby acquires it then. Re-entrant within one thread."""
    what = f"another process ({name})"
    cm: AbstractContextManager[None]
    if config.state_in_database:
        cm = pg_lock(config.paths.state, f"advisory:{name}", wait=wait, what=what)
    else:
        state = config.state_path
        cm = file_lock(state.with_name(f"{state.name}.{name}.lock"), wait=wait, what=what)
    stack = ExitStack()
    try:
        stack.enter_context(cm)
    except LockedError:  # only when taking it: one raised in the body is the body's
        yield False
        return
    with stack:
        yield True
