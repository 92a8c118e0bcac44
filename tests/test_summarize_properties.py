"""Properties that hold for any text: the gate and the source reader never raise and stay linear;
the sentence splitter keeps every character; house title case is idempotent.

The gate reads untrusted text (``newsletter lint --stories`` takes stories from anywhere), so
each check must survive any input and cost time in proportion to it. Time is compared between
an input and one four times its size (the ``assert_linear`` fixture of conftest.py), never
against a fixed number of seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.models import Article, SourceRef, StorySummary
from pipeline.summarize import _text, check_story, load_house_style
from pipeline.summarize._extractive import write_story
from pipeline.summarize._source import read_source
from pipeline.summarize._text import split_sentences, title_case

STYLE = load_house_style()
STORY = StorySummary(
    id="p",
    headline="Fernhill Robotics Opens Its First Factory in Sheffield",
    dek="Fernhill Robotics opened its first factory in Sheffield on Tuesday.",
    hook="Warehouse robots are having a busy year.",
    nut_graf="According to Ledger Weekly, the plant will build robots for grocers.",
    section="The Factory Picture",
    context="Rivals in Germany and Japan have also expanded their factories.",
    lead_in="The details, per Ledger Weekly:",
    bullets=("Per Ledger Weekly, the plant will build robots.", "Okonjo said demand doubled."),
    kicker_label="What Comes Next:",
    kicker="Okonjo said a second site may follow.",
    sources=(SourceRef("Ledger Weekly"),),
)

# News-like pieces: words, names, abbreviations, quotation marks of every kind, captions,
# attributions, numbers and line breaks, so generated text reaches the checks' corners.
_PIECES = [
    *"abcAB .,!?;:-()[]\n\t'\"“”‘’…$£%0123456789",
    "Mr. ",
    "U.S. ",
    "Inc. ",
    " said ",
    "He ",
    "She said: ",
    "But ",
    "the ",
    "The ",
    "In ",
    "Per CNN, ",
    "According to the FT, ",
    "of ",
    "a ",
    "Pictured: ",
    "(pictured) ",
    "Okonjo ",
    "Acton-Smith's ",
    "3,000 ",
    "$7.5million ",
    "16 per cent ",
    "2.3bn ",
    "two hundred ",
    "<!-- ",
    "don't ",
]
news_text = st.lists(st.sampled_from(_PIECES), max_size=120).map("".join)
any_text = st.one_of(news_text, st.text(max_size=400))
_PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_PROPERTY
@given(any_text)
def test_split_sentences_keeps_every_non_space_character_in_order(text: str) -> None:
    sentences = split_sentences(text)
    assert "".join("".join(s.split()) for s in sentences) == "".join(text.split())
    assert all(s == s.strip() and s for s in sentences)


@_PROPERTY
@given(any_text)
def test_title_case_is_idempotent(text: str) -> None:
    once = title_case(text)
    assert title_case(once) == once


@_PROPERTY
@given(any_text, any_text)
def test_read_source_never_raises(title: str, text: str) -> None:
    source = read_source(title, text)
    assert all(s.strip() for s in source.sentences)
    assert len(source.paragraph_of) == len(source.sentences)


@pytest.mark.slow
@_PROPERTY
@given(any_text, any_text, st.lists(any_text, max_size=5))
def test_the_gate_never_raises(text: str, part: str, bullets: list[str]) -> None:
    article = Article(id="p", title=part[:80], text=text, source="Ledger Weekly")
    story = replace(
        STORY,
        headline=part,
        dek=part,
        hook=text[:200],
        nut_graf=part,
        context=text[:400],
        kicker_label=part[:40],
        bullets=tuple(bullets),
    )
    checked = check_story(story, article, STYLE)
    assert all(f.story == "p" and f.rule and f.message for f in (*checked.style, *checked.facts))


# -- linear time ---------------------------------------------------------------------------

# Inputs that make a careless regex or a pairwise loop blow up: unclosed comments and quotes,
# runs with no punctuation, one-line "sentences", capitalised runs, attribution prefixes,
# captions run into the next sentence or a quotation with no full stop.
PATHOLOGICAL = {
    "comment openers": "<!-- ",
    "single quotes": "'",
    "double quotes": '"a ',
    "curly quotes": "“a ‘b ",
    "words without punctuation": "word ",
    "capitalised words": "Word ",
    "one-word sentences": "A. ",
    "one-word lines": "A\n",
    "apostrophes": "don't ",
    "attribution prefixes": "Per X, ",
    "numbers": "3,000 ",
    "captions run on into names": "apple Banana cherry ",
    "captions run on into quotations": "one two three four five six seven Chief Jo said: 'Yes ",
    "caption labels in mid-sentence": "went home Sad day: The ",
    "caption labels inside a quotation": '"went home Sad day: The ',
    # where the engine may cut a headline: each cut asks about the words before and after it
    "relative clauses after a finding": "found people who ",
    "adjuncts after nouns": "plans in the city ",
    "participle subjects": "a teacher accused of theft with ",
}
AssertLinear = Callable[[Callable[[str], object], str, int], None]
SIZE = 5_000  # characters; the larger input is four times this (20,000)


@pytest.mark.slow
@pytest.mark.parametrize("pattern", PATHOLOGICAL.values(), ids=list(PATHOLOGICAL))
def test_read_source_is_linear(pattern: str, assert_linear: AssertLinear) -> None:
    assert_linear(lambda text: read_source("", text), pattern, SIZE)


@pytest.mark.slow
@pytest.mark.parametrize("pattern", PATHOLOGICAL.values(), ids=list(PATHOLOGICAL))
def test_the_offline_engine_is_linear(pattern: str, assert_linear: AssertLinear) -> None:
    def write(text: str) -> StorySummary:
        # whole repeats, a multiple of four, closed by a full stop: every size then takes the
        # same path (a cut mid-pattern or an odd count of quote marks changes what is a
        # sentence, and a short path against a long one says nothing of growth)
        salt = text.split(" ", 1)[0]
        repeats = len(text) // len(pattern) // 4 * 4
        body = f"The plan passed. {salt} {pattern * repeats}. It did."
        return write_story(Article(id=salt, title="", text=body), STYLE)

    assert_linear(write, pattern, SIZE)


@pytest.mark.slow
@pytest.mark.parametrize("pattern", PATHOLOGICAL.values(), ids=list(PATHOLOGICAL))
def test_the_gate_is_linear(pattern: str, assert_linear: AssertLinear) -> None:
    def gate(text: str) -> StorySummary:
        half = len(text) // 2  # the input spread over two parts, and as the article
        story = replace(STORY, dek=text[:half], bullets=(text[half:], STORY.bullets[1]))
        return check_story(story, Article(id="p", title="", text=text), STYLE)

    assert_linear(gate, pattern, SIZE)


# -- quotation marks, read fast ------------------------------------------------------------

# The readable forms, each opening on a look at the character before the mark; the module's
# patterns open on the mark itself (the engine then skips to the marks) and must find the
# same spans on any text.
_READABLE = {
    _text.QUOTED: r"\"[^\"]*\"?|“[^”]*”?|(?<![A-Za-z])‘(?:[^’]|’(?=[A-Za-z])){0,2000}’"
    r"|(?<![A-Za-z])'(?:[^']|'(?=[A-Za-z])){0,2000}'(?![A-Za-z])",
    _text._SINGLE_OPEN: r"(?:^|(?<=[\s(:—–-]))['‘](?=[\w\"“])",
    _text._SINGLE_CLOSE: r"(?<=[\w.,!?;:…\"”])['’](?=\s|$|[.,;:)])",
    _text._ANY_OPEN: r"(?:^|(?<=[\s(:—–-]))['‘\"“](?=[\w\"“‘])",
    _text._ANY_CLOSE: r"”|(?<=[\w.,!?;:…\"”])['’](?=\s|$|[.,;:)])|\"(?![\w‘'])",
}
marks_text = st.text(alphabet="a A1_'‘’\"“”(:-–—.,;)!?…[] \n", max_size=12)


@settings(max_examples=2000, deadline=None)
@given(marks_text)
def test_the_quotation_patterns_find_what_their_readable_forms_find(text: str) -> None:
    for fast, readable in _READABLE.items():
        expected = [m.span() for m in re.finditer(readable, text)]
        assert [m.span() for m in fast.finditer(text)] == expected, fast.pattern
