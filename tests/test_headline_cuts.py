"""Where the offline engine may cut a lead sentence into a headline: only where what is
left is a whole clause with its own verb and what the verb needs (made-up sentences)."""

from __future__ import annotations

import pytest

from pipeline.models import Article
from pipeline.summarize import load_house_style
from pipeline.summarize._extractive import _compress, _slug, _Writer


def _cuts(sentence: str) -> list[str]:
    text = (
        f"{sentence} Officials gave no further details on Monday. The review continues this "
        "month, according to people familiar with it."
    )
    writer = _Writer(
        Article(id="t", title="slug words here", text=text, source="Ledger"), load_house_style()
    )
    return [c.strip() for strict in (True, False) for c in writer._clause_cuts(sentence, strict)]


@pytest.mark.parametrize(
    ("sentence", "broken"),
    [
        # a span of time goes with what it measures from
        (
            "The cost of a divorce can wreck a pension many years after the break-up of the "
            "marriage.",
            "The cost of a divorce can wreck a pension many years",
        ),
        # "as" after a verb is its complement, not a clause
        (
            "The new rule bans what it describes as reckless lending and sets a cap on fees.",
            "The new rule bans what it describes",
        ),
        # the finding of a reporting verb is not cut away
        (
            "A survey carried out by the Halden Institute found the number of people who "
            "rent their homes rose to a record last year.",
            "A survey carried out by the Halden Institute found the number of people",
        ),
        # a subject with a participle is not a clause: its verb comes later
        (
            "A former bank clerk accused of taking money from the accounts of elderly "
            "customers took a plea deal on Wednesday.",
            "A former bank clerk accused of taking money",
        ),
        # an opening phrase without the clause it leads into
        (
            "Like the famous scene from the old comedy involving a lamppost and a tongue, the "
            "dog became stuck to the frozen gate.",
            "Like the famous scene from the old comedy involving a lamppost and a tongue",
        ),
        # what someone told someone is not cut off at the comma before it
        (
            "Mr Harlan told the committee last week, after his son vanished abroad, that he "
            "could think of nothing to explain it.",
            "Mr Harlan told the committee last week, after his son vanished abroad",
        ),
    ],
)
def test_a_cut_never_leaves_a_clause_without_what_it_needs(sentence: str, broken: str) -> None:
    assert broken not in _cuts(sentence)


def test_a_clause_before_its_time_span_or_a_second_clause_stands() -> None:
    assert "Lord Fenwick signed a letter saying he wanted to keep his seat" in _cuts(
        "Lord Fenwick signed a letter saying he wanted to keep his seat just a week before he "
        "was ruled unfit to attend."
    )
    assert "Of the 40 cases reported in March, nine were only confirmed after a test" in _cuts(
        "Of the 40 cases reported in March, nine were only confirmed after a test and there "
        "were reports of many more."
    )
    # a clause "as" opens (after an "-ing" word) may still be cut away
    assert "A Leeds man is in stable condition and improving" in _cuts(
        "A Leeds man is in stable condition and improving as his two sons remain in hospital "
        "after a fall."
    )


def test_a_relative_clause_before_a_number_is_no_aside() -> None:
    # ", which ..., 11.9 million, and ..." is a list: dropping the clause would join a name
    # to a number
    text = (
        "The top performer was Southwest, which offered the most award tickets, 11.9 million, "
        "and the most seats."
    )
    assert "Southwest 11.9 million" not in _compress(text)
    # the usual aside still goes
    assert _compress("The firm, which was founded in 1990, said profits rose.") == (
        "The firm said profits rose."
    )


def test_a_dek_is_one_whole_sentence_of_our_own() -> None:
    writer = _Writer(
        Article(id="t", title="slug", text="Prices rose on Monday, traders said.", source="X"),
        load_house_style(),
    )
    good = "Fernhill Robotics opened its first factory in Sheffield on Tuesday, hiring 300 people."
    assert writer._dek_ok(good)
    # a cut that leaves a quotation open, a speaker's quotation ending on its mark, a main
    # clause that opens on a pronoun
    assert not writer._dek_ok("The chief executive said the plant was ‘the best in the north and")
    assert not writer._dek_ok(
        "Alexandra Moss said: ‘The plant will build three thousand robots every single year.’"
    )
    assert not writer._dek_ok(
        "He opened the first factory of the company in Sheffield on Tuesday, hiring 300 people."
    )


def test_a_phrase_a_participle_opens_is_not_cut_inside() -> None:
    cuts = _cuts(
        "Mayor Dana Reyes quickly issued an apology on Friday, blaming the delay on a "
        "shortage of drivers and promising a review."
    )
    assert "Mayor Dana Reyes quickly issued an apology on Friday, blaming the delay" not in cuts
    assert "Mayor Dana Reyes quickly issued an apology on Friday" in cuts


def test_a_relative_clause_without_a_verb_is_no_aside() -> None:
    # the commas of ", whose wife, Dana Reyes, is" set off a name: nothing to drop
    text = '"I would not have made it," said Lane, whose wife, Dana Reyes, is also a member.'
    assert _compress(text) == text
    assert _compress("The mayor, who lives in Leeds, opened the bridge.") == (
        "The mayor opened the bridge."
    )


def test_a_noun_keeps_the_phrase_it_needs() -> None:
    cuts = _cuts(
        "The mayor this morning launched a furious attack on council members over the late "
        "budget and the closed libraries."
    )
    assert "The mayor this morning launched a furious attack" not in cuts


def test_a_report_puts_the_news_first_and_its_source_after() -> None:
    cuts = _cuts(
        "Harbor Foods said on Friday that sales in the week up to Thanksgiving rose 9% from a "
        "year earlier, a strong start to the season."
    )
    assert (
        "Sales in the week up to Thanksgiving rose 9% from a year earlier, Harbor Foods Says"
        in (cuts)
    )
    # "He said that ...": no source a reader could place
    assert not [
        c for c in _cuts("He said on Friday that sales rose 9% in the week.") if "Says" in c
    ]


def test_a_title_in_title_case_is_no_slug() -> None:
    assert not _slug("Harbor Foods Says Early Holiday Sales Rose 9%")
    assert _slug("Harbor Foods set confirmed permanent Leeds store manager")


def test_a_headline_leads_with_the_news_not_the_date() -> None:
    text = (
        "On May 28, 2014, some 7,000 people gathered in a stadium in the northern Halden "
        "region, where a mass trial of prisoners was held. The authorities paraded scores of "
        "prisoners in orange jumpsuits. Armed soldiers guarded the exits, according to "
        "witnesses. In the trial that followed, 55 people were found guilty and jailed. Rights "
        "groups called the trial unfair and said the sentences were a political show."
    )
    writer = _Writer(
        Article(id="t", title="slug words here", text=text, source="Ledger"), load_house_style()
    )
    story = writer.compose()
    assert not story.headline.startswith("On May 28"), story.headline
    assert "7,000 People Gathered" in story.headline, story.headline
