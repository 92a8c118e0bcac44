"""Ingest end to end: feeds over real HTTP and from files, story files, the store.

One run mixes healthy and hostile feeds: each bad one ends within its bound with
a precise error while the others ingest. Then conditional GET, moved and gone
feeds, the feed-health ledger, identity and the never-lose/never-repeat rules.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from configs import NEWSLETTER_YAML
from feedserver import (
    FeedServer,
    Route,
    drip,
    feed_route,
    fixture,
    gzip_bomb,
    huge,
    redirect,
    send,
    serve,
    slow,
    status,
)
from newsletter_cli import CLI

from pipeline.config import Config, load_config
from pipeline.ingest import feed_health, ingest
from pipeline.models import SourceResult
from pipeline.store import open_store

RSS = fixture("own/desk.rss")
ATOM = fixture("own/desk.atom")
JSONF = fixture("own/desk.json")
LATIN1 = fixture("own/latin1-mislabeled.rss")
PAGE = fixture("own/not-a-feed.html")

CONFIG = (
    NEWSLETTER_YAML.replace("{", "{{").replace("}", "}}")
    + """\
sources:
  feeds:
{feeds}
  inbox: {inbox}
paths: {{state: state.sqlite3}}
fetch:
  timeout: 2
  connect_timeout: 1
  read_timeout: 1
  retries: 1
  retry_backoff: 0.05
  retry_after_max: 1
  max_bytes: 1048576
  alert_after_failures: 2
"""
)


def make_config(tmp: Path, feeds: list[str], inbox: str = "") -> Config:
    # the test servers are on 127.0.0.1: their feeds say so, as a config must
    lines = "\n".join(
        f"    - {{url: '{u}', allow_internal: true}}"
        if u.startswith("http")
        else f"    - {{url: '{u}'}}"
        for u in feeds
    )
    if not feeds:
        lines = ""
    text = CONFIG.format(feeds=lines, inbox=inbox or "''")
    if not feeds:
        text = text.replace("  feeds:\n\n", "  feeds: []\n")
    p = tmp / "config.yaml"
    p.write_text(text, encoding="utf-8")
    return load_config(p)


@pytest.fixture()
def server() -> Iterator[FeedServer]:
    routes = {
        "/desk.rss": feed_route(RSS),
        "/desk.atom": feed_route(ATOM, etag='"a1"', ctype="application/atom+xml"),
        "/desk.json": feed_route(JSONF, etag='"j1"', ctype="application/feed+json"),
        "/latin1.rss": lambda h: send(h, 200, LATIN1, "application/rss+xml; charset=utf-8"),
        "/page": lambda h: send(h, 200, PAGE, "text/html; charset=utf-8"),
        "/missing": status(404),
        "/gone": status(410),
        "/busy": status(429, {"Retry-After": "0"}),
        "/drip": drip,
        "/huge": huge(declared=False),
        "/bomb": gzip_bomb(),
        "/loop-a": redirect("/loop-b"),
        "/loop-b": redirect("/loop-a"),
        "/old-home": redirect("/desk.atom", 301),
    }
    with serve(routes) as s:
        yield s


def by_source(results: tuple[SourceResult, ...]) -> dict[str, SourceResult]:
    return {r.source: r for r in results}


@pytest.mark.slow
def test_one_run_survives_every_hostile_feed(tmp_path: Path, server: FeedServer) -> None:
    good = [server.url(p) for p in ("/desk.rss", "/desk.atom", "/desk.json", "/latin1.rss")]
    bad = {
        "/page": "not a feed: got an HTML page ('Welcome to Desk Example')",
        "/missing": "HTTP 404",
        "/gone": "HTTP 410 Gone",
        "/busy": "HTTP 429",
        "/drip": "total timeout",
        "/huge": "body exceeds the 1 MB cap",
        "/bomb": "decompression bomb",
        "/loop-a": "redirect loop",
    }
    cfg = make_config(tmp_path, good + [server.url(p) for p in bad])
    t0 = time.perf_counter()
    with open_store(cfg.state_path) as store:
        result = ingest(cfg, store)
        stored = store.count_items()
    assert time.perf_counter() - t0 < cfg.fetch.timeout + 1.5  # all bounded, in parallel
    res = by_source(result.sources)
    assert [r.source for r in result.sources] == good + [server.url(p) for p in bad]
    for url in good:
        assert res[url].status == "ok", res[url].error
    assert res[good[0]].new == 3 and res[good[1]].new == 3 and res[good[2]].new == 2
    assert res[good[3]].items[0].title == "Café chain Crème opens in München"
    assert stored == 9
    for path, reason in bad.items():
        r = res[server.url(path)]
        assert r.status == "error" and r.error.startswith(server.url(path) + ": ")
        assert reason in r.error, r.error


def test_items_are_normalised_and_sanitized(tmp_path: Path, server: FeedServer) -> None:
    cfg = make_config(tmp_path, [server.url("/desk.rss")])
    with open_store(cfg.state_path) as store:
        [res] = ingest(cfg, store).sources
    rail = res.items[0]
    assert rail.source == "Harbour Business Desk"  # the feed's own title
    assert rail.origin == server.url("/desk.rss")
    assert rail.published == datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
    assert "<" not in rail.text and "$1.2 billion" in rail.text
    for bad in ("<script", "onclick", "javascript:"):
        assert bad not in rail.html
    assert "<b>$1.2 billion</b>" in rail.html


def test_config_name_and_relative_file_paths(tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "desk.atom").write_bytes(ATOM)
    p = tmp_path / "config.yaml"
    cfg = make_config(tmp_path, [])
    p.write_text(
        p.read_text().replace(
            "  feeds: []", "  feeds:\n    - {url: feeds/desk.atom, name: Circuit}"
        ),
        encoding="utf-8",
    )
    cfg = load_config(p)
    with open_store(cfg.state_path) as store:
        [res] = ingest(cfg, store).sources
    assert res.status == "ok" and {i.source for i in res.items} == {"Circuit"}
    assert res.items[0].origin == str(tmp_path / "feeds" / "desk.atom")


def test_conditional_get_second_run_is_not_modified(tmp_path: Path, server: FeedServer) -> None:
    url = server.url("/desk.rss")
    cfg = make_config(tmp_path, [url])
    with open_store(cfg.state_path) as store:
        first = ingest(cfg, store).sources[0]
        second = ingest(cfg, store).sources[0]
        state = store.feed_state(url)
    assert first.status == "ok" and first.new == 3
    assert second.status == "not-modified" and second.items == () and second.new == 0
    assert server.hits("/desk.rss")[-1]["If-None-Match"] == '"v1"'
    assert state.etag == '"v1"' and state.failures == 0


def test_permanent_redirect_updates_the_stored_url(tmp_path: Path, server: FeedServer) -> None:
    url = server.url("/old-home")
    cfg = make_config(tmp_path, [url])
    with open_store(cfg.state_path) as store:
        first = ingest(cfg, store).sources[0]
        assert store.feed_state(url).moved_to == server.url("/desk.atom")
        hits = len(server.hits("/old-home"))
        second = ingest(cfg, store).sources[0]
    assert first.status == "ok" and any("moved permanently" in w for w in first.warnings)
    assert second.status == "not-modified"
    assert len(server.hits("/old-home")) == hits  # the new URL was fetched directly


def test_gone_feed_is_marked_and_not_fetched_again(tmp_path: Path, server: FeedServer) -> None:
    url = server.url("/gone")
    cfg = make_config(tmp_path, [url])
    with open_store(cfg.state_path) as store:
        ingest(cfg, store)
        second = ingest(cfg, store).sources[0]
        health = feed_health(cfg, store)
    assert len(server.hits("/gone")) == 1
    assert second.status == "error" and "remove it from the config" in second.error
    assert health[0].status == "gone" and health[0].alert


def test_health_alerts_after_n_failures_not_one(tmp_path: Path, server: FeedServer) -> None:
    ok, bad = server.url("/desk.rss"), server.url("/missing")
    cfg = make_config(tmp_path, [ok, bad])
    with open_store(cfg.state_path) as store:
        ingest(cfg, store)
        once = {h.url: h for h in feed_health(cfg, store)}
        ingest(cfg, store)
        twice = {h.url: h for h in feed_health(cfg, store)}
        later = feed_health(cfg, store, now=datetime.now(UTC) + timedelta(days=30))
    assert once[bad].status == "failing" and once[bad].failures == 1 and not once[bad].alert
    assert "HTTP 404" in once[bad].last_error and once[bad].last_error_at
    assert twice[bad].failures == 2 and twice[bad].alert  # alert_after_failures: 2
    assert twice[ok].status == "ok" and not twice[ok].alert and twice[ok].last_new_item
    assert {h.url: h.status for h in later}[ok] == "stale"
    assert "status" in twice[ok].as_dict()


def test_sources_override_and_story_files(tmp_path: Path, server: FeedServer) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a-story.md").write_text(
        "---\ntitle: Harbor Rail posts record freight volumes\nurl: https://rail.example/x?utm_source=a\n"
        "source: Rail Daily\ndate: 2026-11-27T09:30:00-05:00\nimage: https://rail.example/i.jpg\n"
        "image_alt: Containers\nimage_credit: Rail Daily\n---\n"
        "Harbor Rail moved **2.1 million** containers in October.\n\nVolumes rose 9%.\n",
        encoding="utf-8",
    )
    (inbox / "b-note.txt").write_text(
        "Glenfield Mills to add 200 jobs\n\nThe mill owner said hiring starts in January.\n",
        encoding="utf-8",
    )
    (inbox / "c-page.html").write_text(
        "<html><head><title>Site</title>"
        '<meta property="og:site_name" content="Power Post">'
        '<link rel="canonical" href="https://power-post.example/marlow-wind">'
        '<meta property="article:published_time" content="2026-11-26">'
        "</head><body><nav>Home | About</nav><article>"
        "<h1>Marlow Energy signs wind deal</h1><p>Marlow Energy agreed to buy power from three"
        " offshore wind farms for fifteen years, the utility said on Thursday, in a deal that"
        " covers a quarter of its demand.</p><p>Terms were not disclosed.</p></article>"
        "</body></html>",
        encoding="utf-8",
    )
    (inbox / "d-broken.md").write_text(
        "---\ntitle: Fine\ndate: [unclosed\n---\nBody\n", encoding="utf-8"
    )
    (inbox / "e-typo.md").write_text("---\ntitle: Fine\ntitel: x\n---\nBody\n", encoding="utf-8")
    (inbox / "README.md").write_text("# How to use this folder\n", encoding="utf-8")
    # a source given by URL keeps the allow_internal of its config entry
    cfg = make_config(tmp_path, [server.url("/missing"), server.url("/desk.json")])
    with open_store(cfg.state_path) as store:
        result = ingest(cfg, store, sources=[str(inbox), server.url("/desk.json")])
    res = by_source(result.sources)
    assert server.hits("/missing") == []  # configured feeds were not read
    md = res[str(inbox / "a-story.md")].items[0]
    assert md.title == "Harbor Rail posts record freight volumes" and md.source == "Rail Daily"
    assert md.text == "Harbor Rail moved 2.1 million containers in October.\n\nVolumes rose 9%."
    assert "<strong>2.1 million</strong>" in md.html
    assert md.published == datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
    assert md.image is not None and md.image.alt == "Containers" and md.image.credit == "Rail Daily"
    txt = res[str(inbox / "b-note.txt")].items[0]
    assert txt.title == "Glenfield Mills to add 200 jobs" and txt.source == "The Ledger"
    page = res[str(inbox / "c-page.html")].items[0]
    assert page.title == "Marlow Energy signs wind deal"
    assert "offshore wind farms" in page.text and "About" not in page.text
    # a saved page's own metadata names the outlet, the link and the date
    assert page.source == "Power Post" and page.url == "https://power-post.example/marlow-wind"
    assert page.published is not None and page.published.date() == date(2026, 11, 26)
    broken = res[str(inbox / "d-broken.md")]
    assert broken.status == "error" and broken.error.startswith(f"{inbox / 'd-broken.md'}:3: ")
    assert "malformed front matter" in broken.error
    typo = res[str(inbox / "e-typo.md")]
    assert typo.error.startswith(f"{inbox / 'e-typo.md'}:3: unknown front matter key 'titel'")
    assert str(inbox / "README.md") not in res
    assert res[server.url("/desk.json")].new == 2


def test_identity_survives_guid_change_tracking_and_scheme(tmp_path: Path) -> None:
    def rss(guid: str, link: str, body: str) -> bytes:
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><item>'
            f"<title>Fenwick Capital closes fund</title><link>{link}</link><guid>{guid}</guid>"
            f"<description>{body}</description></item></channel></rss>"
        ).encode()

    feed = tmp_path / "wire.xml"
    cfg = make_config(tmp_path, [str(feed)])
    runs = [
        rss("wire-1", "https://www.wire.example/fund/", "Fenwick closed a fund."),
        rss(
            "wire-1-v2", "https://wire.example/fund?utm_source=x&fbclid=y", "Fenwick closed a fund."
        ),
        rss("wire-1-v3", "http://wire.example/fund", "Fenwick closed a $300 million fund."),
    ]
    news = []
    with open_store(cfg.state_path) as store:
        for data in runs:
            feed.write_bytes(data)
            r = ingest(cfg, store).sources[0]
            news.append(r.new)
        assert store.count_items() == 1
        [(item, _)] = store.candidates(date(2026, 11, 28), datetime(2000, 1, 1, tzinfo=UTC))
    assert news == [1, 0, 0]
    assert "$300 million" in item.text  # the updated item replaced the stored text
    assert item.url == "http://wire.example/fund"  # tracking parameters never stored


def test_used_items_are_never_new_again(tmp_path: Path, server: FeedServer) -> None:
    cfg = make_config(tmp_path, [server.url("/desk.json")])
    with open_store(cfg.state_path) as store:
        items = ingest(cfg, store).sources[0].items
        store.commit_draft(date(2026, 11, 27), "draft-sha", [i.id for i in items])
        store.conn.execute("DELETE FROM feeds")  # state of conditional GET lost
        again = ingest(cfg, store).sources[0]
        used = [store.used_in(i.id) for i in items]
    assert again.status == "ok" and again.new == 0
    assert used == ["2026-11-27", "2026-11-27"]


def test_full_text_for_teasers_is_fetched_once_and_cached(tmp_path: Path) -> None:
    article = (
        "<html><body><header>Menu</header><article><h1>Quarry Bank lifts savings rate</h1>"
        + "".join(
            f"<p>Paragraph {n}: Quarry Bank raised its easy-access savings rate to 4.1% as"
            " rivals held theirs, the lender said, citing deposits and funding costs.</p>"
            for n in range(6)
        )
        + "</article><footer>Cookies</footer></body></html>"
    ).encode()
    # the articles are on the allowed feed's own host and port: the one internal origin
    # its config entry lets fetches reach
    routes = {"/article": lambda h: send(h, 200, article, "text/html; charset=utf-8")}
    with serve(routes) as srv:
        feed = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Bank</title><item>'
            f"<title>Quarry Bank lifts savings rate</title><link>{srv.url('/article')}</link>"
            "<description>Quarry Bank raised a rate.</description></item></channel></rss>"
        ).encode()
        routes["/feed"] = lambda h: send(h, 200, feed)
        cfg = make_config(tmp_path, [srv.url("/feed")])
        p = tmp_path / "config.yaml"
        p.write_text(p.read_text() + "  full_text: true\n", encoding="utf-8")
        cfg = load_config(p)
        with open_store(cfg.state_path) as store:
            item = ingest(cfg, store).sources[0].items[0]
            ingest(cfg, store)
            cached = store.cached_extract(srv.url("/article"))
        assert "Paragraph 5: Quarry Bank raised" in item.text
        assert "Menu" not in item.text and "Cookies" not in item.text
        assert cached is not None and cached[1] == ""
        assert len(srv.hits("/article")) == 1


def _store_count(path: Path) -> int:
    import sqlite3

    try:
        conn = sqlite3.connect(path, timeout=1)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM items").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _kill_9_when(config: Path, until: Callable[[], bool], seconds: float) -> bool:
    """Run ``newsletter ingest`` and kill -9 it once ``until()`` (or ``seconds`` passed);
    True when it was still running then."""
    import signal
    import subprocess

    proc = subprocess.Popen(
        [CLI, "ingest", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + seconds
        while not until() and time.monotonic() < deadline:
            time.sleep(0.002)
        return proc.poll() is None
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@pytest.mark.slow
def test_interrupted_ingest_keeps_what_it_stored(tmp_path: Path, server: FeedServer) -> None:
    cfg = make_config(tmp_path, [server.url("/desk.rss"), server.url("/drip")])
    p = tmp_path / "config.yaml"
    text = p.read_text().replace("  timeout: 2\n", "  timeout: 30\n")
    p.write_text(text.replace("read_timeout: 1\n", "read_timeout: 10\n"), encoding="utf-8")
    # still waiting on the drip feed when killed
    assert _kill_9_when(p, lambda: _store_count(cfg.state_path) >= 3, 15)
    assert _store_count(cfg.state_path) == 3
    cfg = make_config(tmp_path, [server.url("/desk.rss")])
    with open_store(cfg.state_path) as store:
        again = ingest(cfg, store).sources[0]
    assert again.new == 0 and again.status in ("ok", "not-modified")


def _many_feeds(n: int, items: int) -> dict[str, Route]:
    """``n`` feeds of ``items`` entries each, every answer 0.2 s late (with validators)."""
    routes = {}
    for f in range(n):
        entries = "".join(
            f"<item><title>Feed {f} story {i}</title><guid>f{f}-{i}</guid>"
            f"<link>https://f{f}.example/{i}</link><description>Story {i}.</description></item>"
            for i in range(items)
        )
        body = f'<rss version="2.0"><channel><title>F{f}</title>{entries}</channel></rss>'
        routes[f"/f{f}.xml"] = slow(0.2, feed_route(body.encode(), etag=f'"e{f}"'))
    return routes


def _feeds_and_items(path: Path) -> list[tuple[str, str, int]]:
    """Each feed's URL, stored ETag and number of stored items (none while locked)."""
    import sqlite3

    try:
        conn = sqlite3.connect(path, timeout=1)
        try:
            rows = conn.execute(
                "SELECT f.url, f.etag, (SELECT COUNT(*) FROM items i WHERE i.origin = f.url)"
                " FROM feeds f ORDER BY f.url"
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return []
    return [(str(u), str(e or ""), int(c)) for u, e, c in rows]


def _etags(path: Path) -> int:
    return sum(1 for _, etag, _ in _feeds_and_items(path) if etag)


@pytest.mark.slow
def test_kill_9_between_grouped_writes_keeps_no_etag_without_its_items(tmp_path: Path) -> None:
    feeds, items = 48, 10
    with serve(_many_feeds(feeds, items)) as srv:
        urls = sorted(srv.url(f"/f{f}.xml") for f in range(feeds))
        partial = []
        # killed as soon as this many ETags are stored: a validator committed ahead of its
        # items would be seen here
        for n, kill_at in enumerate((1, 16, 32)):
            folder = tmp_path / f"round{n}"
            folder.mkdir()
            cfg = make_config(folder, urls)
            p = folder / "config.yaml"
            p.write_text(p.read_text() + "  concurrency: 8\n  per_host: 8\n", encoding="utf-8")
            _kill_9_when(p, lambda path=cfg.state_path, k=kill_at: _etags(path) >= k, 30)
            rows = _feeds_and_items(cfg.state_path)
            assert [r for r in rows if r[1] and r[2] != items] == []  # an ETag, all its items
            assert [r for r in rows if r[2] and not r[1]] == []  # items, their ETag
            partial.append(_etags(cfg.state_path))
            with open_store(cfg.state_path) as store:  # the next run does the rest
                results = ingest(cfg, store).sources
            assert sum(r.new for r in results) == (feeds - partial[-1]) * items
            assert {r.status for r in results} <= {"ok", "not-modified"}
            etags = {srv.url(f"/f{f}.xml"): f'"e{f}"' for f in range(feeds)}
            assert _feeds_and_items(cfg.state_path) == [(u, etags[u], items) for u in urls]
    assert all(0 < k < feeds for k in partial), partial  # each kill came mid-run


def test_hostile_links_and_images_are_dropped(tmp_path: Path) -> None:
    feed = tmp_path / "evil.xml"
    feed.write_bytes(
        b'<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">'
        b"<channel><title>Evil</title><item><title>Click me</title>"
        b"<link>javascript:alert(document.cookie)</link><description>x</description>"
        b'<media:content url="javascript:alert(2)" medium="image"/></item></channel></rss>'
    )
    cfg = make_config(tmp_path, [str(feed)])
    with open_store(cfg.state_path) as store:
        [res] = ingest(cfg, store).sources
    [item] = res.items
    assert item.url == "" and item.image is None
    assert any("dropped a non-web link" in w for w in res.warnings)


def test_feed_files_commit_in_groups_and_a_bad_one_stops_none(tmp_path: Path) -> None:
    # 12 feed files, one of them not a feed: two commits for the lot, every good file stored
    folder = tmp_path / "feeds"
    folder.mkdir()
    paths = []
    for n in range(12):
        path = folder / f"f{n:02d}.rss"
        body = RSS.replace(b"<guid>", f"<guid>f{n}-".encode()).replace(
            b"<link>", f"<link>https://f{n}.example".encode()
        )
        path.write_bytes(PAGE if n == 5 else body)
        paths.append(str(path))
    cfg = make_config(tmp_path, paths)
    with open_store(cfg.state_path) as store:
        before = store.commits
        results = {r.source: r for r in ingest(cfg, store).sources}
        commits = store.commits - before
    assert results[paths[5]].status == "error"
    ok = [r for p, r in results.items() if p != paths[5]]
    assert all(r.status == "ok" and r.new > 0 for r in ok)
    assert len({i.id for r in ok for i in r.items}) == sum(r.new for r in ok)
    assert commits <= 3, commits  # 12 files: two groups (and no commit per file)


def test_a_feed_the_store_refuses_in_a_group_stops_none_of_the_others(tmp_path: Path) -> None:
    # JSON may hold a lone surrogate, which no database text can: that feed fails alone
    bad = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "J",'
        b' "items": [{"id": "x1", "title": "bad \\ud800 title", "content_text": "t"}]}'
    )
    routes = {f"/f{f}.xml": feed_route(_many_feeds_body(f)) for f in range(3)}
    routes["/bad.json"] = lambda h: send(h, 200, bad, "application/feed+json")
    with serve(routes) as srv:
        urls = [srv.url(p) for p in sorted(routes)]
        cfg = make_config(tmp_path, urls)
        with open_store(cfg.state_path) as store:
            results = by_source(ingest(cfg, store).sources)
            assert results[srv.url("/bad.json")].status == "error"
            assert "UnicodeEncodeError" in (results[srv.url("/bad.json")].error or "")
            assert [results[srv.url(f"/f{f}.xml")].new for f in range(3)] == [2, 2, 2]
            assert store.count_items() == 6
            assert store.feed_state(srv.url("/bad.json")).failures == 1
            assert store.feed_state(srv.url("/f1.xml")).etag == '"v1"'


def _many_feeds_body(f: int) -> bytes:
    entries = "".join(
        f"<item><title>Feed {f} story {i}</title><guid>f{f}-{i}</guid></item>" for i in range(2)
    )
    return f'<rss version="2.0"><channel><title>F{f}</title>{entries}</channel></rss>'.encode()
