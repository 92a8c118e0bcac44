"""The desk's index over real HTTP on 127.0.0.1: served from what changed (drafts read
again only when their stamp changes, every status from the store), yet never stale, and
paged newest first."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from preview_site import EDITION, draft_path, request

from pipeline.config import Config
from pipeline.draft import draft_sha
from pipeline.edition import Edition, issue_dir, read_ledger
from pipeline.models import EditionStatus
from pipeline.outbox import publish
from pipeline.preview import PreviewServer, make_app
from pipeline.preview._state import PAGE
from pipeline.store import open_store

_HOUR_NS = 3600 * 10**9


def _add(config: Config, *days: date, pipeline: bool = True) -> list[Path]:
    """Copies of the fixture's draft as these days' editions, written by the pipeline
    (or by hand); their paths."""
    fixture = draft_path(config).read_text("utf-8")
    with open_store(config.state_path) as store:
        for day in days:
            text = re.sub(r"(?m)^date: .*$", f"date: {day.isoformat()}", fixture)
            if pipeline:
                store.commit_draft(day, draft_sha(text), [])
            publish(issue_dir(config, day), {"draft.md": text.encode("utf-8")})
    return [draft_path(config, day) for day in days]


def _age(path: Path, ns_ago: int = _HOUR_NS) -> int:
    """Set the file's time an hour back (as a draft last saved long ago); return it."""
    stamp = time.time_ns() - ns_ago
    os.utime(path, ns=(stamp, stamp))
    return stamp


def _rows(srv: PreviewServer, page: str = "/") -> dict[str, tuple[str, str]]:
    """The index's rows: date -> (state, subject or error)."""
    status, _, body = request(srv, "GET", page)
    assert status == 200, body
    found = re.findall(
        r'<tr data-date="([\d-]+)" data-state="(\w+)">.*?<td>[^<]*</td>\s*<td>(.*?)</td>\s*</tr>',
        body,
        re.S,
    )
    return {d: (state, subject) for d, state, subject in found}


@pytest.fixture
def server(site: Config) -> Iterator[PreviewServer]:
    # no watcher: the index must see changes by itself, without a render
    with make_app(site, port=0, watch=False).start() as srv:
        yield srv


def test_each_change_shows_on_the_next_request(server: PreviewServer, site: Config) -> None:
    older = [EDITION - timedelta(days=k) for k in (1, 2, 3)]
    paths = _add(site, *older)
    for p in [draft_path(site), *paths]:
        _age(p)
    day = EDITION.isoformat()
    subject = "Quillon Sells Out Its Chips Through 2027"
    rows = _rows(server)
    assert list(rows) == [d.isoformat() for d in [EDITION, *older]]  # newest first
    assert rows[day] == ("draft", subject)
    assert _rows(server) == rows  # read from what was kept: the same

    # a subject of the same length, saved in place with a time of its own: the stamp's time
    path = draft_path(site)
    stamp = os.stat(path)
    path.write_text(path.read_text("utf-8").replace("Quillon Sells", "Quillon Holds"), "utf-8")
    assert os.stat(path).st_size == stamp.st_size and os.stat(path).st_ino == stamp.st_ino
    os.utime(path, ns=(stamp.st_mtime_ns + 1, stamp.st_mtime_ns + 1))
    assert _rows(server)[day] == ("edited", subject.replace("Sells", "Holds"))

    # the draft's own status; the store's record (a send); a broken draft, then mended
    a, b, c = (d.isoformat() for d in older)
    approved = paths[0].read_text("utf-8").replace("status: draft", "status: approved")
    paths[0].write_text(approved, "utf-8")
    with open_store(site.state_path) as store:
        store.record_issue(older[1], status="sent")
    good = paths[2].read_text("utf-8")
    paths[2].write_text(good.replace("---\n", "---\nsubject: [\n", 1), "utf-8")
    rows = _rows(server)
    assert rows[a][0] == "approved" and rows[b][0] == "sent"
    assert rows[c][0] == "broken" and str(paths[2]) in rows[c][1]
    paths[2].write_text(good, "utf-8")
    assert _rows(server)[c] == ("draft", subject)

    # an edition removed, one added, a folder with no draft yet (not an edition)
    shutil.rmtree(issue_dir(site, older[0]))
    new = EDITION + timedelta(days=1)
    _add(site, new, pipeline=False)
    (site.outbox_path / (EDITION + timedelta(days=2)).isoformat()).mkdir()
    rows = _rows(server)
    assert list(rows) == [new.isoformat(), day, b, c]
    assert rows[new.isoformat()] == ("edited", subject.replace("Sells", "Holds"))


def test_a_draft_saved_twice_within_the_clock_tick_is_read_again(
    server: PreviewServer, site: Config
) -> None:
    # A save in place of the same size within the file system's time granularity leaves
    # the stamp as it was: a draft saved that recently is never trusted by its stamp.
    path = draft_path(site)
    recent = _age(path, ns_ago=0)
    assert _rows(server)[EDITION.isoformat()][1].startswith("Quillon Sells")
    path.write_text(path.read_text("utf-8").replace("Quillon Sells", "Quillon Sella"), "utf-8")
    os.utime(path, ns=(recent, recent))
    assert _rows(server)[EDITION.isoformat()][1].startswith("Quillon Sella")


def test_the_index_is_paged_newest_first(server: PreviewServer, site: Config) -> None:
    days = [EDITION - timedelta(days=k) for k in range(2 * PAGE + 10)]
    for path in _add(site, *days[1:]):
        _age(path)
    first, second, last = (_rows(server, p) for p in ("/", "/?page=2", "/?page=3"))
    assert list(first) == [d.isoformat() for d in days[:PAGE]]
    assert list(second) == [d.isoformat() for d in days[PAGE : 2 * PAGE]]
    assert list(last) == [d.isoformat() for d in days[2 * PAGE :]]
    page = request(server, "GET", "/?page=2")[2]
    assert 'href="/">Newer issues' in page and 'href="/?page=3">Older issues' in page
    assert "Page 2 of 3" in page and 'data-version-url="/api/version?page=2"' in page
    assert 'rel="prev"' not in request(server, "GET", "/")[2]
    assert _rows(server, "/?page=9") == last  # past the end: the last page
    for bad in ("0", "-1", "x", "1e3", "%D9%A3"):
        assert request(server, "GET", f"/?page={bad}")[0] == 404

    def version(page: int) -> str:
        return str(json.loads(request(server, "GET", f"/api/version?page={page}")[2])["version"])

    v1, v2 = version(1), version(2)
    assert f'data-version="{v2}"' in page
    path = draft_path(site, days[PAGE + 3])
    path.write_text(path.read_text("utf-8") + "\n", "utf-8")
    assert (version(1), version(2) != v2) == (v1, True)  # only the page it is on
    shutil.rmtree(issue_dir(site, days[-1]))
    assert version(1) != v1  # an edition gone moves every page


def test_the_index_and_the_issue_page_agree_on_every_status(site: Config) -> None:
    # the index applies the status rule to the store's ledger, the issue page to its own
    # queries: every combination of record, the draft's status and hand edit
    recorded: list[EditionStatus | None] = [None, "draft", "approved", "sending", "sent"]
    written = ["draft", "approved", "sent"]
    cases = list(itertools.product(recorded, written, (True, False)))
    start = EDITION + timedelta(days=1)
    for n, (record, status, pristine) in enumerate(cases):
        day = start + timedelta(days=n)
        (path,) = _add(site, day, pipeline=pristine)
        text = path.read_text("utf-8").replace("status: draft", f"status: {status}")
        path.write_text(text, "utf-8")
        with open_store(site.state_path) as store:
            if pristine:
                store.commit_draft(day, draft_sha(text), [])
            if record is not None:
                store.record_issue(day, status=record)
    ledger = read_ledger(site, start, start + timedelta(days=len(cases)))
    for n, case in enumerate(cases):
        edition = Edition(site, start + timedelta(days=n))
        text, issue = edition.read_draft()
        expected = edition.status()
        assert ledger.status(edition.date, issue.status, draft_sha(text)) == expected, case
    with make_app(site, port=0, watch=False).start() as srv:
        rows = _rows(srv)
    for n, case in enumerate(cases):
        edition = Edition(site, start + timedelta(days=n))
        assert rows[edition.date.isoformat()][0] == edition.status(), case
