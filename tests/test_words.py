"""Words as clustering and the summarizer compare them: one stop-word list, one stemmer."""

from __future__ import annotations

from pipeline.cluster import similarity
from pipeline.models import Item
from pipeline.words import NEWS_WORDS, STOPWORDS, content_words, stem


def test_the_stemmer_takes_one_ending_off_and_leaves_three_letters() -> None:
    assert [stem(w) for w in ("operators", "taxes", "companies", "buying", "shipped")] == [
        "operator",
        "tax",
        "compan",
        "buy",
        "shipp",
    ]
    assert [stem(w) for w in ("bus", "ties", "sing", "red", "news")] == [
        "bus",
        "tie",
        "sing",
        "red",
        "new",
    ]


def test_content_words_are_stemmed_and_drop_stop_words_one_letters_and_possessives() -> None:
    text = "The operators' chief said Northwind's 2 new plants were buying robots, a U.S. first"
    assert content_words(text) == (
        "operator",
        "chief",
        "northwind",
        "plant",
        "buy",
        "robot",
    )
    assert {"the", "said", "new", "first"} <= STOPWORDS
    assert not NEWS_WORDS & STOPWORDS  # the summarizer keeps days and "percent"


def _item(title: str, text: str = "") -> Item:
    return Item(id=title, source="s", origin="o", title=title, text=text)


def test_clustering_reads_words_through_the_same_stems_and_stop_words() -> None:
    # plural and singular, stop words and the day of the week make no difference
    same = similarity(
        _item("Northwind buys Quarry operators", "The deal closed on Monday, up 4 percent."),
        _item("Northwind buy Quarry operator", "Deal closed Friday, 4 per cent"),
    )
    assert same > 0.99
    assert similarity(_item("Northwind buys Quarry"), _item("Lumen sells eggs")) == 0.0
