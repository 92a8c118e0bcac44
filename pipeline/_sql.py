"""One database connection, SQLite or PostgreSQL, behind one way of running SQL.

In: a SQLite file path or a ``postgresql://user@host:port/dbname`` URL (no password:
libpq reads ``PGPASSWORD``/``PGPASSFILE``). Out: a :class:`Db` whose ``execute`` and
``executemany`` take SQL written with ``?`` placeholders for both dialects and return a
:class:`Result` (rows that read by index and by column name, ``rowcount``); ``dialect``
says which one it is, for the few statements that differ. :class:`PgLock`: a named
session advisory lock and its holder, for ``lock.py``. Only ``store.py`` and ``lock.py``
use this module. PostgreSQL text holds no NUL character: it is dropped on the way in.
psycopg is imported only when a URL is opened, so SQLite needs nothing beyond the
standard library.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import psycopg

__all__ = ["Db", "PgLock", "Result", "Row", "advisory_key", "connect_pg", "is_url", "safe_url"]

Dialect = Literal["sqlite", "postgresql"]
URL_SCHEMES = ("postgresql://", "postgres://")


def is_url(state: str) -> bool:
    """True when a ``paths.state`` value names a PostgreSQL database, not a file."""
    return state.startswith(URL_SCHEMES)


def safe_url(url: str) -> str:
    """The URL without any password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` from a lock's name."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Row(Protocol):
    """A result row: by position (and unpacking) or by column name."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class _PgRow(tuple[Any, ...]):
    """psycopg's row as sqlite3.Row reads: by index or by column name."""

    names: ClassVar[dict[str, int]] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)


def _pg_rows(cursor: Any) -> Any:
    desc = cursor.description
    if desc is None:
        return tuple
    # one row class per result shape, so a row costs a tuple
    cls: type[_PgRow] = type("PgRow", (_PgRow,), {"names": {d.name: n for n, d in enumerate(desc)}})

    def make(values: Sequence[Any]) -> _PgRow:
        return cls(values)

    return make


@dataclass
class Result:
    """What one statement gave: its rows (read at once) and the rows it changed."""

    rows: list[Row]
    rowcount: int

    def fetchone(self) -> Row | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Row]:
        return self.rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)


@lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    # psycopg's placeholders are %s; a literal % doubles
    return sql.replace("%", "%%").replace("?", "%s")


def _pg_params(params: Sequence[object]) -> list[object]:
    return [_pg_text(v) if isinstance(v, str) else v for v in params]


def _pg_text(v: str) -> str:
    """Text PostgreSQL can hold: no NUL (SQLite keeps it; hostile input may carry one, and
    one such story must not fail a whole batch)."""
    return v.replace("\x00", "") if "\x00" in v else v


class Db:
    """A connection in autocommit mode: transactions are explicit (``BEGIN``)."""

    def __init__(self, raw: sqlite3.Connection | psycopg.Connection[Any], where: str) -> None:
        self.raw = raw
        self.where = where  # the file or the URL without password, for messages
        self.dialect: Dialect = "sqlite" if isinstance(raw, sqlite3.Connection) else "postgresql"

    @property
    def pg(self) -> bool:
        return self.dialect == "postgresql"

    def execute(self, sql: str, params: Sequence[object] = ()) -> Result:
        if isinstance(self.raw, sqlite3.Connection):
            cur = self.raw.execute(sql, params)
            return Result(cur.fetchall(), cur.rowcount)
        pcur = self.raw.execute(_pg_sql(sql), _pg_params(params) or None)
        rows = pcur.fetchall() if pcur.description is not None else []
        return Result(rows, pcur.rowcount)

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if isinstance(self.raw, sqlite3.Connection):
            self.raw.executemany(sql, rows)
        else:
            with self.raw.cursor() as cur:
                cur.executemany(_pg_sql(sql), [_pg_params(r) for r in rows])

    def close(self) -> None:
        self.raw.close()


def connect_pg(url: str, *, purpose: str = "store") -> psycopg.Connection[Any]:
    """A new autocommit connection to ``url``, named for ``pg_stat_activity`` by this
    machine and process (a lock's holder is read from there)."""
    import psycopg

    name = f"newsletter {purpose} {socket.gethostname()} pid {os.getpid()}"[:63]
    conn = psycopg.connect(url, autocommit=True, application_name=name, connect_timeout=10)
    conn.row_factory = _pg_rows
    return conn


class PgLock:
    """A session advisory lock on its own connection: held until :meth:`close` or until
    the connection drops (the server releases it when its holder dies, kill -9 too)."""

    def __init__(self, url: str, name: str) -> None:
        self.name = name
        self.key = advisory_key(name)
        self._conn = connect_pg(url, purpose=f"lock {name}")

    def try_acquire(self) -> bool:
        row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        return bool(row and row[0])

    def holder(self) -> str:
        """Who holds the lock, from ``pg_stat_activity``: the holder's application name
        (its machine and pid), address and since when; '' when no one does."""
        hi, lo = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
        row = self._conn.execute(
            "SELECT a.application_name, a.client_addr::text, a.pid, a.backend_start"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.classid::bigint = %s AND l.objid::bigint = %s",
            (hi, lo),
        ).fetchone()
        if row is None:
            return ""
        name, addr, pid, since = row[0], row[1], row[2], row[3]
        started = since.isoformat(timespec="seconds") if since is not None else "?"
        where = addr or "a local socket"
        return f"{name or 'unnamed'} from {where}, server pid {pid}, since {started}"

    def close(self) -> None:
        self._conn.close()  # the session ends: its advisory locks go with it
