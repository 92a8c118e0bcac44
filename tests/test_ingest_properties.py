"""Property-based tests (Hypothesis): canonical links, HTML to text, story-file Markdown and
the feed parsers hold for any input, raise nothing but the documented per-feed error, and stay
fast; story-file Markdown stays linear on the units Python-Markdown alone is quadratic on."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.errors import SourceError
from pipeline.ids import _canonical, canonical_url, item_id, url_key
from pipeline.ingest._feeds import parse_feed
from pipeline.ingest._files import _markdown, _render_markdown
from pipeline.ingest._sanitize import html_to_text, looks_like_html, sanitize

FAST = settings(
    database=None,
    deadline=timedelta(seconds=2),
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)

# -- canonical_url ----------------------------------------------------------------------
label = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
hosts = st.one_of(
    st.lists(label, min_size=1, max_size=4).map(".".join),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda ip: f"[{ip}]"),
)
safe = st.text("abcdefghijklmnopqrstuvwxyzABC0123456789-._~%/", max_size=20)
params = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(["utm_source", "fbclid", "gclid", "ref", "id", "page"]), label),
        safe,
    ),
    max_size=4,
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    host = draw(hosts)
    port = draw(st.one_of(st.none(), st.integers(1, 65535)))
    path = "/" + draw(safe)
    query = "&".join(f"{k}={v}" for k, v in draw(params))
    fragment = draw(st.one_of(st.none(), safe))
    url = f"{scheme}://{host}" + (f":{port}" if port else "") + path
    url += f"?{query}" if query else ""
    return url + (f"#{fragment}" if fragment is not None else "")


@pytest.mark.slow
@FAST
@given(urls())
def test_canonical_url_is_idempotent_and_keeps_the_host(url: str) -> None:
    canon = canonical_url(url)
    assert canonical_url(canon) == canon
    assert urlsplit(canon).hostname == urlsplit(url).hostname  # IPv6 literals included
    assert "utm_source=" not in canon and "fbclid=" not in canon and "#" not in canon
    assert url_key(url) == url_key(canon)


plain_links = st.builds(
    "{}://{}{}".format,
    st.sampled_from(["http", "https"]),
    st.lists(label, min_size=1, max_size=3).map(".".join),
    st.one_of(
        st.just(""), st.text("abcXYZ09-._~%/@:!$&'()*+,;=é\\[]", max_size=30).map("/{}".format)
    ),
)


@FAST
@given(st.one_of(urls(), plain_links, st.text(max_size=60)))
def test_links_already_canonical_in_form_skip_parsing_with_the_same_result(url: str) -> None:
    assert canonical_url(url) == _canonical(url.strip())


@FAST
@given(st.text(max_size=200))
def test_ids_never_raise_on_any_text(text: str) -> None:
    assert isinstance(canonical_url(text), str)
    assert isinstance(url_key(text), str)
    assert item_id("", text, text, text)


# -- html_to_text -----------------------------------------------------------------------
fragments = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "<p>", "</p>", "<br>", "<b>", "</b>", "<script>", "</script>", "<style>",
            "</style>", "<!--", "-->", "<a href='x'>", "</a>", "<", ">", "&amp;", "&#x1F600;",
            "&bogus;", "<div\n>", "< p >", "</ p>", "<h1>", "\r\n", "\u00a0", "\u3000",
        ]
    ),
)  # fmt: skip
html_docs = st.lists(fragments, max_size=60).map("".join)


@FAST
@given(html_docs)
def test_html_to_text_gives_clean_paragraphs(html: str) -> None:
    text = html_to_text(html)
    assert text == text.strip()
    assert "\n\n\n" not in text
    for paragraph in text.split("\n\n") if text else []:
        assert paragraph.strip() == paragraph and paragraph
    assert isinstance(looks_like_html(html), bool)
    assert "<script" not in sanitize(html).lower()


@pytest.mark.slow
@settings(database=None, deadline=None, max_examples=25)
@given(st.lists(fragments, min_size=1, max_size=8).map("".join))
def test_html_to_text_stays_linear_on_any_repeated_unit(unit: str) -> None:
    # any unit repeated to 400 KB: the quadratic code took minutes on units like these
    big = unit * (400_000 // max(1, len(unit)))
    t0 = time.perf_counter()
    html_to_text(big)
    looks_like_html(big)
    assert time.perf_counter() - t0 < 3.0


# -- story-file Markdown ----------------------------------------------------------------
words = st.sampled_from(["Harbor", "Rail", "moved", "containers", "in", "October", "x"])
md_pieces = st.one_of(
    words,
    st.sampled_from(
        [
            " ", "\n", "\n\n", "[", "]", "![", "*", "**", "_", "`", "1. ", "> ", "- ", "+ ",
            "# ", "=\n", "    ", "\\", "&", "(", ")", "9", "2.",
        ]
    ),
)  # fmt: skip
markdown_docs = st.lists(md_pieces, max_size=80).map("".join)
hostile_pieces = st.one_of(md_pieces, st.sampled_from(["](", "<", "<a ", "<!--", "<![", "&#"]))


@pytest.mark.slow  # generated story files through Python-Markdown
@FAST
@given(st.one_of(st.text(max_size=400), st.lists(hostile_pieces, max_size=80).map("".join)))
def test_any_text_reads_as_a_markdown_story_file(text: str) -> None:
    fields = _markdown(Path("story.md"), "# Title\n\n" + text)
    assert fields["title"] == "Title"
    assert isinstance(fields["text"], str) and isinstance(fields["html"], str)


@pytest.mark.slow
@FAST
@given(markdown_docs)
@example("*Harbor**Harbor*Harbor")  # Python-Markdown alone drops the third "H"
def test_the_words_of_a_markdown_story_file_survive(text: str) -> None:
    # the words' letters in order; Markdown takes the markup (and a numbered list's numbers)
    read = _markdown(Path("story.md"), "# Title\n\n" + text)["text"]
    assert re.sub(r"[^A-Za-z]", "", read) == re.sub(r"[^A-Za-z]", "", text)


# units Python-Markdown alone takes quadratic time on (or recurses on, for the markers)
MARKDOWN_PATHOLOGICAL = {
    "brackets": "[",
    "images": "![",
    "links": "[a](",
    "script tags": "<script ",
    "tag openers": "<a",
    "cdata openers": "<![",
    "unclosed tags over blank lines": "<b\n\n",
    "list markers": "1. ",
    "plus markers": "+ ",
    "quote markers": "> ",
    "setext headings": "a\n=\n",
    "rules": "***\n",
    "emphasis": "*a*",
    "backslashes": "\\",
    "line breaks": "a  \n",
    "paragraphs": "a\n\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("pattern", MARKDOWN_PATHOLOGICAL.values(), ids=list(MARKDOWN_PATHOLOGICAL))
def test_story_file_markdown_is_linear(
    pattern: str, assert_linear: Callable[[Callable[[str], object], str, int], None]
) -> None:
    # 16 KB and 64 KB: past a block, a line and a call of Python-Markdown in _render_markdown
    assert_linear(_render_markdown, pattern, 16_000)


# -- the feed parsers ----------------------------------------------------------------------
def parses_or_says_why(data: bytes) -> None:
    try:
        feed = parse_feed(data, where="prop.xml")
    except SourceError as exc:
        assert str(exc).startswith("prop.xml")
        return
    for entry in feed.entries:
        assert isinstance(entry.text, str) and isinstance(entry.title, str)


@FAST
@given(st.binary(max_size=500))
def test_any_bytes_parse_or_give_the_per_feed_error(data: bytes) -> None:
    parses_or_says_why(data)


xml_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=80
)


@pytest.mark.slow
@FAST
@given(st.lists(st.tuples(xml_text, xml_text, xml_text, xml_text), max_size=5), st.booleans())
def test_rss_and_atom_with_any_text_parse_or_give_the_per_feed_error(
    entries: list[tuple[str, str, str, str]], atom: bool
) -> None:
    if atom:
        body = "".join(
            f"<entry><title>{t}</title><link href='{link}'/><id>{g}</id>"
            f"<content type='html'>{d}</content></entry>"
            for t, link, g, d in entries
        )
        doc = f'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>{body}</feed>'
    else:
        body = "".join(
            f"<item><title>{t}</title><link>{link}</link><guid>{g}</guid>"
            f"<description>{d}</description><pubDate>{d[:40]}</pubDate></item>"
            for t, link, g, d in entries
        )
        doc = f'<rss version="2.0"><channel><title>T</title>{body}</channel></rss>'
    parses_or_says_why(doc.encode("utf-8", "surrogatepass"))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
item_keys = st.sampled_from(
    ["id", "url", "title", "content_html", "content_text", "summary", "date_published",
     "authors", "author", "image", "external_url"]
)  # fmt: skip


@pytest.mark.slow
@FAST
@given(st.lists(st.dictionaries(item_keys, json_values, max_size=6), max_size=4), json_values)
def test_json_feeds_with_any_values_parse_or_give_the_per_feed_error(
    items: list[dict[str, object]], title: object
) -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items}
    parses_or_says_why(json.dumps(doc).encode())
