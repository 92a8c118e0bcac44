"""Deployments of several newsletters for the fleet tests (not a test module).

In: a folder, a loopback :class:`FeedServer`, and which feeds each newsletter lists. Out: a
``newsletters.yaml`` with one folder and ``config.yaml`` per newsletter (its own outbox,
state unless shared), and the feeds served: four dev articles each, published in the last
hours (fresh for today's and tomorrow's editions: issue.max_age_hours is 96), linked at
``https://<feed>.example/<id>`` so a story tells which feed it came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import yaml
from configs import NEWSLETTER_YAML
from feedserver import FeedServer, feed_route

from pipeline.deployment import Deployment, load_deployment
from pipeline.models import Article

# morning and tech share a and b; all three share a
LAYOUT: dict[str, tuple[str, ...]] = {
    "morning": ("a", "b", "m"),
    "tech": ("a", "b", "t"),
    "weekly": ("a", "w"),
}
COMMON = ("a", "b")


def rss(feed: str, articles: Sequence[Article]) -> bytes:
    """An RSS feed of ``articles``, each an hour older than the last."""
    now = datetime.now(UTC)
    items = "".join(
        f"<item><title>{escape(a.title or a.text[:60])}</title>"
        f"<link>https://{feed}.example/{a.id}</link>"
        f'<guid isPermaLink="false">{feed}-{a.id}</guid>'
        f"<pubDate>{format_datetime(now - timedelta(hours=n + 1))}</pubDate>"
        f"<description>{escape(a.text)}</description></item>"
        for n, a in enumerate(articles)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {feed}</title>'
        f"<link>https://{feed}.example/</link>{items}</channel></rss>"
    ).encode()


def serve_feeds(server: FeedServer, dev: Sequence[Article], feeds: Sequence[str]) -> None:
    """Each feed ``/<name>.xml`` on ``server``: four dev articles of its own."""
    for n, feed in enumerate(feeds):
        server.routes[f"/{feed}.xml"] = feed_route(rss(feed, dev[4 * n : 4 * n + 4]))


def make_deployment(
    root: Path,
    server: FeedServer,
    layout: Mapping[str, Sequence[str]] = LAYOUT,
    *,
    shared_state: bool = False,
    extra: Mapping[str, dict[str, Any]] | None = None,
) -> Deployment:
    """``root/newsletters.yaml`` naming a newsletter folder per key of ``layout``, each
    listing its feeds (those in ``COMMON`` weighted up, so both newsletters pick them)."""
    base = yaml.safe_load(NEWSLETTER_YAML)
    entries = []
    for key, feeds in layout.items():
        folder = root / key
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            **base,
            "sources": {
                "feeds": [
                    {
                        "url": server.url(f"/{f}.xml"),
                        "name": f"Feed {f}",
                        "allow_internal": True,
                        "weight": 3.0 if f in COMMON else 1.0,
                    }
                    for f in feeds
                ]
            },
            "issue": {"stories": 2, "quick_links": 1, "max_age_hours": 96},
        }
        for section, values in (extra or {}).get(key, {}).items():  # merged one level deep
            config[section] = {**config.get(section, {}), **values}
        (folder / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        entries.append(f"  {key}: {key}/config.yaml\n")
    state = "state: state/shared.sqlite3\n" if shared_state else ""
    path = root / "newsletters.yaml"
    path.write_text(state + "newsletters:\n" + "".join(entries), encoding="utf-8")
    return load_deployment(path)


def feed_of(url: str) -> str:
    """The feed a story's link came from: ``https://a.example/x`` -> ``a``."""
    return url.split("//", 1)[1].split(".example", 1)[0]
