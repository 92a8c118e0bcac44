"""The per-newsletter build lock: a second run waits a bounded time, then a clear LockedError."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from _schedule_helpers import FIXTURES, make_config, make_site, run_build

from pipeline.config import Config, load_config
from pipeline.errors import LockedError
from pipeline.lock import advisory, build_lock, lock_path

HOLDER = FIXTURES / "schedule" / "hold_lock.py"


@contextmanager
def held_elsewhere(config: Config, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock for ``seconds``."""
    proc = subprocess.Popen(
        [sys.executable, str(HOLDER), str(Path(config.root) / "config.yaml"), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_lock_file_sits_next_to_the_state_store(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert lock_path(config) == tmp_path / "state" / "newsletter.sqlite3.lock"
    with build_lock(config, wait=0):
        assert lock_path(config).exists()


@contextmanager
def held_by_a_thread(lock: AbstractContextManager[object]) -> Iterator[list[object]]:
    """Another thread holding ``lock`` for the body (its own descriptor or connection, so
    it refuses this one as another process would); yields what the lock gave it."""
    taken, release = threading.Event(), threading.Event()
    got: list[object] = []

    def hold() -> None:
        with lock as value:
            got.append(value)
            taken.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert taken.wait(10)
        yield got
    finally:
        release.set()
        holder.join()


def test_a_holder_in_another_thread_makes_a_run_wait_then_give_up(tmp_path: Path) -> None:
    # the quick loop's check of waiting and refusing; flock is per open file, so a second
    # thread (with its own descriptor) is refused like a second process
    config = make_config(tmp_path)
    with held_by_a_thread(build_lock(config, wait=0)):
        start = time.monotonic()
        with pytest.raises(LockedError) as info, build_lock(config, wait=0.2):
            pytest.fail("the lock was granted while another thread held it")
        assert 0.15 < time.monotonic() - start < 2
        assert f"pid {os.getpid()}" in str(info.value) and "0.2 s" in str(info.value)
    with build_lock(config, wait=0):  # free again once the holder left
        pass


def test_advisory_lock_yields_whether_it_was_acquired(tmp_path: Path, any_state: str) -> None:
    # the scheduler's leader lock: a flock beside SQLite, an advisory lock on PostgreSQL
    config = make_config(tmp_path, {"paths": {"state": any_state}})
    with held_by_a_thread(advisory(config, "leader")) as first:
        start = time.monotonic()
        with advisory(config, "leader", wait=0.3) as second:
            waited = time.monotonic() - start
        with advisory(config, "other") as other:
            pass
    with advisory(config, "leader") as after, advisory(config, "leader") as nested:
        pass
    assert first == [True] and not second and 0.25 < waited < 3
    assert other and after and nested  # another name; free again; re-entrant in a thread


@pytest.mark.slow
def test_second_run_gives_up_after_the_wait_naming_the_holder(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    with held_elsewhere(config, 30) as holder:
        start = time.monotonic()
        with pytest.raises(LockedError) as info, build_lock(config, wait=0.5):
            pytest.fail("the lock was granted while another process held it")
        waited = time.monotonic() - start
    message = str(info.value)
    assert f"pid {holder.pid}" in message
    assert str(lock_path(config)) in message
    assert "0.5 s" in message
    assert info.value.exit_code == 3
    assert 0.4 < waited < 3


@pytest.mark.slow
def test_waiting_run_gets_the_lock_when_the_holder_finishes(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    with held_elsewhere(config, 0.5):
        start = time.monotonic()
        with build_lock(config, wait=10):
            waited = time.monotonic() - start
    assert 0.2 < waited < 5


@pytest.mark.slow
def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    with held_elsewhere(config, 30) as holder:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        start = time.monotonic()
        with build_lock(config, wait=2):
            assert time.monotonic() - start < 1


@pytest.mark.slow
def test_lock_is_reentrant_in_one_thread_and_released_after(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    with build_lock(config, wait=0), build_lock(config, wait=0):
        pass
    # released: another process can take it at once
    with held_elsewhere(config, 0):
        pass


@pytest.mark.slow
def test_lock_is_per_newsletter(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one, two = make_config(tmp_path / "one"), make_config(tmp_path / "two")
    with held_elsewhere(one, 30), build_lock(two, wait=0):
        assert lock_path(one) != lock_path(two)


@pytest.mark.slow
def test_newsletter_build_locked_out_exits_3_naming_the_holder(tmp_path: Path) -> None:
    config = make_site(tmp_path, {"schedule": {"lock_wait_seconds": 0.3}})
    with held_elsewhere(config, 30) as holder:
        done = run_build(config)
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("error: another run of this newsletter holds the lock")
    assert f"pid {holder.pid}" in done.stderr and "0.3 s" in done.stderr
    # locked out before touching anything: nothing ingested, nothing written
    assert not config.outbox_path.exists()
    assert not config.state_path.exists()


@pytest.mark.slow
def test_newsletter_build_waits_for_a_short_holder_then_builds(tmp_path: Path) -> None:
    config = make_site(tmp_path, {"schedule": {"lock_wait_seconds": 20}})
    with held_elsewhere(config, 0.7):
        done = run_build(config)
    assert done.returncode == 0, done.stderr
    edition = next(config.outbox_path.iterdir())
    assert (edition / "issue.eml").is_file()


def test_newsletters_sharing_a_store_each_have_their_own_build_lock(tmp_path: Path) -> None:
    base = make_config(tmp_path)
    shared = str(tmp_path / "shared.sqlite3")
    file = Path(base.root) / "config.yaml"
    morning = load_config(file, key="morning", state=shared)
    tech = load_config(file, key="tech", state=shared)
    assert lock_path(morning) != lock_path(tech) != lock_path(base)
    with held_by_a_thread(build_lock(morning, wait=0)):
        with build_lock(tech, wait=0):
            pass  # tech builds while morning's build holds its own lock
        with pytest.raises(LockedError), build_lock(morning, wait=0):
            pass
