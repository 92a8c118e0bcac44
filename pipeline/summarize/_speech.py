"""Verbs of saying and reporting: the one home of the word lists that tell who said what.

In: nothing (constants). Out: the sets and patterns the source reader, the offline engine and
the gate match speech with. They differ on purpose, each list as wide as its question needs:
whether a caption's label speaks, whether a headline ends on its speaker, whether a cut may
part a verb from what it reported, whether a part attributes a quotation.
"""

from __future__ import annotations

import re

from ..words import word_set

# -- sentence splitting: a speaker after a quotation belongs to it
# '"Why would I?" Travolta asked.': the speaker after a quoted question belongs to it
SPEAKER_TAIL = re.compile(
    r"^(?:[A-Z][\w'’.-]*|he|she|they)(?: [A-Z][\w'’.-]*){0,3} (?:said|asked|says|asks|added|"
    r"adds|wrote|writes|explained|replied|insisted|told [\w ]{1,30})[^.!?]{0,40}[.!?]$"
)

# -- reading the source: a caption's label that speaks is no caption
CAPTION_SPEECH = re.compile(r"\b(?:said|says|told|added|according)\b")

# -- prose checks: a label or a colon that introduces speech
SPEECH = re.compile(
    r"\b(?:said|says|say|added|adds|told|tells|wrote|writes|tweeted|posted|explained|"
    r"continued|insisted|stated|asked|replied|warned|declared|announced|concluded|"
    r"reads?|read:|joked|admitted|claimed|argued|noted)\b",
    re.IGNORECASE,
)

# -- headlines: one that ends on who said it, or says how
# "... Police Department Said Friday", "... Publican Told Torquay Magistrates' Court"
HEADLINE_REPORTED = re.compile(
    r"\b(?:said|says|told|tells|noted|added|explained|revealed|insisted|admitted|claimed|warned|"
    r"announced|stated|confirmed)(?: (?:on )?(?:monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|today|yesterday|[a-z']+ court|reporters|the court))?$"
)

# "... Congress States Damningly": how it was said, not what
HEADLINE_REPORTED_HOW = re.compile(
    r"\b(?:states|stated|says|said|warns|warned|claims|claimed) [a-z]{3,}ly$"
)

# Verbs a headline reports with ("X Says Y Rose"): the second finite verb is the report's
HEADLINE_REPORTS = word_set(
    "says said warns warned claims claimed finds found reports reported reveals"
)

# -- the fact check: a quotation with its speaker named
ATTRIBUTED = re.compile(
    r"\b(?:said|says|say|saying|told|tells|added|adds|wrote|writes|according|insisted|"
    r"explained|claimed|claims|warned|argued|stated|asked|tweeted|posted|described|called|"
    r"admitted|recalled|quoted|reported)\b",
    re.IGNORECASE,
)

# -- the offline engine: who reported what, and where a cut may fall
# "X said on Friday that Y": who reported what (a headline puts the news first)
SAID_THAT = re.compile(
    r"^(?P<who>[A-Z][\w'’&.-]*(?: [A-Z][\w'’&.-]*){0,4}) (?:has )?(?:said|says|announced)"
    r"(?: (?:on )?(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)|"
    r" (?:yesterday|today|last week|this week))? that (?P<what>[^,;]{20,})(?:[,;] .*)?$"
)

# "X, a federal official said Saturday." -> the fact without its speaker, for a headline
SAID_END = re.compile(
    r"\b(?:said|says|(?:told|confirmed to) [\w .'’-]{1,40}|reported|announced|confirmed)"
    r"(?: [\w'’]+){0,3}$"
)

# '"...," he said': a quotation whose speaker is only a pronoun
PRONOUN_SPEAKER = re.compile(
    r"[\"”’'] (he|she) (?:said|says|added|adds|told|tells|explained|wrote|insisted|recalled)\b"
)

# "The PM added: That destroyed aspiration." - a quotation whose marks the page lost
LOST_MARKS = re.compile(r"\b(?:said|says|added|adds|told [\w ]{1,30}|wrote|insisted):\s+[A-Z]")

# Verbs whose object is often a clause: a cut after their noun phrase may cut the finding
# ("Research found the number of people | who ... fell to nine per cent")
REPORTING = word_set(
    """
    found find finds revealed reveals reveal showed shows show suggested suggests claimed claims
    believe believes believed estimated estimates said says warned warns thinks thought insisted
    admitted predicted predicts reported reports discovered concluded concludes argued argues
    noted notes announced confirmed confirms knew knows learned told tells
    """
)

# ...of which the verbs of saying, whose report a cut must not lose ("told MPs, ..., that")
TOLD = word_set(
    """
    told tells said says warned warns insisted admitted claimed claims announced revealed
    reveals confirmed confirms argued argues noted notes predicted predicts reported reports
    """
)
