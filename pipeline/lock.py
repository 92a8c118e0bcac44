"""The per-newsletter build lock: a config in, exclusive use of its state out.

Every run that writes an issue (``newsletter build``, the scheduler, the preview
server) holds one OS file lock (``fcntl.flock``) on a file next to the state
store. The kernel drops the lock when the holder exits, even on ``kill -9``, so
a crash never leaves a stale lock behind. A second run waits a bounded time and
then raises :class:`LockedError` naming the holder's pid; the lock file's text
(pid, start time, command) is only ever read for that message.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .config import Config
from .errors import LockedError, StoreError

__all__ = ["build_lock", "file_lock", "lock_path"]

# Paths this thread already holds: a nested build_lock (the scheduler's job calling
# build_issue) must not wait on its own lock.
_held = threading.local()


def lock_path(config: Config) -> Path:
    """The lock file of ``config``'s newsletter: the state store's name plus ``.lock``."""
    state = config.state_path
    return state.with_name(state.name + ".lock")


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
    held: set[Path] = getattr(_held, "paths", set())
    _held.paths = held
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
def build_lock(config: Config, *, wait: float) -> Iterator[None]:
    """Hold the newsletter's build lock for the body, waiting at most ``wait`` seconds.

    Raises :class:`LockedError` (exit code 3) naming the lock file and the pid
    of the run that holds it. Re-entrant within one thread.
    """
    with file_lock(lock_path(config), wait=wait, what="another run of this newsletter"):
        yield
