"""The gate (``check_story``): it accepts good writing and catches each kind of bad writing.

One made-up article about a robot maker and a story in the house style that passes with no
finding. Each case changes one part of that story (and, for the good-writing cases, adds one
short made-up sentence to the source), then asks the gate: no finding for good writing, an error
with the rule meant for it for bad writing.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from pipeline.models import Article, Finding, SourceRef, StorySummary
from pipeline.summarize import check_story, check_style, load_house_style
from pipeline.summarize._source import read_source

STYLE = load_house_style()
TEXT = (
    "Fernhill Robotics, a maker of warehouse robots, opened its first factory in Sheffield on "
    "Tuesday, creating 240 jobs. The company said the plant would build 3,000 robots a year by "
    "2027. Chief executive Nadia Okonjo said demand from grocers had doubled since March. "
    '"We are running to keep up with orders from every supermarket chain," Okonjo said at the '
    "opening. Investors led by Larchmont Capital put $7.5 million into the company last year. "
    "Fernhill plans to hire engineers from local universities, the company said. Rivals in "
    "Germany and Japan have also expanded their factories this year. Okonjo said the company "
    "would consider a second site if orders kept growing."
)
ARTICLE = Article(
    id="fern",
    title="Fernhill Robotics opens its first factory in Sheffield",
    text=TEXT,
    source="Ledger Weekly",
)
GOOD = StorySummary(
    id="fern",
    headline="Fernhill Robotics Opens Its First Factory in Sheffield, Creating 240 Jobs",
    dek="Fernhill Robotics opened its first factory in Sheffield on Tuesday, a plant that will "
    "build 3,000 warehouse robots a year by 2027.",
    hook="Warehouse robots are having a busy year, and one maker in Sheffield just bet on a "
    "factory of its own.",
    nut_graf="According to Ledger Weekly, the new plant is a wager that grocers will keep buying "
    "robots, with the chief executive saying their demand has doubled since March.",
    section="The Factory Picture",
    context="Investors led by Larchmont Capital put $7.5 million into the company last year, "
    "while rivals in Germany and Japan have also expanded their factories.",
    lead_in="The details, per Ledger Weekly:",
    bullets=(
        "Per Ledger Weekly, Fernhill plans to hire engineers from local universities to staff the "
        "new plant, the company said.",
        'Chief executive Nadia Okonjo said at the opening: "We are running to keep up with orders '
        'from every supermarket chain."',
    ),
    kicker_label="What Comes Next:",
    kicker="Okonjo said the company would consider a second site if orders kept growing, which "
    "makes the next grocer contract worth watching.",
    sources=(SourceRef("Ledger Weekly"),),
)
B0, B1 = GOOD.bullets


def _check(source: str = "", **change: object) -> StorySummary:
    """The gate's verdict on GOOD with ``change``, the article text extended by ``source``."""
    article = replace(ARTICLE, text=f"{TEXT} {source}".strip())
    return check_story(replace(GOOD, **change), article, STYLE)  # type: ignore[arg-type]


def _all(story: StorySummary) -> list[Finding]:
    return [*story.style, *story.facts]


def _messages(story: StorySummary) -> list[str]:
    return [f"{f.severity} {f.rule} {f.part}: {f.message}" for f in _all(story)]


def _errors(story: StorySummary) -> set[tuple[str, str]]:
    return {(f.rule, f.part) for f in story.errors}


def test_the_good_story_passes_with_no_finding() -> None:
    checked = _check()
    assert _all(checked) == [], _messages(checked)
    assert not checked.flagged


# -- good writing passes ------------------------------------------------------------------

ACTON = (
    "Michael Acton-Smith, founder of MindCandy, said robot toys were the next big market for "
    "engineers."
)
ACCEPTED = {
    "name with a possessive company before it": (
        ACTON,
        "MindCandy's Michael Acton-Smith said robot toys were the next big market for engineers, "
        "a view Okonjo shares.",
    ),
    "hyphenated surname alone": (
        ACTON,
        "Per Ledger Weekly, Acton-Smith said robot toys were the next big market for engineers "
        "like those Fernhill hires.",
    ),
    "hyphenated surname as the subject": (
        ACTON,
        "Acton-Smith, who founded MindCandy, said robot toys were the next big market for "
        "engineers like those Fernhill hires.",
    ),
    "a name the source writes in capitals": (
        "Analysts at SHEFFIELD HALLAM said robots would create more jobs in the city.",
        "Analysts at Sheffield Hallam said robots would create more jobs in the city, which the "
        "new Fernhill plant is starting to show.",
    ),
    "a surname with a title": (
        "",
        "Ms Okonjo said demand from grocers had doubled since March, which is why the company "
        "built in Sheffield.",
    ),
    "hyphenated compound the source writes open": (
        "The company also hired Mandarin speaking sales staff for an office in Shanghai.",
        "Per Ledger Weekly, the company also hired Mandarin-speaking sales staff for an office in "
        "Shanghai to win new orders.",
    ),
    "range in per cent written with % signs": (
        "Its share of the British market rose from 16 to 31 per cent in two years.",
        "Per Ledger Weekly, the company's share of the British market rose from 16% to 31% in "
        "two years, as grocers automated.",
    ),
    "$7.5million for $7.5 million": (
        "",
        "Per Ledger Weekly, the grocers' favourite supplier took $7.5million from investors led "
        "by Larchmont Capital before it built the plant.",
    ),
    "$9.5 million for $9.5million": (
        "A further $9.5million came from a government grant.",
        "Per Ledger Weekly, a further $9.5 million came from a government grant, on top of the "
        "money investors put in last year.",
    ),
    "2.3bn for 2.3 billion": (
        "British grocers spent 2.3 billion pounds on automation last year.",
        "Per Ledger Weekly, British grocers spent 2.3bn pounds on automation last year, and "
        "Fernhill wants a larger share of that money.",
    ),
    "2.3 billion for 2.3bn": (
        "British grocers spent 2.3bn pounds on automation last year.",
        "Per Ledger Weekly, British grocers spent 2.3 billion pounds on automation last year, and "
        "Fernhill wants a larger share of that money.",
    ),
    "16% for 16 per cent": (
        "Robots now pick 16 per cent of grocery orders in Britain.",
        "Per Ledger Weekly, robots now pick 16% of grocery orders in Britain, and Fernhill "
        "expects that share to keep climbing.",
    ),
    "attribution by a poll that found": (
        "A YouGov poll of 1,600 adults found that most shoppers did not mind robots packing "
        "their groceries.",
        "The YouGov poll of 1,600 adults found that most shoppers did not mind robots packing "
        "their groceries, which helps the grocers.",
    ),
    "attribution by analysts who estimate": (
        "Analysts at Larchmont Capital estimate the market for warehouse robots will double by "
        "2027.",
        "Analysts estimate the market for warehouse robots will double by 2027, which would give "
        "Fernhill room to grow its new plant.",
    ),
    "attribution by a report that shows": (
        "A report by the Sheffield Chamber of Commerce shows factory jobs in the city rose last "
        "year.",
        "The report shows factory jobs in Sheffield rose last year, and the new plant adds to "
        "that count for the Chamber of Commerce.",
    ),
    "a quoted number in single marks": (
        "Robots on the line carry a big number '3' on their side.",
        "Per Ledger Weekly, robots on the line carry a big number '3' on their side, so pickers "
        "can tell the new models apart.",
    ),
    "rock 'n' roll and an abbreviation's possessive": (
        "Fernhill Robotics Co.'s robots played rock 'n' roll at the opening.",
        "Per Ledger Weekly, Fernhill Robotics Co.'s robots played rock 'n' roll at the opening, "
        "a stunt the grocers filmed.",
    ),
    "a speaker named right before the verb of saying": (
        "Analyst Tom Brown argued that robots would create jobs in Sheffield. Okonjo is 54.",
        "Brown argued that robots would create jobs in Sheffield, and Okonjo, 54, said the "
        "plant proves it.",
    ),
    "a capital after Per X for a compound on a name": (
        "Sheffield-born Nadia Okonjo trained as an engineer in Leeds.",
        "Per Ledger Weekly, Sheffield-born Nadia Okonjo trained as an engineer in Leeds before "
        "she founded the robot maker.",
    ),
    "a capital after Per X for a name": (
        "President Bush visited the plant in March.",
        "Per Ledger Weekly, President Bush visited the plant in March, when chief executive Nadia "
        "Okonjo showed him the first robots off the line.",
    ),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_good_writing_passes_the_gate(case: str) -> None:
    source, bullet = ACCEPTED[case]
    checked = _check(source, bullets=(B0, bullet))
    assert _all(checked) == [], _messages(checked)


@pytest.mark.parametrize(
    "hook",
    [
        "This year warehouse robots are having a busy run, and one maker in Sheffield just bet "
        "on a factory of its own.",  # a demonstrative before a time word points nowhere
        "It is unclear whether grocers will keep buying warehouse robots, but one maker in "
        "Sheffield just bet on a factory.",  # an expletive "it"
        "When Nadia Okonjo opened the plant on Tuesday, she said grocers would keep buying "
        "warehouse robots.",  # the opening phrase names her
    ],
)
def test_openings_that_point_nowhere_pass(hook: str) -> None:
    checked = _check(hook=hook)
    assert _all(checked) == [], _messages(checked)


def test_per_cnn_then_a_name_keeps_its_capital() -> None:
    names = read_source("", "President Bush spoke to CNN reporters on Monday.").names
    story = replace(GOOD, bullets=(B0, "Per CNN, President Bush spoke to reporters on Monday."))
    assert not any(f.rule == "attribution-lower-case" for f in check_style(story, STYLE, names))


def test_a_pop_culture_name_in_the_hook_is_a_warning_not_an_error() -> None:
    checked = _check(
        hook="Call it the Jay Gatsby school of factory openings: one maker in Sheffield just bet "
        "on warehouse robots."
    )
    assert checked.errors == (), _messages(checked)
    assert [(f.rule, f.part, f.severity, f.text) for f in _all(checked)] == [
        ("fact-name", "hook", "warning", "Jay Gatsby")
    ]
    assert checked.flagged  # the editor looks, the story is not blocked


# -- bad writing is caught, each by its rule ----------------------------------------------


def _caught(expected: tuple[str, str], source: str = "", **change: object) -> None:
    checked = _check(source, **change)
    assert expected in _errors(checked), _messages(checked)


def test_headline_word_salad() -> None:
    _caught(
        ("headline-not-word-salad", "headline"),
        headline="If's Nigel Ll Vote Ukip According Survey Tory Called Charlotte Labour Andy",
    )
    _caught(
        ("headline-not-word-salad", "headline"),
        headline="Sheffield Factory Robots Okonjo Grocers Demand Doubled Larchmont Capital Jobs",
    )


@pytest.mark.parametrize(
    "headline",
    [
        "Fernhill Robotics Opens Its First Factory in Sheffield, Creating a",  # article
        "Fernhill Robotics Opens Its First Factory in Sheffield and Hires the",  # article
        "Fernhill Robotics Opens Its First Factory in Sheffield With",  # preposition
        "Fernhill Robotics Opens Its First Factory in Sheffield, Creating Jobs and",  # conjunction
        "Fernhill Robotics' New Sheffield Plant Has Been Declared a 3,000",  # bare number
    ],
)
def test_headline_cut_off(headline: str) -> None:
    _caught(("headline-not-cut-off", "headline"), headline=headline)


def test_headline_without_a_verb() -> None:
    _caught(
        ("headline-has-verb", "headline"),
        headline="Fernhill Robotics and Its First Factory in Sheffield, With 240 Jobs",
    )


REPEAT = "Fernhill plans to hire engineers from local universities to staff the new plant"


@pytest.mark.parametrize(
    "change",
    [
        {"dek": f"{REPEAT}, the company said."},  # exact
        {
            "dek": "Fernhill plans to hire engineers from universities to staff its new plant, "
            "the company says."
        },  # near: two words dropped, two changed
        {
            "nut_graf": f"According to Ledger Weekly, {REPEAT[0].lower()}{REPEAT[1:]}, the company "
            "said."
        },
        {
            "nut_graf": "According to Ledger Weekly, Fernhill plans to hire engineers from "
            "universities to staff its new plant, the company says."
        },
    ],
)
def test_dek_or_nut_graf_repeating_a_bullet(change: dict[str, str]) -> None:
    checked = _check(**change)
    repeats = [f for f in checked.errors if f.rule == "no-repeat"]
    assert repeats and repeats[0].part == "bullets[0]", _messages(checked)
    assert next(iter(change)) in repeats[0].message


@pytest.mark.parametrize(
    "twin",
    [
        B0,
        "Per Ledger Weekly, Fernhill plans to hire engineers from universities to staff its new "
        "plant, the company says.",
    ],
)
def test_duplicate_bullets(twin: str) -> None:
    _caught(("no-repeat", "bullets[1]"), bullets=(B0, twin))


@pytest.mark.parametrize(
    ("part", "text"),
    [
        (
            "kicker",
            "He said the company would consider a second site if orders kept growing, which "
            "makes the next contract worth watching.",
        ),
        (
            "hook",
            "But warehouse robots are having a busy year, and one maker in Sheffield just bet on "
            "a factory of its own.",
        ),
        (
            "dek",
            "They opened the first factory in Sheffield on Tuesday, a plant that will build 3,000 "
            "warehouse robots a year by 2027.",
        ),
        (
            "context",
            "However, investors led by Larchmont Capital put $7.5 million into the company last "
            "year, and rivals have also expanded their factories.",
        ),
        (
            "dek",
            "After three months of planning, they opened the first factory in Sheffield, a "
            "plant that will build 3,000 robots a year.",
        ),
        (
            "context",
            "Here, investors led by Larchmont Capital put $7.5 million into the company last "
            "year, and rivals have also expanded.",
        ),
    ],
)
def test_a_part_opening_on_an_orphan_pronoun_or_conjunction(part: str, text: str) -> None:
    _caught(("no-orphan-opening", part), **{part: text})


QUOTE = "We are running to keep up with orders from every supermarket chain."


@pytest.mark.parametrize(
    "bullet",
    [
        f'Chief executive Nadia Okonjo said at the opening: "{QUOTE}',  # double, never closed
        f"Chief executive Nadia Okonjo said at the opening: '{QUOTE}",  # single, never closed
        f"Chief executive Nadia Okonjo said at the opening: ‘{QUOTE}",  # curly single
        f"Chief executive Nadia Okonjo said at the opening: {QUOTE}’",  # closed, never opened
        f"Chief executive Nadia Okonjo said at the opening: “{QUOTE}",  # curly double
        # an abbreviation's possessive opens nothing, so the mark at the end closes nothing
        f"Chief executive Nadia Okonjo of Fernhill Robotics Co.'s board said: {QUOTE}'",
    ],
)
def test_unbalanced_quotation_marks(bullet: str) -> None:
    _caught(("quotes-balanced", "bullets[1]"), bullets=(B0, bullet))


def test_a_capital_after_the_attribution_prefix() -> None:
    _caught(
        ("attribution-lower-case", "bullets[1]"),
        bullets=(
            B0,
            "Per the Daily Mail, A meat trader from Sheffield was among the first customers to "
            "order robots from the new plant.",
        ),
    )


@pytest.mark.parametrize(
    ("part", "text"),
    [
        ("bullets", (B0, f"{B1} Pictured: Nadia Okonjo at the new factory.")),
        (
            "context",
            "Remanded: Investors led by Larchmont Capital put $7.5 million into the company last "
            "year, while rivals in Germany and Japan expanded.",
        ),
        ("bullets", (B0, B1.replace("Nadia Okonjo said", "Nadia Okonjo (pictured) said"))),
        (
            "context",
            "Nadia Okonjo at the Sheffield plant on Tuesday The company said the plant would build "
            "robots for grocers, and rivals in Germany and Japan have also expanded.",
        ),  # a caption run into the next sentence without a full stop
    ],
)
def test_photo_captions_fused_into_the_text(part: str, text: object) -> None:
    where = "bullets[1]" if part == "bullets" else part
    _caught(("no-photo-caption", where), **{part: text})


@pytest.mark.parametrize(
    "hook",
    [
        QUOTE,  # the speaker's words as ours: no marks, no speaker
        "The company is running to keep up with orders from every supermarket chain in Sheffield.",
    ],
)
def test_a_source_quotation_presented_as_our_own_words(hook: str) -> None:
    _caught(("fact-quote-unmarked", "hook"), hook=hook)
    # with its marks and its speaker the same words are fine
    marked = _check(hook=f'"{QUOTE[:-1]}," Okonjo said of the busy year.')
    assert not any(f.rule.startswith("fact-quote") for f in _all(marked)), _messages(marked)


def test_an_unsupported_number() -> None:
    _caught(
        ("fact-number", "kicker"),
        kicker="Okonjo said the company would consider a second site if orders kept growing past "
        "5,000 robots a year.",
    )


@pytest.mark.parametrize(
    "kicker",
    [
        "Okonjo said the company would consider a second site if orders kept growing and its "
        "staff reached 3,000 people.",  # 3,000 is robots a year in the source
        "Okonjo said the company would consider a second site if orders kept growing and its "
        "payroll reached 240 engineers.",  # 240 is jobs at the factory in the source
    ],
)
def test_a_source_number_in_another_context(kicker: str) -> None:
    checked = _check(kicker=kicker)
    (finding,) = [f for f in checked.errors if f.rule == "fact-number"]
    assert finding.part == "kicker" and "not with the words around it" in finding.message


def test_an_unsupported_name() -> None:
    checked = _check(
        bullets=(
            B0,
            "Chief executive Nadia Okonjo said demand had doubled since March, and analyst "
            "Harriet Quillon agreed at the opening.",
        )
    )
    assert ("fact-name", "bullets[1]", "Harriet Quillon") in {
        (f.rule, f.part, f.text) for f in checked.errors
    }
    _caught(
        ("fact-name", "headline"),
        headline="Fernhill Robotics Opens Its First Factory in Sheffield, Beating Zorbax",
    )


def test_an_unsupported_quotation() -> None:
    _caught(
        ("fact-quote", "bullets[1]"),
        bullets=(
            B0,
            "Chief executive Nadia Okonjo said at the opening that the plant was "
            '"a turning point for the whole city" and its grocers.',
        ),
    )


# -- gaps: bad writing the gate lets through (each fails until the gate catches it) ---------


def test_headline_whose_only_verb_is_in_a_relative_clause_has_no_verb() -> None:
    # "X, Who Is Doing Y" names someone and says nothing about them: no main verb
    _caught(
        ("headline-main-clause", "headline"),
        headline="Fernhill Robotics Chief Nadia Okonjo, Who Is Opening a Factory in Sheffield",
    )


def test_headline_of_slug_keywords_with_a_stray_function_word_is_word_salad() -> None:
    _caught(
        ("headline-not-word-salad", "headline"),
        headline="Why Grocer Robots Cost Old Shop Worker Never Expect Factory Income 240 "
        "Higher Has",
    )


def test_headline_sentence_cut_off_on_a_number_before_its_full_stop() -> None:
    # the same cut as "... Has Been Declared a 3,000", in the first of two sentences
    _caught(
        ("headline-not-cut-off", "headline"),
        headline="Fernhill's Sheffield Plant Has Been Declared a 3,000. Grocers Want More Robots",
    )


def test_headline_second_sentence_opens_with_a_capital() -> None:
    # a small word opening a sentence is not "inside the line": it takes its capital
    _caught(
        ("headline-title-case", "headline"),
        headline="Fernhill Robotics Opens Its First Factory. the Jobs Go to Sheffield",
    )


def test_first_person_me_in_our_voice() -> None:
    _caught(
        ("no-first-person", "kicker"),
        kicker="Okonjo told me the company would consider a second site if orders kept growing "
        "this year.",
    )


def test_headline_of_seven_keywords_is_caught() -> None:
    # no article, preposition or auxiliary, and "Broken" is no verb before a noun here
    checked = _check(headline="Fernhill Sheffield Factory Broken Pledge Nadia Okonjo")
    assert _errors(checked) & {
        ("headline-not-word-salad", "headline"),
        ("headline-has-verb", "headline"),
    }, _messages(checked)


def test_a_possessive_before_a_plural_object_is_not_word_salad() -> None:
    # good English the gate refuses: "Her Engineers" read as a determiner before a verb
    checked = _check(
        headline="Fernhill's Chief Hands Her Engineers an Award for the Sheffield Factory"
    )
    assert _all(checked) == [], _messages(checked)


def test_a_dek_may_end_on_a_quoted_term_with_its_full_stop_inside() -> None:
    checked = _check(
        "The plant is known locally as the robot works.",
        dek="Fernhill Robotics opened its first factory in Sheffield on Tuesday, a plant "
        'known locally as the "robot works."',
    )
    assert _all(checked) == [], _messages(checked)


def test_a_common_word_capitalised_only_at_its_sentence_start_is_no_name() -> None:
    # "Track" opens a source sentence; the source never writes it with a capital mid-sentence
    checked = _check(
        "Track officials wanted someone with a link to the city.",
        bullets=(
            B0,
            "Per Ledger Weekly, Track officials wanted someone with a link to the city, so "
            "Okonjo was asked to open the new plant.",
        ),
    )
    assert ("attribution-lower-case", "bullets[1]") in _errors(checked), _messages(checked)


def test_an_invented_name_in_any_script_is_caught() -> None:
    bullet = (
        "Per Ledger Weekly, engineer Jörg Müller designed the robots that Fernhill will build "
        "in Sheffield."
    )
    assert ("fact-name", "bullets[1]") in _errors(_check(bullets=(B0, bullet)))
    known = _check("Engineer Jörg Müller designed the robots.", bullets=(B0, bullet))
    assert _all(known) == [], _messages(known)
