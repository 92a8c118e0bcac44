"""A scratch newsletter site for the preview and desk tests, and helpers to talk to it.

``make_site(folder)`` copies ``tests/fixtures/preview/config.yaml`` and the
project's templates into ``folder``, stores the items of
``tests/fixtures/preview/issue.yaml`` in a real SQLite state store, writes the
edition's draft with :func:`format_draft` as the pipeline would (its fingerprint
recorded as pipeline-written, its items reserved) and renders it. ``serving``
runs the preview of it on 127.0.0.1; ``request`` speaks raw HTTP to it (any
``Host``), ``wait_version`` and ``wait_page`` wait for a re-render the way an open
page does.
"""

from __future__ import annotations

import http.client
import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml

from pipeline.build import render_draft
from pipeline.config import Config, load_config
from pipeline.draft import draft_sha, format_draft
from pipeline.edition import issue_dir
from pipeline.models import Issue, Item, QuickLink, SourceRef, StorySummary
from pipeline.outbox import publish
from pipeline.preview import PreviewServer, make_app
from pipeline.store import open_store

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "preview"
EDITION = date(2026, 11, 28)
DAY = EDITION.isoformat()


def fixture_issue() -> tuple[Issue, list[Item]]:
    """The fixture edition and the source items of its stories."""
    data: dict[str, Any] = yaml.safe_load((FIXTURES / "issue.yaml").read_text(encoding="utf-8"))
    stories, items = [], []
    for s in data["stories"]:
        items.append(
            Item(
                id=s["id"],
                source=s["source"],
                origin=s["source"],
                title=s["title"],
                text=s["text"],
                url=s["url"],
            )
        )
        stories.append(
            StorySummary(
                id=s["id"],
                headline=s["headline"],
                dek=s["dek"],
                hook=s["hook"],
                nut_graf=s["nut_graf"],
                section=s["section"],
                context=s["context"],
                lead_in=s["lead_in"],
                bullets=tuple(s["bullets"]),
                kicker_label=s["kicker_label"],
                kicker=s["kicker"],
                sources=(SourceRef(s["source"], s["url"]),),
                engine=s["engine"],
                fallback=s.get("fallback", ""),
            )
        )
    issue = Issue(
        date=data["date"],
        subject=data["subject"],
        intro=data["intro"],
        stories=tuple(stories),
        quick_links=tuple(QuickLink(**q) for q in data["quick_links"]),
    )
    return issue, items


def make_site(folder: Path) -> Config:
    """Lay out the site in ``folder`` with one pristine, rendered edition; return its config."""
    shutil.copy(FIXTURES / "config.yaml", folder / "config.yaml")
    if (ROOT / "templates").is_dir():
        shutil.copytree(ROOT / "templates", folder / "templates")
    else:
        (folder / "templates").mkdir()
    config = load_config(folder / "config.yaml")
    issue, items = fixture_issue()
    text = format_draft(issue, newsletter=config.newsletter.name)
    with open_store(config.state_path) as store:
        store.upsert_items(items)
        store.commit_draft(EDITION, draft_sha(text), [i.id for i in items])
    publish(issue_dir(config, EDITION), {"draft.md": text.encode("utf-8")})
    render_draft(config, EDITION)
    return config


def draft_path(config: Config, edition: date = EDITION) -> Path:
    """The edition's draft file."""
    return issue_dir(config, edition) / "draft.md"


@contextmanager
def serving(config: Config) -> Iterator[PreviewServer]:
    """The preview of a site, serving and watching on a free 127.0.0.1 port."""
    with make_app(config, port=0).start() as srv:
        yield srv


def request(
    srv: PreviewServer,
    method: str,
    path: str,
    *,
    host: str | None = None,
    body: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    """One raw HTTP exchange: (status, lower-cased headers, body text)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    data = urlencode(body).encode() if body is not None else None
    hdrs = {"Host": f"127.0.0.1:{srv.port}" if host is None else host, **(headers or {})}
    if data is not None:
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=data, headers=hdrs)
    resp = conn.getresponse()
    text = resp.read().decode("utf-8")
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, text


def version(srv: PreviewServer) -> str:
    """The edition's version, as the open page polls it."""
    return str(json.loads(request(srv, "GET", f"/api/version?date={DAY}")[2])["version"])


def opened(srv: PreviewServer) -> str:
    """Open the issue page (so the preview follows it); return its version."""
    request(srv, "GET", f"/issue/{DAY}")
    return version(srv)


def wait_page(srv: PreviewServer, check: Callable[[str], bool], timeout: float = 2.0) -> str:
    """Poll the issue page until ``check(page)`` holds; fail after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while True:
        page = request(srv, "GET", f"/issue/{DAY}")[2]
        if check(page):
            return page
        if time.monotonic() > end:
            raise AssertionError(f"the page did not change as expected within {timeout} s")
        time.sleep(0.02)


def wait_version(srv: PreviewServer, old: str, timeout: float = 2.0) -> str:
    """Wait until the edition is re-rendered (its version changes); fail after ``timeout``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        new = version(srv)
        if new != old:
            return new
        time.sleep(0.02)
    raise AssertionError(f"no re-render within {timeout} s (version stayed {old})")
