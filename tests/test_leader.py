"""The deployment's named locks (the scheduler's leader lock) and the rule by which a feed
fetched once for several newsletters serves each one's request."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest
from configs import NEWSLETTER_YAML

from pipeline.config import load_config
from pipeline.errors import FetchError, LockedError
from pipeline.fleet import advisory
from pipeline.ingest import Prefetched
from pipeline.ingest._fetch import FetchRequest, FetchResponse


def test_a_named_lock_is_had_by_one_holder_at_a_time(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(NEWSLETTER_YAML, encoding="utf-8")
    config = load_config(tmp_path / "config.yaml")
    with advisory(config, "scheduler") as first:
        assert first
        lock = config.state_path.with_name(config.state_path.name + ".scheduler.lock")
        # another process's descriptor (flock is per open file): refused, not waited for
        fd = os.open(lock, os.O_RDWR)
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)
    fd = os.open(lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free once the holder left
    try:
        with advisory(config, "scheduler", wait=0.1) as second:
            assert not second  # held elsewhere: False, no error
        with advisory(config, "other") as other:
            assert other  # another name, another lock
    finally:
        os.close(fd)
    # an error inside the body is the body's, not a lock refused
    with pytest.raises(LockedError, match="the body's"), advisory(config, "scheduler") as held:
        assert held
        raise LockedError("the body's")


URL = "https://feeds.example/a.xml"


def test_an_answer_serves_the_requests_it_answers() -> None:
    plain = FetchRequest(URL)
    tagged = FetchRequest(URL, etag='"v1"')
    ok = FetchResponse(URL, URL, 200, b"<rss/>", etag='"v2"')
    fresh = Prefetched({URL: (plain, ok)}, listings=2)
    assert fresh.feeds == (URL,)
    # a full answer serves a store with or without validators; another URL or allowance no
    assert fresh.answer(URL, plain) is ok and fresh.answer(URL, tagged) is ok
    assert fresh.answer(URL, FetchRequest("https://feeds.example/moved.xml")) is None
    assert fresh.answer(URL, FetchRequest(URL, allow_internal=URL)) is None
    assert fresh.answer("https://feeds.example/b.xml", plain) is None
    # a 304 serves only the validators it was asked with
    same = Prefetched({URL: (tagged, FetchResponse(URL, URL, 304, etag='"v1"'))})
    assert same.answer(URL, tagged) is not None
    assert same.answer(URL, plain) is None
    assert same.answer(URL, FetchRequest(URL, etag='"v0"')) is None
    # an error is every store's: each records the failure
    error = FetchError(URL, "HTTP 500")
    assert Prefetched({URL: (plain, error)}).answer(URL, tagged) is error
