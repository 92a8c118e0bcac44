"""Bounded HTTP fetching for feeds and article pages.

In: :class:`FetchRequest` objects (URL plus the ETag / Last-Modified remembered
for it) and the ``fetch`` section of the config. Out: one :class:`FetchResponse`
or one :class:`~pipeline.errors.FetchError` per request, never a hang.

Every fetch is bounded: connections overall and per host, connect and read
timeouts, a hard total deadline per request (retries included), a body cap
enforced while streaming, a decompression-bomb guard (we decode gzip/deflate
ourselves, in bounded steps), at most ``max_redirects`` redirects with loop
detection, and retries with exponential backoff for timeouts, 429 and 5xx that
honour ``Retry-After`` up to a cap. The client is aiohttp (its parser is C, so a request
costs a fraction of a millisecond of CPU): no cookies, no proxy from the environment,
bodies left encoded for our bounded decoder.

No fetch reaches an internal address: every connection (each redirect hop too)
refuses loopback, private, link-local and other non-public addresses, through
aiohttp's public API only. A host name goes to our resolver (an
``aiohttp.abc.AbstractResolver``), which resolves it itself and answers only the
addresses it checked, the ones aiohttp then connects to, so a name that changes
its answer between check and connect gains nothing. An IP literal, in any
spelling (2130706433, 127.1, 0x7f000001, [::ffff:127.0.0.1]), is checked before
its request, as aiohttp connects to a literal without a resolver. The one
exception is the origin (host and port) a request names in ``allow_internal``:
the configured URL of a feed whose config entry sets ``allow_internal: true``.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import ipaddress
import random
import socket
import zlib
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from ..config import Fetch
from ..errors import FetchError
from ..httpclient import retry_after

__all__ = [
    "FetchRequest",
    "FetchResponse",
    "GoneError",
    "InternalAddressError",
    "address_kind",
    "fetch_all",
    "fetch_sync",
]

_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml,"
    " application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, text/html;q=0.5, */*;q=0.3"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_BOMB_CHECK_AFTER = 256 * 1024  # ratios of small bodies say nothing
_DRAIN_MAX = 64 * 1024  # the most read of a body we do not keep, to reuse its connection


class GoneError(FetchError):
    """The server answered 410 Gone: the feed should be dropped from the config."""


class InternalAddressError(FetchError):
    """The URL, or a redirect on the way, leads to a loopback, private or other
    non-public address that the request is not allowed to reach."""


@dataclass(frozen=True)
class FetchRequest:
    """One URL to fetch, with the validators remembered from its last fetch.

    ``allow_internal`` is a URL (the configured URL of a feed that sets
    ``allow_internal: true``) whose origin, host and port, may be on an internal
    address; every other connection must go to a public address.
    """

    url: str
    etag: str = ""
    last_modified: str = ""
    allow_internal: str = ""


# IPv6 prefixes that carry an IPv4 address in their low 32 bits (NAT64)
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_KINDS = (
    ("is_loopback", "a loopback"),
    ("is_unspecified", "an unspecified"),
    ("is_link_local", "a link-local"),
    ("is_private", "a private"),
    ("is_multicast", "a multicast"),
    ("is_reserved", "a reserved"),
)


def address_kind(address: str) -> str:
    """'' for a public address, else what it is ("a loopback address", ...).

    IPv4 inside IPv6 (mapped, 6to4, NAT64) is judged by the IPv4 address it carries.
    """
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
            address.split("%", 1)[0]
        )
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d on the wire
            return address_kind(str(ip.ipv4_mapped))
        inner = ip.sixtofour
        if inner is None and any(ip in net for net in _NAT64):
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None and address_kind(str(inner)):
            return address_kind(str(inner))
    for attr, kind in _KINDS:
        if getattr(ip, attr):
            return f"{kind} address"
    return "" if ip.is_global else "a special-purpose address"


@functools.lru_cache(maxsize=4096)  # asked for every request: feeds share few origins
def _origin(url: str) -> tuple[str, int] | None:
    """(host, port) as the connection layer sees them (IDNA, default port filled in)."""
    try:
        u = yarl.URL(url)
    except ValueError:
        return None
    if u.scheme not in ("http", "https") or not u.raw_host or u.port is None:
        return None
    return u.raw_host.lower(), u.port


@functools.lru_cache(maxsize=4096)  # asked two or three times for every request
def _hostname(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


@functools.lru_cache(maxsize=4096)
def _is_http(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")


class _Refused(Exception):
    """A connection the guard would not open (raised through aiohttp untouched)."""


class _ResolveTimeout(Exception):
    """A host name not resolved within the connect timeout."""


def _refusal(host: str, address: str, kind: str) -> str:
    shown = host if host == address else f"{host} ({address})"
    return (
        f"{shown} is {kind}; internal addresses are fetched only for a feed whose config"
        " entry sets allow_internal: true, and only on its own host and port"
    )


@functools.lru_cache(maxsize=4096)  # asked for every redirect hop: hosts repeat
def _literal(host: str) -> str:
    """The address a host written as an IP literal stands for; '' for a host name.

    Every spelling the OS reads as a number counts (2130706433, 127.1, 0x7f000001,
    017700000001, a trailing dot), not only the canonical ones that aiohttp
    connects to without asking a resolver. A host that looks numeric to aiohttp
    (digits and dots, or a colon) but is no address is an invalid URL.
    """
    bare = host.rstrip(".")
    try:
        if ":" in bare:
            return str(ipaddress.ip_address(bare))
        return socket.inet_ntoa(socket.inet_aton(bare))
    except (ValueError, OSError):
        if ":" in bare or bare.replace(".", "").isdigit():
            raise aiohttp.InvalidURL(host, "is not an IP address") from None
        return ""


def _check_literal(url: str, allowed: tuple[str, int] | None) -> None:
    """Refuse a URL whose host is a non-public IP literal, unless its origin is the
    allowed one: aiohttp connects to a literal without asking the resolver."""
    origin = _origin(url)
    if origin is None or origin == allowed:
        return  # no origin: aiohttp refuses the URL itself
    address = _literal(origin[0])
    kind = address_kind(address) if address else ""
    if kind:
        raise _Refused(_refusal(origin[0], address, kind))


class _GuardedResolver(AbstractResolver):
    """aiohttp's resolver for host names (aiohttp's public resolver interface): it
    resolves the name itself and answers only public addresses, or any for the one
    allowed origin. aiohttp connects to exactly the addresses answered, the ones
    checked, and keeps them in its DNS cache (per client, so per allowance) for a
    few seconds. IP literals never reach a resolver; :func:`_check_literal` judges them."""

    def __init__(self, allowed: tuple[str, int] | None, timeout: float) -> None:
        self._allowed = allowed
        self._timeout = timeout

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                infos = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise _ResolveTimeout(f"resolving {host} timed out") from None
        # an OSError: aiohttp reports it as a failed connection
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if (host.lower(), port) != self._allowed:
            for address in addresses:
                kind = address_kind(address)
                if kind:
                    raise _Refused(_refusal(host, address, kind))
        if not addresses:
            raise OSError(f"{host} has no address")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        """Nothing to release: getaddrinfo runs in the event loop's executor."""


@dataclass(frozen=True)
class FetchResponse:
    """A finished fetch. ``status`` is 200 (body holds the decoded bytes) or 304.

    ``moved_to`` is set when every redirect on the way was permanent (301/308),
    so the caller may remember the new URL.
    """

    url: str
    final_url: str
    status: int
    body: bytes = b""
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    moved_to: str = ""
    attempts: int = 1
    elapsed: float = 0.0


class _Retryable(Exception):
    """A failure worth another attempt (timeout, 429, 5xx)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Decoder:
    """Decode a Content-Encoding in bounded steps so a bomb never fills memory."""

    def __init__(self, url: str, encoding: str, cfg: Fetch) -> None:
        self.url = url
        self.cfg = cfg
        self.raw = 0
        self.out = 0
        self.trailing = 0
        enc = encoding.strip().lower()
        self.obj: zlib._Decompress | None
        if enc in ("", "identity"):
            self.obj = None
        elif enc in ("gzip", "x-gzip"):
            self.obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif enc == "deflate":
            self.obj = zlib.decompressobj()
        else:
            raise FetchError(url, f"unsupported Content-Encoding {encoding!r}")
        self.encoding = enc

    def _count(self, n: int, pending: int = 0) -> None:
        self.out += n
        used = self.raw - pending  # compressed bytes actually consumed so far
        cap = self.cfg.max_bytes
        if self.out > cap:
            what = "decompressed body" if self.obj is not None else "body"
            raise FetchError(self.url, f"{what} exceeds the {_size(cap)} cap")
        ratio = self.cfg.max_compression_ratio
        if self.obj is not None and self.out > _BOMB_CHECK_AFTER and self.out > ratio * used:
            raise FetchError(
                self.url,
                f"decompression bomb: {self.encoding} body expands {self.out // max(used, 1)}x"
                f" (over {ratio}x) after {_size(used)} compressed",
            )

    def feed(self, chunk: bytes) -> list[bytes]:
        self.raw += len(chunk)
        if self.obj is None:
            self._count(len(chunk))
            return [chunk]
        if self.obj.eof:
            self._trail(len(chunk))
            return []
        pieces: list[bytes] = []
        data = chunk
        while data:
            try:
                piece = self.obj.decompress(data, _CHUNK)
            except zlib.error as exc:
                if self.encoding == "deflate" and self.out == 0 and not pieces:
                    # some servers send raw deflate without the zlib header
                    self.obj = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise FetchError(self.url, f"corrupt {self.encoding} body: {exc}") from None
            data = self.obj.unconsumed_tail
            self._count(len(piece), len(data))
            pieces.append(piece)
            if self.obj.eof:
                self._trail(len(self.obj.unused_data))
                break
        return pieces

    def _trail(self, n: int) -> None:
        """Bytes after the end of the stream are dropped, but they still count: a
        server must not stream without end behind a small valid body."""
        self.trailing += n
        if self.out + self.trailing > self.cfg.max_bytes:
            raise FetchError(
                self.url,
                f"body exceeds the {_size(self.cfg.max_bytes)} cap"
                f" ({self.trailing} bytes after the end of the {self.encoding} stream)",
            )


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:g} MB" if n >= 1024 * 1024 else f"{n} bytes"


class _Limits:
    """Connection slots per host (the overall bound is :func:`fetch_all`'s: it starts no
    more requests at once than the concurrency).

    A fetch waits for its slot before its deadline starts (a feed queued
    behind slow feeds of the same host is not timed out for waiting) and holds
    them through its retries. A redirect to another host also takes a slot there.
    """

    def __init__(self, cfg: Fetch) -> None:
        self.per_host_n = cfg.per_host
        self.hosts: dict[str, asyncio.Semaphore] = {}

    def host(self, url: str) -> asyncio.Semaphore:
        """The slots of the URL's host."""
        host = _hostname(url)
        slots = self.hosts.get(host)
        if slots is None:
            slots = self.hosts[host] = asyncio.Semaphore(self.per_host_n)
        return slots

    def hop(self, url: str, first: str) -> AbstractAsyncContextManager[object]:
        """A redirect hop: a slot on its host unless it is the first URL's host."""
        return _NO_SLOT if _hostname(url) == _hostname(first) else self.host(url)


_NO_SLOT = nullcontext()  # plain objects, not generators: these run for every request


async def _drain(r: aiohttp.ClientResponse) -> None:
    """Read the end of a response we do not keep (a 304 has none; a redirect or an
    error page, a little) so that its connection goes back to the pool: aiohttp
    closes a connection whose response was left unread. A body past _DRAIN_MAX is
    left, and its connection closed."""
    read = 0
    async for chunk in r.content.iter_chunked(_CHUNK):
        read += len(chunk)
        if read > _DRAIN_MAX:
            return


async def _attempt(
    client: aiohttp.ClientSession, req: FetchRequest, cfg: Fetch, limits: _Limits
) -> FetchResponse:
    """One attempt: follow redirects by hand, then read the body within the caps."""
    url = req.url
    allowed = _origin(req.allow_internal) if req.allow_internal else None
    chain = [url]
    permanent = True
    headers = {}
    if req.etag:
        headers["If-None-Match"] = req.etag
    if req.last_modified:
        headers["If-Modified-Since"] = req.last_modified
    while True:
        if not _is_http(url):
            raise FetchError(req.url, f"refusing non-HTTP URL {url}")
        try:
            _check_literal(url, allowed)  # a host name is checked by _GuardedResolver
            async with (
                limits.hop(url, req.url),
                client.get(url, headers=headers, allow_redirects=False) as r,
            ):
                status = r.status
                if status != 200:
                    await _drain(r)
                if status in _REDIRECTS and "location" in r.headers:
                    target = urljoin(url, r.headers["location"])
                    if target in chain:
                        loop = " -> ".join([*chain[chain.index(target) :], target])
                        raise FetchError(req.url, f"redirect loop: {loop}")
                    chain.append(target)
                    if len(chain) - 1 > cfg.max_redirects:
                        raise FetchError(
                            req.url, f"more than {cfg.max_redirects} redirects (last to {target})"
                        )
                    permanent = permanent and status in (301, 308)
                    url = target
                    continue
                moved = url if permanent and len(chain) > 1 else ""
                if status == 304:
                    return FetchResponse(
                        req.url,
                        url,
                        304,
                        etag=r.headers.get("etag", req.etag),
                        last_modified=r.headers.get("last-modified", req.last_modified),
                        moved_to=moved,
                    )
                if status == 410:
                    raise GoneError(req.url, "HTTP 410 Gone: the feed was removed")
                if status == 429 or status >= 500:
                    raise _Retryable(
                        f"HTTP {status} {r.reason or ''}".rstrip(),
                        retry_after(r.headers.get("retry-after")),
                    )
                if status != 200:
                    raise FetchError(req.url, f"HTTP {status} {r.reason or ''}".rstrip())
                declared = r.headers.get("content-length", "")
                enc = r.headers.get("content-encoding", "")
                if declared.isdigit() and not enc and int(declared) > cfg.max_bytes:
                    raise FetchError(
                        req.url,
                        f"body of {int(declared)} bytes declared, over the"
                        f" {_size(cfg.max_bytes)} cap",
                    )
                decoder = _Decoder(req.url, enc, cfg)
                parts: list[bytes] = []
                async for chunk in r.content.iter_chunked(_CHUNK):
                    parts.extend(decoder.feed(chunk))
                return FetchResponse(
                    req.url,
                    url,
                    200,
                    b"".join(parts),
                    content_type=r.headers.get("content-type", ""),
                    etag=r.headers.get("etag", ""),
                    last_modified=r.headers.get("last-modified", ""),
                    moved_to=moved,
                )
        except _Refused as exc:
            hop = "" if url == req.url else f"redirect to {url}: "
            raise InternalAddressError(req.url, f"refused {hop}{exc}") from None
        except _ResolveTimeout:
            raise _Retryable(f"connect timeout after {cfg.connect_timeout:g} s") from None
        except aiohttp.InvalidURL as exc:
            raise FetchError(req.url, f"invalid URL {url!r}: {exc}") from None
        except aiohttp.ConnectionTimeoutError:
            raise _Retryable(f"connect timeout after {cfg.connect_timeout:g} s") from None
        except aiohttp.SocketTimeoutError:
            raise _Retryable(f"read timeout: no data for {cfg.read_timeout:g} s") from None
        except aiohttp.ServerTimeoutError as exc:
            raise _Retryable(f"timeout: {type(exc).__name__}") from None
        except aiohttp.ClientConnectorError as exc:
            raise FetchError(req.url, f"cannot connect: {exc or type(exc).__name__}") from None
        except aiohttp.ClientError as exc:
            raise FetchError(req.url, f"{type(exc).__name__}: {exc}") from None


async def _fetch_one(
    client: aiohttp.ClientSession, req: FetchRequest, cfg: Fetch, limits: _Limits
) -> FetchResponse:
    """Wait for a slot on the host, then fetch with retries inside a hard deadline
    of ``cfg.timeout`` seconds."""
    async with limits.host(req.url):
        return await _fetch_timed(client, req, cfg, limits)


async def _fetch_timed(
    client: aiohttp.ClientSession, req: FetchRequest, cfg: Fetch, limits: _Limits
) -> FetchResponse:
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + cfg.timeout
    attempt = 0
    try:
        async with asyncio.timeout(cfg.timeout):
            while True:
                attempt += 1
                try:
                    resp = await _attempt(client, req, cfg, limits)
                except _Retryable as exc:
                    if attempt > cfg.retries:
                        tries = f" (after {attempt} attempts)" if attempt > 1 else ""
                        raise FetchError(req.url, exc.reason + tries) from None
                    if exc.retry_after is not None:
                        if exc.retry_after > cfg.retry_after_max:
                            raise FetchError(
                                req.url,
                                f"{exc.reason}, Retry-After {exc.retry_after:g} s is over the"
                                f" {cfg.retry_after_max:g} s cap",
                            ) from None
                        delay = exc.retry_after
                    else:
                        delay = cfg.retry_backoff * 2 ** (attempt - 1)
                        delay *= 1 + random.random() / 4  # spread retries of many feeds
                    if loop.time() + delay > deadline:
                        raise FetchError(
                            req.url,
                            f"{exc.reason}; a retry in {delay:g} s would pass the"
                            f" {cfg.timeout:g} s total timeout",
                        ) from None
                    await asyncio.sleep(delay)
                    continue
                return FetchResponse(
                    resp.url,
                    resp.final_url,
                    resp.status,
                    resp.body,
                    resp.content_type,
                    resp.etag,
                    resp.last_modified,
                    resp.moved_to,
                    attempt,
                    loop.time() - start,
                )
    except TimeoutError:
        raise FetchError(
            req.url, f"no complete answer within the {cfg.timeout:g} s total timeout"
        ) from None


def _client(cfg: Fetch, connections: int, allowed: tuple[str, int] | None) -> aiohttp.ClientSession:
    """A client whose every connection goes through the address guard; ``allowed`` is
    the one origin it may reach on an internal address."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            resolver=_GuardedResolver(allowed, cfg.connect_timeout),
            ssl=True,  # aiohttp's verifying context, made once as it is imported
            limit=connections,
            limit_per_host=0,  # _Limits holds the per-host bound
            keepalive_timeout=5.0,
        ),
        cookie_jar=aiohttp.DummyCookieJar(),  # a feed fetch keeps no cookies
        auto_decompress=False,  # _Decoder decodes, in bounded steps
        trust_env=False,  # never route through an environment proxy by surprise
        # a long header (a CDN's Content-Security-Policy) up to the 16 KB h11 allowed
        max_line_size=16 * 1024,
        max_field_size=16 * 1024,
        timeout=aiohttp.ClientTimeout(
            total=None,  # the total deadline is _fetch_timed's, retries included
            sock_connect=cfg.connect_timeout,
            sock_read=cfg.read_timeout,
        ),
        headers={
            "User-Agent": cfg.user_agent,
            "Accept": _ACCEPT,
            "Accept-Encoding": "gzip, deflate",
        },
    )


OnDone = Callable[[FetchRequest, FetchResponse | FetchError], Awaitable[None] | None]


async def fetch_all(
    requests: Sequence[FetchRequest], cfg: Fetch, on_done: OnDone | None = None
) -> list[FetchResponse | FetchError]:
    """Fetch every request concurrently within the bounds of ``cfg``.

    Returns one response or error per request, in request order. ``on_done`` is
    called as each one finishes, so the caller can store results early (an
    interrupted run keeps what finished).
    """
    limits = _Limits(cfg)
    results: list[FetchResponse | FetchError] = [FetchError(r.url, "not fetched") for r in requests]
    # requests allowed an internal origin get clients of their own, so a pooled
    # connection to that origin is never reused by a request without the allowance
    groups: dict[tuple[str, int] | None, list[int]] = {}
    for i, r in enumerate(requests):
        groups.setdefault(_origin(r.allow_internal) if r.allow_internal else None, []).append(i)
    client_of: dict[int, aiohttp.ClientSession] = {}
    clients = []
    for allowed, members in groups.items():
        client = _client(cfg, cfg.concurrency, allowed)
        clients.append(client)
        client_of.update((i, client) for i in members)

    loop = asyncio.get_running_loop()
    waiting = collections.deque(enumerate(requests))
    running: set[asyncio.Task[None]] = set()
    finished: asyncio.Future[None] = loop.create_future()
    left = len(requests)

    def launch(n: int) -> None:
        """Start the next ``n`` waiting requests (a task waiting for its slot from the
        start costs the event loop on every turn; one is started as one ends)."""
        while n and waiting:
            task = loop.create_task(run(*waiting.popleft()))
            running.add(task)
            task.add_done_callback(ended)
            n -= 1

    def ended(task: asyncio.Task[None]) -> None:
        nonlocal left
        running.discard(task)
        if task.cancelled() or finished.done():
            return
        failure = task.exception()
        if failure is not None:  # a bug, or a failing store in on_done: the run stops
            finished.set_exception(failure)
            return
        left -= 1
        if not left:
            finished.set_result(None)

    async def run(i: int, req: FetchRequest) -> None:
        try:
            res: FetchResponse | FetchError = await _fetch_one(client_of[i], req, cfg, limits)
        except FetchError as exc:
            res = exc
        launch(1)  # its connection slot is free
        results[i] = res
        if on_done is not None:
            maybe = on_done(req, res)
            if maybe is not None:
                await maybe

    try:
        if requests:
            launch(cfg.concurrency)
            await finished
    finally:
        for task in list(running):
            task.cancel()
        for client in clients:
            await client.close()
    return results


def fetch_sync(requests: Sequence[FetchRequest], cfg: Fetch) -> list[FetchResponse | FetchError]:
    """:func:`fetch_all` for callers without an event loop."""
    return asyncio.run(fetch_all(requests, cfg))
