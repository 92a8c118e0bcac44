"""The per-item fast paths give what the full paths give: each guard that skips a step
(no '<', no odd blank, ASCII text...) is checked against the step done every time, on
generated text (Hypothesis) and on every entry of the shared feed corpus."""

from __future__ import annotations

import html as _html
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_feed_corpus import shared_corpus
from test_ingest_properties import plain_links, urls

from pipeline import ids, words
from pipeline.errors import SourceError
from pipeline.ingest import _sanitize
from pipeline.ingest._entries import _ZONES, parse_date
from pipeline.ingest._feeds import parse_feed
from pipeline.ingest._sanitize import html_to_text
from pipeline.summarize import _text

# no deadline: these compare outputs, and a loaded machine must not fail them on time alone
# (the linear-time tests own speed)
CHECKS = settings(
    database=None,
    deadline=None,
    max_examples=1000,
    suppress_health_check=[HealthCheck.too_slow],
)


def full_html_to_text(html: str) -> str:
    """:func:`html_to_text` with every step done whatever the text holds (text with no
    '<' at all is plain text: its line breaks are its own)."""
    if not html:
        return ""
    text = _sanitize._without_comments(html)
    if "<" in text:
        text = _sanitize._without_dropped(text)
        text = text.replace("\r", " ").replace("\n", " ")
        end = text.rfind(">") + 1
        text = _sanitize._TAG.sub("", _sanitize._BLOCK_AT.sub("\n<", text[:end])) + text[end:]
    text = _html.unescape(text).translate(_sanitize._C1)
    text = _sanitize._SPACE.sub(" ", text)
    parts = (p.strip() for p in text.split("\n"))
    return "\n\n".join(p for p in parts if p)


# what the guards look for, and what they must not miss: blanks of every kind, C1
# controls (windows-1252 punctuation), entities that decode to either, tags and comments;
# half the documents ASCII only, as most feeds are (some guards differ on those)
ascii_pieces = st.one_of(
    st.text(st.characters(max_codepoint=127), max_size=12),
    st.sampled_from(
        [
            "x", "word", " ", "  ", "\t", "\r", "\n", "\f", "\v", "&#147;", "&#x85;", "&nbsp;",
            "&#9;", "&#11;", "&amp;", "&#160;", "&lt;p&gt;", "<p>", "</p>", "<br/>", "<b>", "</b>",
            "<div class='x'>", "< li >", "</ P>", "<", ">", "<!--", "-->", "<script>", "</script>",
            "<STYLE>", "</style>",
        ]
    ),
)  # fmt: skip
pieces = st.one_of(
    ascii_pieces,
    st.text(max_size=12),
    st.sampled_from(["\u00a0", "\u200b", "\u3000", "\x85", "\x93", "\x9d", "é", "Ã©"]),
)
documents = st.one_of(st.lists(ascii_pieces, max_size=40), st.lists(pieces, max_size=40)).map(
    "".join
)


@CHECKS
@given(documents)
@example("plain words only")
@example("tab\there")
@example("a\u00a0b")
@example("\x93quoted\x94")
@example("<p>one</p>\r\n<p>two\u200b three</p>")
def test_html_to_text_fast_path_is_the_full_path(html: str) -> None:
    assert html_to_text(html) == full_html_to_text(html)


def _corpus_texts(folder: Path) -> list[str]:
    """Every entry's HTML and title in the folder's feeds (unreadable files left out)."""
    out: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            parsed = parse_feed(path.read_bytes(), where=str(path))
        except SourceError:
            continue
        out.extend(t for e in parsed.entries for t in (e.html, e.title))
    return out


@pytest.mark.slow  # every entry of 2,537 feeds
def test_html_to_text_fast_path_is_the_full_path_on_the_corpus() -> None:
    texts = _corpus_texts(shared_corpus())
    assert len(texts) > 5_000  # the corpus was read, not skipped
    differ = [t[:80] for t in texts if html_to_text(t) != full_html_to_text(t)]
    assert differ == []


# -- dates ---------------------------------------------------------------------------------
rfc822_zones = st.one_of(
    st.sampled_from(sorted(_ZONES)),
    st.builds(
        "{}{:02d}{:02d}".format, st.sampled_from("+-"), st.integers(0, 23), st.integers(0, 59)
    ),
)


@CHECKS
@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)),
    rfc822_zones,
    st.booleans(),
)
def test_rfc822_dates_read_as_the_email_package_reads_them(
    when: datetime, zone: str, weekday: bool
) -> None:
    text = when.strftime("%a, %d %b %Y %H:%M:%S" if weekday else "%d %b %Y %H:%M:%S")
    text += " " + zone  # "Sat, 28 Nov 2026 04:53:00 +0530"
    expected = parsedate_to_datetime(text)
    if expected.tzinfo is None:  # "-0000": UTC, its zone unknown
        expected = expected.replace(tzinfo=UTC)
    assert parse_date(text) == expected.astimezone(UTC)


# -- links -------------------------------------------------------------------------------
@CHECKS
@given(st.one_of(urls(), plain_links, st.text(max_size=60)))
def test_the_key_of_a_canonical_link_is_the_key_of_its_parts(url: str) -> None:
    ids.canonical_url.cache_clear()  # made now, so its key is remembered now
    canon = ids.canonical_url(url)
    assert ids.url_key.__wrapped__(canon) == ids._key(ids._canonical(canon))
    ids._KEY_OF_CANONICAL.clear()  # and worked out from the link when forgotten
    assert ids.url_key.__wrapped__(canon) == ids._key(ids._canonical(canon))


# -- words -------------------------------------------------------------------------------
ascii_words = st.text(st.sampled_from("abcXYZ09 '’-&_.,é"), max_size=40).filter(str.isascii)


@CHECKS
@given(ascii_words)
def test_the_ascii_word_patterns_find_what_the_patterns_for_any_script_find(text: str) -> None:
    low = text.lower()
    assert words._LOWER_WORD.findall(low) == words._ANY_WORD.findall(low)
    assert _text._SIM_WORD.findall(low) == _text._SIM_ANY.findall(low)


def test_a_word_of_another_script_is_one_word() -> None:
    # "Zürich" read as "z" and "rich" made a story about Zurich share a word with one about
    # the rich, and "Müller" a word with nothing
    assert words.content_words("Zürich and München") == ("zürich", "münchen")
    assert not set(words.content_words("Zürich")) & set(words.content_words("the rich"))
    assert _text.plain_words("Per CNN, Zürich’s mayor said") == "zürich’s mayor said"
    one = "Jürgen Müller opened the Zürich office on Monday with four staff"
    assert _text.similarity(one, one.replace("Zürich", "Genève")) < 1.0
