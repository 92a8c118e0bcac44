"""The state store: items, feed health, issues and campaigns, on SQLite (a file, WAL) or
PostgreSQL (a ``postgresql://`` URL), shared by the newsletters of a deployment.

In: normalised :class:`Item` objects from ingest (with each entry's fingerprint),
selections from select, article pages' text, the LLM writer's accepted stories, a
:class:`PrunePolicy` from the config's ``retention:``. Out: fresh items for an edition
date from the newsletter's own sources (read through an index on the item's date, so the
cost follows the window, not the history), the fingerprints a source's listing already
has, feed state for conditional GET, the issue ledger (which draft the pipeline wrote,
which items an issue used, the campaigns created for it on a list provider), the one
atomic claim of an edition's send, the cached page text and stories, and a
:class:`PruneReport` of what :func:`prune` removed.

Several newsletters may share one store; a :class:`Store` is bound to one (``Config.key``).
Shared by all: items, feeds (ETag, Last-Modified, health), listings, tombstones, extracts,
llm_cache. Each newsletter's own: issues, draft_versions, campaigns, runs and ``uses``
(which items its editions used or reserved: an item one newsletter used may still be
chosen by another, never twice by the same).

Every table is this module's, and no other module runs SQL (``_sql`` runs it for both
dialects). The schema is :data:`MIGRATIONS`, numbered, recorded in ``schema_version`` and
applied in one transaction on open; both dialects follow the same list. A store made
before the list (no ``schema_version``) is taken as migration 1's and brought up; the
rows it holds of issues, drafts, campaigns, runs and used items go to the newsletter that
opens it first (``default`` for a single newsletter). Every write is one transaction, so a
crash never leaves half an update (inside :meth:`Store.group`, a savepoint of the group's one
transaction: the writes commit together, and a failing one undoes only its own); on
PostgreSQL writes take one transaction-scoped advisory lock, so they follow each other as
SQLite's do.

A SQLite store is created whole (built aside, then linked into place), so an empty
file where a store with backups should be means it was lost, as does a missing
one with backups: :func:`open_store` refuses both, and a file that is not
SQLite, with the recovery step.
Builds open it with ``check=True``: on SQLite ``PRAGMA integrity_check`` must pass, then a
backup goes to ``backups/`` beside it (the newest :data:`KEEP_BACKUPS` are kept), both in
a thread beside the build, which waits for them (:meth:`Store.checked`) before it writes;
:func:`restore_store` puts back the newest good one (``newsletter restore-store``). On
PostgreSQL ``check`` is the connection and the schema version: backups are pg_dump's.
Every database failure inside :func:`open_state` becomes one :class:`StoreError` line
naming the file or URL (never a password).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from ._sql import Db, Row, advisory_key, connect_pg, is_url, safe_url
from .config import Config
from .errors import StoreError
from .ids import url_key
from .models import Campaign, EditionStatus, Image, Item
from .report import RunReport

__all__ = [
    "KEEP_BACKUPS",
    "MIGRATIONS",
    "FeedRecord",
    "FeedState",
    "FeedWrite",
    "ItemRow",
    "Prepared",
    "PrunePolicy",
    "PruneReport",
    "SendClaim",
    "Sources",
    "Store",
    "Stored",
    "backups_of",
    "open_location",
    "open_pg_store",
    "open_state",
    "open_store",
    "prepare",
    "prepare_rows",
    "prune",
    "restore_state",
    "restore_store",
]

KEEP_BACKUPS = 7
_MAGIC = b"SQLite format 3\x00"
_RESTORE = "restore the newest good backup with `newsletter restore-store`"
# SQLite's default checkpoints the WAL past 1,000 pages (4 MB): after nearly every feed's
# items, each time copying the index pages that feed touched and waiting on fsync twice.
# Past 10,000 pages, a page written by many feeds is copied once: a 100,000-item ingest
# takes 1.5 s less (the WAL file grows to some 40 MB; the last close removes it)
_WAL_CHECKPOINT_PAGES = 10_000
# SQLite's default page cache (2 MB) holds little of the item indexes, whose keys are random
# hashes: an insert reads its index pages back from the OS again and again. 32 MB (taken as
# used) keeps them: 100,000 items ingest 0.6 s faster, for some 30 MB of memory
_CACHE_KIB = 32 * 1024
# the store's writers queue on this key on PostgreSQL (SQLite's BEGIN IMMEDIATE)
_WRITE_KEY = advisory_key("newsletter:store:write")

# Migration 1: the schema as it stood before migrations (a store made then is taken as
# this one's). ``{rowid}`` gives PostgreSQL the insertion order SQLite keeps as rowid.
_V1 = """
CREATE TABLE IF NOT EXISTS items (
    {rowid}
    id TEXT PRIMARY KEY,
    guid TEXT NOT NULL DEFAULT '',
    url_key TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    origin TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    html TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL DEFAULT '',
    published TEXT,
    image TEXT,
    content_hash TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    used_in TEXT,
    raw_hash TEXT NOT NULL DEFAULT ''
);
DROP INDEX IF EXISTS items_guid;
DROP INDEX IF EXISTS items_url_key;
CREATE INDEX IF NOT EXISTS items_guid_all ON items(guid);
CREATE INDEX IF NOT EXISTS items_url_key_all ON items(url_key);
DROP INDEX IF EXISTS items_used_in;
CREATE INDEX IF NOT EXISTS items_used ON items(used_in) WHERE used_in IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_unused_by_date
    ON items(COALESCE(published, first_seen)) WHERE used_in IS NULL;
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    etag TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    last_success TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    last_error_at TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    last_new_item TEXT,
    gone INTEGER NOT NULL DEFAULT 0,
    moved_to TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS extracts (
    url_key TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    fetched_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS issues (
    date TEXT PRIMARY KEY,
    draft_sha TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'draft',
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS campaigns (
    {rowid}
    date TEXT NOT NULL,
    provider TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    send_at TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (date, provider, campaign_id)
);
CREATE TABLE IF NOT EXISTS draft_versions (
    {rowid}
    date TEXT NOT NULL,
    sha TEXT NOT NULL,
    written_at TEXT NOT NULL,
    PRIMARY KEY (date, sha)
);
CREATE TABLE IF NOT EXISTS runs (
    id {serial},
    date TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    report TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS llm_cache (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    story TEXT NOT NULL,
    tokens INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_raw_hash ON items(raw_hash) WHERE raw_hash != '';
CREATE TABLE IF NOT EXISTS listings (
    origin TEXT PRIMARY KEY,
    generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tombstones (
    {rowid}
    id TEXT PRIMARY KEY,
    guid TEXT NOT NULL DEFAULT '',
    url_key TEXT NOT NULL DEFAULT '',
    raw_hash TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0,
    dated TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS tombstones_guid ON tombstones(guid) WHERE guid != '';
CREATE INDEX IF NOT EXISTS tombstones_url_key ON tombstones(url_key) WHERE url_key != '';
CREATE INDEX IF NOT EXISTS tombstones_raw_hash ON tombstones(raw_hash) WHERE raw_hash != ''
"""

# Migration 2: several newsletters in one store. The per-newsletter tables gain a
# ``newsletter`` column (rebuilt: a key cannot be altered in SQLite), and
# ``items.used_in`` becomes ``uses``, one row per newsletter and item.
_V2 = """
CREATE TABLE issues_v2 (
    newsletter TEXT NOT NULL,
    date TEXT NOT NULL,
    draft_sha TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'draft',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (newsletter, date)
);
INSERT INTO issues_v2 (newsletter, date, draft_sha, status, updated_at)
    SELECT ?, date, draft_sha, status, updated_at FROM issues;
DROP TABLE issues;
ALTER TABLE issues_v2 RENAME TO issues;
CREATE TABLE campaigns_v2 (
    {rowid}
    newsletter TEXT NOT NULL,
    date TEXT NOT NULL,
    provider TEXT NOT NULL, campaign_id TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    send_at TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (newsletter, date, provider, campaign_id)
);
INSERT INTO campaigns_v2 (newsletter, date, provider, campaign_id, url, status, send_at,
    created_at) SELECT ?, date, provider, campaign_id, url, status, send_at, created_at
    FROM campaigns ORDER BY rowid;
DROP TABLE campaigns;
ALTER TABLE campaigns_v2 RENAME TO campaigns;
CREATE TABLE draft_versions_v2 (
    {rowid}
    newsletter TEXT NOT NULL,
    date TEXT NOT NULL,
    sha TEXT NOT NULL,
    written_at TEXT NOT NULL,
    PRIMARY KEY (newsletter, date, sha)
);
INSERT INTO draft_versions_v2 (newsletter, date, sha, written_at)
    SELECT ?, date, sha, written_at FROM draft_versions ORDER BY rowid;
DROP TABLE draft_versions;
ALTER TABLE draft_versions_v2 RENAME TO draft_versions;
CREATE TABLE runs_v2 (
    id {serial},
    newsletter TEXT NOT NULL,
    date TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    report TEXT NOT NULL
);
INSERT INTO runs_v2 (newsletter, date, finished_at, report)
    SELECT ?, date, finished_at, report FROM runs ORDER BY id;
DROP TABLE runs;
ALTER TABLE runs_v2 RENAME TO runs;
CREATE INDEX runs_by_date ON runs(newsletter, date);
CREATE TABLE uses (
    newsletter TEXT NOT NULL,
    item_id TEXT NOT NULL,
    date TEXT NOT NULL,
    PRIMARY KEY (newsletter, item_id)
);
CREATE INDEX uses_by_date ON uses(newsletter, date);
CREATE INDEX uses_item ON uses(item_id);
INSERT INTO uses (newsletter, item_id, date)
    SELECT ?, id, used_in FROM items WHERE used_in IS NOT NULL;
DROP INDEX items_used;
DROP INDEX items_unused_by_date;
ALTER TABLE items DROP COLUMN used_in;
-- what select and prune read: items by date, so their cost follows the window read
CREATE INDEX items_by_date ON items(COALESCE(published, first_seen))
"""


def _statements(pg: bool, ddl: str) -> list[str]:
    """A script's statements in one dialect: PostgreSQL compares text bytewise (as
    SQLite does) and numbers rows with a sequence."""
    if pg:
        ddl = ddl.replace(" TEXT", ' TEXT COLLATE "C"')
        ddl = ddl.replace("{rowid}", "rowid BIGSERIAL NOT NULL UNIQUE,")
        ddl = ddl.replace("{serial}", "BIGSERIAL PRIMARY KEY")
    else:
        ddl = ddl.replace("{rowid}", "").replace("{serial}", "INTEGER PRIMARY KEY AUTOINCREMENT")
    lines = [ln for ln in ddl.splitlines() if not ln.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _m1_base(db: Db, key: str) -> None:
    if not db.pg:  # a store from before work-once and retention lacks the fingerprint
        columns = {r[1] for r in db.execute("PRAGMA table_info(items)").rows}
        if columns and "raw_hash" not in columns:
            db.execute("ALTER TABLE items ADD COLUMN raw_hash TEXT NOT NULL DEFAULT ''")
    for sql in _statements(db.pg, _V1):
        db.execute(sql)


def _m2_newsletters(db: Db, key: str) -> None:
    for sql in _statements(db.pg, _V2):
        db.execute(sql, (key,) if "?" in sql else ())


# The schema, step by step; a step is never edited once released, only a new one added.
MIGRATIONS: tuple[Callable[[Db, str], None], ...] = (_m1_base, _m2_newsletters)


def _version(db: Db) -> int:
    if db.pg:
        found = db.execute("SELECT to_regclass('schema_version') IS NOT NULL").rows[0][0]
    else:
        found = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).rows
    if not found:
        return 0
    return int(db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").rows[0][0])


def _migrate(db: Db, key: str) -> None:
    """Apply the migrations the store lacks, all in one transaction."""
    if _version(db) == len(MIGRATIONS):
        return
    _begin(db)
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version"
            " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        done = _version(db)  # again, under the lock: another process may have migrated
        if done > len(MIGRATIONS):
            raise StoreError(
                f"state store {db.where} has schema version {done}, newer than this"
                f" program's {len(MIGRATIONS)}: upgrade the program"
            )
        for n, step in enumerate(MIGRATIONS[done:], start=done + 1):
            step(db, key)
            db.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (n, _now())
            )
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _begin(db: Db) -> None:
    """Open a write transaction: one writer at a time, as SQLite's BEGIN IMMEDIATE."""
    if db.pg:
        db.execute("BEGIN")
        db.execute("SELECT pg_advisory_xact_lock(?)", (_WRITE_KEY,))
    else:
        db.execute("BEGIN IMMEDIATE")


# a touched tombstone belongs to its source's newest listing
_TOUCH = (
    "generation = COALESCE((SELECT generation FROM listings l"
    " WHERE l.origin = tombstones.origin), generation)"
)


@dataclass(frozen=True)
class FeedState:
    """What the store remembers of one feed between runs."""

    url: str
    etag: str = ""
    last_modified: str = ""
    last_success: str | None = None
    last_error: str = ""
    failures: int = 0
    last_new_item: str | None = None
    gone: bool = False
    moved_to: str = ""
    last_error_at: str | None = None


@dataclass(frozen=True)
class FeedRecord:
    """One fetch of a feed for its health ledger: ``ok`` (then its validators, the new
    items it gave, a new location) or not (then why, and whether it is gone)."""

    url: str
    ok: bool
    error: str = ""
    etag: str | None = None
    last_modified: str | None = None
    new_items: int = 0
    gone: bool = False
    moved_to: str | None = None


@dataclass(frozen=True)
class Prepared:
    """Items as the store writes them, column by column: each item's fields, its raw
    fingerprint and what the store derives (link key, content hash, date and image as
    stored), worked out by :func:`prepare` before the write, wherever the items were (a
    worker process may). Columns of strings cross a process boundary for a fraction of
    what item objects cost to pickle; :meth:`items` makes the items back."""

    ids: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    htmls: tuple[str, ...] = ()
    guids: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    dates: tuple[str | None, ...] = ()  # published, in UTC, as stored
    images: tuple[str | None, ...] = ()  # as stored (JSON)
    raws: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    digests: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.ids)

    def items(self) -> tuple[Item, ...]:
        """The items these columns hold (dates in UTC)."""
        return tuple(
            Item(
                id=id_,
                source=source,
                origin=origin,
                title=title,
                text=text,
                url=url,
                html=html,
                guid=guid,
                author=author,
                published=datetime.fromisoformat(when) if when else None,
                image=Image(**json.loads(image)) if image else None,
            )
            for id_, source, origin, title, text, url, html, guid, author, when, image in zip(
                self.ids,
                self.sources,
                self.origins,
                self.titles,
                self.texts,
                self.urls,
                self.htmls,
                self.guids,
                self.authors,
                self.dates,
                self.images,
                strict=True,
            )
        )

    def only(self, keep: Sequence[int]) -> Prepared:
        """The items at these positions."""
        return Prepared.joined([self], keep)

    @staticmethod
    def joined(parts: Sequence[Prepared], keep: Sequence[int] | None = None) -> Prepared:
        """Several of them, one after another (only the positions ``keep``, if given)."""

        def column(name: str) -> tuple[object, ...]:
            values = tuple(itertools.chain.from_iterable(getattr(p, name) for p in parts))
            return values if keep is None else tuple(values[n] for n in keep)

        # each column keeps its own type: the items' values, taken in order
        return Prepared(**cast(dict[str, Any], {n: column(n) for n in _PREPARED_COLUMNS}))


_PREPARED_COLUMNS = tuple(f.name for f in dataclasses.fields(Prepared))


# an item's fields in Item's order, then its raw fingerprint: what prepare_rows takes
ItemRow = tuple[str, str, str, str, str, str, str, str, str, datetime | None, Image | None, str]


def prepare(items: Iterable[Item], prints: Sequence[str] = ()) -> Prepared:
    """Items (with each one's raw fingerprint, in order, or none) made ready to store."""
    items = tuple(items)
    raws = tuple(prints) or ("",) * len(items)
    if len(raws) != len(items):
        raise ValueError(f"{len(items)} items, {len(raws)} fingerprints")
    return prepare_rows([(*_fields_of(i), raw) for i, raw in zip(items, raws, strict=True)])


def _fields_of(
    i: Item,
) -> tuple[str, str, str, str, str, str, str, str, str, datetime | None, Image | None]:
    return (
        i.id,
        i.source,
        i.origin,
        i.title,
        i.text,
        i.url,
        i.html,
        i.guid,
        i.author,
        i.published,
        i.image,
    )


def prepare_rows(rows: Sequence[ItemRow]) -> Prepared:
    """:func:`prepare` for items given as rows (:data:`ItemRow`), never made objects: an
    ingest worker reads thousands of entries a second, and an item object costs more to
    make than its row."""
    if not rows:
        return Prepared()
    ids, sources, origins, titles, texts, urls, htmls, guids, authors, whens, images, raws = zip(
        *rows, strict=True
    )
    keys = tuple(map(url_key, urls))
    return Prepared(
        ids=ids,
        sources=sources,
        origins=origins,
        titles=titles,
        texts=texts,
        urls=urls,
        htmls=htmls,
        guids=guids,
        authors=authors,
        dates=tuple(w.astimezone(UTC).isoformat() if w else None for w in whens),
        images=tuple(json.dumps(i.__dict__) if i else None for i in images),
        raws=raws,
        keys=keys,
        digests=tuple(map(_content_hash, titles, texts, keys, authors)),
    )


@dataclass(frozen=True)
class FeedWrite:
    """A feed read whole, to store (:meth:`Store.store_feeds`): its health ``record``, its
    new or changed ``items`` (:func:`prepare`), its whole ``listing`` of fingerprints."""

    record: FeedRecord
    items: Prepared
    listing: Sequence[str]


_NEW, _UPDATED, _KNOWN = "new", "updated", "known"  # what storing an item did


@dataclass(frozen=True)
class Stored:
    """What storing a feed's items did: how many were new, how many updated, and the
    positions of those stored already as they are at their source, or pruned (their raw
    fingerprint is known: nothing was written for them)."""

    new: int = 0
    updated: int = 0
    known: tuple[int, ...] = ()

    @staticmethod
    def of(done: Sequence[str]) -> Stored:
        return Stored(
            done.count(_NEW),
            done.count(_UPDATED),
            tuple(n for n, d in enumerate(done) if d == _KNOWN),
        )


@dataclass
class _Match:
    """A stored item or a tombstone an item to store may be (kept current as a batch is
    written)."""

    id: str
    content_hash: str
    raw_hash: str
    buried: bool  # a tombstone: pruned, still listed
    dated: str = ""  # a tombstone's: its item's date (published, else first seen)


class _Known:
    """What a batch of items may match, read at once: stored items, then tombstones, by
    id, else guid, else link key (the first stored wins, as an index lookup finds it)."""

    _BATCH = 250

    def __init__(
        self,
        c: Db,
        ids: Sequence[str],
        guids: Sequence[str],
        keys: Sequence[str],
        tombstones: bool = True,
    ) -> None:
        self._by: tuple[dict[str, _Match], ...] = tuple({} for _ in range(6))
        ids = list(ids)
        guids = [g for g in guids if g]
        links = [k for k in keys if k]
        where = (
            f"id IN ({_marks(ids)})",
            f"guid IN ({_marks(guids)}) AND guid != ''",
            f"url_key IN ({_marks(links)}) AND url_key != ''",
        )
        tables = [("items", "content_hash, ''", 0), ("tombstones", "'', dated", 1)]
        for table, hashed, buried in tables if tombstones else tables[:1]:
            head = f"SELECT id, guid, url_key, {hashed}, raw_hash, rowid FROM {table} WHERE "
            if c.pg:  # its planner scans the table for an OR of IN lists: one lookup each
                sql = " UNION ".join(head + w for w in where)
            else:  # SQLite reads each index for the OR, and reads faster in one statement
                sql = head + " OR ".join(f"({w})" for w in where)
            rows = c.execute(f"{sql} ORDER BY rowid", [*ids, *guids, *links]).rows
            for r in rows:
                self.add(_Match(r[0], r[3], r[5], bool(buried), r[4]), r[1], r[2])

    def add(self, match: _Match, guid: str, key: str) -> None:
        by = self._by[3:] if match.buried else self._by
        if match.id:
            by[0].setdefault(match.id, match)
        if guid:
            by[1].setdefault(guid, match)
        if key:
            by[2].setdefault(key, match)

    def find(self, id_: str, guid: str, key: str) -> _Match | None:
        # written out: asked for every item stored (no key is '', so '' finds nothing)
        by = self._by
        return (
            by[0].get(id_)
            or by[1].get(guid)
            or by[2].get(key)
            or by[3].get(id_)
            or by[4].get(guid)
            or by[5].get(key)
        )


class _Writes:
    """A batch's writes in order, run as one ``executemany`` per run of the same
    statement (batched writes cost far less than one call each; the order is kept, so
    an update may follow the insert of its own row)."""

    def __init__(self, c: Db) -> None:
        self._c = c
        self._runs: list[tuple[str, list[tuple[object, ...]]]] = []

    def add(self, sql: str, params: tuple[object, ...]) -> None:
        if self._runs and self._runs[-1][0] == sql:
            self._runs[-1][1].append(params)
        else:
            self._runs.append((sql, [params]))

    def flush(self) -> None:
        for sql, rows in self._runs:
            self._c.executemany(sql, rows)
        self._runs.clear()


def _any_tombstone(c: Db) -> bool:
    return bool(c.execute("SELECT EXISTS (SELECT 1 FROM tombstones)").rows[0][0])


def _marks(values: Sequence[str]) -> str:
    # an empty list reads as NULL: `x IN ()` is SQLite's alone, and matches nothing
    return ",".join("?" * len(values)) or "NULL"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _content_hash(title: str, text: str, key: str, author: str) -> str:
    parts = (title, text, key, author, "")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True)
class Sources:
    """Where a newsletter's items come from: its feeds' origins (URLs, resolved file
    paths) and folders whose files are its own (the inbox)."""

    origins: frozenset[str] = frozenset()
    folders: tuple[str, ...] = ()


@dataclass(frozen=True)
class SendClaim:
    """An edition's send claimed (or not) in one transaction: ``won`` when this caller
    set it to ``sending``; ``before`` is the status it found."""

    won: bool
    before: EditionStatus


class Store:
    """A thin typed layer over the state database, bound to one newsletter (``key``)."""

    def __init__(self, conn: Db, key: str = "default", check: _Check | None = None) -> None:
        self.conn = conn
        self.key = key
        self._depth = 0  # write transactions open, the outer one and its savepoints
        self.commits = 0  # write transactions committed (the benchmarks count them)
        self._check = check

    def checked(self) -> None:
        """Wait for the check that opening with ``check=True`` started (SQLite: the
        integrity check and the backup, in a thread of their own); :class:`StoreError`
        if the store failed it. Nothing to wait for otherwise."""
        if self._check is not None:
            self._check.wait()

    @property
    def where(self) -> str:
        """The file or URL (without password), for messages."""
        return self.conn.where

    @contextmanager
    def transaction(self) -> Iterator[Db]:
        """Run the body in one write transaction (all or nothing, one writer at a time).

        Inside another one it is a savepoint of it: a failure undoes its own writes only
        (the outer body goes on), and what it wrote is committed with the outer one."""
        if self._depth:
            name = f"nested_{self._depth}"
            self.conn.execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield self.conn
            except BaseException:
                self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                self.conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            else:
                self.conn.execute(f"RELEASE SAVEPOINT {name}")
            finally:
                self._depth -= 1
            return
        _begin(self.conn)
        self._depth = 1
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
            self.commits += 1
        finally:
            self._depth = 0

    @contextmanager
    def group(self) -> Iterator[None]:
        """The writes made inside commit together, in one transaction (a commit costs
        more than a small write); each write is a savepoint of it, so one that fails
        undoes its own changes only and the others still commit."""
        with self.transaction():
            yield

    # -- items -------------------------------------------------------------
    def upsert_items(self, items: Iterable[Item], prints: Sequence[str] = ()) -> tuple[int, int]:
        """Store items; return (new, updated). An item matching a stored one by
        id, guid or canonical link updates it instead of becoming a new story; one
        matching a tombstone (pruned, still listed) stays pruned, unless its source now
        dates it later than the pruned item: then it is a new story.

        ``prints``: each item's raw fingerprint, in order (see :meth:`listed`), so an
        entry unchanged at its source is known next time without being worked out."""
        stored = self.store_prepared(prepare(items, prints))
        return stored.new, stored.updated

    def store_prepared(self, ready: Prepared) -> Stored:
        """:meth:`upsert_items` for items made ready to store (:func:`prepare`)."""
        return Stored.of(self._upsert(ready))

    def _upsert(self, ready: Prepared) -> list[str]:
        """:meth:`upsert_items`, saying for each item what it did: :data:`_NEW`,
        :data:`_UPDATED`, :data:`_KNOWN` (its raw fingerprint is the stored or pruned
        item's: as :meth:`known` says, nothing to write) or '' (unchanged, or kept pruned)."""
        done: list[str] = []
        now = _now()
        batch = _Known._BATCH
        with self.transaction() as c:
            # none yet (no prune has run): nothing to look up there
            tombstones = _any_tombstone(c)
            writes = _Writes(c)
            r = ready
            # the columns in the order of the INSERT below
            rows = zip(
                r.ids,
                r.guids,
                r.keys,
                r.sources,
                r.origins,
                r.titles,
                r.urls,
                r.texts,
                r.htmls,
                r.authors,
                r.dates,
                r.images,
                r.digests,
                r.raws,
                strict=True,
            )
            for n, fields in enumerate(rows):
                id_, guid, key, _, _, title, url, text, html, author = fields[:10]
                published, image, digest, raw = fields[10:]
                if n % batch == 0:  # one look-up for the next items, not three each
                    writes.flush()  # the look-up sees this call's earlier items
                    end = n + batch
                    known = _Known(c, r.ids[n:end], r.guids[n:end], r.keys[n:end], tombstones)
                row = known.find(id_, guid, key)
                if row is not None and raw and row.raw_hash == raw:
                    done.append(_KNOWN)  # its listing was noted: a tombstone is touched
                    continue
                if row is not None and row.buried:
                    if not (published and published > row.dated):
                        writes.add(
                            f"UPDATE tombstones SET raw_hash = COALESCE(NULLIF(?, ''), raw_hash),"
                            f" {_TOUCH} WHERE id = ?",
                            (raw, row.id),
                        )
                        row.raw_hash = raw or row.raw_hash
                        done.append("")
                        continue
                    # dated anew by its source: a new story, no longer the pruned one
                    writes.add("DELETE FROM tombstones WHERE id = ?", (row.id,))
                    row = None
                if row is None:
                    writes.add(
                        "INSERT INTO items (id, guid, url_key, source, origin, title, url, text,"
                        " html, author, published, image, content_hash, first_seen, updated_at,"
                        " raw_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (*fields[:13], now, now, raw),
                    )
                    known.add(_Match(id_, digest, raw, False), guid, key)
                    done.append(_NEW)
                elif row.content_hash != digest:
                    writes.add(
                        "UPDATE items SET title=?, url=?, text=?, html=?, author=?,"
                        " published=COALESCE(?, published), image=COALESCE(?, image),"
                        " content_hash=?, updated_at=?, raw_hash=COALESCE(NULLIF(?, ''), raw_hash)"
                        " WHERE id=?",
                        (
                            title,
                            url,
                            text,
                            html,
                            author,
                            published,
                            image,
                            digest,
                            now,
                            raw,
                            row.id,
                        ),
                    )
                    row.content_hash, row.raw_hash = digest, raw or row.raw_hash
                    done.append(_UPDATED)
                else:
                    if raw and row.raw_hash != raw:
                        # the same story in new wrapping: known by its new fingerprint next time
                        writes.add("UPDATE items SET raw_hash = ? WHERE id = ?", (raw, row.id))
                        row.raw_hash = raw
                    done.append("")
            writes.flush()
        return done

    def listed(self, origin: str, prints: Sequence[str]) -> frozenset[str]:
        """Note that ``origin`` was just read whole, listing entries with these raw
        fingerprints (a digest of an entry as given, before any work on it); return
        those already stored as they are, or pruned: neither needs working out again.
        A tombstone listed again is kept (see :func:`prune`); an empty listing counts
        for nothing."""
        if not any(prints):  # an empty listing (a feed half down?) says nothing of what it dropped
            return frozenset()
        with self.transaction():
            self._note_listings([(origin, prints)])
            return self.known(prints)

    def _note_listings(self, listings: Sequence[tuple[str, Sequence[str]]]) -> None:
        """:meth:`listed`'s writes for several origins at once (one statement of each kind),
        inside a transaction (an empty listing writes none)."""
        origins = [(o,) for o, prints in listings if any(prints)]
        wanted = list(dict.fromkeys(p for _, prints in listings for p in prints if p))
        if not wanted:
            return
        self.conn.executemany(
            "INSERT INTO listings (origin, generation) VALUES (?, 1)"
            " ON CONFLICT(origin) DO UPDATE SET generation = listings.generation + 1",
            origins,
        )
        if not _any_tombstone(self.conn):
            return
        # a touched tombstone takes its own origin's generation: one pass serves them all
        for n in range(0, len(wanted), 500):
            chunk = wanted[n : n + 500]
            self.conn.execute(
                f"UPDATE tombstones SET {_TOUCH} WHERE raw_hash IN ({_marks(chunk)})"
                " AND raw_hash != ''",
                chunk,
            )

    def known(self, prints: Sequence[str]) -> frozenset[str]:
        """Of these raw fingerprints, those stored as they are or pruned, read only:
        :meth:`listed` notes the listing (a caller may work before it writes)."""
        wanted = list(dict.fromkeys(p for p in prints if p))
        if not wanted:
            return frozenset()
        known: set[str] = set()
        tables = ("items", "tombstones") if _any_tombstone(self.conn) else ("items",)
        for n in range(0, len(wanted), 500):
            chunk = wanted[n : n + 500]
            marks = _marks(chunk)
            rows = self.conn.execute(
                " UNION ALL ".join(
                    f"SELECT raw_hash FROM {t} WHERE raw_hash IN ({marks}) AND raw_hash != ''"
                    for t in tables
                ),
                chunk * len(tables),
            ).rows
            known.update(r[0] for r in rows)
        return frozenset(known)

    def candidates(
        self, edition: date, since: datetime, sources: Sources | None = None
    ) -> list[tuple[Item, str]]:
        """Items this newsletter has not used in another issue, published (else first
        seen) since ``since``, with their first-seen time; items it reserved for
        ``edition`` count. ``sources``: only items from these (None: from any)."""
        # two halves, each with its index: a range of items_by_date less this
        # newsletter's uses (by key), and the edition's own reservations (an OR of
        # both would scan the whole table)
        mine, params = _from_sources(sources)
        rows = self.conn.execute(
            "SELECT i.* FROM items i WHERE COALESCE(i.published, i.first_seen) >= ?"
            f"{mine} AND NOT EXISTS (SELECT 1 FROM uses u WHERE u.newsletter = ?"
            " AND u.item_id = i.id)"
            " UNION ALL SELECT i.* FROM uses u JOIN items i ON i.id = u.item_id"
            " WHERE u.newsletter = ? AND u.date = ?",
            (since.isoformat(), *params, self.key, self.key, edition.isoformat()),
        ).rows
        return [(_row_item(r), r["first_seen"]) for r in rows]

    def get_item(self, item_id: str) -> Item | None:
        row = self.conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        return None if row is None else _row_item(row)

    def used_in(self, item_id: str) -> str | None:
        """The edition of this newsletter that used (or holds) the item, if any."""
        row = self.conn.execute(
            "SELECT date FROM uses WHERE newsletter = ? AND item_id = ?", (self.key, item_id)
        ).fetchone()
        return None if row is None else str(row["date"])

    def count_items(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM items").rows[0][0])

    # -- feeds -------------------------------------------------------------
    def feed_state(self, url: str) -> FeedState:
        """What the store remembers of one feed (an empty state if never seen)."""
        row = self.conn.execute("SELECT * FROM feeds WHERE url = ?", (url,)).fetchone()
        return FeedState(url=url) if row is None else _row_feed(row)

    def feed_states(self) -> list[FeedState]:
        """Every feed the store has a health record for, by URL."""
        rows = self.conn.execute("SELECT * FROM feeds ORDER BY url").fetchall()
        return [_row_feed(r) for r in rows]

    # -- full-text cache ---------------------------------------------------
    def cached_extract(self, url: str) -> tuple[str, str] | None:
        """(text, error) extracted earlier from an article page, if any."""
        row = self.conn.execute(
            "SELECT text, error FROM extracts WHERE url_key = ?", (url_key(url),)
        ).fetchone()
        return None if row is None else (row["text"], row["error"])

    def save_extract(self, url: str, text: str, error: str = "") -> None:
        """Remember an article page's main text (or why it could not be had)."""
        with self.transaction() as c:
            c.execute(
                "INSERT INTO extracts (url_key, url, text, error, fetched_at) VALUES (?,?,?,?,?)"
                " ON CONFLICT(url_key) DO UPDATE SET url=excluded.url, text=excluded.text,"
                " error=excluded.error, fetched_at=excluded.fetched_at",
                (url_key(url), url, text, error, _now()),
            )

    def record_feed(
        self,
        url: str,
        *,
        ok: bool,
        error: str = "",
        etag: str | None = None,
        last_modified: str | None = None,
        new_items: int = 0,
        gone: bool = False,
        moved_to: str | None = None,
    ) -> FeedState:
        """Update one feed's health ledger after a fetch; return the new state."""
        self.record_feeds(
            [FeedRecord(url, ok, error, etag, last_modified, new_items, gone, moved_to)]
        )
        return self.feed_state(url)

    def store_feed(
        self,
        record: FeedRecord,
        items: Sequence[Item],
        prints: Sequence[str],
        listing: Sequence[str],
    ) -> Stored:
        """A feed read whole, in one transaction: its ``listing`` noted (:meth:`listed`),
        its items stored (:meth:`upsert_items`) and its health recorded with the new items
        counted, so its validators are never kept without its items."""
        return self.store_feeds([FeedWrite(record, prepare(items, prints), listing)])[0]

    def store_feeds(self, feeds: Sequence[FeedWrite]) -> list[Stored]:
        """Several feeds' :meth:`store_feed` in one transaction, each kind of write made once
        for all of them (far cheaper than feed by feed); what it did for each feed. A
        failure writes none of them."""
        with self.transaction():
            self._note_listings([(f.record.url, f.listing) for f in feeds])
            done = self._upsert(Prepared.joined([f.items for f in feeds]))
            stored = []
            at = 0
            for f in feeds:
                stored.append(Stored.of(done[at : at + len(f.items)]))
                at += len(f.items)
            self.record_feeds(
                [
                    dataclasses.replace(f.record, new_items=one.new)
                    for f, one in zip(feeds, stored, strict=True)
                ]
            )
        return stored

    def record_feeds(self, records: Sequence[FeedRecord]) -> None:
        """Update the health ledger of many feeds at once (one statement of each kind)."""
        if not records:
            return
        now = _now()
        with self.transaction() as c:
            c.executemany(
                "INSERT INTO feeds (url) VALUES (?) ON CONFLICT DO NOTHING",
                [(r.url,) for r in records],
            )
            c.executemany(
                "UPDATE feeds SET last_success=?, failures=0, last_error='',"
                " etag=COALESCE(?, etag), last_modified=COALESCE(?, last_modified),"
                " last_new_item=CASE WHEN ? > 0 THEN ? ELSE last_new_item END,"
                " moved_to=COALESCE(?, moved_to) WHERE url=?",
                [
                    (now, r.etag, r.last_modified, r.new_items, now, r.moved_to, r.url)
                    for r in records
                    if r.ok
                ],
            )
            c.executemany(
                "UPDATE feeds SET last_error=?, last_error_at=?, failures=failures+1,"
                " gone=CASE WHEN ? = 1 THEN 1 ELSE gone END WHERE url=?",
                [(r.error, now, int(r.gone), r.url) for r in records if not r.ok],
            )

    # -- issues ------------------------------------------------------------
    def issue(self, edition: date) -> tuple[str, EditionStatus] | None:
        """(draft_sha, status) recorded for an edition, if any."""
        row = self.conn.execute(
            "SELECT draft_sha, status FROM issues WHERE newsletter = ? AND date = ?",
            (self.key, edition.isoformat()),
        ).fetchone()
        return None if row is None else (row["draft_sha"], row["status"])

    def record_issue(
        self, edition: date, *, draft_sha: str | None = None, status: EditionStatus | None = None
    ) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT INTO issues (newsletter, date, draft_sha, status, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(newsletter, date) DO UPDATE SET"
                " draft_sha = COALESCE(?, issues.draft_sha), status = COALESCE(?, issues.status),"
                " updated_at = excluded.updated_at",
                (
                    self.key,
                    edition.isoformat(),
                    draft_sha or "",
                    status or "draft",
                    _now(),
                    draft_sha,
                    status,
                ),
            )

    def record_campaign(self, edition: date, campaign: Campaign) -> None:
        """Remember a campaign created on a list provider for the edition (or its new status)."""
        send_at = campaign.send_at.isoformat() if campaign.send_at else None
        with self.transaction() as c:
            c.execute(
                "INSERT INTO campaigns (newsletter, date, provider, campaign_id, url, status,"
                " send_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(newsletter, date, provider, campaign_id) DO UPDATE SET"
                " url = excluded.url, status = excluded.status, send_at = excluded.send_at",
                (
                    self.key,
                    edition.isoformat(),
                    campaign.provider,
                    campaign.id,
                    campaign.url,
                    campaign.status,
                    send_at,
                    _now(),
                ),
            )

    def campaigns(self, edition: date) -> list[Campaign]:
        """The campaigns created for an edition, oldest first."""
        rows = self.conn.execute(
            "SELECT provider, campaign_id, url, status, send_at FROM campaigns"
            " WHERE newsletter = ? AND date = ? ORDER BY created_at, rowid",
            (self.key, edition.isoformat()),
        ).rows
        return [
            Campaign(
                provider=r["provider"],
                id=r["campaign_id"],
                url=r["url"],
                status="scheduled" if r["status"] == "scheduled" else "draft",
                send_at=datetime.fromisoformat(r["send_at"]) if r["send_at"] else None,
            )
            for r in rows
        ]

    def commit_draft(self, edition: date, sha: str, item_ids: Iterable[str]) -> None:
        """Before a generated draft is written: remember its fingerprint as the
        pipeline's own and reserve its items, in one transaction. A crash after
        this and before the file lands leaves nothing a re-run cannot redo."""
        ids = list(item_ids)
        day = edition.isoformat()
        now = _now()
        key = self.key
        with self.transaction() as c:
            c.execute(
                "INSERT INTO draft_versions (newsletter, date, sha, written_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (key, day, sha, now),
            )
            c.execute(
                "INSERT INTO issues (newsletter, date, draft_sha, status, updated_at)"
                " VALUES (?, ?, ?, 'draft', ?) ON CONFLICT(newsletter, date) DO UPDATE SET"
                " draft_sha = excluded.draft_sha, updated_at = excluded.updated_at",
                (key, day, sha, now),
            )
            c.execute("DELETE FROM uses WHERE newsletter = ? AND date = ?", (key, day))
            # a stored item only, and one another issue of this newsletter used stays its
            c.executemany(
                "INSERT INTO uses (newsletter, item_id, date) SELECT ?, id, ? FROM items"
                " WHERE id = ? ON CONFLICT DO NOTHING",
                [(key, day, i) for i in ids],
            )

    def claim_send(self, edition: date, *, force: bool = False) -> SendClaim:
        """Claim the edition's send: set it ``sending`` unless it is already sending or
        sent (``force``: whatever it is), in one transaction, so of several processes
        racing, on one machine or several, exactly one wins."""
        day = edition.isoformat()
        with self.transaction() as c:
            row = c.execute(
                "SELECT status FROM issues WHERE newsletter = ? AND date = ?", (self.key, day)
            ).fetchone()
            before: EditionStatus = row["status"] if row is not None else "draft"
            if before in ("sending", "sent") and not force:
                return SendClaim(False, before)
            c.execute(
                "INSERT INTO issues (newsletter, date, draft_sha, status, updated_at)"
                " VALUES (?, ?, '', 'sending', ?) ON CONFLICT(newsletter, date) DO UPDATE SET"
                " status = 'sending', updated_at = excluded.updated_at",
                (self.key, day, _now()),
            )
        return SendClaim(True, before)

    def stored_since_draft(self, edition: date, sources: Sources) -> bool:
        """Whether an item from ``sources`` was first stored after the newest draft the
        pipeline wrote for ``edition`` (in a shared store another newsletter's ingest may
        have stored it: this one's ingest then counts it as known, not new)."""
        row = self.conn.execute(
            "SELECT MAX(written_at) FROM draft_versions WHERE newsletter = ? AND date = ?",
            (self.key, edition.isoformat()),
        ).fetchone()
        if row is None or row[0] is None:
            return False
        mine, params = _from_sources(sources)
        hit = self.conn.execute(
            f"SELECT 1 FROM items i WHERE i.first_seen > ?{mine} LIMIT 1", (row[0], *params)
        ).fetchone()
        return hit is not None

    def is_pipeline_draft(self, edition: date, sha: str) -> bool:
        """True when a draft with this fingerprint was written by the pipeline (unedited)."""
        row = self.conn.execute(
            "SELECT 1 FROM draft_versions WHERE newsletter = ? AND date = ? AND sha = ?",
            (self.key, edition.isoformat(), sha),
        ).fetchone()
        return row is not None

    def issue_ledger(
        self, first: date, last: date
    ) -> dict[date, tuple[EditionStatus | None, frozenset[str]]]:
        """The editions from ``first`` to ``last`` the store knows, in one query (both
        tables read by their date key): the status recorded for each (None when none
        was) and the fingerprints of the drafts the pipeline wrote for it."""
        span = (first.isoformat(), last.isoformat())
        rows = self.conn.execute(
            "SELECT date, status, NULL AS sha FROM issues WHERE newsletter = ?"
            " AND date BETWEEN ? AND ? UNION ALL SELECT date, NULL, sha FROM draft_versions"
            " WHERE newsletter = ? AND date BETWEEN ? AND ?",
            (self.key, *span, self.key, *span),
        ).rows
        status: dict[str, EditionStatus] = {}
        shas: dict[str, set[str]] = {}
        for day, recorded, sha in rows:
            if sha is None:
                status[day] = recorded
            else:
                shas.setdefault(day, set()).add(sha)
        return {
            date.fromisoformat(day): (status.get(day), frozenset(shas.get(day, ())))
            for day in status.keys() | shas.keys()
        }

    # -- LLM answers --------------------------------------------------------
    def llm_cache_get(self, key: str) -> str | None:
        """The story (as the model's JSON) cached under ``key``, if any."""
        row = self.conn.execute("SELECT story FROM llm_cache WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["story"])

    def llm_cache_put(
        self, key: str, story: str, *, model: str, prompt_version: str, tokens: int
    ) -> None:
        """Keep an accepted story (the model's JSON) under ``key``, replacing any before it."""
        with self.transaction() as c:
            c.execute(
                "INSERT INTO llm_cache (key, model, prompt_version, story, tokens, created_at)"
                " VALUES (?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET model = excluded.model,"
                " prompt_version = excluded.prompt_version, story = excluded.story,"
                " tokens = excluded.tokens, created_at = excluded.created_at",
                (key, model, prompt_version, story, tokens, _now()),
            )

    def record_run(self, edition: date, report: RunReport) -> None:
        """Keep every run's report, the ones that changed no file too."""
        with self.transaction() as c:
            c.execute(
                "INSERT INTO runs (newsletter, date, finished_at, report) VALUES (?, ?, ?, ?)",
                (self.key, edition.isoformat(), _now(), report.to_json(indent=None)),
            )

    def close(self) -> None:
        self.conn.close()


def _from_sources(sources: Sources | None) -> tuple[str, list[object]]:
    """The candidate query's condition on an item's origin, and its values."""
    if sources is None:
        return "", []
    ors = [f"i.origin IN ({_marks(sorted(sources.origins))})"]
    params: list[object] = [*sorted(sources.origins)]
    for folder in sources.folders:
        ors.append("substr(i.origin, 1, ?) = ?")
        params += [len(folder), folder]
    return f" AND ({' OR '.join(ors)})", params


# -- retention -------------------------------------------------------------------------
@dataclass(frozen=True)
class PrunePolicy:
    """What :func:`prune` removes; 0 keeps that kind forever."""

    unused_item_days: float = 30  # unused items published (else first seen) this long ago
    run_days: int = 90  # run reports of editions older than this
    draft_version_keep: int = 10  # pipeline draft fingerprints per edition, newest first
    extract_days: int = 30  # article full texts fetched this long ago
    limit: int = 0  # unused items removed at most, the oldest first (0: all)

    @classmethod
    def of(cls, config: Config) -> PrunePolicy:
        """The config's ``retention:`` for a build. Unused items a build may still select
        (within ``issue.max_age_hours``, and a day more) are kept whatever it says."""
        r = config.retention
        window = config.issue.max_age_hours / 24 + 1
        days = max(r.unused_item_days, window) if r.unused_item_days else 0
        return cls(days, r.run_days, r.draft_version_keep, r.extract_days, r.items_per_build)


@dataclass(frozen=True)
class PruneReport:
    """What one :func:`prune` removed (on a dry run: would remove) and the store's size."""

    items: int = 0
    tombstones: int = 0  # dropped: their source no longer lists them
    runs: int = 0
    draft_versions: int = 0
    extracts: int = 0
    bytes_before: int = 0
    bytes_after: int = 0  # on a dry run, what the store would take once compacted
    dry_run: bool = False

    def lines(self) -> list[str]:
        """One line per kind removed, then the size (for the CLI)."""
        verb = "would remove" if self.dry_run else "removed"
        kinds = (
            ("unused items", self.items),
            ("tombstones no source lists", self.tombstones),
            ("run reports", self.runs),
            ("draft fingerprints", self.draft_versions),
            ("article full texts", self.extracts),
        )
        out = [f"{verb} {n} {name}" for name, n in kinds]
        out.append(f"store {self.bytes_before / 1e6:.1f} MB -> {self.bytes_after / 1e6:.1f} MB")
        return out


def _before(today: date, days: float) -> str:
    return (datetime.combine(today, datetime.min.time(), UTC) - timedelta(days=days)).isoformat()


def _pages(c: Db, pragma: str) -> int:
    return int(c.execute(f"PRAGMA {pragma}").rows[0][0])


def _used(c: Db) -> int:
    """The bytes the store's data takes (SQLite: pages in use; PostgreSQL: the database)."""
    if c.pg:
        return int(c.execute("SELECT pg_database_size(current_database())").rows[0][0])
    return (_pages(c, "page_count") - _pages(c, "freelist_count")) * _pages(c, "page_size")


def prune(
    store: Store,
    policy: PrunePolicy,
    today: date,
    *,
    dry_run: bool = False,
    compact: bool = False,
) -> PruneReport:
    """Remove what ``policy`` says the store no longer needs, as of ``today``.

    Unused items dated before the cut go (the oldest ``policy.limit``), each leaving a
    tombstone (id, guid, link key, fingerprint) while its source still lists it:
    :meth:`Store.upsert_items` and :meth:`Store.listed` treat a listed tombstone as
    known, so a pruned item is never new again; a tombstone goes once its source was
    read without it. Items any newsletter's issue used or any open edition's draft
    holds (``uses``), the issue ledger and the feed ledger (ETag, Last-Modified,
    health) are never removed; run reports and draft fingerprints go for the store's
    own newsletter only. On SQLite free pages then go back to the file system; a store
    made before this reuses them, until ``compact`` turns that on for it (a full
    VACUUM). On PostgreSQL ``compact`` runs VACUUM (else autovacuum's job).
    ``dry_run`` counts the same and keeps everything.
    """
    c = store.conn
    # SQLite: the file, free pages too; PostgreSQL: the database
    before = _used(c) if c.pg else _pages(c, "page_count") * _pages(c, "page_size")
    counts: dict[str, int] = {}
    _begin(c)
    try:
        counts = _remove(c, store.key, policy, today)
        after = _used(c)
    except BaseException:
        c.execute("ROLLBACK")
        raise
    c.execute("ROLLBACK" if dry_run else "COMMIT")
    if not dry_run:
        if c.pg:
            if compact:
                c.execute("VACUUM (ANALYZE) items")
        else:
            if compact and _pages(c, "auto_vacuum") != 2:  # not INCREMENTAL: a store from before
                c.execute("PRAGMA auto_vacuum=INCREMENTAL")
                c.execute("VACUUM")
            c.raw.executescript("PRAGMA incremental_vacuum;")  # type: ignore[union-attr]
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        after = _used(c)
    return PruneReport(**counts, bytes_before=before, bytes_after=after, dry_run=dry_run)


def _remove(c: Db, key: str, policy: PrunePolicy, today: date) -> dict[str, int]:
    counts = dict.fromkeys(("items", "tombstones", "runs", "draft_versions", "extracts"), 0)
    if policy.unused_item_days:
        cut = (_before(today, policy.unused_item_days), policy.limit or 2**62)
        # both statements read items_by_date, oldest first: their cost follows what
        # goes (and the few used items among them), and they choose the same items
        where = (
            "WHERE rowid IN (SELECT rowid FROM items WHERE COALESCE(published, first_seen) < ?"
            " AND NOT EXISTS (SELECT 1 FROM uses u WHERE u.item_id = items.id)"
            " ORDER BY COALESCE(published, first_seen), rowid LIMIT ?)"
        )
        c.execute(
            "INSERT INTO tombstones (id, guid, url_key, raw_hash, origin, generation, dated)"
            " SELECT id, guid, url_key, raw_hash, origin, COALESCE((SELECT generation FROM"
            " listings l WHERE l.origin = items.origin), 0), COALESCE(published, first_seen)"
            f" FROM items {where} ON CONFLICT(id) DO UPDATE SET guid = excluded.guid,"
            " url_key = excluded.url_key, raw_hash = excluded.raw_hash,"
            " origin = excluded.origin, generation = excluded.generation, dated = excluded.dated",
            cut,
        )
        counts["items"] = c.execute(f"DELETE FROM items {where}", cut).rowcount
    counts["tombstones"] = c.execute(
        "DELETE FROM tombstones WHERE generation < COALESCE((SELECT generation FROM listings l"
        " WHERE l.origin = tombstones.origin), generation)"
    ).rowcount
    if policy.run_days:
        day = (today - timedelta(days=policy.run_days)).isoformat()
        counts["runs"] = c.execute(
            "DELETE FROM runs WHERE newsletter = ? AND date < ?", (key, day)
        ).rowcount
    if policy.draft_version_keep:
        # the newest per edition, and always the one the issue ledger names
        counts["draft_versions"] = c.execute(
            "DELETE FROM draft_versions WHERE newsletter = ? AND rowid IN (SELECT rowid FROM"
            " (SELECT rowid, ROW_NUMBER() OVER (PARTITION BY date ORDER BY written_at DESC,"
            " rowid DESC) AS n FROM draft_versions WHERE newsletter = ?) AS ranked WHERE n > ?)"
            " AND NOT EXISTS (SELECT 1 FROM issues i WHERE i.newsletter = draft_versions.newsletter"
            " AND i.date = draft_versions.date AND i.draft_sha = draft_versions.sha)",
            (key, key, policy.draft_version_keep),
        ).rowcount
    if policy.extract_days:
        counts["extracts"] = c.execute(
            "DELETE FROM extracts WHERE fetched_at < ?", (_before(today, policy.extract_days),)
        ).rowcount
    return counts


def _row_feed(row: Row) -> FeedState:
    return FeedState(
        url=row["url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_success=row["last_success"],
        last_error=row["last_error"],
        failures=row["failures"],
        last_new_item=row["last_new_item"],
        gone=bool(row["gone"]),
        moved_to=row["moved_to"],
        last_error_at=row["last_error_at"],
    )


def _row_item(r: Row) -> Item:
    image = Image(**json.loads(r["image"])) if r["image"] else None
    published = datetime.fromisoformat(r["published"]) if r["published"] else None
    return Item(
        id=r["id"],
        source=r["source"],
        origin=r["origin"],
        title=r["title"],
        text=r["text"],
        url=r["url"],
        html=r["html"],
        guid=r["guid"],
        author=r["author"],
        published=published,
        image=image,
    )


def backups_of(path: Path) -> list[Path]:
    """The store's backups, newest first."""
    folder = path.parent / "backups"
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{path.stem}-*.sqlite3"), reverse=True)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _refuse_lost(p: Path) -> None:
    """A store that is a folder, empty, not SQLite, or gone while its backups remain."""
    if p.is_dir():
        raise StoreError(f"state store {p} is a directory, not a file; move it or set paths.state")
    try:
        with open(p, "rb") as fh:
            head = fh.read(len(_MAGIC))
    except FileNotFoundError:
        if backups_of(p):
            raise StoreError(
                f"state store {p} is missing but its backups are in {p.parent / 'backups'}:"
                f" it was lost, and a build from nothing would repeat used stories; {_RESTORE}"
            ) from None
        return
    except OSError as exc:
        raise StoreError(f"state store {p}: cannot read: {exc.strerror or exc}") from None
    if not head and backups_of(p):
        # without backups no build ever used it: an empty file is a store about to be
        # made (sqlite3.connect creates one), as SQLite itself takes it
        raise StoreError(
            f"state store {p} is empty (0 bytes): it was lost or truncated, and a build from"
            f" it would repeat used stories and take the draft for a hand edit; {_RESTORE}"
        )
    if head and head != _MAGIC:
        raise StoreError(f"state store {p} is not an SQLite database (overwritten?); {_RESTORE}")


def _create(p: Path) -> None:
    """Build a new, empty store aside and link it into place (never over another)."""
    p.parent.mkdir(parents=True, exist_ok=True)
    # one name per process and thread: two threads may create the store at once
    tmp = p.with_name(f".{p.name}.new-{os.getpid()}-{threading.get_ident()}")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        # set before the first table: pruned pages can then go back to the file system
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        _migrate(Db(conn, str(p)), "default")  # no rows yet: the key is not used
        conn.execute("VACUUM")  # the pages of the tables migrations replaced, given back
    finally:
        conn.close()  # the last close checkpoints and removes the -wal file
    try:
        os.link(tmp, p)
    except FileExistsError:
        pass  # another process created it first: use theirs
    finally:
        tmp.unlink(missing_ok=True)


def _explain(p: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return StoreError(f"state store {p} is corrupt ({text}); {_RESTORE}")
    if "readonly" in text or "unable to open" in text or "I/O" in text:
        hint = "check that it and its folder are writable files and folders (and its -wal, -shm)"
        return StoreError(f"state store {p}: cannot write ({text}); {hint}")
    return StoreError(f"state store {p}: {text}")


class _Check:
    """:func:`_check_and_back_up` in a thread with a connection of its own, started as the
    store opens: the build goes on meanwhile (both read the file; SQLite leaves the
    interpreter free while it works), and waits for it (:meth:`Store.checked`) before it
    writes a draft; the store's context waits for it too, as it closes."""

    def __init__(self, p: Path) -> None:
        self.path = p
        self.error: StoreError | None = None
        self.thread = threading.Thread(target=self._run, name="store-check", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                _check_and_back_up(conn, self.path)
            finally:
                conn.close()
        except StoreError as exc:
            self.error = exc
        except sqlite3.Error as exc:
            self.error = _explain(self.path, exc)
        except OSError as exc:
            self.error = StoreError(f"state store {self.path}: cannot back it up: {exc}")

    def wait(self) -> None:
        self.thread.join()
        if self.error is not None:
            raise self.error


def _check_and_back_up(conn: sqlite3.Connection, p: Path) -> None:
    problems = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    if problems != ["ok"]:
        raise StoreError(
            f"state store {p} fails its integrity check ({'; '.join(problems[:3])}); {_RESTORE}"
        )
    folder = p.parent / "backups"
    folder.mkdir(exist_ok=True)
    target = folder / f"{p.stem}-{_stamp()}.sqlite3"
    tmp = target.with_name("." + target.name)
    dest = sqlite3.connect(tmp)
    try:
        conn.backup(dest)
    finally:
        dest.close()
    os.replace(tmp, target)
    for old in backups_of(p)[KEEP_BACKUPS:]:
        old.unlink(missing_ok=True)


@contextmanager
def open_store(path: str | Path, *, check: bool = False, key: str = "default") -> Iterator[Store]:
    """Open (creating if needed) the SQLite state store at ``path``, for newsletter ``key``.

    ``check``: run SQLite's integrity check and keep a backup (builds do), in a thread
    beside the caller's work: :meth:`Store.checked` waits for it, as closing does. Raises
    :class:`StoreError` for a lost, corrupt or unusable store, and for any SQLite
    failure while the store is open.
    """
    p = Path(path)
    _refuse_lost(p)
    try:
        if not p.exists():
            _create(p)
        conn = sqlite3.connect(p, timeout=30, isolation_level=None)
    except sqlite3.Error as exc:
        raise _explain(p, exc) from None
    except OSError as exc:
        raise StoreError(f"state store {p}: cannot create: {exc.strerror or exc}") from None
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        conn.execute(f"PRAGMA wal_autocheckpoint={_WAL_CHECKPOINT_PAGES}")
        db = Db(conn, str(p))
        _migrate(db, key)
        checking = _Check(p) if check else None
        try:
            yield Store(db, key, checking)
        finally:
            if checking is not None:  # never left running, and a failure is never unsaid
                exc_now = sys.exc_info()[1]
                try:
                    checking.wait()
                except StoreError:
                    if exc_now is None:
                        raise
    except sqlite3.Error as exc:
        raise _explain(p, exc) from None
    finally:
        conn.close()


@contextmanager
def open_pg_store(url: str, *, check: bool = False, key: str = "default") -> Iterator[Store]:
    """Open the PostgreSQL state store at ``url`` for newsletter ``key``, migrating it.

    ``check``: the connection works and the schema is this program's version. Every
    database failure becomes a :class:`StoreError` naming the URL (no password) and
    what failed."""
    import psycopg

    where = safe_url(url)
    try:
        raw = connect_pg(url)
    except psycopg.Error as exc:
        raise StoreError(f"state store {where}: cannot connect: {_pg_reason(exc)}") from None
    db = Db(raw, where)
    try:
        _migrate(db, key)
        if check and _version(db) != len(MIGRATIONS):
            raise StoreError(f"state store {where}: schema version is not {len(MIGRATIONS)}")
        yield Store(db, key)
    except psycopg.Error as exc:
        raise StoreError(f"state store {where}: {_pg_reason(exc)}") from None
    finally:
        raw.close()


def _pg_reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


@contextmanager
def open_state(config: Config, *, check: bool = False) -> Iterator[Store]:
    """The newsletter's state store, bound to ``config.key``: the SQLite file or the
    PostgreSQL database ``paths.state`` names (see :func:`open_location`)."""
    state = config.paths.state if config.state_in_database else config.state_path
    with open_location(state, check=check, key=config.key) as store:
        yield store


@contextmanager
def open_location(
    state: str | Path, *, check: bool = False, key: str = "default"
) -> Iterator[Store]:
    """The store at ``state``, a SQLite file (:func:`open_store`) or a ``postgresql://``
    URL (:func:`open_pg_store`), bound to newsletter ``key``."""
    if isinstance(state, str) and is_url(state):
        with open_pg_store(state, check=check, key=key) as store:
            yield store
    else:
        with open_store(state, check=check, key=key) as store:
            yield store


def restore_state(config: Config, source: Path | None = None) -> tuple[Path, Path | None]:
    """:func:`restore_store` for the newsletter's store; refused on PostgreSQL, whose
    backups are pg_dump's (and whose restore is pg_restore's)."""
    if config.state_in_database:
        raise StoreError(
            f"state store {safe_url(config.paths.state)} is PostgreSQL: restore-store puts back"
            " SQLite backups only; back up and restore a PostgreSQL store with pg_dump and"
            " pg_restore"
        )
    return restore_store(config.state_path, source)


def restore_store(path: Path, source: Path | None = None) -> tuple[Path, Path | None]:
    """Put back ``source`` or else the newest backup that passes the integrity check.

    The store it replaces (with its -wal and -shm) is kept beside it as
    ``<name>.broken-<time>``, never deleted. Returns (the backup used, the kept store).
    """
    candidates = [source] if source is not None else backups_of(path)
    if not candidates:
        raise StoreError(f"no backups of the state store {path} in {path.parent / 'backups'}")
    chosen = None
    for candidate in candidates:
        try:
            conn = sqlite3.connect(f"file:{candidate}?mode=ro", uri=True)
            try:
                ok = conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            finally:
                conn.close()
        except sqlite3.Error:
            ok = False
        if ok:
            chosen = candidate
            break
    if chosen is None:
        raise StoreError(f"no backup of {path} passes the integrity check: {candidates[0]}...")
    kept = None
    stamp = _stamp()
    for suffix in ("", "-wal", "-shm"):
        current = Path(f"{path}{suffix}")
        if current.exists() or current.is_symlink():
            moved = Path(f"{path}.broken-{stamp}{suffix}")
            os.replace(current, moved)
            kept = kept or moved
    tmp = path.with_name(f".{path.name}.restore-{os.getpid()}")
    tmp.write_bytes(chosen.read_bytes())
    os.replace(tmp, path)
    return chosen, kept
