"""The part-of-speech reading of headlines: verbs, cut-offs, word salad, names and common words.

These are the verdicts the gate's headline rules and the offline engine share (``_grammar``),
on made-up headlines in house title case.
"""

from __future__ import annotations

import pytest
from textblob._text import find_tags

from pipeline.summarize import _grammar as g


def _verdicts(headline: str, context: str = "") -> tuple[bool, str, str]:
    toks = g.tag(headline)
    return g.has_verb(toks), g.cut_off(toks, context), g.word_salad(toks)


@pytest.mark.parametrize(
    "headline",
    [
        "Fernhill Robotics Opens Its First Factory in Sheffield",
        "Fernhill Robotics Will Try to Double Its Staff of Engineers",
        "Divorce Ends the Marriage of Two Robot Makers",  # a plural noun read as the verb
        "She Hands Her Engineers an Award",  # a noun after a subject pronoun is a verb
        "Two Screeners Have Been Fired",  # a passive
        "Singer Dies at 88",  # an age, not a bare number
        "Robot Sales Have Doubled Since May 2014",  # a year after a month
        "Fowler Hit Back",  # a particle, not a preposition
        "He Doesn't Plan To",  # "to" after a verb
        "From Sheffield to Shanghai, a Robot Boom",  # the one verbless frame headlines use
        "Fernhill Opens a Factory. By Night, Its Robots Keep Working.",  # two sentences
        "Fernhill Hires Nadia Okonjo, Who Left Google Last Year",  # a whole clause, then an aside
    ],
)
def test_good_headlines_read_as_english(headline: str) -> None:
    assert _verdicts(headline) == (True, "", "")


@pytest.mark.parametrize(
    ("headline", "word"),
    [
        ("Fernhill Robotics Opens Its First Factory in Sheffield, Creating a", "'a'"),
        ("Fernhill Robotics Opens Its First Factory in Sheffield With the", "'the'"),
        ("Fernhill Robotics Opens Its First Factory in Sheffield With", "'With'"),
        ("Fernhill Robotics Opens Its First Factory and", "'and'"),
        ("Fernhill Robotics' New Plant Has Been Declared a 3,000", "'3,000'"),
        ("Fernhill Robotics Hires an Engineer Who", "'Who'"),
        ("Grocers Buy More Robots Than Ever Before, and He", "'He'"),
        ("Fernhill Robotics Opens Its First Factory,", "','"),
        # the aside held off the verb of "when Nadia Okonjo": the cut lost it
        ("Work Stopped When Nadia Okonjo, Who Got a New Job in 2019", "'Who'"),
        ("Analysts Said That the Plant, Which Opened in May", "'Which'"),
        ("The Plant Has Not Only Helped the City", "'but'"),
    ],
)
def test_cut_off_headlines_name_the_word_they_stop_on(headline: str, word: str) -> None:
    why = g.cut_off(g.tag(headline))
    assert why and word in why


def test_a_number_the_story_gives_a_unit_is_cut_off_when_the_headline_stops_at_it() -> None:
    toks = g.tag("Fernhill Robotics Raises $22")
    assert "bare number" in g.cut_off(toks, "Per Ledger Weekly, it raised $22 million in March.")
    assert g.cut_off(g.tag("Fernhill Robotics Opens Its First Factory in 2027")) == ""  # a year


@pytest.mark.parametrize(
    ("headline", "why"),
    [
        ("Vasquez Told His Flight School in 2009", "what 'Told' reported"),
        ("The Founder of Fernhill Robotics Had Been Diagnosed", "'Diagnosed', which needs"),
        ("Engineers Work Double Shifts to Put Food", "where 'Put' puts it"),
        ("The Board Memo States Damningly", "who said it"),
        ("Robot Sales Began to Slow When Fernhill's Chief Engineer", "'When' clause"),
        ("Fernhill Believes That the New Plant in Sheffield", "'That' clause"),
    ],
)
def test_a_headline_that_lost_what_its_verb_needs_is_cut_off(headline: str, why: str) -> None:
    assert why in g.cut_off(g.tag(headline))


@pytest.mark.parametrize(
    "headline",
    [
        "Fernhill Told to Close Its Sheffield Plant",  # told to do: the content is there
        "The Robots Fernhill Built Were Put on Display",  # put somewhere
        "Sales Rose When the New Plant Opened",  # the 'when' clause has its verb
        "Fernhill Says That the Plant Will Close",
        "Fernhill Bought That Plant in Sheffield",  # "that" as a determiner
        "Robot Exports to the US Are Over",  # "US" in capitals is a name, not "us"
        "The Plant’s Robots Work Through the Night",  # a curly possessive is no verb
    ],
)
def test_complete_headlines_are_not_cut_off(headline: str) -> None:
    toks = g.tag(headline)
    assert (g.cut_off(toks), g.no_main_clause(toks), g.word_salad(toks)) == ("", "", "")


@pytest.mark.parametrize(
    ("headline", "fragment"),
    [
        ("A Robot Engineer From Sheffield Who Loves to Dance", True),
        ("Even for Those Who Did Not Work at the Plant", True),
        ("The Plant – Designed by the Fernhill Engineering Team", True),
        ("The Engineer Who Built the Robot Retires at 70", False),
        ("Workers Who Built the Robots Get a Bonus", False),
        ("Engineers Who Trained in Sheffield Return Home", False),  # "Return" read as a noun
    ],
)
def test_a_headline_whose_only_verb_is_in_an_aside_has_no_main_clause(
    headline: str, fragment: bool
) -> None:
    assert bool(g.no_main_clause(g.tag(headline))) is fragment


def test_verbless_headlines() -> None:
    for headline in (
        "Fernhill Robotics and Its First Factory in Sheffield",
        "The Frozen Robot Case",  # a participle used as an adjective
        "Sheffield: A Factory, 240 Jobs and a Lot of Robots",
    ):
        assert not g.has_verb(g.tag(headline)), headline


@pytest.mark.parametrize(
    "headline",
    [
        "If's Nigel Ll Vote Ukip According Survey Tory Called Charlotte Labour Andy",
        "Sheffield Factory Robots Okonjo Grocers Demand Doubled Larchmont Capital Jobs",
        "She Grandmother Opens a Factory",  # a pronoun with no verb after it
        "Fernhill Hires a Prosecutors",  # a singular article before a plural noun
        # (not "a Prosecutors Team": a plural noun may qualify the next, as in "a Jobs Report")
        "Online the Robots Factory",  # a noun, then an article, with no verb between
        "Robots Will the Factory Open",  # a modal before an article
    ],
)
def test_word_salad_is_named(headline: str) -> None:
    assert g.word_salad(g.tag(headline)), headline


def test_common_words_and_names() -> None:
    assert g.is_common_word("Pushes") and g.is_common_word("hasn't")
    assert g.is_common_word("Higher") and g.is_common_word("Race")
    assert not g.is_common_word("Okonjo") and not g.is_common_word("Fernhill")
    assert g.is_name_like("Okonjo") and g.is_name_like("German")  # always capitalised
    assert not g.is_name_like("Factory") and not g.is_name_like("okonjo")
    assert g.can_be_verb("hand") and g.can_be_verb("opens") and not g.can_be_verb("grandmother")


def test_tokens_keep_abbreviations_names_and_numbers_whole() -> None:
    assert g.tokens("U.S. Mr. Okonjo doesn't fear O'Brien or Acton-Smith's $2.3bn 1990s.") == [
        "U.S.",
        "Mr.",
        "Okonjo",
        "does",
        "n't",
        "fear",
        "O'Brien",
        "or",
        "Acton-Smith",
        "'s",
        "$2.3bn",
        "1990s",
        ".",
    ]
    assert len(g.tokens("word " * 5000)) <= 80  # tagging is for headlines, never articles


def test_title_case_words_are_looked_up_in_lower_case() -> None:
    # a lexicon tagger reads a title-case line as a string of names without this
    tags = dict((t.text, t.tag) for t in g.tag("Fernhill Robotics Opens Its First Factory"))
    assert tags["Opens"] == "VBZ" and tags["Factory"] == "NN"
    # a name the source uses keeps its capital reading ("Mark" the man, not the noun)
    assert g.tag("Mark Opens a Factory in Sheffield")[0].tag == "NN"
    assert g.tag("Mark Opens a Factory in Sheffield", {"Mark"})[0].tag == "NNP"


@pytest.mark.parametrize(
    "sentence",
    [
        "The board said Okonjo would focus on expanding the chain's online delivery service .",
        "Fernhill plans to hire engineers from local universities , the company said .",
        "She Hands Her Engineers an Award",
        "Rivals in Germany and Japan have also expanded their factories this year .",
    ],
)
def test_context_rules_give_the_same_tags_as_the_library(sentence: str) -> None:
    lexicon = g._lexicon()
    words = g.tokens(sentence)
    common = {"lexicon": lexicon, "morphology": lexicon.morphology, "language": "en"}
    default = ("NN", "NNP", "CD")
    library = find_tags(list(words), context=lexicon.context, default=default, **common)
    ours = g.apply_context(find_tags(list(words), default=default, **common))
    assert [list(t) for t in ours] == [list(t) for t in library]


def test_a_report_in_headlinese_is_no_word_salad() -> None:
    # an outlet's title: two finite verbs, the first one reporting the second's clause
    assert g.word_salad(g.tag("Harbor Foods Says Early Holiday Sales Rose 9%")) == ""
    # ...but a slug of a link's words still is
    assert g.word_salad(
        g.tag("Greece Denies Fail Pay Multi Million Pound Loan IMF Reports Drawing")
    )


def test_words_of_any_script_stay_whole() -> None:
    # "Jörg" once came out as "J", "ö", "rg": a section header read "The Ö Rg Angle"
    toks = g.tokens("Jörg Düsterwald painted José and Bjørn in Brüllsen, Germany.")
    assert toks[:5] == ["Jörg", "Düsterwald", "painted", "José", "and"]
    assert "Bjørn" in toks and "Brüllsen" in toks
