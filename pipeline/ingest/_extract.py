"""Full text for teaser-only items: article pages in, main text out.

In: items whose text is a sentence or two and whose link is http(s). Out: the
same items with the page's main text (trafilatura, precision-first, no
comments), fetched under the same limits as feeds. Results, failures included,
are cached in the store's ``extracts`` table so a page is fetched once.
"""

from __future__ import annotations

import dataclasses
import html as _html
from collections.abc import Sequence

from ..config import Fetch
from ..errors import FetchError
from ..models import Item
from ..store import Store
from ._fetch import FetchRequest, FetchResponse, InternalAddressError, fetch_all
from ._sanitize import squash

__all__ = ["is_teaser", "with_full_text"]


def is_teaser(item: Item, cfg: Fetch) -> bool:
    """A sentence or two of text and a web link to the full article."""
    return len(item.text) < cfg.teaser_chars and item.url.startswith(("http://", "https://"))


def _decode(resp: FetchResponse) -> str:
    charset = ""
    for part in resp.content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
    try:
        return resp.body.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return resp.body.decode("utf-8", "replace")


def _main_text(page: str, url: str) -> str:
    import trafilatura  # imported here: it costs ~0.7 s at start-up

    text = trafilatura.extract(
        page, url=url, output_format="txt", include_comments=False, favor_precision=True
    )
    if not text:
        return ""
    return "\n\n".join(squash(p) for p in text.split("\n") if p.strip())


async def with_full_text(
    items: Sequence[Item], store: Store, cfg: Fetch, allow_internal: str = ""
) -> tuple[list[Item], list[str]]:
    """Replace teaser text with the article's main text where it can be had.

    Returns the items and one message per article refused for leading to an internal
    address. ``allow_internal`` is the feed's URL when its config entry allows its
    origin an internal address: article pages on that same origin may then be read.
    """
    teasers = [it for it in items if is_teaser(it, cfg)]
    if not teasers:
        return list(items), []
    found: dict[str, str] = {}
    to_fetch: list[FetchRequest] = []
    for it in teasers:
        cached = store.cached_extract(it.url)
        if cached is not None:
            found[it.url] = cached[0]
        elif it.url not in {r.url for r in to_fetch}:
            to_fetch.append(FetchRequest(it.url, allow_internal=allow_internal))
    refused: list[str] = []
    for req, res in zip(to_fetch, await fetch_all(to_fetch, cfg), strict=True):
        if isinstance(res, InternalAddressError):
            # not cached: allowing the feed later must not find a stale refusal
            title = next(it.title for it in teasers if it.url == req.url)
            refused.append(f"entry {title[:60]!r}: full text not fetched: {res.detail}")
            continue
        if isinstance(res, FetchError):
            store.save_extract(req.url, "", str(res))
            continue
        text = _main_text(_decode(res), res.final_url)
        store.save_extract(req.url, text, "" if text else "no main text found")
        found[req.url] = text
    out = []
    for it in items:
        full = found.get(it.url, "")
        if is_teaser(it, cfg) and len(full) > len(it.text):
            html = "".join(f"<p>{_html.escape(p)}</p>" for p in full.split("\n\n"))
            it = dataclasses.replace(it, text=full, html=html)
        out.append(it)
    return out, refused
