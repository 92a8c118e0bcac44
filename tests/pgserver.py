"""A real PostgreSQL server for the tests: Debian's ``postgresql`` package (the newest
version under ``/usr/lib/postgresql``), started in a temporary data directory, listening
on 127.0.0.1 only on a free port with its socket in that directory, fsync off, stopped at
the end of the session. As root the server runs as the ``postgres`` user (initdb and
postgres refuse root). Each test gets a fresh database (:meth:`PgServer.database`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

PACKAGE_HINT = "install Debian's PostgreSQL: apt-get install postgresql"


def _bin() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        pytest.fail(
            f"PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); {PACKAGE_HINT}"
        )
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PgServer:
    folder: Path
    port: int
    bin: Path
    proc: subprocess.Popen[bytes]
    _count: list[int] = field(default_factory=lambda: [0])

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def database(self) -> str:
        """A new, empty database; its URL."""
        self._count[0] += 1
        name = f"t{self._count[0]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        data = str(self.folder / "data")
        subprocess.run(
            _as_postgres([str(self.bin / "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            check=False,
            timeout=60,
        )
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> PgServer:
    """Start a server (see the module doc); fail, naming the package, if there is none."""
    bindir = _bin()
    folder = Path(tempfile.mkdtemp(prefix="newsletter-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    init = subprocess.run(
        _as_postgres(
            [
                *(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"),
                *("--locale=C", "--encoding=UTF8", "--no-sync"),
            ]
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        pytest.fail(f"initdb failed: {init.stderr.strip()[-500:]}")
    port = _free_port()
    proc = subprocess.Popen(
        _as_postgres(
            [
                *(str(bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port)),
                *("-k", str(folder), "-c", "fsync=off", "-c", "synchronous_commit=off"),
                *("-c", "full_page_writes=off", "-c", "max_connections=100"),
            ]
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = PgServer(folder, port, bindir, proc)
    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(server.url(), connect_timeout=2).close()
            return server
        except psycopg.OperationalError:
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                server.stop()
                pytest.fail(f"PostgreSQL did not start: {err.strip()[-500:]}")
            time.sleep(0.1)
