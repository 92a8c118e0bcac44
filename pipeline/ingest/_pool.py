"""Calls run in one worker process beside this one, or in this process.

In: a picklable function and its arguments (frozen dataclasses, bytes, strings). Out:
its result (or its exception), awaited on the event loop while the loop goes on
fetching and writing (:meth:`Pool.run`), or waited for by synchronous code that works
meanwhile (:meth:`Pool.submit`, :meth:`Pool.wait`). The worker is forked once, when
the pool opens, before any work starts. Where no worker can be had (a daemon process,
as Celery's workers are, may not start children; a platform without fork; a worker
that died) the call runs in this process instead, with the same result.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

__all__ = ["Pool"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


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
        self._pid = 0
        if not wanted or multiprocessing.current_process().daemon:
            return
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        if threading.current_thread() is not threading.main_thread():
            # the scheduler runs builds in its worker threads, beside its own: a fork there
            # copies whatever lock another thread holds, held, into the child
            return
        try:
            executor = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_start,
                initargs=(os.getpid(),),
            )
            # forked now, before the loop's threads start; its pid, to end it if it hangs
            self._pid = executor.submit(os.getpid).result()
        except (OSError, BrokenProcessPool):
            return
        self._executor = executor

    @property
    def working(self) -> bool:
        """Whether calls go to a worker process."""
        return self._executor is not None

    async def run(
        self, timeout: float, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """``fn(*args)`` in the worker, else here. A worker that has not answered within
        ``timeout`` seconds (queued calls included) is ended, and the call runs here."""
        if self._executor is not None:
            loop = asyncio.get_running_loop()
            try:
                call = functools.partial(fn, *args, **kwargs)  # pickled: no lambda
                return await asyncio.wait_for(loop.run_in_executor(self._executor, call), timeout)
            except TimeoutError:  # hung (a lock the fork copied held?): never wait forever
                self._end()
            except BrokenProcessPool:  # the worker died: this call and the rest run here
                self.close()
        return fn(*args, **kwargs)

    def submit(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        """``fn(*args)`` started in the worker (for :meth:`wait`), or done here at once when
        no worker can be had."""
        if self._executor is not None:
            try:
                return self._executor.submit(fn, *args, **kwargs)
            except BrokenProcessPool:  # the worker died: the rest runs here
                self.close()
        done: Future[_T] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except Exception as exc:
            done.set_exception(exc)
        return done

    def wait(
        self,
        future: Future[_T],
        timeout: float,
        fn: Callable[_P, _T],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        """The result of a :meth:`submit` of ``fn(*args)``; if the worker gives none within
        ``timeout`` seconds it is ended, and if it died, the call runs here instead."""
        try:
            return future.result(timeout)
        except TimeoutError:  # hung: never wait forever
            self._end()
        except BrokenProcessPool:
            self.close()
        return fn(*args, **kwargs)

    def _end(self) -> None:
        """End a worker that stopped answering; later calls run in this process."""
        executor, self._executor = self._executor, None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._executor is not None:
            executor, self._executor = self._executor, None
            executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
