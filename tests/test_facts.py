"""The fact checker: numbers, names and quotations must come from the source."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pipeline.models import Article, SourceRef, StorySummary
from pipeline.summarize import check_facts
from pipeline.summarize._llm import user_prompt

# check_facts reads an Article: its title, its text and the outlet it credits
SOURCE = Article(
    id="st",
    title="Doubao gains ground in China",
    text="""\
According to a Financial Times report, ByteDance's chatbot app Doubao had 60 million monthly
active users in November. The company spent $2.3bn on chips this year, up 12.5% on last year,
and hired two hundred researchers. Chief executive Liang Rubo said the team would go "all in"
on large language models. Analysts at Morgan Stanley expect sales of 1,200,000 units.""",
    source="Financial Times",
)


def _story(**parts: object) -> StorySummary:
    base: dict[str, object] = {
        "id": "st",
        "headline": "ByteDance's Chatbot App Doubao Gains Ground in China",
        "dek": "",
        "hook": "",
        "nut_graf": "",
        "section": "The Chatbot Picture",
        "context": "",
        "lead_in": "The details, per the FT:",
        "bullets": (),
        "kicker_label": "The Bottom Line:",
        "kicker": "",
    }
    base.update(parts)
    return StorySummary(**base)  # type: ignore[arg-type]


def _flags(**parts: object) -> list[tuple[str, str, str]]:
    return [(f.rule, f.part, f.text) for f in check_facts(_story(**parts), SOURCE)]


@pytest.mark.parametrize(
    "text",
    [
        "Per the FT, Doubao had 60 million monthly users.",
        "Per the FT, Doubao had 60,000,000 monthly users.",
        "ByteDance spent $2.3 billion on chips, up 12.5% on the year.",
        "ByteDance spent $2.3bn on chips, up 12.5 percent.",
        "It hired 200 researchers, and Morgan Stanley expects 1.2 million units.",
        "It hired two hundred researchers in November.",
    ],
)
def test_numbers_match_across_units_scale_words_and_spelling(text: str) -> None:
    assert _flags(dek=text) == []


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("Per the FT, Doubao had 70 million monthly users.", "70 million"),
        ("ByteDance spent $2.3 million on chips.", "2.3 million"),
        ("Sales rose 60% in November.", "60%"),
        ("It hired three hundred researchers.", "three hundred"),
    ],
)
def test_an_invented_number_is_flagged_with_its_span(text: str, bad: str) -> None:
    (finding,) = check_facts(_story(kicker=text), SOURCE)
    assert finding.rule == "fact-number" and finding.part == "kicker"
    assert text[finding.start : finding.end].startswith(bad.split()[0].lstrip("$"))
    assert finding.story == "st"


def test_names_must_be_in_the_source_but_sentence_starts_and_template_words_pass() -> None:
    ok = "Analysts said Liang Rubo and Morgan Stanley back ByteDance. Rivals are wary."
    assert _flags(hook=ok) == []
    flags = _flags(
        bullets=(
            "Per the FT, ByteDance hired researchers from Tencent Holdings, Liang Rubo said.",
            "Per the FT, Sundar Pichai was not amused.",
        )
    )
    assert ("fact-name", "bullets[0]", "Tencent Holdings") in flags
    assert ("fact-name", "bullets[1]", "Sundar Pichai") in flags
    assert len(flags) == 2


def test_acronyms_are_supported_by_initials_and_invented_ones_flagged() -> None:
    assert _flags(lead_in="What the FT found:") == []
    assert ("fact-name", "dek", "WSJ") in _flags(dek="The WSJ reported the same day.")


def test_title_case_parts_may_not_bring_new_names() -> None:
    findings = check_facts(
        _story(headline="Alibaba Pushes Doubao Higher in China's IPO Race"), SOURCE
    )
    by_word = {f.text: f.severity for f in findings}
    # every word is capitalised in a headline: ordinary English words ("Pushes", "Higher",
    # "Race") are not names; a name or an acronym the source lacks is an error there
    assert by_word == {"Alibaba": "error", "IPO": "error"}
    assert _flags(section="The Bottom Line Picture") == []


def test_a_new_name_in_the_hook_section_or_kicker_label_is_a_warning() -> None:
    # a pop-culture image or a play on words is the editor's call there; elsewhere an error
    for part, text in (
        ("hook", "Call it a Jay Gatsby moment: Doubao has gone from launch to party in a year."),
        ("section", "The Gatsby Picture"),
        ("kicker_label", "Paging Mr Gatsby:"),
    ):
        findings = check_facts(_story(**{part: text}), SOURCE)
        assert [(f.rule, f.severity) for f in findings] == [("fact-name", "warning")], part
    (finding,) = check_facts(_story(dek="Doubao threw a Jay Gatsby party for its users."), SOURCE)
    assert (finding.rule, finding.severity, finding.text) == ("fact-name", "error", "Jay Gatsby")


def test_quotations_must_be_verbatim() -> None:
    assert _flags(kicker='Liang Rubo said the team would go "all in" on models.') == []
    flags = _flags(kicker='Liang Rubo said the team would go "all out" on models.')
    assert flags == [("fact-quote", "kicker", '"all out"')]
    assert _flags(kicker="The team went “all in” on November's plans.") == []


def test_every_outlet_an_article_credits_is_named_to_the_writer_and_supports_the_story() -> None:
    # the outlets the LLM is told to attribute are the ones the fact checker accepts
    article = replace(
        SOURCE,
        source="",
        sources=(
            SourceRef("Reuters", "https://reuters.example/a"),
            SourceRef("Nikkei Asia"),
            SourceRef("Reuters", "https://reuters.example/b"),
        ),
    )
    assert article.outlets == ("Reuters", "Nikkei Asia")
    assert user_prompt(article).startswith("Outlet(s) to attribute: Reuters, Nikkei Asia\n")
    story = _story(dek="Per Nikkei Asia, Doubao had 60 million monthly users.")
    assert check_facts(story, article) == ()
    assert [f.text for f in check_facts(story, SOURCE)] == ["Nikkei Asia"]
    # a story cites the article's sources, or else its own outlet and link
    assert article.credits == article.sources
    assert SOURCE.credits == (SourceRef("Financial Times", ""),)
    assert replace(SOURCE, source="").credits == ()
