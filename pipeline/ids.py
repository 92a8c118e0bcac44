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


# The shape nearly every feed link has: lower-case http(s), a plain host (no port, user or
# IPv6 literal), no fragment, a query of plain name=value pairs. Its canonical form needs
# no parsing, and the general path below gives the very same string for it.
_PLAIN = re.compile(r"(https?)://([a-z0-9.-]+)(/[^?#\s\\]*)?(?:\?([\w.~=&-]*))?", re.ASCII)


def _plain_parts(url: str) -> tuple[str, str, str, str] | None:
    """(scheme, host, path, canonical query) of a link of the plain shape, else None."""
    m = _PLAIN.fullmatch(url)
    if m is None:
        return None
    scheme, host, path, query = m.groups()
    pairs = []
    for part in (query or "").split("&"):
        name, _, value = part.partition("=")
        if "=" in value:  # encoded as %3D by the general path
            return None
        if part and not _tracking(name):
            pairs.append((name, value))
    return scheme, host, path or "/", "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _tracking(name: str) -> bool:
    low = name.lower()
    return low in _TRACKING_KEYS or low.startswith(_TRACKING_PREFIXES)


# the key of each canonical link made on the plain path, for url_key: the store asks
# for it next (a link is made canonical when it is read, its key is taken when it is
# stored), and it comes from the same parts. Bounded: emptied when full.
_KEY_OF_CANONICAL: dict[str, str] = {}
_KEYS_KEPT = 8192


# an item's link is made canonical when it is read and again when it is stored: a
# bounded cache keeps the second time (and a feed's repeats) from doing it again
@functools.lru_cache(maxsize=8192)
def canonical_url(url: str) -> str:
    """The link with tracking parameters, fragment and default port removed."""
    url = url.strip()
    plain = _plain_parts(url)
    if plain is not None:
        scheme, host, path, query = plain
        canon = f"{scheme}://{host}{path}?{query}" if query else f"{scheme}://{host}{path}"
        if len(_KEY_OF_CANONICAL) >= _KEYS_KEPT:
            _KEY_OF_CANONICAL.clear()
        _KEY_OF_CANONICAL[canon] = _plain_key(host, path, query)
        return canon
    return _canonical(url)


def _canonical(url: str) -> str:
    """The general path of :func:`canonical_url`, for any string."""
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
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)]
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, urlencode(sorted(query)), ""))


@functools.lru_cache(maxsize=8192)
def url_key(url: str) -> str:
    """A key equal for http/https, ``www.`` and trailing-slash variants of one link."""
    known = _KEY_OF_CANONICAL.get(url)
    if known is not None:  # a canonical link canonical_url made: the key of its parts
        return known
    plain = _plain_parts(url.strip())
    if plain is not None:
        _, host, path, query = plain
        return _plain_key(host, path, query)
    return _key(canonical_url(url))


def _plain_key(host: str, path: str, query: str) -> str:
    """:func:`url_key` of a link from its plain parts (see :func:`_plain_parts`)."""
    return host.removeprefix("www.") + (path.rstrip("/") or "/") + ("?" + query if query else "")


def _key(canon: str) -> str:
    """The general path of :func:`url_key`, from a canonical link."""
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
