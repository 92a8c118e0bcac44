"""Hostile documents: every text path is linear, the inbox reads only its own regular
files, and a broken JSON Feed says what is wrong with it.

Each case is one that took tens of seconds (or hung, or published a secret) before:
real files in a temporary inbox, a real HTTP server on 127.0.0.1, and bounds far
under what the quadratic code needed, far over what linear code needs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import markdown
import pytest
from configs import NEWSLETTER_YAML
from feedserver import send, serve

from pipeline.config import Config, load_config
from pipeline.errors import SourceError
from pipeline.ingest import ingest
from pipeline.ingest._feeds import TOLERANT_MAX_BYTES, parse_feed
from pipeline.ingest._files import (
    MARKDOWN_MAX_BYTES,
    STORY_MAX_BYTES,
    _markdown,
    _render_markdown,
    read_file,
)
from pipeline.ingest._sanitize import html_to_text, looks_like_html
from pipeline.models import SourceResult
from pipeline.store import open_store

FAST = 3.0  # seconds: the quadratic code took 7 s to over a minute on these inputs


def config(tmp: Path, feeds: str = "[]", fetch: str = "") -> Config:
    p = tmp / "config.yaml"
    p.write_text(
        NEWSLETTER_YAML
        + f"sources: {{feeds: {feeds}, inbox: inbox}}\npaths: {{state: state.sqlite3}}\n"
        + f"fetch: {{timeout: 10, retries: 0{fetch}}}\n",
        encoding="utf-8",
    )
    (tmp / "inbox").mkdir(exist_ok=True)
    return load_config(p)


def run(cfg: Config, sources: list[str] | None = None) -> tuple[dict[str, SourceResult], float]:
    t0 = time.perf_counter()
    with open_store(cfg.state_path) as store:
        result = ingest(cfg, store, sources=sources)
    return {r.source: r for r in result.sources}, time.perf_counter() - t0


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


@pytest.mark.parametrize(
    "unit",
    ["<script ", "<!-- ", "<a ", "<style>x</style", "<" + " " * 40 + "/" + " " * 40, "<x <p>"],
)
def test_html_to_text_is_linear(unit: str) -> None:
    hostile = unit * (1024 * 1024 // len(unit))  # 1 MB: hours for the old regexes
    assert timed(lambda: html_to_text(hostile)) < FAST
    assert timed(lambda: looks_like_html(hostile)) < FAST


def test_html_to_text_keeps_its_meaning() -> None:
    html = "<p>One <b>two</b></p><script>x()</script><!-- c --><div>Three &amp; four</div>"
    assert html_to_text(html) == "One two\n\nThree & four"
    assert html_to_text("Broken <script> never closed") == "Broken never closed"
    assert html_to_text("a <!-- open comment") == "a <!-- open comment"
    assert html_to_text("<p>x</p> x < y and <p z") == "x\n\nx < y and <p z"  # no '>': no tag
    assert looks_like_html("Tom &amp; Jerry") and looks_like_html("<b>bold</b>")
    assert not looks_like_html("<gorilla> in the mist") and not looks_like_html("a < b")


def rss(description: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item>'
        "<title>Big item</title><link>https://x.example/1</link>"
        f"<description><![CDATA[{description}]]></description></item></channel></rss>"
    ).encode()


def test_a_300kb_rss_item_ingests_fast_from_a_file(tmp_path: Path) -> None:
    feed = tmp_path / "big.xml"
    feed.write_bytes(rss("<script " * 37_500))  # 300 KB: 60 s before
    res, took = run(config(tmp_path), [str(feed)])
    assert res[str(feed)].status == "ok" and took < FAST


def test_a_240kb_rss_item_ingests_fast_over_http(tmp_path: Path) -> None:
    body = rss("<!-- " * 48_000)  # 240 KB: 35.8 s before, past the fetch deadline
    with serve({"/big.xml": lambda h: send(h, 200, body)}) as srv:
        url = srv.url("/big.xml")
        cfg = config(tmp_path, f"[{{url: '{url}', allow_internal: true}}]")
        res, took = run(cfg, [url])
    assert res[url].status == "ok" and took < FAST


def test_an_atom_xhtml_blank_run_parses_fast(tmp_path: Path) -> None:
    feed = tmp_path / "blank.atom"
    feed.write_text(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
        "<entry><id>1</id><title>A</title><content type='xhtml'>"
        "<div xmlns='http://www.w3.org/1999/xhtml'><p>"
        + " " * 1_000_000
        + "x</p></div></content></entry></feed>",
        encoding="utf-8",
    )
    res, took = run(config(tmp_path), [str(feed)])
    assert res[str(feed)].status == "ok" and took < FAST


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("h1.html", "<h1>" * 40_000),  # 42 s before
        ("title.html", "<title>" * 40_000),
        # undefused, Python-Markdown took minutes (quadratic) or recursed until it crashed
        ("script.md", "# T\n\n" + "<script " * 16_000),
        pytest.param("brackets.md", "# T\n\n" + "[" * 100_000, marks=pytest.mark.slow),
        pytest.param("images.md", "# T\n\n" + "![" * 50_000, marks=pytest.mark.slow),
        ("links.md", "# T\n\n" + "[a](" * 100_000),
        ("lists.md", "# T\n\n" + "1. " * 30_000),  # a list nested 30,000 deep
        ("quotes.md", "# T\n\n" + "> " * 50_000),
        ("indented.md", "# T\n\n" + "".join(" " * n + "- a\n" for n in range(0, 1600, 4))),
        pytest.param("setext.md", "# T\n\n" + "a\n=\n" * 25_000, marks=pytest.mark.slow),
        pytest.param("rules.md", "# T\n\n" + "***\n" * 25_000, marks=pytest.mark.slow),
        pytest.param("cdata.md", "# T\n\n" + "<![" * 30_000, marks=pytest.mark.slow),
        ("heading.md", "# T" + " " * 500_000 + "x\n\nBody."),
    ],
)
def test_hostile_story_files_ingest_fast(tmp_path: Path, name: str, body: str) -> None:
    cfg = config(tmp_path)
    (tmp_path / "inbox" / name).write_text(body, encoding="utf-8")
    res, took = run(cfg)
    assert took < FAST
    assert res[str(tmp_path / "inbox" / name)].status in ("ok", "error")


def test_markdown_story_files_read_as_before(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    (tmp_path / "inbox" / "story.md").write_text(
        "# Harbor Rail posts record volumes ##\n\nHarbor Rail moved **2.1 million** containers"
        " in [October](https://rail.example/oct).\n\n- Volumes rose 9%.\n- Margins held.\n",
        encoding="utf-8",
    )
    res, _ = run(cfg)
    [item] = res[str(tmp_path / "inbox" / "story.md")].items
    assert item.title == "Harbor Rail posts record volumes"
    assert item.text == (
        "Harbor Rail moved 2.1 million containers in October.\n\nVolumes rose 9%.\n\nMargins held."
    )
    assert "<strong>2.1 million</strong>" in item.html and "<li>" in item.html


@pytest.mark.parametrize("unit", ["[", "![", "[a](", "<script ", "<a", "<!["])
def test_hostile_markdown_keeps_every_character(unit: str) -> None:
    # escaped, not deleted: the text reads as the file does
    text = _markdown(Path("s.md"), "# T\n\n" + unit * 5000)["text"]
    assert "".join(text.split()) == "".join(unit.split()) * 5000


ORDINARY_MARKDOWN = [
    "Harbor Rail moved **2.1 million** containers in [October](https://rail.example/oct).",
    "## Results\n\nRevenue rose *9%* to $4.1bn, the _company_ said. Shares fell.\n\n"
    "### Outlook\n\nA second paragraph\nwrapped over lines, with `code` and a\nline break.  \n"
    "Then more.",
    "Results\n=======\n\nOutlook\n-------\nText.",
    "- Volumes rose 9%.\n- Margins held.\n    1. nested\n    2. list\n\n1. one\n2. two\n\n"
    "* * *\n\n- - - -",
    "> Quoted from the filing,\n> over two lines.\n>\n> > and a quote in it\n\nAfter.",
    '![A chart](https://x.example/c.png "Volumes") and [a link](<https://x.example/a b>)'
    " and [Foo](https://en.wikipedia.org/wiki/Foo_(bar)) and [a ref][r] and [r].\n\n"
    "[r]: https://x.example/r",
    "Autolinks <https://x.example> and <press@x.example>; raw <b>HTML</b>, a<br>break,"
    " <!-- a note -->, 3 < 4 and 5 > 4, [brackets] (parens) & ampersands &amp; &#169;.",
    "Escapes: \\*not em\\*, \\[not a link\\], 1\\. not a list.\n\n    an indented code block\n",
    Path(__file__)
    .resolve()
    .parents[1]
    .joinpath("inbox", "2026-11-25-tessaly-weight-loss-pill.md")
    .read_text("utf-8")
    .split("---\n", 2)[2],
]


@pytest.mark.parametrize("body", ORDINARY_MARKDOWN)
def test_ordinary_markdown_renders_as_python_markdown_does(body: str) -> None:
    assert _render_markdown(body) == markdown.markdown(body, output_format="html")


def test_a_story_file_over_its_cap_is_refused(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    big = tmp_path / "inbox" / "big.txt"
    big.write_text("Title\n\n" + "word " * (STORY_MAX_BYTES // 5 + 10), encoding="utf-8")
    # Markdown has its own, smaller cap: a file a .txt may be is refused as .md
    md = tmp_path / "inbox" / "big.md"
    md.write_text("# Title\n\n" + "word " * (MARKDOWN_MAX_BYTES // 5 + 10), encoding="utf-8")
    fits = tmp_path / "inbox" / "fits.txt"
    fits.write_text("Title\n\n" + "word " * (MARKDOWN_MAX_BYTES // 5 + 10), encoding="utf-8")
    res, _ = run(cfg)
    assert res[str(big)].status == "error"
    assert f"over the {STORY_MAX_BYTES} byte cap" in res[str(big)].error
    assert f"over the {MARKDOWN_MAX_BYTES} byte cap" in res[str(md)].error
    assert res[str(fits)].status == "ok"


def test_parsing_counts_against_the_fetch_deadline(tmp_path: Path) -> None:
    feed = tmp_path / "many.xml"
    items = "".join(
        f"<item><title>Item {n}</title><link>https://x.example/{n}</link>"
        f"<description>{'Some words of text. ' * 50}</description></item>"
        for n in range(3000)
    )
    feed.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>',
        encoding="utf-8",
    )
    cfg = config(tmp_path).model_copy(update={"fetch": Config.model_fields["fetch"].default})
    cfg = cfg.model_copy(update={"fetch": cfg.fetch.model_copy(update={"timeout": 0.05})})
    res, _ = run(cfg, [str(feed)])
    error = res[str(feed)].error
    assert error.startswith(f"{feed}: not read within the 0.05 s fetch.timeout: stopped after")
    assert error.endswith("of 3000 entries")


# -- the inbox reads its own regular files only ----------------------------------------
def test_inbox_refuses_links_out_fifos_folders_and_reports_dangling_links(
    tmp_path: Path,
) -> None:
    cfg = config(tmp_path)
    inbox = tmp_path / "inbox"
    secret = tmp_path / "secret.txt"
    secret.write_text("SMTP password\n\nhunter2 is the SMTP password.\n", encoding="utf-8")
    (inbox / "memo.txt").symlink_to(secret)
    (inbox / "passwd.txt").symlink_to("/etc/passwd")
    (inbox / "environ.txt").symlink_to("/proc/self/environ")
    (inbox / "gone.md").symlink_to(inbox / "nowhere.md")
    os.mkfifo(inbox / "pipe.md")
    (inbox / "folder.md").mkdir()
    (inbox / "real.txt").write_text("Glenfield Mills adds jobs\n\nIt hired 200.\n", "utf-8")
    (inbox / "alias.txt").symlink_to("real.txt")  # a link within the inbox is fine
    res, took = run(cfg)
    assert took < FAST  # the FIFO never blocks the run
    for name in ("memo.txt", "passwd.txt", "environ.txt"):
        error = res[str(inbox / name)].error
        assert res[str(inbox / name)].status == "error"
        assert "symbolic link to " in error and f"leaves the folder {inbox}; refused" in error
    assert f"dangling symbolic link to {inbox / 'nowhere.md'}" in res[str(inbox / "gone.md")].error
    assert "is a FIFO (named pipe), not a regular file" in res[str(inbox / "pipe.md")].error
    assert "is a directory, not a regular file" in res[str(inbox / "folder.md")].error
    assert res[str(inbox / "real.txt")].status == "ok"
    assert res[str(inbox / "alias.txt")].items[0].title == "Glenfield Mills adds jobs"
    with open_store(cfg.state_path) as store:
        stored = store.conn.execute("SELECT group_concat(text) FROM items").fetchone()[0]
    assert "hunter2" not in stored and "root:" not in stored


def test_devices_are_not_read() -> None:
    with pytest.raises(SourceError, match="is a character device, not a regular file"):
        read_file(Path("/dev/zero"), "zero.md", 1024)


# -- JSON Feeds that are not what they claim ---------------------------------------------
@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (b"[" * 200_000, "JSON nested too deeply"),
        (b'{"items": [' * 100_000, "JSON nested too deeply"),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": '
            + b"7" * 5000
            + b"}]}",
            "an integer of 5000 digits",
        ),
    ],
)
def test_broken_json_feeds_say_what_is_wrong(tmp_path: Path, doc: bytes, reason: str) -> None:
    feed = tmp_path / "feed.json"
    feed.write_bytes(doc)
    res, _ = run(config(tmp_path), [str(feed)])
    error = res[str(feed)].error
    assert error.startswith(f"{feed}: ") and reason in error
    assert "a bug" not in error


@pytest.mark.slow
def test_a_long_item_stays_on_the_fast_parser(tmp_path: Path) -> None:
    # over libxml2's default 10 MB per text node: it used to fall to the tolerant
    # parser, which took 20 s on it
    feed = tmp_path / "long.xml"
    feed.write_bytes(rss("<script " * (11 * 1024 * 1024 // 8)))
    cfg = config(tmp_path, fetch=", max_bytes: 20971520")
    res, took = run(cfg, [str(feed)])
    assert res[str(feed)].status == "ok" and took < 2 * FAST


def test_a_large_ill_formed_feed_is_refused_with_the_reason(tmp_path: Path) -> None:
    feed = tmp_path / "broken.xml"
    doc = rss("words " * (TOLERANT_MAX_BYTES // 6))
    feed.write_bytes(doc.replace(b"<title>T</title>", b"<title>T <b></title>"))
    res, took = run(config(tmp_path), [str(feed)])
    error = res[str(feed)].error
    assert error.startswith(f"{feed}: not well-formed XML (Opening and ending tag mismatch: b")
    assert f"over the {TOLERANT_MAX_BYTES} bytes the tolerant parser reads" in error
    assert took < FAST


def mended_feed(size: int) -> bytes:
    """A feed of about ``size`` bytes whose only faults are HTML entities XML lacks
    and bare ampersands, all over it: each distinct fault costs the fast path one
    more parse."""
    words = "Caf&eacute; &mdash; Q&A&nbsp;over &ldquo;rates&rdquo; &amp; more &#8211; "
    item = (
        "<item><title>Item {n} &ndash; Q&A</title><link>https://x.example/{n}?a=1&b=2</link>"
        "<description>{words}</description></item>"
    )
    body = words * (size // 100 // len(words))
    items = "".join(item.format(n=n, words=body) for n in range(100))
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'.encode()


@pytest.mark.slow  # 20 MB, at scale
def test_a_20mb_feed_broken_by_entities_and_ampersands_is_parsed_fast() -> None:
    doc = mended_feed(19 * 1024 * 1024)  # 2.3 million ampersands
    t0 = time.perf_counter()
    feed = parse_feed(doc, where="mended.xml", max_bytes=20 * 1024 * 1024)
    assert time.perf_counter() - t0 < FAST and feed.engine == "fast"
    first = feed.entries[0]
    assert first.title == "Item 0 – Q&A" and first.link == "https://x.example/0?a=1&b=2"
    assert first.text.startswith("Café — Q&A") and "“rates” & more – Café" in first.text


def test_a_feed_nested_thousands_deep_is_refused_at_once(tmp_path: Path) -> None:
    feed = tmp_path / "deep.xml"
    feed.write_bytes(rss("x").replace(b"<![CDATA[x]]>", b"<a>" * 300_000))
    res, took = run(config(tmp_path), [str(feed)])
    assert res[str(feed)].error.startswith(f"{feed}: not a feed: elements nested thousands deep")
    assert took < FAST  # the tolerant parser took seconds over it
