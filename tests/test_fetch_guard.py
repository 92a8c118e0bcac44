"""No fetch reaches an internal address unless the feed's own config entry allows it.

Real servers on 127.0.0.1: an "internal" one that must never be reached, and a feed
server whose config entry sets ``allow_internal: true``. Every spelling of loopback,
redirects, and teaser items whose full text would come from the internal server.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from configs import NEWSLETTER_YAML
from feedserver import FeedServer, feed_route, fixture, redirect, send, serve

from pipeline.config import Fetch, load_config
from pipeline.errors import ConfigError
from pipeline.ingest import _fetch, ingest
from pipeline.ingest._fetch import (
    FetchRequest,
    InternalAddressError,
    address_kind,
    fetch_sync,
)
from pipeline.store import open_store

SECRET = b"<html><body><article><p>" + b"SECRET internal admin page. " * 40 + b"</p></article>"
CFG = Fetch(timeout=3, connect_timeout=1, read_timeout=1, retries=0, max_bytes=1024 * 1024)


@pytest.fixture()
def internal() -> Iterator[FeedServer]:
    with serve({"/internal-admin": lambda h: send(h, 200, SECRET, "text/html")}) as s:
        yield s


def spellings(port: int) -> list[str]:
    hosts = ["127.0.0.1", "localhost", "0.0.0.0", "2130706433", "127.1", "0x7f000001"]
    hosts += ["017700000001", "[::1]", "[::ffff:127.0.0.1]", "[0:0:0:0:0:ffff:7f00:1]"]
    return [f"http://{h}:{port}/internal-admin" for h in hosts]


def write_config(tmp: Path, feeds: str, fetch: str = "") -> Path:
    p = tmp / "config.yaml"
    p.write_text(
        NEWSLETTER_YAML
        + f"sources:\n  feeds:\n{feeds}paths: {{state: state.sqlite3}}\n"
        + "fetch: {timeout: 3, connect_timeout: 1, read_timeout: 1, retries: 0"
        + fetch
        + "}\n",
        encoding="utf-8",
    )
    return p


def test_every_spelling_of_an_internal_address_is_refused(internal: FeedServer) -> None:
    port = internal.httpd.server_address[1]
    results = fetch_sync([FetchRequest(u) for u in spellings(port)], CFG)
    for url, res in zip(spellings(port), results, strict=True):
        assert isinstance(res, InternalAddressError), (url, res)
        assert str(res).startswith(f"{url}: refused ")
        assert "allow_internal: true" in str(res)
    assert "is a loopback address" in str(results[0])
    assert "localhost (127.0.0.1) is a loopback address" in str(results[1])
    assert "0.0.0.0 is an unspecified address" in str(results[2])
    assert "2130706433 (127.0.0.1)" in str(results[3])
    assert internal.hits("/internal-admin") == []


def test_allowed_origin_is_fetched_but_not_its_neighbours(internal: FeedServer) -> None:
    port = internal.httpd.server_address[1]
    with serve({"/feed.xml": feed_route(fixture("own/desk.rss"))}) as allowed:
        own = allowed.url("/feed.xml")
        ok, other_port, other_name = fetch_sync(
            [
                FetchRequest(own, allow_internal=own),
                FetchRequest(f"http://127.0.0.1:{port}/internal-admin", allow_internal=own),
                FetchRequest(
                    f"http://localhost:{allowed.httpd.server_address[1]}/feed.xml",
                    allow_internal=own,
                ),
            ],
            CFG,
        )
    assert not isinstance(ok, Exception) and ok.status == 200
    assert isinstance(other_port, InternalAddressError)  # same address, another port
    assert isinstance(other_name, InternalAddressError)  # same server, another host name
    assert internal.hits("/internal-admin") == []


def test_a_redirect_hop_to_an_internal_address_is_refused(internal: FeedServer) -> None:
    target = f"http://127.0.0.1:{internal.httpd.server_address[1]}/internal-admin"
    with serve({"/go": redirect(target), "/go2": redirect("/go")}) as allowed:
        [res] = fetch_sync(
            [FetchRequest(allowed.url("/go2"), allow_internal=allowed.url("/"))], CFG
        )
    assert isinstance(res, InternalAddressError)
    assert f"refused redirect to {target}: 127.0.0.1 is a loopback address" in str(res)
    assert internal.hits("/internal-admin") == []


def test_guard_uses_only_public_aiohttp_api(internal: FeedServer) -> None:
    """A name (localhost, which aiohttp hands to the resolver) and a literal
    (127.0.0.1, which aiohttp connects to without one) are each refused unless they
    are the allowed origin, and fetched when they are; the module overrides no
    private aiohttp method to get there."""
    subclasses = [
        cls
        for cls in vars(_fetch).values()
        if isinstance(cls, type)
        and cls.__module__ == _fetch.__name__
        and any(b.__module__.startswith("aiohttp.") for b in cls.__mro__[1:])
    ]
    assert [c.__name__ for c in subclasses] == ["_GuardedResolver"]
    for cls in subclasses:
        for name, value in vars(cls).items():
            if callable(value) and name.startswith("_") and not name.startswith("__"):
                assert not any(hasattr(b, name) for b in cls.__mro__[1:]), (cls, name)
    inner = internal.httpd.server_address[1]
    with serve({"/feed.xml": feed_route(fixture("own/desk.rss"))}) as srv:
        port = srv.httpd.server_address[1]
        name, literal = f"http://localhost:{port}/", f"http://127.0.0.1:{port}/"
        srv.routes["/to-name"] = redirect(f"http://localhost:{inner}/internal-admin")
        results = fetch_sync(
            [
                FetchRequest(name + "feed.xml", allow_internal=name),
                FetchRequest(literal + "feed.xml", allow_internal=literal),
                FetchRequest(name + "feed.xml", allow_internal=literal),
                FetchRequest(literal + "feed.xml", allow_internal=name),
                FetchRequest(literal + "to-name", allow_internal=literal),
                FetchRequest(f"http://127.999.0.1:{inner}/internal-admin"),
            ],
            CFG,
        )
        hits = len(srv.hits("/feed.xml"))
    by_name, by_literal, name_refused, literal_refused, hop_refused, bad = results
    assert not isinstance(by_name, Exception) and by_name.status == 200
    assert not isinstance(by_literal, Exception) and by_literal.status == 200
    assert hits == 2
    assert isinstance(name_refused, InternalAddressError)
    assert "refused localhost (127.0.0.1) is a loopback address" in str(name_refused)
    assert isinstance(literal_refused, InternalAddressError)
    assert "refused 127.0.0.1 is a loopback address" in str(literal_refused)
    assert isinstance(hop_refused, InternalAddressError)
    assert f"redirect to http://localhost:{inner}/internal-admin: localhost (127.0.0.1)" in str(
        hop_refused
    )
    assert not isinstance(bad, InternalAddressError)  # no address at all, internal or not
    assert "127.999.0.1 - is not an IP address" in str(bad)
    assert internal.hits("/internal-admin") == []


def test_feeds_on_internal_addresses_need_their_config_entry(
    tmp_path: Path, internal: FeedServer
) -> None:
    routes = {"/feed.xml": feed_route(fixture("own/desk.rss"))}
    with serve(routes) as srv:
        url = srv.url("/feed.xml")
        p = write_config(tmp_path, f"    - {{url: '{url}'}}\n")
        with open_store(load_config(p).state_path) as store:
            [refused] = ingest(load_config(p), store).sources
        p = write_config(tmp_path, f"    - {{url: '{url}', allow_internal: true}}\n")
        with open_store(load_config(p).state_path) as store:
            [allowed] = ingest(load_config(p), store).sources
    assert refused.status == "error"
    assert refused.error.startswith(f"{url}: refused 127.0.0.1 is a loopback address")
    assert allowed.status == "ok" and allowed.new == 3


def test_full_text_never_publishes_an_internal_page(tmp_path: Path, internal: FeedServer) -> None:
    port = internal.httpd.server_address[1]
    links = spellings(port)
    routes: dict[str, object] = {}
    with serve(routes) as srv:  # type: ignore[arg-type]
        links.append(srv.url("/hop"))  # the allowed server redirects to the internal one
        routes["/hop"] = redirect(links[0])
        items = "".join(
            f"<item><title>Teaser {n}</title><link>{link}</link>"
            "<description>Short.</description></item>"
            for n, link in enumerate(links)
        )
        body = f'<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
        routes["/feed.xml"] = lambda h: send(h, 200, body.encode())
        url = srv.url("/feed.xml")
        p = write_config(
            tmp_path, f"    - {{url: '{url}', allow_internal: true}}\n", ", full_text: true"
        )
        cfg = load_config(p)
        with open_store(cfg.state_path) as store:
            [res] = ingest(cfg, store).sources
            texts = [i.text for i in res.items]
            cached = store.conn.execute("SELECT COUNT(*) FROM extracts").fetchone()[0]
    assert internal.hits("/internal-admin") == []
    assert res.status == "ok" and len(res.items) == len(links)
    assert texts == ["Short."] * len(links)  # the teasers, not the internal page
    refused = [w for w in res.warnings if "full text not fetched: refused" in w]
    assert len(refused) == len(links)
    assert refused[0].startswith(f"{url}: entry 'Teaser 0': full text not fetched: refused")
    assert any("refused redirect to" in w for w in refused)
    assert cached == 0  # a refusal is not remembered: allowing it later must work


def test_allow_internal_only_for_urls(tmp_path: Path) -> None:
    p = write_config(tmp_path, "    - {url: feeds/x.xml, allow_internal: true}\n")
    with pytest.raises(ConfigError) as err:
        load_config(p)
    assert "config.yaml:9: key 'sources.feeds[0].allow_internal': only an http(s) feed URL" in str(
        err.value
    )


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("93.184.216.34", ""),
        ("2606:4700::1111", ""),
        ("::ffff:93.184.216.34", ""),
        ("127.0.0.2", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("100.64.0.1", "a special-purpose address"),
        ("0.0.0.0", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("255.255.255.255", "a private address"),
        ("::1", "a loopback address"),
        ("::", "an unspecified address"),
        ("fe80::1%eth0", "a link-local address"),
        ("fc00::1", "a private address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("64:ff9b::7f00:1", "a loopback address"),
        ("2002:7f00:1::", "a loopback address"),
    ],
)
def test_address_kinds(address: str, kind: str) -> None:
    assert address_kind(address) == kind


def test_gzip_trailing_data_counts_against_the_cap() -> None:
    body = gzip.compress(fixture("own/desk.rss"))

    def trailing(h: object) -> None:
        h.send_response(200)  # type: ignore[attr-defined]
        h.send_header("Content-Encoding", "gzip")  # type: ignore[attr-defined]
        h.send_header("Connection", "close")  # type: ignore[attr-defined]
        h.end_headers()  # type: ignore[attr-defined]
        h.wfile.write(body)  # type: ignore[attr-defined]
        for _ in range(64):  # 64 MB of bytes after the end of the gzip stream
            h.wfile.write(b"\0" * (1024 * 1024))  # type: ignore[attr-defined]

    with serve({"/tail": trailing}) as srv:
        [res] = fetch_sync([FetchRequest(srv.url("/tail"), allow_internal=srv.url("/"))], CFG)
    assert isinstance(res, Exception)
    assert "body exceeds the 1 MB cap" in str(res)
    assert "after the end of the gzip stream" in str(res)
