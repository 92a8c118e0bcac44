"""Ingest: configured feeds and story files in, items in the state store out.

:func:`ingest` reads every source (``config.sources.feeds`` and the inbox, or
the ``sources`` given instead), stores each source's items as soon as that
source is done (feeds fetched at once are written in groups, one transaction each,
within 50 ms, and feed files ten to a transaction: an interrupted run keeps what it
stored) and returns an
:class:`IngestResult` with one :class:`SourceResult` per source. A failing
source is recorded with a precise error and never stops the run.

Work is done once: each entry's fingerprint (a digest of it as the source gave it)
is looked up first, and an entry stored as it is, or pruned, is counted as
``unchanged`` and left out; only new or changed entries get their text, sanitized
HTML, canonical link and id worked out, and their warnings said. A run that reads many
feeds for the first time (whose entries are seldom known), or a megabyte of new feed
files, parses and works them out in a worker process (``_pool``) while it goes on
fetching and writing; the worker hands the items over as columns (``store.Prepared``),
and an entry found stored as it is when it is written (``store.Stored.known``) counts
as unchanged, with the same results as a reading here.

:func:`prefetch` fetches the feeds of several newsletters (a deployment's) once, in one
round; each newsletter's :func:`ingest` then reads those :class:`Prefetched` answers in
place of fetching, into its own store.

:func:`feed_health` reads the store's feed-health ledger for the run report:
failing, stale and gone feeds, and alerts for feeds that failed
``fetch.alert_after_failures`` runs in a row.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import gc
import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from ..config import Config, Fetch
from ..errors import FetchError, NewsletterError, SourceError
from ..ids import canonical_url, item_id
from ..models import FeedHealth, HealthStatus, IngestResult, Item, SourceResult
from ..store import (
    FeedRecord,
    FeedState,
    FeedWrite,
    ItemRow,
    Prepared,
    Store,
    Stored,
    prepare,
    prepare_rows,
)
from ._extract import with_full_text
from ._feeds import Entry, ParsedFeed, parse_feed
from ._fetch import FetchRequest, FetchResponse, GoneError, fetch_all
from ._files import STORY_SUFFIXES, read_file, read_story
from ._pool import Pool
from ._sanitize import sanitize

__all__ = ["FeedHealth", "Prefetched", "feed_health", "ingest", "prefetch"]


@dataclass(frozen=True)
class _Source:
    """One planned source: what to read, and how to name it."""

    ref: str  # as configured or given: the URL or path shown in results
    kind: Literal["url", "feed-file", "story", "inbox"]
    name: str = ""
    path: Path | None = None
    allow_internal: bool = False  # the config entry allows its origin an internal address

    @property
    def internal_ok(self) -> str:
        """The URL whose origin fetches for this source may reach internally, or ''."""
        return self.ref if self.allow_internal else ""


_INLINE_PARSE_MAX = 64 * 1024  # bodies up to this are parsed on the event loop
# a run reading at least this many feeds for the first time reads them in a worker
# process (a fork and its hand-offs cost more than reading a few feeds here)
_POOL_MIN = 32


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _plan(config: Config, sources: Sequence[str] | None) -> list[_Source]:
    """The sources to read, each named once (a repeated one is read once)."""
    out = _planned(config, sources)
    seen: set[str] = set()
    unique = []
    for src in out:
        if src.ref not in seen:
            seen.add(src.ref)
            unique.append(src)
    return unique


def _planned(config: Config, sources: Sequence[str] | None) -> list[_Source]:
    out: list[_Source] = []
    if sources is None:
        for feed in config.sources.feeds:
            if _is_url(feed.url):
                out.append(_Source(feed.url, "url", feed.name, None, feed.allow_internal))
            else:
                out.append(_Source(feed.url, "feed-file", feed.name, config.path(feed.url)))
        if config.sources.inbox:
            inbox = config.sources.inbox
            out.append(_Source(inbox, "inbox", path=config.path(inbox)))
        return out
    # a URL given on the command line keeps the allowance of its config entry
    allowed = {f.url for f in config.sources.feeds if f.allow_internal}
    for ref in sources:
        if _is_url(ref):
            out.append(_Source(ref, "url", allow_internal=ref in allowed))
            continue
        path = Path(ref).expanduser()
        if path.is_dir():
            out.append(_Source(ref, "inbox", path=path))
        elif path.suffix.lower() in STORY_SUFFIXES:
            out.append(_Source(ref, "story", path=path))
        else:
            out.append(_Source(ref, "feed-file", path=path))
    return out


def _untitled(entry: Entry) -> str:
    """A title for an entry that has none: its first sentence, shortened."""
    first = entry.text.split("\n", 1)[0]
    first = first.split(". ", 1)[0]
    return first if len(first) <= 90 else first[:87].rsplit(" ", 1)[0] + "..."


@dataclass(frozen=True)
class _Deadline:
    """When a source must be done: its fetch and its parse share ``fetch.timeout``."""

    at: float  # time.monotonic()
    seconds: float

    @classmethod
    def after(cls, seconds: float, spent: float = 0.0) -> _Deadline:
        return cls(time.monotonic() + max(0.0, seconds - spent), seconds)

    def check(self, ref: str, done: int, total: int) -> None:
        if time.monotonic() > self.at:
            raise SourceError(
                ref,
                f"not read within the {self.seconds:g} s fetch.timeout: stopped after"
                f" {done} of {total} entries",
            )


# Part of every fingerprint: bump it when the work on an entry changes (text, sanitizing,
# links), and every stored entry is worked out once more.
_WORK = "1"


def _salt(cfg: Fetch) -> str:
    """What shapes an item besides its entry: the work's version, the full-text settings."""
    return f"{_WORK}|{cfg.full_text}|{cfg.teaser_chars}"


def _digest(salt: str, parts: Sequence[str]) -> str:
    text = "\x1f".join((salt, *parts))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _fingerprints(parsed: ParsedFeed, salt: str) -> list[str]:
    """Each entry as its source gave it, digested (cheap: nothing is worked out). The
    same fingerprint gives the same item, so a stored one is not worked out again."""
    out = []
    for e in parsed.entries:
        image = (e.image.url, e.image.alt, e.image.credit) if e.image else ("\0",)
        plain = "\0" if e.plain is None else e.plain
        dates = (
            e.published.isoformat() if e.published else "",
            e.updated.isoformat() if e.updated else "",
        )
        out.append(
            _digest(salt, (e.guid, e.link, e.title, e.html, plain, e.author, *dates, *image))
        )
    return out


@dataclass(frozen=True)
class _Worked:
    """A source's entries worked out: the items new or changed at the source made ready
    to store (``ready``, with each one's fingerprint), and how many were known as they
    are (left out, not worked out). Columns of strings, not item objects: they cost less
    to make, and cross from the worker process for a fraction of the objects' pickling."""

    ready: Prepared
    warnings: list[str]
    unchanged: int = 0

    @property
    def items(self) -> list[Item]:
        """The items, as objects (made from ``ready``: only a caller that keeps them asks)."""
        return list(self.ready.items())


def _items(
    parsed: ParsedFeed, src: _Source, origin: str, deadline: _Deadline | None = None
) -> tuple[Prepared, list[str]]:
    """Entries -> items made ready to store: plain text, sanitized HTML, stable ids, UTC
    dates (what ingest does to an entry; ``bench/ingest.py`` times it)."""
    worked = _work(parsed, src, origin, deadline)
    return worked.ready, worked.warnings


def _work(
    parsed: ParsedFeed,
    src: _Source,
    origin: str,
    deadline: _Deadline | None = None,
    prints: Sequence[str] = (),
    known: frozenset[str] = frozenset(),
) -> _Worked:
    """Entries -> items, but for those whose fingerprint (``prints``, in entry order)
    is ``known``: the per-item work (text, sanitizing, canonical link) is done once."""
    host = (urlsplit(origin).hostname or "").removeprefix("www.") if _is_url(origin) else ""
    source = src.name or parsed.title or host or Path(origin).stem
    rows: list[ItemRow] = []
    unchanged = 0
    warnings = list(parsed.warnings)
    marks = list(prints) or [""] * len(parsed.entries)
    for n, (e, mark) in enumerate(zip(parsed.entries, marks, strict=True)):
        if deadline is not None:
            deadline.check(src.ref, n, len(parsed.entries))
        if mark in known:
            unchanged += 1
            continue
        title = e.title or _untitled(e)
        if not title and not e.link:
            warnings.append(f"{src.ref}: entry {n + 1} has no title, text or link; skipped")
            continue
        title = title or e.link
        link = e.link if _is_url(e.link) else ""  # no javascript:, data:, file: links
        if e.link and not link:
            warnings.append(f"{src.ref}: entry {n + 1}: dropped a non-web link {e.link[:60]!r}")
        image = e.image if e.image is not None and _is_url(e.image.url) else None
        text = e.text
        rows.append(  # the fields of an Item, in order (see ItemRow)
            (
                item_id(e.guid, link, title, text),
                source,
                origin,
                title,
                text,
                canonical_url(link),  # tracking parameters dropped
                sanitize(e.html),
                e.guid,
                e.author,
                e.published or e.updated,
                image,
                mark,
            )
        )
    return _Worked(prepare_rows(rows), warnings, unchanged)


def _store(
    store: Store,
    src: _Source,
    kind: Literal["feed", "file"],
    worked: _Worked,
    t0: float,
    keep: bool,
) -> SourceResult:
    return _stored(src, kind, worked, t0, (), store.store_prepared(worked.ready), keep)


def _stored(
    src: _Source,
    kind: Literal["feed", "file"],
    worked: _Worked,
    t0: float,
    warnings: Sequence[str],
    stored: Stored,
    keep: bool,
) -> SourceResult:
    """The result of a source stored, with its items as objects only when ``keep``; those
    the store knew as they are (:attr:`Stored.known`) count as unchanged instead."""
    listed = len(worked.ready) + worked.unchanged
    worked = _less(worked, stored.known)
    return SourceResult(
        source=src.ref,
        kind=kind,
        status="ok",
        items=worked.ready.items() if keep else (),
        new=stored.new,
        updated=stored.updated,
        warnings=(*warnings, *worked.warnings),
        elapsed=time.perf_counter() - t0,
        unchanged=worked.unchanged,
        listed=listed,
    )


def _as_source_error(ref: str, exc: Exception) -> SourceError:
    """A SourceError as is; anything else is a bug, reported for this source only.
    A failing state store is no source's fault: it stops the run."""
    if isinstance(exc, SourceError):
        return exc
    if isinstance(exc, sqlite3.Error | NewsletterError):
        raise exc
    return SourceError(ref, f"unexpected {type(exc).__name__}: {exc} (a bug: please report it)")


def _error(src: _Source, kind: Literal["feed", "file"], exc: Exception, t0: float) -> SourceResult:
    return SourceResult(
        source=src.ref,
        kind=kind,
        status="error",
        error=str(exc),
        elapsed=time.perf_counter() - t0,
    )


_FileRead = tuple[_Worked, list[str]] | SourceError  # a feed file read, or why not


def _read_feed_file(config: Config, store: Store, src: _Source, keep: bool) -> SourceResult:
    """A feed file read before: entries its listing holds as they are stored are not
    worked out again."""
    t0 = time.perf_counter()
    return _write_file(store, src, _read_file_job(src, config.fetch, store.known), t0, keep)


def _read_file_job(
    src: _Source, cfg: Fetch, known: Callable[[Sequence[str]], frozenset[str]] | None = None
) -> _FileRead:
    """A feed file read whole (a new one in the worker process, or here): parsed,
    fingerprinted and every entry worked out but those ``known`` says are stored as they
    are (without it, those are found as they are written, :attr:`Stored.known`), with the
    whole listing's prints; or why it could not be read."""
    assert src.path is not None
    label = str(src.path)
    try:
        deadline = _Deadline.after(cfg.timeout)
        data = read_file(src.path, label, cfg.max_bytes)
        parsed = parse_feed(data, where=label, max_bytes=cfg.max_bytes)
        prints = _fingerprints(parsed, _salt(cfg))
        held = known(prints) if known is not None else frozenset()
        return _work(parsed, src, label, deadline, prints, held), prints
    except Exception as exc:  # one source never stops the run
        return _as_source_error(label, exc)


def _write_file(
    store: Store,
    src: _Source,
    read: _FileRead,
    t0: float,
    keep: bool,
) -> SourceResult:
    """A feed file read (or why not) written: its listing, items and health in one write,
    as a fetched feed's."""
    label = str(src.path)
    try:
        if isinstance(read, SourceError):
            raise read
        worked, prints = read
        [stored] = store.store_feeds([FeedWrite(FeedRecord(label, ok=True), worked.ready, prints)])
    except Exception as exc:  # one source never stops the run
        err = _as_source_error(label, exc)
        store.record_feed(label, ok=False, error=str(err))
        return _error(src, "feed", err, t0)
    return _stored(src, "feed", worked, t0, (), stored, keep)


def _read_feed_files(
    config: Config, store: Store, files: Sequence[_Source], keep: bool
) -> dict[str, SourceResult]:
    """Feed files, ``_FILES_PER_COMMIT`` to a transaction. Files never read before, when
    there are ``_FILE_POOL_MIN`` bytes of them, are read in a worker process while this
    one writes, and read here when the worker has ``_FILES_IN_FLIGHT`` to read; they are
    written in their order either way."""
    out: dict[str, SourceResult] = {}
    done: list[tuple[_Source, float, _FileRead]] = []

    def write() -> None:
        with store.group():  # a commit costs more than a file's writes: several share one
            for src, t0, read in done:
                out[src.ref] = _write_file(store, src, read, t0, keep)
        done.clear()

    cfg = config.fetch
    fresh = [s for s in files if store.feed_state(str(s.path)).last_success is None]
    size = sum(_size(s.path) for s in fresh)
    wait = _WORKER_WAIT * cfg.timeout
    with Pool(wanted=size >= _FILE_POOL_MIN) as pool:
        # in the files' order, as the store must see them (the first to list an entry
        # stores it): each read by the worker while it has room, else here meanwhile
        window: collections.deque[tuple[_Source, float, Future[_FileRead]]] = collections.deque()
        for src in fresh:
            t0 = time.perf_counter()
            if sum(not f.done() for _, _, f in window) < _FILES_IN_FLIGHT:
                future = pool.submit(_read_file_job, src, cfg)
            else:
                future = Future()
                future.set_result(_read_file_job(src, cfg))
            window.append((src, t0, future))
            # written as soon as read; a worker far behind is waited for (memory stays bounded)
            while window and (window[0][2].done() or len(window) > _FILES_WAITING):
                src, t0, future = window.popleft()
                done.append((src, t0, pool.wait(future, wait, _read_file_job, src, cfg)))
                if len(done) >= _FILES_PER_COMMIT:
                    write()
        for src, t0, future in window:
            done.append((src, t0, pool.wait(future, wait, _read_file_job, src, cfg)))
            if len(done) >= _FILES_PER_COMMIT:
                write()
    if done:
        write()
    read_before = [s for s in files if s.ref not in out]
    for at in range(0, len(read_before), _FILES_PER_COMMIT):
        with store.group():
            for src in read_before[at : at + _FILES_PER_COMMIT]:
                out[src.ref] = _read_feed_file(config, store, src, keep)
    return out


def _size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path is not None else 0
    except OSError:  # reading it will say what is wrong
        return 0


def _read_stories(config: Config, store: Store, src: _Source, keep: bool) -> list[SourceResult]:
    """Each story file is its own source: one bad file never hides the others."""
    assert src.path is not None
    if src.kind == "story":
        files = [src.path]
    elif not src.path.is_dir():
        err = SourceError(str(src.path), "inbox folder not found")
        return [_error(src, "file", err, time.perf_counter())]
    else:
        # everything named like a story is tried, so a folder, FIFO or link that
        # cannot be read is reported rather than skipped without a word
        files = sorted(
            p
            for p in src.path.iterdir()
            if p.suffix.lower() in STORY_SUFFIXES
            and not p.name.startswith((".", "_"))
            and not p.stem.upper().startswith("README")
        )
    out = []
    for path in files:
        t0 = time.perf_counter()
        one = _Source(str(path), "story", path=path)
        try:
            item = read_story(
                path,
                label=str(path),
                default_source=config.newsletter.name,
                tz=config.newsletter.tz,
                max_bytes=config.fetch.max_bytes,
                inbox=src.path if src.kind == "inbox" else None,
            )
            out.append(_store(store, one, "file", _once(store, item, config.fetch), t0, keep))
        except Exception as exc:  # one file never stops the run
            out.append(_error(one, "file", _as_source_error(str(path), exc), t0))
    return out


def _once(store: Store, item: Item, cfg: Fetch) -> _Worked:
    """A story file's item, left out when stored as it is (its work is already done:
    the file is small, and its listing keeps a pruned story from coming back)."""
    image = (item.image.url, item.image.alt, item.image.credit) if item.image else ("\0",)
    when = item.published.isoformat() if item.published else ""
    parts = (item.id, item.source, item.title, item.text, item.url, item.html, item.guid)
    mark = _digest(_salt(cfg), (*parts, item.author, when, *image))
    if mark in store.listed(item.origin, [mark]):
        return _Worked(Prepared(), [], 1)
    return _Worked(prepare([item], [mark]), [])


# finished feeds wait at most this long, or until this many, to be written in one
# transaction: one commit per feed cost more than the rest of its storing
_GROUP_WAIT = 0.05
_FILES_PER_COMMIT = 10  # feed files whose writes commit together (each its own savepoint)
# new feed files read in a worker process when there are this many bytes of them (a
# fork costs a few ms, about what 100 KB of feed costs to read), this many at a time
_FILE_POOL_MIN = 1024 * 1024
_FILES_IN_FLIGHT = 2
_FILES_WAITING = 40  # read but waiting to be written behind one the worker is late with
_GROUP_MAX = 100


@dataclass(frozen=True)
class _Finished:
    """A fetched feed waiting to be written: its health record, and for a 200 its
    items worked out (written in the same transaction as its validators)."""

    src: _Source
    record: FeedRecord
    t0: float
    result: SourceResult | None = None  # the final result of a 304 or an error
    worked: _Worked | None = None
    prints: tuple[str, ...] = ()  # the whole listing (Store.store_feed notes it)
    warnings: tuple[str, ...] = ()


class _Writer:
    """Writes finished feeds in groups, each group one transaction, within
    ``_GROUP_WAIT`` seconds of the first one waiting (an interrupted run loses at most
    that) or as soon as ``_GROUP_MAX`` wait. A feed's validators are written with its
    items (a crash never keeps an ETag whose items were lost), each 200 in a savepoint
    of its own, so one that fails is recorded as failed and the others are kept."""

    def __init__(self, store: Store, results: dict[str, SourceResult], keep: bool) -> None:
        self.store = store
        self.results = results
        self.keep = keep
        self.waiting: list[_Finished] = []
        self.timer: asyncio.TimerHandle | None = None
        self.failed: Exception | None = None  # a store failure in a timed write

    def add(self, done: _Finished) -> None:
        self.raise_failure()
        self.waiting.append(done)
        if len(self.waiting) >= _GROUP_MAX:
            self.flush()
        elif self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(_GROUP_WAIT, self._timed)

    def _timed(self) -> None:
        self.timer = None
        try:
            self.flush()
        except Exception as exc:  # a callback's error would be lost: raise it later
            self.failed = exc

    def raise_failure(self) -> None:
        if self.failed is not None:
            failed, self.failed = self.failed, None
            raise failed

    def flush(self) -> None:
        """Write every waiting feed now, in one transaction."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        group, self.waiting = self.waiting, []
        if not group:
            return
        records: list[FeedRecord] = []
        out: dict[str, SourceResult] = {}
        with self.store.group():
            counts = self._at_once(group)
            for done in group:
                ref = done.src.ref
                if done.worked is None:
                    assert done.result is not None
                    records.append(done.record)
                    out[ref] = done.result
                    continue
                worked = done.worked
                try:
                    stored = (
                        counts.get(ref)
                        or self.store.store_feeds(
                            [FeedWrite(done.record, worked.ready, done.prints)]
                        )[0]
                    )
                except Exception as exc:  # one feed never stops the run
                    err = _as_source_error(ref, exc)
                    records.append(FeedRecord(ref, ok=False, error=str(err)))
                    out[ref] = _error(done.src, "feed", err, done.t0)
                    continue
                out[ref] = _stored(
                    done.src, "feed", worked, done.t0, done.warnings, stored, self.keep
                )
            self.store.record_feeds(records)
        self.results.update(out)  # only once committed

    def _at_once(self, group: Sequence[_Finished]) -> dict[str, Stored]:
        """The group's fetched feeds stored together, what it did by feed; none if one of
        them fails (a savepoint undone): each is then stored alone, and the failing one said."""
        fed = [
            (d.src.ref, FeedWrite(d.record, d.worked.ready, d.prints))
            for d in group
            if d.worked is not None
        ]
        if not fed:
            return {}
        try:
            counts = self.store.store_feeds([w for _, w in fed])
        except Exception:  # the feed at fault is found and reported one by one
            return {}
        return {ref: c for (ref, _), c in zip(fed, counts, strict=True)}


async def _fetch_feeds(
    config: Config, store: Store, srcs: list[_Source], keep: bool, prefetched: Prefetched | None
) -> dict[str, SourceResult]:
    cfg = config.fetch
    results: dict[str, SourceResult] = {}
    requests: list[FetchRequest] = []
    answered: list[tuple[FetchRequest, FetchResponse | FetchError]] = []
    by_url: dict[str, tuple[_Source, FeedState, float]] = {}
    for src in srcs:
        state = store.feed_state(src.ref)
        t0 = time.perf_counter()
        if state.gone:
            gone = FetchError(
                src.ref,
                f"feed is gone (HTTP 410 at {state.last_error_at}); remove it from the config",
            )
            results[src.ref] = _error(src, "feed", gone, t0)
            continue
        url = state.moved_to or src.ref
        # validators only make sense for the URL they came from
        req = FetchRequest(url, state.etag, state.last_modified, src.internal_ok)
        answer = prefetched.answer(src.ref, req) if prefetched is not None else None
        if answer is None:
            requests.append(req)
        else:
            answered.append((req, answer))
        by_url[url] = (src, state, t0)
    writer = _Writer(store, results, keep)
    first = sum(1 for _, state, _ in by_url.values() if state.last_success is None)
    with Pool(wanted=first >= _POOL_MIN) as pool:
        reads = _FirstReads(pool, cfg) if pool.working else None

        async def done(req: FetchRequest, res: FetchResponse | FetchError) -> None:
            writer.add(await _finish(cfg, store, by_url[req.url], res, reads))

        try:
            for req, res in answered:  # fetched once for several newsletters
                await done(req, res)
            await fetch_all(requests, cfg, done)
        finally:
            writer.flush()  # an interrupted run keeps what finished
    writer.raise_failure()
    return results


async def _finish(
    cfg: Fetch,
    store: Store,
    planned: tuple[_Source, FeedState, float],
    res: FetchResponse | FetchError,
    reads: _FirstReads | None,
) -> _Finished:
    """One feed's answer made ready to write: an error, a 304, or items worked out (a
    feed never read before: by ``reads``, in a worker process, when given)."""
    src, state, t0 = planned
    if isinstance(res, FetchError):
        record = FeedRecord(src.ref, ok=False, error=str(res), gone=isinstance(res, GoneError))
        return _Finished(src, record, t0, _error(src, "feed", _named(src, res), t0))
    warnings = []
    if res.moved_to and res.moved_to != state.moved_to:
        warnings.append(f"{src.ref}: moved permanently to {res.moved_to}; update the config")
    moved = res.moved_to or None
    if res.status == 304:
        record = FeedRecord(
            src.ref,
            ok=True,
            etag=res.etag or None,
            last_modified=res.last_modified or None,
            moved_to=moved,
        )
        result = SourceResult(
            source=src.ref,
            kind="feed",
            status="not-modified",
            warnings=tuple(warnings),
            elapsed=time.perf_counter() - t0,
        )
        return _Finished(src, record, t0, result)
    try:
        # parsing counts against the feed's deadline; a large body is parsed in a
        # worker thread so the other feeds' transfers go on meanwhile, a small one
        # here (a thread hand-off costs more than it parses)
        deadline = _Deadline.after(cfg.timeout, res.elapsed)
        if reads is not None and state.last_success is None:
            job = _Job(res.body, res.final_url, res.content_type, src, deadline)
            worked, prints = await reads.read(job)
        else:
            inline = len(res.body) <= _INLINE_PARSE_MAX
            parsed, prints = (
                _parse(res, src, cfg) if inline else await asyncio.to_thread(_parse, res, src, cfg)
            )
            known = store.known(prints)  # the listing itself is noted when written
            args = (parsed, src, src.ref, deadline, prints, known)
            worked = _work(*args) if inline else await asyncio.to_thread(_work, *args)
        if cfg.full_text:
            items, refused = await with_full_text(worked.items, store, cfg, src.internal_ok)
            more = [f"{src.ref}: {r}" for r in refused]
            worked = _Worked(
                prepare(items, worked.ready.raws), worked.warnings + more, worked.unchanged
            )
    except Exception as exc:  # one feed never stops the run
        err = _as_source_error(src.ref, exc)
        record = FeedRecord(src.ref, ok=False, error=str(err))
        return _Finished(src, record, t0, _error(src, "feed", err, t0))
    record = FeedRecord(
        src.ref, ok=True, etag=res.etag, last_modified=res.last_modified, moved_to=moved
    )
    return _Finished(src, record, t0, worked=worked, prints=tuple(prints), warnings=tuple(warnings))


def _parse(
    res: FetchResponse | _Job, src: _Source, cfg: Fetch, salt: str = ""
) -> tuple[ParsedFeed, list[str]]:
    parsed = parse_feed(
        res.body,
        url=res.final_url,
        content_type=res.content_type,
        where=src.ref,
        max_bytes=cfg.max_bytes,
    )
    return parsed, _fingerprints(parsed, salt or _salt(cfg))


@dataclass(frozen=True)
class _Job:
    """A fetched feed to read in the worker process: its response's body, final URL and
    type, the source, and the deadline its reading shares with its fetch."""

    body: bytes
    final_url: str
    content_type: str
    src: _Source
    deadline: _Deadline


def _read_jobs(jobs: Sequence[_Job], cfg: Fetch) -> list[tuple[_Worked, list[str]] | SourceError]:
    """Feeds read for the first time (run in the worker process): each parsed, fingerprinted
    and every entry worked out (a first listing's entries are seldom known, and
    :func:`_unknown` then drops those that are), with the whole listing's prints; or why
    it could not be read."""
    out: list[tuple[_Worked, list[str]] | SourceError] = []
    salt = _salt(cfg)
    for job in jobs:
        ref = job.src.ref
        try:
            parsed, prints = _parse(job, job.src, cfg, salt)
            out.append((_work(parsed, job.src, ref, job.deadline, prints), prints))
        except Exception as exc:  # one feed never stops the others
            out.append(_as_source_error(ref, exc))
    return out


_WORKER_WAIT = 10  # fetch timeouts a batch may wait for the worker before it is ended
_READ_BATCH = 16  # feeds a hand-off to the worker carries at most (a few ms of its work)


class _FirstReads:
    """Feeds read for the first time, read in the pool's worker process while this one
    fetches and writes. Those answered in one turn of the event loop go in one hand-off
    (up to ``_READ_BATCH``: a hand-off costs more than its bytes). Entries the store
    knows as they are are found as they are written (:attr:`Stored.known`), with no
    look-up of their own."""

    def __init__(self, pool: Pool, cfg: Fetch) -> None:
        self.pool = pool
        self.cfg = cfg
        self.waiting: list[tuple[_Job, asyncio.Future[tuple[_Worked, list[str]]]]] = []
        self.sending: set[asyncio.Task[None]] = set()  # held: the loop keeps weak references

    async def read(self, job: _Job) -> tuple[_Worked, list[str]]:
        """The feed's new or changed entries worked out, and its whole listing's prints."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[tuple[_Worked, list[str]]] = loop.create_future()
        if not self.waiting:
            loop.call_soon(self._send)
        self.waiting.append((job, done))
        if len(self.waiting) >= _READ_BATCH:
            self._send()
        return await done

    def _send(self) -> None:
        batch, self.waiting = self.waiting, []
        if batch:
            task = asyncio.get_running_loop().create_task(self._read(batch))
            self.sending.add(task)
            task.add_done_callback(self.sending.discard)

    async def _read(
        self, batch: list[tuple[_Job, asyncio.Future[tuple[_Worked, list[str]]]]]
    ) -> None:
        try:
            jobs = [job for job, _ in batch]
            # a batch waits behind the worker's other batches: a generous bound, for a hang
            outs = await self.pool.run(_WORKER_WAIT * self.cfg.timeout, _read_jobs, jobs, self.cfg)
        except Exception as exc:  # each feed of the batch fails with it
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for (_, done), out in zip(batch, outs, strict=True):
            if done.done():  # cancelled
                continue
            if isinstance(out, SourceError):
                done.set_exception(out)
            else:
                done.set_result(out)


def _less(worked: _Worked, known: Sequence[int]) -> _Worked:
    """``worked`` less the items at these positions (stored already as they are at their
    source, or pruned), counted as unchanged."""
    if not known:
        return worked
    gone = set(known)
    keep = [n for n in range(len(worked.ready)) if n not in gone]
    return dataclasses.replace(
        worked, ready=worked.ready.only(keep), unchanged=worked.unchanged + len(gone)
    )


def _named(src: _Source, exc: FetchError) -> FetchError:
    """Errors name the configured URL even when a stored new location was fetched."""
    if exc.source == src.ref:
        return exc
    return FetchError(src.ref, f"{exc.detail} (fetching its new location {exc.source})")


def ingest(
    config: Config,
    store: Store,
    *,
    sources: Sequence[str] | None = None,
    items: bool = True,
    prefetched: Prefetched | None = None,
) -> IngestResult:
    """Read every configured feed and story file (or just ``sources``: paths or
    URLs) into the store; return one result per source. Never raises for a bad
    source: its :class:`SourceResult` has ``status="error"`` and the reason.
    ``items=False`` leaves each result's items out as soon as they are stored
    (a build needs the counts only; 100,000 items hold some 250 MB).

    A path ending in .md/.markdown/.txt/.html/.htm is a story file, a folder is
    read as an inbox, any other path is a feed file. Call it from synchronous
    code (it runs its own event loop for the HTTP fetches). A feed ``prefetched``
    answers (:func:`prefetch`) is read from that answer instead of fetched again."""
    t0 = time.perf_counter()
    plan = _plan(config, sources)
    by_ref: dict[str, list[SourceResult]] = {}
    urls = [s for s in plan if s.kind == "url"]
    files = [s for s in plan if s.kind == "feed-file"]
    by_ref.update((ref, [r]) for ref, r in _read_feed_files(config, store, files, items).items())
    for src in plan:
        if src.kind in ("story", "inbox"):
            by_ref[src.ref] = _read_stories(config, store, src, items)
    if urls:
        with _frozen_heap():
            fetched = asyncio.run(_fetch_feeds(config, store, urls, items, prefetched))
        for src in urls:
            by_ref[src.ref] = [fetched[src.ref]]
    ordered = [r for src in plan for r in by_ref[src.ref]]
    return IngestResult(sources=tuple(ordered), elapsed=time.perf_counter() - t0)


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """The objects made before the body left out of the collector's walks meanwhile (a
    fetch round makes some 10 container objects an item: the collections it sets off
    would walk the whole heap again and again); collected as before once it is done."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


# -- the feeds of several newsletters, each fetched once ---------------------------


@dataclass(frozen=True)
class Prefetched:
    """Feeds fetched once for several newsletters: by configured URL, the request made
    and its answer (a response or the error), handed to each newsletter's :func:`ingest`.

    An answer serves a newsletter whose store would make the same request, or (a 200
    or an error) one whose store remembers other validators; a 304 serves only the
    validators it answered. Bodies are held until the last newsletter is ingested.
    """

    answers: Mapping[str, tuple[FetchRequest, FetchResponse | FetchError]]
    listings: int = 0  # the newsletters' entries these answers serve (a feed three list: 3)

    @property
    def feeds(self) -> tuple[str, ...]:
        """The configured URLs fetched once."""
        return tuple(self.answers)

    def answer(self, ref: str, req: FetchRequest) -> FetchResponse | FetchError | None:
        """The answer for the feed ``ref`` as this store would request it, or None."""
        if ref not in self.answers:
            return None
        made, res = self.answers[ref]
        if (made.url, made.allow_internal) != (req.url, req.allow_internal):
            return None
        same = (made.etag, made.last_modified) == (req.etag, req.last_modified)
        if isinstance(res, FetchResponse) and res.status == 304 and not same:
            return None
        return res


def prefetch(newsletters: Sequence[tuple[Config, Store]]) -> Prefetched:
    """Fetch each feed URL ``newsletters`` (a config and its store each) list, once, all
    in one concurrent round: what each one's :func:`ingest` then reads instead.

    The request is conditional when every store listing the feed remembers the same
    validators (always so when they share one store), else plain. A feed whose stores
    remember different locations or allowances, or that one store knows to be gone,
    is left out: each ingest then fetches (or reports) it as before. Each feed is
    fetched with the fetch settings of the first newsletter listing it.
    """
    wanted: dict[str, list[FetchRequest | None]] = {}
    settings: dict[str, Fetch] = {}
    for config, store in newsletters:
        for src in _plan(config, None):
            if src.kind != "url":
                continue
            state = store.feed_state(src.ref)
            req = FetchRequest(
                state.moved_to or src.ref, state.etag, state.last_modified, src.internal_ok
            )
            wanted.setdefault(src.ref, []).append(None if state.gone else req)
            settings.setdefault(src.ref, config.fetch)
    groups: dict[Fetch, list[tuple[str, FetchRequest]]] = {}
    listings = 0
    for ref, asked in wanted.items():
        first = asked[0]
        if first is None or any(
            r is None or (r.url, r.allow_internal) != (first.url, first.allow_internal)
            for r in asked
        ):
            continue
        if any(r != first for r in asked):
            first = FetchRequest(first.url, allow_internal=first.allow_internal)
        groups.setdefault(settings[ref], []).append((ref, first))
        listings += len(asked)
    answers = asyncio.run(_fetch_groups(groups))
    return Prefetched(answers, listings)


async def _fetch_groups(
    groups: Mapping[Fetch, Sequence[tuple[str, FetchRequest]]],
) -> dict[str, tuple[FetchRequest, FetchResponse | FetchError]]:
    """Each group of requests with its own fetch settings, the groups side by side."""
    rounds = [fetch_all([req for _, req in pairs], cfg) for cfg, pairs in groups.items()]
    answers: dict[str, tuple[FetchRequest, FetchResponse | FetchError]] = {}
    for pairs, results in zip(groups.values(), await asyncio.gather(*rounds), strict=True):
        answers.update({ref: (req, res) for (ref, req), res in zip(pairs, results, strict=True)})
    return answers


# -- feed health --------------------------------------------------------------


def _older(stamp: str | None, limit: datetime) -> bool:
    if not stamp:
        return True
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return True
    return (when if when.tzinfo else when.replace(tzinfo=UTC)) < limit


def feed_health(config: Config, store: Store, *, now: datetime | None = None) -> list[FeedHealth]:
    """The health of every configured feed, in config order.

    ``failing``: the last fetch failed; ``stale``: fetched fine but no new item
    for ``fetch.stale_after_days``; ``gone``: answered 410. ``alert`` marks
    feeds failing ``fetch.alert_after_failures`` runs in a row.
    """
    limit = (now or datetime.now(UTC)) - timedelta(days=config.fetch.stale_after_days)
    out = []
    for feed in config.sources.feeds:
        key = feed.url if _is_url(feed.url) else str(config.path(feed.url))
        st = store.feed_state(key)
        status: HealthStatus
        if st.gone:
            status = "gone"
        elif st.failures:
            status = "failing"
        elif st.last_success is None:
            status = "never-fetched"
        elif _older(st.last_new_item, limit):
            status = "stale"
        else:
            status = "ok"
        out.append(
            FeedHealth(
                url=feed.url,
                name=feed.name,
                status=status,
                failures=st.failures,
                last_success=st.last_success,
                last_error=st.last_error,
                last_error_at=st.last_error_at,
                last_new_item=st.last_new_item,
                moved_to=st.moved_to,
                alert=st.gone or st.failures >= config.fetch.alert_after_failures,
            )
        )
    return out
