"""Hostile inputs at their size caps: how long each parse takes, and internal fetches.

Usage: .venv/bin/python bench/hostile.py [--cap BYTES] [--limit SECONDS] [--only NAME]

Every hostile input of issue 14 is built at the cap that bounds it (``fetch.max_bytes``,
20 MB by default, for feeds, HTTP bodies and html_to_text; the story-file cap for inbox
files; the tolerant parser's cap for ill-formed feeds; YAML bombs are small by nature)
and parsed in a child process that is killed after ``--limit`` seconds (default 60) and
may use at most 4 GB. Beside each, a normal
input of the same size through the same path is the yardstick ("about the time of a
normal input of that size").

Then the internal fetches: a feed on 127.0.0.1, allowed by its own config entry
(``allow_internal: true``), with ``fetch.full_text`` on, links its teaser items to an
"internal" server on another port in every spelling (127.0.0.1, localhost, 0.0.0.0,
2130706433, 127.1, 0x7f000001, [::1], [::ffff:127.0.0.1], a redirect from the allowed
server to it), and feeds configured at those addresses without the setting are
ingested too. Every request the internal server receives is an internal fetch.

Prints a table, then as its last line one JSON object: ``slowest_parse_s`` (goal: under
2 s), ``slowest_case``, ``internal_fetches`` (goal: 0) and the per-case seconds.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import Config, Fetch  # noqa: E402
from pipeline.ingest._feeds import TOLERANT_MAX_BYTES  # noqa: E402

NEWSLETTER = {
    "name": "Hostile",
    "sender": {"name": "H", "email": "h@example.com"},
    "signup_url": "https://example.com/s",
    "unsubscribe_url": "https://example.com/u",
    "postal_address": "1 Main St",
}
PARA = (
    "<p>Quarry Bank raised its easy-access savings rate to 4.1% as rivals held theirs,"
    ' <a href="https://bank.example/a">the lender said</a>, citing deposits.</p>\n'
)
MD_PARA = (
    "Quarry Bank raised its *easy-access* rate to 4.1% as [rivals](https://x.example) held.\n\n"
)


def _config(root: str, **fetch: Any) -> Config:
    return Config.model_validate(
        {"newsletter": NEWSLETTER, "fetch": fetch, "root": root, "paths": {"state": "s.sqlite3"}}
    )


def _fill(unit: str, size: int) -> str:
    return unit * max(1, size // len(unit))


def _rss(description: str, items: int = 1) -> bytes:
    body = "".join(
        f"<item><title>Item {n}</title><link>https://x.example/{n}</link>"
        f"<description><![CDATA[{description}]]></description></item>"
        for n in range(items)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{body}</channel></rss>'
    ).encode()


# -- the cases: name -> (what it is, function(size) -> note) ---------------------------
def _text(unit: str) -> Callable[[int], str]:
    def run(size: int) -> str:
        from pipeline.ingest._sanitize import html_to_text

        return f"{len(html_to_text(_fill(unit, size)))} chars out"

    return run


def _looks(size: int) -> str:
    from pipeline.ingest._sanitize import looks_like_html

    return str(looks_like_html(_fill("<b", size)))


def _ingest_file(name: str, data: bytes, inbox: bool = False) -> str:
    from pipeline.ingest import ingest
    from pipeline.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        cap = len(data) + 1024
        folder = Path(tmp) / "inbox"
        folder.mkdir()
        (folder / name).write_bytes(data)
        config = _config(tmp, max_bytes=cap)
        with open_store(Path(tmp) / "s.sqlite3") as store:
            source = str(folder if inbox else folder / name)
            result = ingest(config, store, sources=[source])
        [res] = result.sources
        return res.error[-90:] if res.error else f"{res.status}, {len(res.items)} items"


def _feed_file(unit: str, items: int = 1) -> Callable[[int], str]:
    def run(size: int) -> str:
        return _ingest_file("feed.xml", _rss(_fill(unit, size // items - 200), items))

    return run


def _atom_spaces(size: int) -> str:
    content = " " * (size - 400) + "x"
    doc = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
        "<entry><id>1</id><title>A</title><content type='xhtml'>"
        f"<div xmlns='http://www.w3.org/1999/xhtml'><p>{content}</p></div></content></entry></feed>"
    )
    return _ingest_file("feed.atom", doc.encode())


def _feedparser_path(size: int) -> str:
    # a tag left open makes the XML ill-formed past mending: the tolerant feedparser
    # path reads it (a bare & no longer would: the fast path mends it)
    doc = _rss(_fill("<script ", size - 300)).replace(b"<title>T</title>", b"<title>T <b></title>")
    return _ingest_file("feed.xml", doc)


def _deep(size: int) -> str:
    doc = _rss("x").replace(b"<![CDATA[x]]>", b"<a>" * ((size - 300) // 3))
    return _ingest_file("feed.xml", doc)


def _deep_ill_formed(size: int) -> str:
    # ill-formed as well as deep: the tolerant parser reads it
    doc = _rss("x").replace(b"<![CDATA[x]]>", b"<a>" * ((size - 300) // 3))
    return _ingest_file("feed.xml", doc.replace(b"<title>T</title>", b"<title>T <b></title>"))


def _long_date(size: int) -> str:
    doc = _rss("text").replace(
        b"</title><link>", b"</title><pubDate>" + b"1" * size + b"</pubDate><link>"
    )
    return _ingest_file("feed.xml", doc)


def _inbox(name: str, unit: str, head: str = "") -> Callable[[int], str]:
    def run(size: int) -> str:
        return _ingest_file(name, (head + _fill(unit, size - len(head))).encode(), inbox=True)

    return run


def _json_deep(size: int) -> str:
    from pipeline.errors import SourceError
    from pipeline.ingest._feeds import parse_feed

    try:
        parse_feed(b"[" * size, where="deep.json")
    except SourceError as exc:
        return str(exc)[-90:]
    return "parsed"


def _json_digits(size: int) -> str:
    from pipeline.errors import SourceError
    from pipeline.ingest._feeds import parse_feed

    doc = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": ' + b"7" * size + b"}]}"
    )
    try:
        parse_feed(doc, where="digits.json")
    except SourceError as exc:
        return str(exc)[-90:]
    return "parsed"


def _mended(size: int) -> str:
    # HTML entities XML lacks and bare ampersands all over: the fast path mends them
    from pipeline.ingest._feeds import parse_feed

    text = _fill("Caf&eacute; Q&A &nbsp;&mdash; ", size - 200)
    doc = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item>'
        f"<title>I</title><description>{text}</description></item></channel></rss>"
    )
    feed = parse_feed(doc.encode(), where="mended.xml", max_bytes=size + 1024)
    return f"{feed.engine} path, {len(feed.entries)} entries"


_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
    f" *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(9)
)


def _yaml_config(size: int) -> str:
    from pipeline.config import load_config
    from pipeline.errors import ConfigError

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "config.yaml"
        p.write_text(_BOMB, encoding="utf-8")
        try:
            load_config(p)
        except ConfigError as exc:
            return str(exc)[-90:]
    return "loaded"


def _yaml_front_matter(size: int) -> str:
    # the same bomb inside the one value of a known key
    levels = [f"&a [{', '.join(['x'] * 9)}]"] + [
        f"&{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(9)
    ]
    head = f"---\ntitle: [{', '.join(levels)}]\n---\n"
    return _ingest_file("bomb.md", (head + "Body.\n").encode(), inbox=True)


def _normal_feed(size: int) -> str:
    return _ingest_file("feed.xml", _rss(_fill(PARA, 20_000), max(1, size // 20_300)))


def _normal_page(size: int) -> str:
    page = "<html><head><title>T</title></head><body><article><h1>Head</h1>"
    return _ingest_file("page.html", (page + _fill(PARA, size - 200)).encode(), inbox=True)


# name -> (hostile function, normal yardstick or None, size: "cap" | "story" | "tolerant" | int)
CASES: dict[str, tuple[Callable[[int], str], Callable[[int], str] | None, str | int]] = {
    "html_to_text '<script '": (_text("<script "), _text(PARA), "cap"),
    "html_to_text '<!-- '": (_text("<!-- "), _text(PARA), "cap"),
    "html_to_text '<a ' unclosed": (_text("<a "), _text(PARA), "cap"),
    "html_to_text '< ' blanks": (_text("<" + " " * 64), _text(PARA), "cap"),
    "looks_like_html '<b'": (_looks, None, "cap"),
    "rss item '<script '": (_feed_file("<script "), _normal_feed, "cap"),
    "rss item '<!-- '": (_feed_file("<!-- "), _normal_feed, "cap"),
    "rss 100 items '<script '": (_feed_file("<script ", 100), _normal_feed, "cap"),
    "atom xhtml blank run": (_atom_spaces, _normal_feed, "cap"),
    "feedparser path '<script '": (_feedparser_path, _normal_feed, "tolerant"),
    "feedparser path, too big": (_feedparser_path, None, "cap"),
    "entities and bare '&' to mend": (_mended, _normal_feed, "cap"),
    "deep nesting '<a>'": (_deep, _normal_feed, "cap"),
    "deep nesting, ill-formed": (_deep_ill_formed, _normal_feed, "tolerant"),
    "rss long pubDate": (_long_date, None, 300_000),
    "inbox .html '<h1>'": (_inbox("page.html", "<h1>"), _normal_page, "story"),
    "inbox .html '<title>'": (_inbox("page.html", "<title>"), _normal_page, "story"),
    "inbox .md '<script '": (_inbox("story.md", "<script ", "# Title\n\n"), None, "markdown"),
    "inbox .md '['": (_inbox("story.md", "[", "# Title\n\n"), None, "markdown"),
    "inbox .md '[a]('": (_inbox("story.md", "[a](", "# Title\n\n"), None, "markdown"),
    "inbox .md normal": (_inbox("story.md", MD_PARA, "# Title\n\n"), None, "markdown"),
    "json feed 200k deep": (_json_deep, None, 200_000),
    "json feed 5000-digit id": (_json_digits, None, 5000),
    "yaml alias bomb: config": (_yaml_config, None, 600),
    "yaml alias bomb: front matter": (_yaml_front_matter, None, 600),
}


def _story_caps() -> tuple[int, int]:
    """The caps of a story file and of a Markdown story file."""
    from pipeline.ingest._files import MARKDOWN_MAX_BYTES, STORY_MAX_BYTES

    return min(Fetch().max_bytes, STORY_MAX_BYTES), min(Fetch().max_bytes, MARKDOWN_MAX_BYTES)


def _child(name: str, which: str, size: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    hostile, normal, _ = CASES[name]
    fn = hostile if which == "hostile" else normal
    assert fn is not None
    t0 = time.perf_counter()
    try:
        note = fn(size)
    except BaseException as exc:  # what this script exists to catch
        note = f"raised {type(exc).__name__}: {str(exc)[:70]}"
    print(json.dumps({"seconds": time.perf_counter() - t0, "note": note}))


def _run(name: str, which: str, size: int, limit: float) -> tuple[float | None, str]:
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", name, which, str(size)],
            capture_output=True,
            text=True,
            timeout=limit,
        )
    except subprocess.TimeoutExpired:
        return None, f"killed after {limit:g} s"
    try:
        row = json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return None, f"crashed: {out.stderr.strip().splitlines()[-1:]}"
    return float(row["seconds"]), str(row["note"])


# -- internal fetches ---------------------------------------------------------------------
class _Server:
    def __init__(self, routes: dict[str, tuple[int, bytes, dict[str, str]]]) -> None:
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.hits.append(self.path)
                status, body, headers = routes.get(
                    self.path,
                    (
                        200,
                        b"<html><body><article><p>"
                        + b"SECRET internal page. " * 40
                        + b"</p></article></body></html>",
                        {"Content-Type": "text/html"},
                    ),
                )
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _internal_fetches() -> tuple[int, list[str], bool]:
    """(requests the internal server got, what ingest said, internal text stored?)"""
    from pipeline.ingest import ingest
    from pipeline.store import open_store

    internal = _Server({})
    p = internal.port
    hosts = [
        "127.0.0.1", "localhost", "0.0.0.0", "2130706433", "127.1", "0x7f000001",
        "[::1]", "[::ffff:127.0.0.1]", "017700000001",
    ]  # fmt: skip
    feed_routes: dict[str, tuple[int, bytes, dict[str, str]]] = {}
    feed = _Server(feed_routes)
    links = [f"http://{h}:{p}/internal-admin" for h in hosts]
    links.append(f"http://127.0.0.1:{feed.port}/hop")  # the allowed server redirects inside
    items = "".join(
        f"<item><title>Teaser {n}</title><link>{link}</link>"
        "<description>Short.</description></item>"
        for n, link in enumerate(links)
    )
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{items}</channel></rss>'
    )
    feed_routes["/feed.xml"] = (200, body.encode(), {"Content-Type": "application/rss+xml"})
    feed_routes["/hop"] = (302, b"", {"Location": links[0]})
    feed_routes["/to-internal.xml"] = (302, b"", {"Location": f"http://127.0.0.1:{p}/feed.xml"})
    feeds: list[dict[str, Any]] = [
        {"url": f"http://127.0.0.1:{feed.port}/feed.xml", "allow_internal": True},
        {"url": f"http://127.0.0.1:{feed.port}/to-internal.xml", "allow_internal": True},
    ]
    feeds += [{"url": f"http://{h}:{p}/feed.xml"} for h in hosts]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Config.model_validate(
                {
                    "newsletter": NEWSLETTER,
                    "root": tmp,
                    "sources": {"feeds": feeds},
                    "fetch": {"full_text": True, "timeout": 5, "retries": 0},
                }
            )
            with open_store(config.state_path) as store:
                result = ingest(config, store)
                leaked = store.conn.execute(
                    "SELECT COUNT(*) FROM items WHERE text LIKE '%SECRET internal%'"
                ).fetchone()[0]
                refused = store.conn.execute(
                    "SELECT url, error FROM extracts WHERE error != ''"
                ).fetchall()
        said = [f"{s.source}: {s.status} {s.error[-70:]}" for s in result.sources]
        said += [f"article {r[0]}: {r[1][-70:]}" for r in refused]
        return len(internal.hits), said, bool(leaked)
    finally:
        internal.close()
        feed.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cap", type=int, default=Fetch().max_bytes)
    ap.add_argument("--limit", type=float, default=60.0)
    ap.add_argument("--only", default="")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]))
        return 0
    story, markdown = _story_caps()
    print(
        f"caps: feed/body {args.cap} bytes, story file {story} bytes (Markdown {markdown}),"
        " ill-formed feed"
        f" {TOLERANT_MAX_BYTES} bytes; limit {args.limit:g} s"
    )
    print(f"{'case':32} {'bytes':>10} {'hostile s':>10} {'normal s':>9}  note")
    seconds: dict[str, float | None] = {}
    if args.only and not any(args.only in name for name in CASES):
        ap.error(f"--only {args.only!r} matches no case; the cases: {', '.join(CASES)}")
    for name, (_, normal, size_spec) in CASES.items():
        if args.only and args.only not in name:
            continue
        caps = {"cap": args.cap, "story": story, "markdown": markdown}
        size = {**caps, "tolerant": TOLERANT_MAX_BYTES}.get(str(size_spec), size_spec)
        took, note = _run(name, "hostile", int(size), args.limit)
        base = _run(name, "normal", int(size), args.limit)[0] if normal else None
        seconds[name] = took
        shown = "killed" if took is None else f"{took:.3f}"
        yard = "" if base is None else f"{base:.3f}"
        print(f"{name:32} {size:10d} {shown:>10} {yard:>9}  {note[:100]}", flush=True)
    count, said, leaked = _internal_fetches()
    print(f"internal server requests: {count}; internal text stored: {leaked}")
    for line in said:
        print("  " + line)
    slowest = max(seconds, key=lambda k: float("inf") if seconds[k] is None else seconds[k] or 0)
    worst = seconds[slowest]
    figures = {
        "cap_bytes": args.cap,
        "story_cap_bytes": story,
        "markdown_cap_bytes": markdown,
        "slowest_parse_s": None if worst is None else round(worst, 3),
        "slowest_case": slowest,
        "killed_after_s": args.limit if worst is None else None,
        "internal_fetches": count,
        "internal_text_stored": leaked,
        "seconds": {k: None if v is None else round(v, 3) for k, v in seconds.items()},
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
