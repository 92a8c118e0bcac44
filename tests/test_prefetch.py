"""The rule by which a feed fetched once for several newsletters serves each one's request
(the scheduler's leader lock, ``lock.advisory``, is tested with the other locks)."""

from __future__ import annotations

from pipeline.errors import FetchError
from pipeline.ingest import Prefetched
from pipeline.ingest._fetch import FetchRequest, FetchResponse

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
