"""Stable identity for items: canonical links and ids.

In: a guid, a link, a title and text. Out: a canonical link key and a stable id
that survive tracking parameters, http/https, ``www.``, trailing slashes and
fragments, so the same story is never stored twice.
"""

from __future__ import annotations

import functools
import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["canonical_url", "item_id", "url_key"]

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "itm_", "_hs", "vero_")
_TRACKING_KEYS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mkt_tok",
        "ref",
        "ref_src",
        "cmpid",
        "ncid",
        "sr_share",
        "spm",
        "_ga",
        "oly_enc_id",
        "oly_anon_id",
        "rss",
        "rssfeed",
        "cid",
        "s_cid",
        "smid",
        "mbid",
    }
)


# a link already canonical in form: lower-case scheme and host, no port, user, query
# or fragment. Most links are; they need no parsing.
_PLAIN = re.compile(r"https?://[a-z0-9.-]+(/[^?#\s]*)?")


# an item's link is made canonical when it is read and again when it is stored: a
# bounded cache keeps the second time (and a feed's repeats) from parsing it again
@functools.lru_cache(maxsize=8192)
def canonical_url(url: str) -> str:
    """The link with tracking parameters, fragment and default port removed."""
    url = url.strip()
    plain = _PLAIN.fullmatch(url)
    if plain:
        return url if plain.group(1) else url + "/"
    return _canonical(url)


def _canonical(url: str) -> str:
    """canonical_url by parsing the link."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # "http://x.c[o/", a port out of range...: keep it as given
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets, or the port would swallow it
        host = f"[{host}]"
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not (k.lower() in _TRACKING_KEYS or k.lower().startswith(_TRACKING_PREFIXES))
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, urlencode(sorted(query)), ""))


@functools.lru_cache(maxsize=8192)
def url_key(url: str) -> str:
    """A key equal for http/https, ``www.`` and trailing-slash variants of one link."""
    canon = canonical_url(url)
    if not canon:
        return ""
    try:
        parts = urlsplit(canon)
    except ValueError:
        return canon
    host = parts.netloc.removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    return host + path + (("?" + parts.query) if parts.query else "")


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()[:16]


def item_id(guid: str, url: str, title: str, text: str) -> str:
    """A stable id: from the guid, else the link's key, else title and content."""
    if guid.strip():
        return "g" + _digest(guid.strip())
    key = url_key(url)
    if key:
        return "u" + _digest(key)
    return "h" + _digest(" ".join(title.split()).lower(), " ".join(text.split())[:2000])
