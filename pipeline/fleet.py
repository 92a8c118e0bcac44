"""Fleet: a :class:`~pipeline.deployment.Deployment` in, its newsletters built or ingested
together out, each feed they list fetched once.

:func:`build_all` fetches every feed the chosen newsletters list once, in one round
(:func:`pipeline.ingest.prefetch`), then builds each newsletter in the file's order with
those answers (:func:`pipeline.build.build_issue`, its own lock, store and outbox). One
newsletter failing never stops the others: each outcome is a :class:`Built`, holding its
:class:`BuildResult` or its error, and :attr:`FleetBuild.exit_code` is the worst of them.
:func:`ingest_all` does the same for ``newsletter ingest``.

A deployment's scheduler elects its leader with :func:`pipeline.lock.advisory` (a ``flock``
beside SQLite, an advisory lock on PostgreSQL).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime

from .build import BuildResult, build_issue
from .config import Config
from .deployment import Deployment
from .errors import NewsletterError
from .ingest import Prefetched, ingest, prefetch
from .lock import build_lock
from .log import progress_reporter
from .models import IngestResult
from .store import open_state

__all__ = ["Built", "FleetBuild", "Ingested", "build_all", "chosen", "ingest_all"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Built:
    """One newsletter's build: its result, or the error that stopped it."""

    key: str
    edition: date
    result: BuildResult | None = None
    error: NewsletterError | None = None


@dataclass(frozen=True)
class Ingested:
    """One newsletter's ingest: its result, or the error that stopped it."""

    key: str
    result: IngestResult | None = None
    error: NewsletterError | None = None


@dataclass(frozen=True)
class FleetBuild:
    """What ``build --all`` did: each newsletter's outcome, and the feeds fetched once
    for the newsletters' ``listings`` of them (a feed three list counts three)."""

    built: tuple[Built, ...]
    fetched: tuple[str, ...] = ()
    listings: int = 0

    @property
    def exit_code(self) -> int:
        """The worst (highest) exit code of the newsletters' errors; 0 when none failed."""
        return max((b.error.exit_code for b in self.built if b.error is not None), default=0)


def chosen(deployment: Deployment, keys: Sequence[str] = ()) -> tuple[Config, ...]:
    """The newsletters named by ``keys`` (all of them when none), in the file's order."""
    if not keys:
        return deployment.newsletters
    wanted = {deployment.newsletter(k).key for k in keys}  # an unknown key is a ConfigError
    return tuple(c for c in deployment.newsletters if c.key in wanted)


def _prefetch(configs: Sequence[Config]) -> Prefetched:
    """Fetch once each feed ``configs`` list, with the validators their stores remember."""
    with ExitStack() as stack:
        stores = [stack.enter_context(open_state(c)) for c in configs]
        return prefetch(list(zip(configs, stores, strict=True)))


def _failure(key: str, exc: Exception) -> NewsletterError:
    """The error a newsletter's run stopped with; a bug is logged with its traceback."""
    if isinstance(exc, NewsletterError):
        return exc
    log.error("%s: unexpected %s", key, type(exc).__name__, exc_info=exc)
    return NewsletterError(f"unexpected {type(exc).__name__}: {exc} (a bug: please report it)")


def build_all(
    deployment: Deployment,
    keys: Sequence[str] = (),
    edition: date | None = None,
    *,
    regenerate: bool = False,
    force: bool = False,
) -> FleetBuild:
    """Build each chosen newsletter's issue of ``edition`` (default: today in each one's
    timezone), each feed they list fetched once; never raises for one newsletter."""
    configs = chosen(deployment, keys)
    fetched = _prefetch(configs)
    out = []
    for config in configs:
        day = edition or datetime.now(config.newsletter.tz).date()
        try:
            with progress_reporter(f"{config.key}: build {day}") as progress:
                result = build_issue(
                    config,
                    day,
                    regenerate=regenerate,
                    force=force,
                    progress=progress,
                    prefetched=fetched,
                )
        except Exception as exc:  # one newsletter never stops the others
            out.append(Built(config.key, day, error=_failure(config.key, exc)))
            continue
        out.append(Built(config.key, day, result=result))
    return FleetBuild(tuple(out), fetched.feeds, fetched.listings)


def ingest_all(
    deployment: Deployment, keys: Sequence[str] = (), *, lock_wait: float | None = None
) -> tuple[Ingested, ...]:
    """Ingest each chosen newsletter's sources into its store, each feed they list
    fetched once. With ``lock_wait``, each ingest holds its newsletter's build lock
    (waiting at most that long: a newsletter being built is left out, as locked)."""
    configs = chosen(deployment, keys)
    fetched = _prefetch(configs)
    out = []
    for config in configs:
        try:
            with ExitStack() as stack:
                if lock_wait is not None:
                    stack.enter_context(build_lock(config, wait=lock_wait))
                store = stack.enter_context(open_state(config))
                result = ingest(config, store, items=False, prefetched=fetched)
        except Exception as exc:  # one newsletter never stops the others
            out.append(Ingested(config.key, error=_failure(config.key, exc)))
            continue
        out.append(Ingested(config.key, result=result))
    return tuple(out)
