"""Feed parsing: every kind of document, the fast path checked against feedparser.

The fixtures are a sample of real and broken feeds from other projects' test
suites (tests/fixtures/ingest/SOURCES.md) plus feeds written for these tests.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from pipeline.errors import SourceError
from pipeline.ingest._entries import parse_date as _date
from pipeline.ingest._entries import plain_title as _plain_title
from pipeline.ingest._entries import struct_date as _struct_date
from pipeline.ingest._entries import undouble
from pipeline.ingest._feeds import parse_feed
from pipeline.ingest._sanitize import html_to_text, sanitize
from pipeline.ingest._xmlfeed import read_xml as _fast

HERE = Path(__file__).parent / "fixtures" / "ingest"
CORPUS = HERE / "corpus"
SAMPLE = sorted(p for p in CORPUS.rglob("*") if p.is_file())

# Files that are not feeds at all, and the precise reason we must give.
NOT_FEEDS = {
    "feedjira/HREFConsideredHarmfulFirstEntry.xml": (
        "no rss, feed, RDF, channel, item or entry element (Entity 'nbsp' not defined, line 1"
    ),
    "feedjira/TechCrunchFirstEntry.xml": "Extra content at the end of the document",
    "gofeed/universal/empty_feed.xml": "empty document",
    "gofeed/universal/invalid.json": "invalid JSON at line 3, column 1",
    "netnewswire/ScriptingNews.json": "not a JSON Feed 1.0/1.1",
    "netnewswire/allthis-partial.json": "invalid JSON at line 1",
    "newsboat/empty.xml": "empty document",
    "node-feedparser/notafeed.html": "not a feed: got an HTML page",
    "rss-parser/unrecognized.rss": "not a feed",
}

# Feeds that are well formed (or recoverable) but have no entries.
EMPTY_FEEDS = {
    "atoma/atom/broken-missing-id.xml",
    "feed-rs/rss2/rss_2.0_invalid_1.xml",
    "feedparser/encoding/utf-16be.xml",
    "feedparser/illformed/undeclared_namespace.xml",
    "feedparser/wellformed/atom/atom_namespace_3.xml",
    "laminas-feed/_files/Reader/xxe-atom10.xml",
    "miniflux/encoding/testdata/windows-1252-incorrect-prolog.xml",
}

# Where the fast path deliberately differs from feedparser, and why.
KNOWN = {
    ("rss-parser/reddit-atom.rss", "text"): "feedparser adds a space between inline spans",
    (
        "feedparser/wellformed/sanitize/item_description_crazy.xml",
        "text",
    ): "we drop <script> bodies; feedparser keeps their text",
    (
        "node-feedparser/rss-with-relative-urls.xml",
        "link",
    ): "relative links resolve against the channel link when the file has no URL",
    ("node-feedparser/illegally-nested.xml", "link"): "feedparser takes a nested item's link",
    ("feed-rs/atom/atom_xml_base.xml", "link"): "feedparser ignores a relative xml:base",
}


def _rel(p: Path) -> str:
    return p.relative_to(CORPUS).as_posix()


@pytest.mark.parametrize("path", SAMPLE, ids=_rel)
def test_every_sample_file_parses_or_gives_a_precise_error(path: Path) -> None:
    rel = _rel(path)
    if rel in NOT_FEEDS:
        with pytest.raises(SourceError) as err:
            parse_feed(path.read_bytes(), where=rel)
        assert str(err.value).startswith(rel + ": ")
        assert NOT_FEEDS[rel] in str(err.value)
        return
    feed = parse_feed(path.read_bytes(), where=rel)
    assert feed.entries or rel in EMPTY_FEEDS
    for e in feed.entries:
        assert e.published is None or e.published.tzinfo == UTC
        assert "<script" not in e.text and "<script" not in sanitize(e.html)


def _norm(s: str) -> str:
    return " ".join(s.split())


def _reference(data: bytes) -> list[dict[str, object]]:
    """feedparser.parse with its defaults, reduced to the fields we use."""
    out = []
    for r in feedparser.parse(io.BytesIO(data)).entries:
        td = r.get("title_detail") or {}
        kind = "html" if "html" in td.get("type", "") else "text"
        texts = {_norm(html_to_text(c.get("value", ""))) for c in r.get("content", [])}
        texts.add(_norm(html_to_text(r.get("summary", ""))))
        out.append(
            {
                "title": _plain_title(td.get("value", ""), kind) if td else "",
                "link": r.get("link", ""),
                "guid": r.get("id", ""),
                "texts": texts,
                "date": _struct_date(
                    dict.get(r, "published_parsed") or dict.get(r, "updated_parsed")
                ),
            }
        )
    return out


@pytest.mark.slow
def test_fast_path_agrees_with_feedparser_on_the_sample() -> None:
    compared = entries = 0
    diffs: list[str] = []
    for path in SAMPLE:
        data = path.read_bytes()
        fast = _fast(data.lstrip() if data.lstrip().startswith(b"<?xml") else data, "")
        if fast is None:
            continue
        compared += 1
        rel = _rel(path)
        ref = _reference(data)
        assert len(fast.entries) == len(ref), rel
        for a, r in zip(fast.entries, ref, strict=True):
            entries += 1
            got = {"title": a.title, "link": a.link, "guid": a.guid}
            for key, value in got.items():
                want = r[key]
                # feedparser uses a non-URL Atom id as the link; we leave it empty
                if key == "link" and value == "" and want == r["guid"]:
                    continue
                if value != want and (rel, key) not in KNOWN:
                    diffs.append(f"{rel} {key}: {value!r} != {want!r}")
            if _norm(a.text) not in r["texts"] and (rel, "text") not in KNOWN:
                diffs.append(f"{rel} text: {a.text[:80]!r}")
            date = a.published or a.updated
            if (date.replace(microsecond=0) if date else None) != r["date"]:
                diffs.append(f"{rel} date: {date} != {r['date']}")
    assert compared >= 30 and entries >= 450
    assert diffs == []


def test_rss_fields_are_plain_and_dates_utc() -> None:
    feed = parse_feed((HERE / "own/desk.rss").read_bytes(), where="desk.rss")
    assert feed.engine == "fast" and feed.title == "Harbour Business Desk"
    rail, eggs, quarry = feed.entries
    assert rail.guid == "desk-1001" and rail.author == "Ana Ruiz"
    assert rail.published == datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
    assert rail.text.startswith("Northwind Freight agreed to pay $1.2 billion")
    assert "alert(1)" not in rail.text
    assert rail.image is not None and rail.image.url.endswith("rail.jpg")
    assert rail.image.alt == "A freight train at dusk" and rail.image.credit == "Desk photo"
    assert eggs.title == "Lumen Grocers & the price of eggs"
    assert eggs.text == "Lumen Grocers cut egg prices by 8% across 310 stores."
    assert quarry.link == "https://desk.example/2026/11/quarry-savings"  # relative, resolved
    assert quarry.published == datetime(2026, 11, 25, 23, 45, tzinfo=UTC)


def test_atom_text_html_and_xhtml_content() -> None:
    feed = parse_feed((HERE / "own/desk.atom").read_bytes(), where="desk.atom")
    orbit, pixel, dove = feed.entries
    assert orbit.title == "Orbit Chips opens second fab"
    assert orbit.link == "https://tech.example/posts/orbit-fab"
    assert orbit.published == datetime(2026, 11, 27, 7, 15, tzinfo=UTC)
    assert pixel.text == "Pixelwave cut storage prices by a fifth <for new customers>."
    assert dove.text == "Dovetail Robotics raised $48 million led by Fenwick Capital."
    assert "<strong>" in dove.html


def test_json_feed_1_1() -> None:
    feed = parse_feed((HERE / "own/desk.json").read_bytes(), where="desk.json")
    cobalt, fern = feed.entries
    assert feed.engine == "json" and feed.title == "Retail Pulse"
    assert cobalt.author == "Mia Chen" and cobalt.image is not None
    assert cobalt.published == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert fern.title == "" and fern.text.startswith("Fernleaf Home reported sales up 6%")
    assert fern.author == "Old Style Author"  # JSON Feed 1.0 'author'


def test_wrong_declared_charset_is_read_right_with_a_warning() -> None:
    feed = parse_feed((HERE / "own/latin1-mislabeled.rss").read_bytes(), where="latin1")
    assert feed.entries[0].title == "Café chain Crème opens in München"
    assert any("declared as utf-8" in w for w in feed.warnings)


def test_utf8_declared_as_latin1_is_not_mojibake() -> None:
    data = (CORPUS / "laminas-feed/Integration/_files/laut.de-rdf.xml").read_bytes()
    text = " ".join(e.text for e in parse_feed(data).entries)
    assert "Kölner" in text and "KÃ" not in text


def test_html_page_names_the_feed_it_links_to() -> None:
    with pytest.raises(SourceError, match=r"got an HTML page .*links to a feed at /feed.xml"):
        parse_feed((HERE / "own/not-a-feed.html").read_bytes(), where="page")


def test_gzip_file_is_expanded_within_the_cap() -> None:
    data = (CORPUS / "node-feedparser/compressed.xml").read_bytes()
    assert len(parse_feed(data).entries) == 10
    with pytest.raises(SourceError, match="expands past the 2048 byte cap"):
        parse_feed(data, where="gz", max_bytes=2048)


def test_sanitize_removes_script_handlers_js_urls_and_stylesheets() -> None:
    dirty = (
        '<p onclick="x()">Hi <a href="javascript:evil()">a</a> <a href="https://ok.example/">b</a>'
        '</p><script>alert(1)</script><style>p{}</style><link rel="stylesheet" href="//x/s.css">'
        '<img src="https://ok.example/i.png" onerror="x()" alt="i">'
    )
    clean = sanitize(dirty)
    for bad in ("onclick", "javascript:", "<script", "alert", "<style", "<link", "onerror"):
        assert bad not in clean
    assert 'href="https://ok.example/"' in clean and 'alt="i"' in clean


def test_xxe_entities_are_not_resolved() -> None:
    data = (CORPUS / "laminas-feed/_files/Reader/xxe-atom10.xml").read_bytes()
    feed = parse_feed(data)
    assert "root:" not in feed.title and all("root:" not in e.text for e in feed.entries)


@pytest.mark.parametrize(
    "value,expected",
    [
        ("Fri, 27 Nov 2026 14:30:00 +0200", datetime(2026, 11, 27, 12, 30, tzinfo=UTC)),
        ("27 Nov 2026 14:30 EST", datetime(2026, 11, 27, 19, 30, tzinfo=UTC)),
        ("Thu, 14 May 2020 10:00:18 Z", datetime(2020, 5, 14, 10, 0, 18, tzinfo=UTC)),
        ("2026-11-27T08:15:00+01:00", datetime(2026, 11, 27, 7, 15, tzinfo=UTC)),
        ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC)),
        ("Fri, 27 Foo 2026 14:30:00 GMT", None),
        ("Sat, 30 Feb 2026 10:00:00 GMT", None),
        ("soon", None),
    ],
)
def test_dates_are_aware_utc_or_none(value: str, expected: datetime | None) -> None:
    assert _date(value) == expected


def test_double_encoded_utf8_is_decoded_but_latin_text_is_left_alone() -> None:
    assert undouble("Grupo FÃ³rmula Â©") == "Grupo Fórmula ©"
    assert undouble("café\u00a0\u00a0!") == "café\u00a0\u00a0!"  # é + two nbsp: UTF-8 bytes too
    assert undouble("Ã la carte") == "Ã la carte"
    data = (CORPUS / "rss-parser/guardian.rss").read_bytes()
    assert all("Ã" not in e.title for e in parse_feed(data).entries)
