"""Calls run in one worker process beside the event loop, or in this process.

In: a picklable function and its arguments (frozen dataclasses, bytes, strings). Out:
its result (or its exception), awaited on the event loop while the loop goes on
fetching and writing. The worker is forked once, when the pool opens, before the
fetches start. Where no worker can be had (a daemon process, as Celery's workers are,
may not start children; a platform without fork; a worker that died) the call runs in
this process instead, with the same result.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

__all__ = ["Pool"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _ready() -> bool:
    return True


def _start(parent: int) -> None:
    """In the worker: end it once its parent is gone (killed with ``kill -9``, it never
    says so): a worker left behind would wait for work forever. The heap it was forked
    with is never collected (frozen): no collection walks it, and its pages stay shared."""
    gc.freeze()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class Pool:
    """One worker process, if one can be had (``wanted``); :meth:`run` falls back to a call
    in this process. Close it (or use it as a context manager) to end the worker."""

    def __init__(self, wanted: bool) -> None:
        self._executor: ProcessPoolExecutor | None = None
        if not wanted or multiprocessing.current_process().daemon:
            return
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        try:
            executor = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_start,
                initargs=(os.getpid(),),
            )
            executor.submit(_ready).result()  # forked now, before the loop's threads start
        except (OSError, BrokenProcessPool):
            return
        self._executor = executor

    @property
    def working(self) -> bool:
        """Whether calls go to a worker process."""
        return self._executor is not None

    async def run(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """``fn(*args)`` in the worker, else here."""
        if self._executor is not None:
            loop = asyncio.get_running_loop()
            try:
                call = functools.partial(fn, *args, **kwargs)  # pickled: no lambda
                return await loop.run_in_executor(self._executor, call)
            except BrokenProcessPool:  # the worker died: this call and the rest run here
                self.close()
        return fn(*args, **kwargs)

    def close(self) -> None:
        if self._executor is not None:
            executor, self._executor = self._executor, None
            executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
