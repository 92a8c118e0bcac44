"""Tasks: where a build's fan-out stages run, in this process or on Celery workers.

In: a :class:`Config`; its ``tasks.engine`` picks the :class:`Runner` that :func:`runner_for`
yields. Out: the two stages a build fans out, as a runner's methods: ``ingest`` (config + store
-> :class:`IngestResult`, every configured source, in the config's order) and ``summarize``
(articles -> :class:`SummaryRun`, one story per article, in order).

* ``local`` (:class:`LocalRunner`): today's calls in the build's process.
* ``celery`` (:class:`CeleryRunner`): one ``fetch_feed`` task per feed URL (or per
  ``tasks.feeds_per_task`` of them, fetched at once as ingest does) and one
  ``summarize_story`` task per article, each stage sent as a group to the Redis broker and
  waited for, at most ``tasks.task_timeout``; feed files and the inbox are read here. A dead
  broker, a task that failed after its retries, or tasks not done in time raise
  :class:`TaskError` naming them, before anything is written to the outbox.

A task message holds a :class:`ConfigRef` (the config file, the newsletter's key, the state
path) and JSON data (:mod:`pipeline.codec`), never a pickle; the worker reads the config file
itself, so a feed's name and its internal-address allowance come from the file, not the message.
Tasks are acknowledged late and rejected when their worker dies: a worker killed with -9
leaves its message unacknowledged, and the broker hands it to another worker (at once when a pool
process dies, after ``tasks.visibility_timeout`` when the whole worker does). They are
idempotent: ingest upserts, and an LLM story finished once is in the store's ``llm_cache``.

:func:`run_worker` is ``newsletter worker``: a Celery worker on the config's broker. Workers on
one machine share the SQLite store (WAL, busy timeout); several machines need a shared store.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

from celery import Celery, group
from celery.exceptions import TimeoutError as CeleryTimeout
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from .codec import Json, decode, encode
from .config import Config, Sources, load_config, secret
from .errors import StoreError, TaskError
from .ingest import Prefetched, ingest
from .models import Article, IngestResult, SourceResult, SummaryRun
from .store import Store, open_state
from .summarize import summarize

__all__ = [
    "FETCH_FEED",
    "SUMMARIZE_STORY",
    "CeleryRunner",
    "ConfigRef",
    "LocalRunner",
    "Runner",
    "broker_url",
    "celery_app",
    "run_worker",
    "runner_for",
]

log = logging.getLogger(__name__)

FETCH_FEED = "pipeline.fetch_feed"
SUMMARIZE_STORY = "pipeline.summarize_story"
QUEUE = "newsletter"


class Runner(Protocol):
    """Where a build's fetching and summarizing run."""

    def ingest(
        self, config: Config, store: Store, prefetched: Prefetched | None = None
    ) -> IngestResult:
        """Every configured source into the store; results without their items (a feed
        ``prefetched`` answers, fetched once for several newsletters, is read from it)."""
        ...

    def summarize(self, config: Config, store: Store, articles: Sequence[Article]) -> SummaryRun:
        """One story per article, in order, through the gate."""
        ...


class LocalRunner:
    """Both stages in this process, as a build has always run them."""

    def ingest(
        self, config: Config, store: Store, prefetched: Prefetched | None = None
    ) -> IngestResult:
        return ingest(config, store, items=False, prefetched=prefetched)  # counts only: memory

    def summarize(self, config: Config, store: Store, articles: Sequence[Article]) -> SummaryRun:
        return summarize(articles, config, store=store)


@dataclass(frozen=True)
class ConfigRef:
    """What a worker needs to read a newsletter's config as the build did."""

    file: str  # absolute: workers run elsewhere
    key: str
    state: str

    @classmethod
    def of(cls, config: Config) -> ConfigRef:
        return cls(str(Path(config.root) / Path(config.file).name), config.key, config.paths.state)

    def load(self) -> Config:
        try:
            st = os.stat(self.file)
        except OSError:
            return load_config(self.file, key=self.key, state=self.state)  # names the fault
        return _load(self, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=32)
def _load(ref: ConfigRef, mtime_ns: int, size: int) -> Config:
    # read again only when the file changes: a worker runs thousands of tasks
    return load_config(ref.file, key=ref.key, state=ref.state)


def _is_url(ref: str) -> bool:
    return ref.startswith(("http://", "https://"))


def broker_url(config: Config, *, reveal: bool = True) -> str:
    """The broker URL with the password from ``tasks.broker_password_env`` (or ``***``)."""
    tasks = config.tasks
    if not tasks.broker_password_env:
        return tasks.broker
    password = "***"
    if reveal:
        password = secret(
            tasks.broker_password_env, key="tasks.broker_password_env", file=config.file
        )
        password = quote(password, safe="")
    parts = urlsplit(tasks.broker)
    netloc = f"{parts.username or ''}:{password}@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc))


# -- the tasks, as run by a worker ---------------------------------------------------------


def _fetch_feed(ref: Json, urls: list[str]) -> Json:
    """Configured feeds (one, or ``tasks.feeds_per_task``) into the store; their
    :class:`SourceResult` each, in the order given, without items."""
    config = decode(ConfigRef, ref).load()
    by_url = {f.url: f for f in config.sources.feeds}
    if missing := [u for u in urls if u not in by_url]:
        raise TaskError(f"{', '.join(missing)}: not a feed of {config.file}")
    # the config narrowed to these feeds: ingest plans them as it does among all of them
    some = config.model_copy(update={"sources": Sources(feeds=tuple(by_url[u] for u in urls))})
    t0 = time.perf_counter()
    with open_state(config) as store:
        results = ingest(some, store, items=False).sources
    took = time.perf_counter() - t0
    for r in results:
        log.info("fetched %s: %s, %d new (%.2fs)", r.source, r.status, r.new, took)
    return [encode(r) for r in results]


def _summarize_story(ref: Json, article: Json) -> Json:
    """One article -> one story through the gate, the LLM cache in the store."""
    config = decode(ConfigRef, ref).load()
    story = decode(Article, article)
    t0 = time.perf_counter()
    with open_state(config) as store:
        run = summarize([story], config, store=store)
    log.info("summarized %s (%d calls, %.2fs)", story.id, run.calls, time.perf_counter() - t0)
    return encode(run)


def celery_app(config: Config) -> Any:
    """The Celery app on the config's broker (also its result backend), with both tasks."""
    tasks = config.tasks
    url = broker_url(config)
    app = Celery("newsletter", broker=url, backend=url, set_as_current=False)
    visibility = tasks.visibility_timeout
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_default_queue=QUEUE,
        # a message is acknowledged once its task is done, so a dead worker's runs again
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a worker holds only what it runs
        broker_transport_options={
            "visibility_timeout": visibility,
            # look for a dead worker's messages often enough to honour a short timeout
            "unacked_restore_interval": max(1, min(10, int(visibility / 4))),
            "unacked_restore_throttle": 1,
        },
        broker_connection_timeout=5,
        broker_connection_retry_on_startup=True,
        # a build facing a dead broker says so in seconds instead of retrying for long
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        result_backend_transport_options={
            "retry_policy": {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
        },
        redis_socket_connect_timeout=5,
        redis_backend_health_check_interval=10,
        result_expires=24 * 3600,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    retry: dict[str, Any] = {
        "acks_late": True,
        "reject_on_worker_lost": True,
        # a locked or briefly unusable store: try again later, the work is idempotent
        "autoretry_for": (StoreError,),
        "retry_backoff": 2,
        "retry_backoff_max": 60,
        "retry_jitter": True,
        "max_retries": tasks.retries,
    }
    app.task(name=FETCH_FEED, **retry)(_fetch_feed)
    app.task(name=SUMMARIZE_STORY, **retry)(_summarize_story)
    return app


# -- the build's side -----------------------------------------------------------------------


class CeleryRunner:
    """Both stages as groups of tasks on Celery workers, joined here."""

    def __init__(self, config: Config) -> None:
        self.app = celery_app(config)
        self.broker = broker_url(config, reveal=False)
        self.timeout = config.tasks.task_timeout

    def close(self) -> None:
        self.app.close()

    def _join(
        self, stage: str, calls: Sequence[tuple[str, tuple[object, ...]]], labels: Sequence[str]
    ) -> list[Json]:
        """Send one task per call as a group and wait for all of them, in order."""
        if not calls:
            return []
        signatures = [self.app.signature(name, args=args) for name, args in calls]
        try:
            result = group(signatures).apply_async()
        except Exception as exc:  # kombu and redis raise their own kinds for a dead broker
            raise TaskError(
                f"{stage}: cannot reach the task broker {self.broker}: {_oneline(exc)}"
            ) from None
        try:
            return self._wait(stage, result, labels, len(calls))
        finally:
            _release(result)

    def _wait(self, stage: str, result: Any, labels: Sequence[str], sent: int) -> list[Json]:
        try:
            values: list[Json] = result.get(timeout=self.timeout, interval=0.1)
        except CeleryTimeout:
            waiting = [
                label for label, r in zip(labels, result.results, strict=True) if not _ready(r)
            ]
            _revoke(result)
            shown = ", ".join(waiting[:5]) + (
                f" and {len(waiting) - 5} more" if len(waiting) > 5 else ""
            )
            raise TaskError(
                f"{stage}: {len(waiting)} of {sent} tasks not finished within"
                f" tasks.task_timeout ({self.timeout:g}s; are workers running on"
                f" {self.broker}?): {shown}"
            ) from None
        except Exception as exc:  # a task failed after its retries, or the broker died
            if _lost_broker(exc):  # asking it which tasks failed would wait on it again
                raise TaskError(
                    f"{stage}: lost the task broker {self.broker}: {_oneline(exc)}"
                ) from None
            failed = [label for label, r in zip(labels, result.results, strict=True) if _failed(r)]
            _revoke(result)
            which = f" ({', '.join(failed[:5])})" if failed else ""
            raise TaskError(
                f"{stage}: tasks failed{which}: {type(exc).__name__}: {_oneline(exc)}"
            ) from None
        _forget(result)
        return values

    def ingest(
        self, config: Config, store: Store, prefetched: Prefetched | None = None
    ) -> IngestResult:
        if prefetched is not None:  # fetched already, once for the deployment: read here
            return ingest(config, store, items=False, prefetched=prefetched)
        t0 = time.perf_counter()
        feeds = config.sources.feeds
        urls = list(dict.fromkeys(f.url for f in feeds if _is_url(f.url)))
        # feed files and the inbox are this machine's: read here, as the local build does
        here = config.model_copy(
            update={
                "sources": config.sources.model_copy(
                    update={"feeds": tuple(f for f in feeds if not _is_url(f.url))}
                )
            }
        )
        local = list(ingest(here, store, items=False).sources)
        ref = encode(ConfigRef.of(config))
        size = config.tasks.feeds_per_task
        batches = [urls[i : i + size] for i in range(0, len(urls), size)]
        labels = [b[0] + (f" (+{len(b) - 1} feeds)" if len(b) > 1 else "") for b in batches]
        done = self._join("fetch", [(FETCH_FEED, (ref, b)) for b in batches], labels)
        results = [
            decode(SourceResult, r) for batch in done if isinstance(batch, list) for r in batch
        ]
        fetched = {url: r for url, r in zip(urls, results, strict=True)}
        # the config's order, as a local ingest reports it: its feeds, then the inbox's files
        ordered: list[SourceResult] = []
        seen: set[str] = set()
        for feed in feeds:
            if feed.url in seen:
                continue
            seen.add(feed.url)
            ordered.append(fetched[feed.url] if _is_url(feed.url) else local.pop(0))
        return IngestResult(sources=(*ordered, *local), elapsed=time.perf_counter() - t0)

    def summarize(self, config: Config, store: Store, articles: Sequence[Article]) -> SummaryRun:
        ref = encode(ConfigRef.of(config))
        calls = [(SUMMARIZE_STORY, (ref, encode(a))) for a in articles]
        runs = [
            decode(SummaryRun, d) for d in self._join("summarize", calls, [a.id for a in articles])
        ]
        return SummaryRun(
            stories=tuple(s for r in runs for s in r.stories),
            calls=sum(r.calls for r in runs),
            tokens=sum(r.tokens for r in runs),
            cache_hits=sum(r.cache_hits for r in runs),
            errors=tuple(dict.fromkeys(e for r in runs for e in r.errors)),
        )


def _oneline(exc: BaseException) -> str:
    return " ".join(str(exc).split())  # Celery's messages span lines; ours are one


def _ready(result: Any) -> bool:
    try:
        return bool(result.ready())
    except Exception:  # the backend is gone too: count it as not finished
        return False


def _failed(result: Any) -> bool:
    try:
        return bool(result.failed())
    except Exception:
        return False


def _revoke(result: Any) -> None:
    """Withdraw what is still queued (best effort: the broker may be the thing that died)."""
    try:
        result.revoke()
    except Exception as exc:
        log.warning("could not revoke the unfinished tasks: %s", exc)


def _lost_broker(exc: BaseException | None) -> bool:
    """Whether an error comes from the connection to Redis (Celery wraps some of them)."""
    while exc is not None:
        if isinstance(exc, RedisConnectionError | OperationalError | ConnectionError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _release(result: Any) -> None:
    """Stop listening for the results here and now, while the broker may still be up (else
    Celery tries when the result objects are collected, perhaps long after it is gone)."""
    for one in result.results:
        try:
            one.backend.remove_pending_result(one)
        except Exception:  # a dead broker: forget the subscriptions rather than retry each
            consumer = getattr(one.backend, "result_consumer", None)
            getattr(consumer, "subscribed_to", set()).clear()
            break


def _forget(result: Any) -> None:
    try:
        result.forget()  # the results are read: free the backend's keys now
    except Exception as exc:
        log.warning("could not clear the task results: %s", exc)


@contextmanager
def runner_for(config: Config) -> Iterator[Runner]:
    """The runner ``tasks.engine`` names, closed (its broker connections) after use."""
    if config.tasks.engine != "celery":
        yield LocalRunner()
        return
    runner = CeleryRunner(config)
    try:
        yield runner
    finally:
        runner.close()


def run_worker(
    config: Config, *, concurrency: int = 1, pool: str = "prefork", name: str = ""
) -> None:
    """Run a Celery worker for the config's broker in the foreground until stopped.

    It runs the tasks of any newsletter whose builds use this broker: each task names its
    config file. SIGTERM finishes the running tasks first; kill -9 loses nothing (see above).
    """
    app = celery_app(config)
    node = (name or f"newsletter-{os.getpid()}@%h").replace("%h", socket.gethostname())
    log.info(
        "worker %s on %s: concurrency %d, pool %s",
        node,
        broker_url(config, reveal=False),
        concurrency,
        pool,
    )
    app.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--pool={pool}",
            f"--hostname={node}",
            f"--queues={QUEUE}",
            # Celery's handler takes the root logger: libraries' INFO lines (each HTTP
            # request) stay out; ours go through the pipeline logger, set up as for any command
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
        ]
    )
