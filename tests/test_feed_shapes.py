"""Property-based tests (Hypothesis) of the fast path's shapes and repairs.

The same entries written as RSS 2.0, RSS in a namespace, RSS 1.0 and 0.90 (RDF), Atom 1.0,
Atom 0.3 and a namespace-less Atom read the same on the fast path, and as feedparser reads
them; a document broken only by HTML entities XML lacks, bare ampersands or undeclared
well-known prefixes is mended on the fast path and read as the publisher meant it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from xml.sax.saxutils import escape

import pytest
from feedcompare import losses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.ingest._entries import plain_title
from pipeline.ingest._feeds import parse_feed
from pipeline.ingest._sanitize import html_to_text

# feedparser takes about a millisecond a document: fewer examples than the other properties
SOME = settings(
    database=None,
    deadline=timedelta(seconds=2),
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)

words = st.text("abcdefghij KLMNOP 0123 ,.'-é’", min_size=1, max_size=30).filter(str.strip)
slugs = st.text("abcdefghij0123-", min_size=1, max_size=12)
entries = st.lists(st.tuples(words, slugs, words), min_size=1, max_size=4)

Entries = list[tuple[str, str, str]]


RSS_ITEM = (
    "<item><title>{t}</title><link>{u}</link><guid>{u}</guid><description>{d}</description>"
    "<pubDate>Fri, 27 Nov 2026 12:00:00 GMT</pubDate></item>"
)
RDF_ITEM = (
    '<item rdf:about="{u}"><title>{t}</title><link>{u}</link><description>{d}</description>'
    "<dc:date>2026-11-27T12:00:00Z</dc:date></item>"
)
ATOM_ITEM = (
    "<entry><title>{t}</title><link rel='alternate' href='{u}'/><id>{u}</id>"
    "<{date}>2026-11-27T12:00:00Z</{date}><content type='text/html'{mode}>{d}</content></entry>"
)


def body(items: Entries, template: str, html_in_text: bool = False, **more: str) -> str:
    """The entries written with ``template``; Atom's HTML content is escaped once more."""
    return "".join(
        template.format(
            t=escape(t),
            u=f"https://x.example/{s}",
            d=escape(escape(d)) if html_in_text else escape(d),
            **more,
        )
        for t, s, d in items
    )


def rss(items: Entries, ns: str = "") -> str:
    xmlns = f' xmlns="{ns}"' if ns else ""
    channel = f"<channel><title>T</title>{body(items, RSS_ITEM)}</channel>"
    return f'<rss version="2.0"{xmlns}>{channel}</rss>'


def rdf(items: Entries, ns: str = "http://purl.org/rss/1.0/") -> str:
    return (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        f' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns="{ns}">'
        f"<channel><title>T</title></channel>{body(items, RDF_ITEM)}</rdf:RDF>"
    )


def atom(items: Entries, ns: str = "http://www.w3.org/2005/Atom") -> str:
    old = ns != "http://www.w3.org/2005/Atom"  # Atom 0.3's names and its mode attribute
    date, mode = ("issued", ' mode="escaped"') if old else ("published", "")
    xmlns = f' xmlns="{ns}"' if ns else ""
    entries = body(items, ATOM_ITEM, html_in_text=True, date=date, mode=mode)
    return f"<feed{xmlns}><title>T</title>{entries}</feed>"


SHAPES: dict[str, Callable[[Entries], str]] = {
    "rss 2.0": rss,
    "rss in userland's namespace": lambda e: rss(e, "http://backend.userland.com/rss2"),
    "rss 1.0": rdf,
    "rss 0.90": lambda e: rdf(e, "http://my.netscape.com/rdf/simple/0.9/"),
    "atom 1.0": atom,
    "atom 0.3": lambda e: atom(e, "http://purl.org/atom/ns#"),
    "atom without namespace": lambda e: atom(e, ""),
}


@pytest.mark.slow  # generated feeds, each also through feedparser
@SOME
@given(entries)
def test_every_shape_reads_the_same_entries_as_feedparser(items: Entries) -> None:
    want = [
        (" ".join(t.split()), f"https://x.example/{s}", " ".join(d.split())) for t, s, d in items
    ]
    for name, shape in SHAPES.items():
        doc = shape(items).encode()
        feed = parse_feed(doc, where=name)
        assert feed.engine == "fast", name
        got = [(e.title, e.link, " ".join(e.text.split())) for e in feed.entries]
        assert got == want, name
        assert all(e.published or e.updated for e in feed.entries), name
        assert losses(doc) == [], name


# pieces of text as publishers write them in XML that is not quite XML: (written, read)
PIECES = [
    ("&nbsp;", "\u00a0"),
    ("&eacute;", "é"),
    ("&mdash;", "—"),
    ("&hellip;", "…"),
    ("&copy;", "©"),
    ("Q&A", "Q&A"),
    (" & ", " & "),
    ("a=1&b=2", "a=1&b=2"),
    ("&amp;", "&"),
    ("&#8217;", "’"),
    ("&lt;3", "<3"),
]
broken = st.lists(
    st.one_of(words.map(lambda w: (escape(w), w)), st.sampled_from(PIECES)), min_size=1, max_size=12
)


@SOME
@given(st.lists(st.tuples(broken, broken), min_size=1, max_size=3), st.booleans())
def test_entities_ampersands_and_prefixes_are_mended(
    items: list[tuple[list[tuple[str, str]], list[tuple[str, str]]]], prefixed: bool
) -> None:
    # feedparser is no yardstick here: it reads "Q&A" as "Q&A;"
    body = ""
    for n, (title, text) in enumerate(items):
        written = "".join(w for w, _ in text)
        body += f"<item><title>{''.join(w for w, _ in title)}</title>"
        body += f"<link>https://x.example/{n}?a=1&b=2</link>"
        if prefixed:  # content: used without its namespace declared
            body += f"<content:encoded>{written}</content:encoded></item>"
        else:
            body += f"<description>{written}</description></item>"
    doc = f'<rss version="2.0"><channel><title>T</title>{body}</channel></rss>'.encode()
    feed = parse_feed(doc, where="broken.xml")
    assert feed.engine == "fast"
    for n, (e, (title, text)) in enumerate(zip(feed.entries, items, strict=True)):
        assert e.link == f"https://x.example/{n}?a=1&b=2"
        assert e.title == plain_title("".join(r for _, r in title))
        assert e.text == html_to_text("".join(r for _, r in text))
