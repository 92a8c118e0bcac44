"""Several newsletters of one deployment: `build --all` fetches each feed they share once
(requests counted on a loopback feed server), `--newsletter NAME` builds one, a failing
newsletter stops none of the others, and an item is used once per newsletter."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from feedserver import FeedServer, serve, status
from fleet_sites import LAYOUT, feed_of, make_deployment, serve_feeds

from pipeline.cli import cli
from pipeline.config import Config
from pipeline.deployment import Deployment
from pipeline.edition import Edition
from pipeline.lock import lock_path
from pipeline.models import Article

pytestmark = pytest.mark.slow  # each test builds several newsletters (a few seconds)

FEEDS = ("a", "b", "m", "t", "w")


@pytest.fixture
def feeds(dev: list[Article]) -> Iterator[FeedServer]:
    with serve({}) as server:
        serve_feeds(server, dev, FEEDS)
        yield server


def newsletter(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def links(config: Config, day: date) -> list[str]:
    """The links of every story and quick link of the newsletter's issue of ``day``."""
    issue = Edition(config, day).load_issue()
    return [r.url for s in issue.stories for r in s.sources] + [q.url for q in issue.quick_links]


def today() -> date:
    return datetime.now(UTC).date()  # the newsletters' timezone: UTC by default


def test_build_all_fetches_each_feed_they_share_once(tmp_path: Path, feeds: FeedServer) -> None:
    web = {"newsletter": {"web_url": "https://example.com/issues/{date}.html"}}
    dep = make_deployment(tmp_path, feeds, extra={"morning": web, "tech": web})
    result = newsletter("build", "--all", "--deployment", dep.file)
    assert result.exit_code == 0, result.output
    assert "3 newsletter(s): 3 built; 5 feed(s) fetched once for 8 listing(s)" in result.output
    # a is listed three times and b twice: 8 feed entries, 5 requests
    assert {f: len(feeds.hits(f"/{f}.xml")) for f in FEEDS} == dict.fromkeys(FEEDS, 1)
    for config in dep.newsletters:
        assert f"== {config.key} ==" in result.output
        found = links(config, today())
        assert found and {feed_of(u) for u in found} <= set(LAYOUT[config.key]), found

    # again: the stores agree on the validators they remember, so the one request for a
    # shared feed is conditional, and nothing changed
    again = newsletter("build", "--all", "--deployment", dep.file, "--publish")
    assert again.output.count(": unchanged") == 3, again.output
    # --publish: each newsletter's own archive; weekly names no address for its archive
    assert again.output.count(" issue(s) published") == 2, again.output
    assert "error: weekly: " in again.output and "archive.base_url" in again.output
    assert again.exit_code == 2
    assert [c.archive_path.is_dir() for c in dep.newsletters] == [True, True, False]
    for f in FEEDS:
        hits = feeds.hits(f"/{f}.xml")
        assert len(hits) == 2 and hits[1].get("If-None-Match") == '"v1"', (f, hits)


def test_build_one_newsletter_by_name(
    tmp_path: Path, feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = make_deployment(tmp_path, feeds)
    result = newsletter("build", "--newsletter", "tech", "--deployment", dep.file)
    assert result.exit_code == 0, result.output
    assert links(dep.newsletter("tech"), today())
    assert not dep.newsletter("morning").outbox_path.exists()
    # any command that takes --config takes --newsletter: lint reads tech's issue
    lint = newsletter("lint", "--newsletter", "tech", "--deployment", dep.file)
    assert lint.exit_code in (0, 1) and "blocking" in lint.output, lint.output
    nothing = newsletter("lint", "--newsletter", "morning", "--deployment", dep.file)
    assert nothing.exit_code == 4, nothing.output  # morning has no issue built
    assert {f: len(feeds.hits(f"/{f}.xml")) for f in FEEDS} == {
        "a": 1,
        "b": 1,
        "m": 0,
        "t": 1,
        "w": 0,
    }
    # ./newsletters.yaml is the default deployment file
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    Path("newsletters.yaml").write_text(
        f"newsletters:\n  tech: {dep.root / 'tech'}\n", encoding="utf-8"
    )
    assert newsletter("build", "--newsletter", "tech").exit_code == 0
    # no config.yaml here: the error says how to name one
    plain = newsletter("build")
    assert plain.exit_code == 2
    assert "newsletters.yaml lists several newsletters" in plain.output


def test_usage_errors_and_an_unknown_name(tmp_path: Path, feeds: FeedServer) -> None:
    dep = make_deployment(tmp_path, feeds)
    both = newsletter("build", "--all", "--newsletter", "tech", "--deployment", dep.file)
    assert both.exit_code == 2 and "--all or --newsletter NAME" in both.output
    config = newsletter("build", "--newsletter", "tech", "--config", "x.yaml")
    assert config.exit_code == 2 and "--config or --newsletter NAME" in config.output
    unknown = newsletter("build", "--newsletter", "sports", "--deployment", dep.file)
    assert unknown.exit_code == 2
    assert "no newsletter 'sports' here (it lists: morning, tech, weekly)" in unknown.output
    alone = newsletter("build", "--deployment", dep.file)
    assert alone.exit_code == 2 and "--deployment is read with --newsletter NAME" in alone.output
    config_all = newsletter("build", "--all", "--config", "x.yaml", "--deployment", dep.file)
    assert config_all.exit_code == 2 and "--all reads the deployment file" in config_all.output
    missing = newsletter("build", "--all", "--deployment", str(tmp_path / "none.yaml"))
    assert missing.exit_code == 2 and "file not found" in missing.output
    assert not any(feeds.requests)


def test_one_failing_newsletter_stops_none_of_the_others(tmp_path: Path, feeds: FeedServer) -> None:
    feeds.routes["/down.xml"] = status(500)
    layout = {**LAYOUT, "weekly": ("down",)}
    dep = make_deployment(
        tmp_path,
        feeds,
        layout,
        extra={
            "tech": {"schedule": {"lock_wait_seconds": 0}},
            "weekly": {"fetch": {"retries": 0}},
        },
    )
    # another run holds tech's lock: flock is per open file, so this descriptor of the
    # lock file is another holder even in this thread
    lock = lock_path(dep.newsletter("tech"))
    lock.parent.mkdir(parents=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        result = newsletter("build", "--all", "--deployment", dep.file)
    finally:
        os.close(fd)
    # tech locked out (3), weekly without a story (4): the status is the worst
    assert result.exit_code == 4, result.output
    assert "3 newsletter(s): 1 built, failed: tech, weekly" in result.output
    assert "error: tech: another run of this newsletter holds the lock" in result.output
    assert "error: weekly: no fresh stories" in result.output
    assert links(dep.newsletter("morning"), today())
    assert not (dep.newsletter("weekly").outbox_path / today().isoformat()).exists()


def test_ingest_all_fetches_shared_feeds_once(tmp_path: Path, feeds: FeedServer) -> None:
    dep = make_deployment(tmp_path, feeds)
    result = newsletter("ingest", "--all", "--deployment", dep.file, "--format", "json")
    assert result.exit_code == 0, result.output
    assert {f: len(feeds.hits(f"/{f}.xml")) for f in FEEDS} == dict.fromkeys(FEEDS, 1)
    assert result.output.count('"newsletter": "morning"') == 3
    assert result.output.count('"newsletter": "weekly"') == 2
    assert result.output.count('"new": 4') == 8  # every feed's 4 items, in each store


@pytest.mark.parametrize("shared", [False, True])
def test_an_item_is_used_once_per_newsletter(
    tmp_path: Path, feeds: FeedServer, shared: bool
) -> None:
    dep: Deployment = make_deployment(tmp_path, feeds, shared_state=shared)
    days = (today(), today() + timedelta(days=1))
    for day in days:
        result = newsletter("build", "--all", "--deployment", dep.file, "--date", day.isoformat())
        assert result.exit_code == 0, result.output
    used = {c.key: [u for day in days for u in links(c, day)] for c in dep.newsletters}
    for key, urls in used.items():
        assert len(urls) == len(set(urls)), f"{key} used an item twice: {urls}"
        assert {feed_of(u) for u in urls} <= set(LAYOUT[key]), f"{key}: {urls}"
    # morning and tech share feeds a and b, weighted up: both use some of the same items
    assert set(used["morning"]) & set(used["tech"]), used


def test_stores_that_remember_other_validators_get_a_plain_request(
    tmp_path: Path, feeds: FeedServer
) -> None:
    dep = make_deployment(tmp_path, feeds)
    assert newsletter("ingest", "--newsletter", "morning", "--deployment", dep.file).exit_code == 0
    result = newsletter("ingest", "--all", "--deployment", dep.file)
    assert result.exit_code == 0, result.output
    # morning's store remembers a's and b's ETag, tech's and weekly's do not: one plain
    # request each serves all three; m, morning's own, is asked for conditionally
    for f in ("a", "b"):
        hits = feeds.hits(f"/{f}.xml")
        assert len(hits) == 2 and "If-None-Match" not in hits[1], (f, hits)
    assert feeds.hits("/m.xml")[1].get("If-None-Match") == '"v1"'
    assert "morning" in result.output and result.output.count("not modified") == 1


def test_newsletters_sharing_one_store_share_its_etags(tmp_path: Path, feeds: FeedServer) -> None:
    dep = make_deployment(tmp_path, feeds, shared_state=True)
    assert {c.state_path for c in dep.newsletters} == {tmp_path / "state/shared.sqlite3"}
    assert newsletter("ingest", "--all", "--deployment", dep.file).exit_code == 0
    again = newsletter("ingest", "--all", "--deployment", dep.file)
    assert again.exit_code == 0, again.output
    # one request a feed each time, the second conditional: every listing is not modified
    for f in FEEDS:
        hits = feeds.hits(f"/{f}.xml")
        assert len(hits) == 2 and hits[1].get("If-None-Match") == '"v1"', (f, hits)
    assert again.output.count("not modified") == 8, again.output
