"""Words as the pipeline compares them: the stop words and one light stemmer.

In: words or plain text. Out: ``STOPWORDS`` (words that say nothing about what a story is
about), ``NEWS_WORDS`` (ones nearly every news item has), ``stem`` (a word's root, so "buys"
meets "buy") and ``content_words`` (the lower-cased, stemmed words of a text that carry
meaning). Same-event clustering and the summarizer (sentence choice, repeats, the fact
checker) both read words through this module, so they agree on what a word is. Imports no
stage.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["NEWS_WORDS", "STOPWORDS", "content_words", "stem", "word_set"]


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of a literal, as a set."""
    return frozenset(text.split())


STOPWORDS = word_set(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his
    how i if in into is it its itself just me more most my myself no nor not now of off
    on once only or other our ours ourselves out over own same she should so some such
    than that the their theirs them themselves then there these they this those through
    to too under until up very was we were what when where which while who whom why will
    with would you your yours yourself yourselves said says say told tells according per
    new one two also last first year years time week day mr mrs ms dr s t re ve ll d m
    """
)

# Words nearly every news item has: the day it happened and "per cent". They tell nothing
# about which event an item covers, so clustering drops them too; the summarizer keeps them
# (a weekday or a percentage is a fact its checks look at).
NEWS_WORDS = word_set(
    """
    today yesterday tomorrow monday tuesday wednesday thursday friday saturday sunday
    percent cent
    """
)

_LOWER_WORD = re.compile(r"[a-z0-9][a-z0-9'’\-&]*")  # the fast pattern, for ASCII text
# the same for words of any script ("zürich" is one word, not "z" and "rich"): inner
# apostrophes, hyphens and ampersands ("o'brien", "co-op", "at&t")
_ANY_WORD = re.compile(r"[^\W_](?:[^\W_]|['’\-&])*")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A very light stemmer for a lower-case word: the first of -ies, -es, -s, -ing, -ed it
    ends with comes off when three letters stay ("operators" -> "operator", "taxes" -> "tax").

    Crude ("prices" -> "pric" misses "price") but one rule everywhere: what clusters and
    what the summarizer counts as the same word agree.
    """
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=16384)
def content_words(text: str) -> tuple[str, ...]:
    """Lower-cased, lightly stemmed words that carry meaning (no stopwords or one letter)."""
    low = text.lower()
    found = (_LOWER_WORD if low.isascii() else _ANY_WORD).findall(low)
    return tuple(root for root in map(_content_root, found) if root)


@lru_cache(maxsize=65536)
def _content_root(word: str) -> str:
    """One lower-case word as ``content_words`` keeps it ("" when it carries no meaning)."""
    low = word.rstrip("'’-").removesuffix("'s").removesuffix("’s")
    return stem(low) if len(low) > 1 and low not in STOPWORDS else ""
