"""Outbox: named file contents in, files in ``outbox/<date>/`` out, whole or not at all.

Each file is written to a temporary name in the same folder, flushed to disk and
renamed over the target, so a reader (or a crash) never sees half a file. A file
whose bytes are unchanged is not rewritten, so a rebuild that changes nothing
touches nothing. Leftover temporary files from a killed run are swept first.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path

from .errors import OutboxError

__all__ = ["TEMP_PREFIX", "publish", "sweep_temporary"]

TEMP_PREFIX = ".tmp-"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sweep_temporary(folder: Path) -> list[str]:
    """Remove temporary files a killed run left behind; return their names."""
    if not folder.is_dir():
        return []
    removed = []
    try:
        for p in folder.iterdir():
            if p.name.startswith(TEMP_PREFIX):
                p.unlink(missing_ok=True)
                removed.append(p.name)
    except OSError as exc:
        raise OutboxError(f"cannot clean {exc.filename or folder}: {exc.strerror}") from None
    return removed


def publish(folder: Path, files: Mapping[str, bytes]) -> list[str]:
    """Atomically write each changed file into ``folder``; return the names written.

    Raises :class:`OutboxError` naming the file that cannot be written."""
    try:
        return _publish(folder, files)
    except OSError as exc:
        where = exc.filename or folder
        raise OutboxError(f"cannot write {where}: {exc.strerror or exc}") from None


def _publish(folder: Path, files: Mapping[str, bytes]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    for name, data in files.items():
        target = folder / name
        try:
            if target.read_bytes() == data:
                continue
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            raise OutboxError(f"cannot write {target}: a directory is in the way") from None
        # unique per process and thread, so concurrent writers never share a temp file
        tmp = folder / f"{TEMP_PREFIX}{os.getpid()}-{threading.get_ident()}-{name}"
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        written.append(name)
    if written:
        _fsync_dir(folder)
    return written
