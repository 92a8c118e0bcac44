"""Site layout: the config in, a :class:`Layout` out: where each file of the web archive
lives and the URL it is served at.

An issue's page sits where ``newsletter.web_url`` points, so the email's "View in your
browser" link resolves: with a base URL of ``https://news.example/`` (``archive.base_url``,
by default the scheme and host of ``web_url``), ``https://news.example/issues/{date}``
becomes ``issues/<date>/index.html``, served at ``https://news.example/issues/<date>/``
(static servers answer the link without its slash with a redirect there); a pattern
ending in ``.html`` is a file of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from ..config import Config
from ..errors import ConfigError

__all__ = ["Layout", "layout_for"]

DATE = "{date}"
# characters a page path may use: it names a file as well as a URL
_SAFE_PATH = re.compile(r"[A-Za-z0-9._~/{}-]*")


@dataclass(frozen=True)
class Layout:
    """The site's root URL (ending in ``/``) and the issue pages' path below it."""

    base_url: str
    pattern: str  # one {date}, relative to base_url: "issues/{date}"

    def page_file(self, edition: date) -> str:
        """The page's file, relative to the site folder."""
        return _file(self.pattern).replace(DATE, edition.isoformat())

    def page_glob(self) -> str:
        """A glob matching every issue page's file (to find pages no longer public)."""
        return _file(self.pattern).replace(DATE, "[0-9]" * 4 + "-" + "[0-9]" * 2 + "-[0-9][0-9]")

    def page_path(self, edition: date) -> str:
        """The page's URL path below the base: a folder's with its slash (no redirect)."""
        return self.page_file(edition).removesuffix("index.html")

    def url(self, rel: str) -> str:
        """The absolute URL of a path below the base (canonical links, the feed)."""
        return self.base_url + rel

    def href(self, rel: str) -> str:
        """A link from one page of the site to another: from the server's root, so it holds
        whether or not the address a reader followed had its trailing slash."""
        return urlsplit(self.base_url).path + rel


def _file(rel: str) -> str:
    """A URL path's file: a folder's index.html, or the .html file it names."""
    if rel.endswith("/"):
        return rel + "index.html"
    return rel if rel.endswith((".html", ".htm")) else rel + "/index.html"


def _error(config: Config, key: str, message: str) -> ConfigError:
    return ConfigError(message, file=config.file, key=key)


def layout_for(config: Config) -> Layout:
    """The layout from ``archive.base_url`` and ``newsletter.web_url``; :class:`ConfigError`
    when the two disagree or the pattern cannot name a file."""
    web = config.newsletter.web_url
    base = config.archive.base_url
    if not web:
        if not base:
            raise _error(
                config,
                "archive.base_url",
                "the web archive needs its address: set newsletter.web_url (the issue page,"
                " with {date}) or archive.base_url",
            )
        return Layout(base, "issues/{date}/")
    if not base:
        parts = urlsplit(web)
        base = f"{parts.scheme}://{parts.netloc}/"
    if DATE in base or not web.startswith(base):
        raise _error(
            config,
            "archive.base_url",
            f"newsletter.web_url ({web}) must start with the archive's base URL ({base}),"
            " with {date} after it",
        )
    pattern = web[len(base) :]
    segments = pattern.split("/")
    if (
        pattern.count(DATE) != 1
        or not _SAFE_PATH.fullmatch(pattern)
        or any(s in ("", ".", "..") for s in segments[:-1])
        or segments[-1] in (".", "..")
        or pattern.replace(DATE, "").count("{") + pattern.replace(DATE, "").count("}")
    ):
        raise _error(
            config,
            "newsletter.web_url",
            f"for the web archive the page path {pattern!r} must hold {{date}} once and only"
            " letters, digits and . _ ~ - / (like issues/{date} or archive/{date}.html)",
        )
    return Layout(base, pattern)
