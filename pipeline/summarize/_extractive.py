"""The offline engine: one :class:`Article` in, one house-style :class:`StorySummary` out.

Deterministic and model-free, and extractive: every part is built from the source's own
sentences (captions, bylines and page furniture already removed by ``_source``), so every
number, name and quotation is the source's. What it adds is form, never facts:

- sentences are scored for salience (position, centrality, numbers, the title's words);
- the dek is the leading news sentence, cut at a clause boundary to fit; the bullets are the
  next salient sentences, attributed ("Per the Daily Mail, a meat trader ..."), never the
  dek's sentence and never a near-repeat of another part;
- the headline is the source title when it reads as a headline, else the lead sentence's main
  clause, cut only after a noun and checked by the part-of-speech reading the gate uses;
- the nut graf credits the outlet and adds a sentence on the stakes; the context is
  background; the kicker looks ahead; the hook is a short concrete line or a quotation with
  its speaker;
- no part opens on an orphan pronoun (such sentences are skipped) or a conjunction (it is
  dropped), and every candidate is held to the same rules as the gate before it is used.

Template wording (lead-ins, kicker labels, section patterns) comes from the house-style file.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache

from ..models import Article, StorySummary
from ..words import STOPWORDS, content_words, word_set
from . import _grammar, _prose
from ._gate import check_story
from ._source import Source, read_source
from ._speech import LOST_MARKS, PRONOUN_SPEAKER, REPORTING, SAID_END, SAID_THAT, TOLD
from ._style import HouseStyle
from ._text import (
    QUOTED,
    plain_words,
    similarity,
    split_sentences,
    strip_attribution,
    title_case,
    word_count,
)

# First and second person outside quotations: an opinion piece's voice, never ours
_FIRST_PERSON = re.compile(
    r"\b(I|[Ww]e|[Oo]ur|[Uu]s|[Mm]y|[Mm]e|[Mm]yself|I'm|I’m|[Ww]e're|[Ww]e’re|[Yy]ou|"
    r"[Yy]our|[Yy]ou're|[Yy]ou’re|[Yy]ou've|[Yy]ou’ve)\b"
    # "mine" is a pronoun after "of" or a verb of being ("a friend of mine", "it is mine");
    # after anything else it is the noun ("a Utah coal mine")
    r"|\b(?:of|is|was|are|were|be) mine\b|^Mine\b"
)
_NUMBER = re.compile(r"\d")
_CUTS = re.compile(r"(?:,|;| --| —| –)\s")
_SITE_SUFFIX = re.compile(r"\s+[-|–—:]\s+[^-|–—:]{2,40}$")
_KICKER_WORDS = re.compile(
    r"^(?:EXCLUSIVE|BREAKING|WATCH|VIDEO|UPDATED?|PICTURED|REVEALED|LIVE|NEW|ANALYSIS|OPINION)"
    r"\s*[:|-]\s*",
    re.IGNORECASE,
)
_SUBORDINATE = word_set(
    """
    as while after before when although though if since because despite with without
    once until unless whether amid following
    """
)
# Light compression: asides a reader can skip. Non-restrictive relative clauses after a
# comma, appositives after a name (not list items), and dash asides; never inside quotes.
_ASIDES = (
    re.compile(r", (?:who|which|whose) (?P<clause>[^,\"“”‘’]{3,120}),(?= (?!and |or )[A-Za-z])"),
    re.compile(r"(\b[A-Z][\w.'’-]*), (?:a|an|the) [^,\"“”‘’0-9]{3,60},(?= (?!and |or )[a-z])"),
    re.compile(r" (?:--|—|–) [^-—–\"“”‘’]{3,80} (?:--|—|–)(?= )"),
)
# A trailing circumstance after the main clause (", as demand slows ...") is context a
# bullet can drop when what is left still carries the fact.
_TAIL = re.compile(r", (?:as|after|amid|while|following|despite|even as|with) [^\"“”‘’]{12,}[.!]?$")
# where a headline may end: before a dash, without a parenthetical aside, before a subclause
_DASH = re.compile(r" (?:-|--|–|—) ")
_PAREN = re.compile(r" ?\([^()]{0,80}\)")
_CONNECTIVE = re.compile(r"\b(?:however|meanwhile|moreover|nevertheless|therefore|instead)\b", re.I)
_SUBCLAUSE = re.compile(
    r"\b(?:that|which|who|whom|whose|when|where|while|because|whether|if|although|though|"
    r"as|after|before|since|until|unless)\b"
)
_PRONOUNS = frozenset({"he", "she", "they", "it", "we", "i", "you", "this", "that"})
# (the next two read lower-cased text: a case-blind regex is several times slower)
_STAKES = re.compile(
    r"\b(?:could|would|might|may|if|means|meaning|threat|risk|risks|expected|likely|fear|"
    r"fears|concern|concerns|warned|warn|warns|impact|consequences?|crucial|key|first|"
    r"biggest|largest|record)\b"
)
_BACKGROUND = re.compile(
    r"\b(?:had|has been|have been|was|were|since|last (?:year|month|week)|previously|earlier|"
    r"ago|in (?:19|20)\d\d|first|history|began|founded|born|years|decades?)\b"
)
_TIME_WORDS = word_set(
    """
    monday tuesday wednesday thursday friday saturday sunday january february march april
    may june july august september october november december today yesterday week weeks
    year years month months day days time times
    """
)
_GENERIC_NOUNS = word_set(
    """
    man woman men women people person thing things way lot part group number official
    officials report statement source sources spokesman spokeswoman member members family
    story stories news hour hours minute minutes gain gains home side end sort sorts kind
    kinds type types
    """
)
# Prepositions that open an adjunct a headline can drop ("... Guilty on Wednesday"); never
# "of", "to", "for", "with": "at the age [of 15]", "a result [of]" need what follows.
_ADJUNCTS = word_set(
    """
    in on at during after before since amid near outside inside across around following
    despite from over under until within throughout by with
    """
)
_JOIN_WORDS = word_set(
    """
    a an the of to in on at for by with from and or but as is are was were be been has have
    had will would can could may might must do does did not his her its their this that who
    """
)
# Words that open a second clause or predicate after "and"/"but"
_CLAUSE_STARTS = word_set(
    """
    was were is are has have had will would could can may might must he she they it we i
    the his her their its this that these those there
    """
)


# Nouns whose meaning needs the phrase after them ("an attack on X", "a rise in Y"): a
# headline never ends on one before its preposition
def _takes(pairs: str) -> dict[str, frozenset[str]]:
    """ "noun/preposition" pairs -> each noun's prepositions."""
    out: dict[str, frozenset[str]] = {}
    for pair in pairs.split():
        noun, prep = pair.split("/")
        out[noun] = out.get(noun, frozenset()) | {prep}
    return out


_NOUN_TAKES = _takes(
    """
    attack/on attacks/on ban/on bans/on war/on crackdown/on assault/on vote/on veto/on
    attack/against campaign/against case/against protest/against protests/against
    increase/in increases/in rise/in rises/in fall/in falls/in drop/in surge/in cut/in cuts/in
    jump/in decline/in call/for calls/for bid/for demand/for plea/for support/for search/for
    number/of lack/of threat/to access/to response/to answer/to end/to
    """
)
_CLAUSE_SUBJECTS = word_set("he she they it we there was were is are has have had will would")
# How a leading time or place phrase opens ("In about five years, ...", "On Tuesday, ...")
_INTRO_WORDS = word_set(
    """
    in on at during after before since for by over under last this earlier later soon today
    yesterday now recently meanwhile within throughout amid across around
    """
)
# Salience weights: position, centrality, has a number, shares a title word, the position
# decay. Lead sentences dominate, as they do in news writing.
_W_POSITION, _W_CENTRAL, _W_NUMBER, _W_TITLE, _DECAY = 1.6, 0.5, 0.12, 0.15, 0.35
_MAX_BULLET_WORDS = 45
_MIN_BULLET_WORDS = 15
_REPEAT = 0.45  # below the gate's limit, so a story never comes near it
_SAME_AS_DEK = 0.8  # a headline may share the dek's news, not all of its words
_THIN = 65  # words of dek and bullets under which a story takes a third bullet...
_SHORT_EXTRA = 30  # ...when that bullet is this short


_NAME_SUBJECT = re.compile(
    r"(?:(?:Mr|Mrs|Ms|Dr|Sir|Lord|Lady)\.? )?(?:[A-Z][\w'’-]+ ){0,3}[A-Z][\w'’-]+(?=,| [a-z])"
)
_TITLES = frozenset({"Mr", "Mrs", "Ms", "Dr", "Sir", "Lord", "Lady", "Mr.", "Mrs.", "Ms.", "Dr."})
_WHO = re.compile(
    r"(?P<name>[A-Z](?<![\w'’][A-Z])[\w'’-]+(?: [A-Z][\w'’-]+){0,2}), who "
    r"(?P<rest>[^,\"“”]{12,120})(?=[,.])"
)
# "The women are ...", "Iraqi mothers have ...": a plural noun phrase as the subject
_PLURAL_SUBJECT = re.compile(
    r"(?:(?:The|These|Those|Many|Some|Both) )?(?:[a-z][\w-]* ){0,2}(?P<head>[a-z]{3,})"
    r"(?= (?:are|were|have|had|will|would|say|said|told|can|could|may|might|must|do|did) )"
)
# Conjunctions that open a clause needing a main clause after its comma (not "after" or
# "before", which are prepositions as often: "After three days the rescuers found him.")
_NEEDS_MAIN = word_set("as when while because although though if unless whether since")
# "It comes after ...", "This came just days after ...": the clause that follows is news
_COMES_AFTER = re.compile(
    r"(?:It|This) (?:comes|came)(?: (?:just|only))?"
    r"(?: (?:a|an|one|two|three|four|five|six|seven|days|weeks|months|hours)"
    r"(?: (?:day|week|month|hour|days|weeks|months|hours))?)? (?:after|as) "
)
# A date or time that opens a sentence: a headline leads with the news instead
_LEADING_WHEN = re.compile(
    r"(?:(?:On|In|By|Since|Until|During) (?:(?:[A-Z][a-z]+ )?\d{1,2}(?:st|nd|rd|th)?, \d{4}"
    r"|[A-Z][a-z]+ \d{1,2}(?:st|nd|rd|th)?(?:, \d{4})?|(?:[A-Z][a-z]+ )?\d{4}|[A-Z][a-z]+day)"
    r"|(?:Last|This|Earlier this|Later this|Late last|Early last|Early this) "
    r"(?:week|month|year|morning|night|weekend|summer|spring|autumn|fall|winter)), (?=[A-Za-z])"
)
_INTRO = re.compile(r"[A-Z][^,\"“”]{2,30}, (?=[A-Z])")  # "In her lawsuit, "
_HE_SHE = re.compile(r"(He|She|His|Her)(?= )")
# "Back then, he held up ...": the same pronoun as the subject after an opening phrase
_OPENING_HE_SHE = re.compile(r"[A-Z][^,;:\"“”‘’]{1,60}, (he|she|his|her)(?= )")
# A quoted title ("Going Clear: Scientology and the Prison of Belief"), not speech.
_TITLE_QUOTE = re.compile(
    r"[\"“‘'](?:[A-Z0-9][\w'’:,-]*(?: (?:[a-z]{1,3}|[A-Z0-9][\w'’:,-]*))*)[,.]?[\"”’']"
)


@dataclass
class _Sent:
    """A source sentence and what the parts ask of it, each worked out on first use."""

    index: int
    text: str
    words: int
    terms: frozenset[str]
    number: bool
    score: float = 0.0
    attr_re: re.Pattern[str] | None = None  # the house style's attribution pattern
    future_re: re.Pattern[str] | None = None  # the house style's forward-looking words

    @cached_property
    def quoted(self) -> bool:
        """It holds a quotation."""
        return QUOTED.search(self.text) is not None

    @cached_property
    def attributed(self) -> bool:
        """It names who said it."""
        return self.attr_re is not None and self.attr_re.search(self.text) is not None

    @cached_property
    def according(self) -> bool:
        """It says "according to" itself."""
        return "according to" in self.text.lower()

    @cached_property
    def stakes(self) -> bool:
        """It says what is at stake."""
        return _STAKES.search(self.text.lower()) is not None

    @cached_property
    def background(self) -> bool:
        """It gives background."""
        return _BACKGROUND.search(self.text.lower()) is not None

    @cached_property
    def forward(self) -> bool:
        """It looks ahead."""
        return self.future_re is not None and self.future_re.search(self.text) is not None


def _singular(tok: _grammar.Token) -> _grammar.Token:
    """The head noun in the singular for a label ("The Hairstyle Question")."""
    if tok.tag != "NNS":
        return tok
    from textblob.en.inflect import singularize

    return _grammar.Token(str(singularize(tok.text)), "NN")


def _digest(*parts: str) -> int:
    return int(hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:8], 16)


def _pick(options: list[str], key: str, fallback: str) -> str:
    return options[_digest(key) % len(options)] if options else fallback


def _ends_sentence(text: str) -> str:
    text = text.rstrip(" ,;:-–—")
    return text if text.endswith((".", "!", "?", '"', "”", "’")) else text + "."


@lru_cache(maxsize=8192)
def _slug(title: str) -> bool:
    """A title made from a link's words: no punctuation and no joining words at all."""
    words = title.split()
    if len(words) < 6 or re.search(r"[,:;'’\"“”?!.()-]", title):
        return False
    if sum(w[:1].isupper() or w[:1].isdigit() for w in words) >= 0.8 * len(words):
        return False  # every word capitalised: an outlet's headline in title case, not a slug
    return not any(w.lower() in _JOIN_WORDS for w in words)


def _without_speaker(body: str) -> str:
    """ "X died at a hospital, his son and daughter, A and B, said" -> "X died at a hospital".

    The attribution at the end of a sentence is cut from the comma that opens it: the
    first comma after which no verb comes before the speech verb.
    """
    m = SAID_END.search(body)
    if m is None:
        return body
    commas = [i for i, c in enumerate(body[: m.start()]) if c == ","]
    for at in commas:
        between = body[at + 1 : m.start()]
        if not _grammar.has_verb(_grammar.tag(between)) and not QUOTED.search(between):
            head = body[:at].rstrip()
            return head if word_count(head) >= 4 else body
    return body


@lru_cache(maxsize=8192)
def _voice_ok(text: str) -> bool:
    """Fit for our own voice: no first person or '!' outside quotations, marks balanced."""
    outside = QUOTED.sub(" ", text)
    if _FIRST_PERSON.search(outside) or "!" in outside or LOST_MARKS.search(outside):
        return False
    return _prose.unbalanced_quotes(text) is None and _prose.caption(text) is None


def _aside(m: re.Match[str]) -> str:
    """What an aside leaves: nothing, the name an appositive follows, or the whole match
    when a relative clause has no verb of its own (", whose wife, Kelly Preston, is" is no
    clause to drop: its commas set off the wife's name)."""
    groups = m.groupdict()
    if "clause" in groups:
        words = groups["clause"].split()
        return "" if any(_grammar.can_be_verb(w) for w in words) else m.group(0)
    return m.group(1) if m.groups() else ""


def _compress(text: str) -> str:
    """The sentence without its skippable asides (the facts it keeps are the source's own)."""
    for pattern in _ASIDES:
        text = pattern.sub(_aside, text)
    tail = _TAIL.search(text)
    if tail and word_count(text[: tail.start()]) >= 12 and text.count('"') % 2 == 0:
        text = text[: tail.start()] + "."
    return text


def _main_clause(text: str) -> str:
    """The sentence without a leading subordinate clause ("As he waits, X did Y" -> "X did Y")."""
    first = text.split(" ", 1)[0].lower()
    if first in _SUBORDINATE and ", " in text:
        rest = text.split(", ", 1)[1]
        if word_count(rest) >= 6 and rest[:1].isalpha():
            return rest[0].upper() + rest[1:]
    return text


_NEXT_ITEM = re.compile(r"([^,;]{1,40}?)(?:,| and | or )")


def _in_list(text: str, cut: re.Match[str]) -> bool:
    """Whether a cut at this comma falls inside a list ("in Florida, Louisiana, | Texas,
    South Carolina and North Carolina"): a short item without a verb on either side of it."""
    if cut.group(0).strip() != ",":
        return False
    before = text[: cut.start()]
    if "," not in before:
        return False
    item = before.rsplit(",", 1)[1]
    nxt = _NEXT_ITEM.match(text, cut.end())
    return (
        nxt is not None
        and all(len(w.split()) <= 3 for w in (item, nxt.group(1)))
        and not _finite(item)
        and not _finite(nxt.group(1))
    )


def _trim(text: str, max_words: int, min_words: int) -> str | None:
    """Cut a sentence at its last clause boundary that fits and still reads as a sentence."""
    if word_count(text) <= max_words:
        return text
    best = None
    for m in _CUTS.finditer(text):
        head = text[: m.start()]
        n = word_count(head)
        if n > max_words:
            break
        if n >= min_words and not _in_list(text, m) and _voice_ok(head) and _complete(head):
            best = head
    return _ends_sentence(best) if best is not None else _quote_cut(text, max_words, min_words)


_QUOTE_OPENERS = {'"': '"', "“": "”", "'": "'", "‘": "’"}
_INNER_STOP = re.compile(r"(?<=[.!?])(?= [A-Z\"“‘'])")


def _close_quote(text: str) -> str:
    """A sentence that opens a quotation the next sentences continue, with the mark closed.

    'He said: "A.' then 'B."' in the source: the first sentence can stand as 'He said: "A."'.
    """
    problem = _prose.unbalanced_quotes(text)
    if (
        problem is None
        or "never closes" not in problem.reason
        or not text.endswith((".", "!", "?"))
    ):
        return text
    opener = text[problem.start]
    closed = text + _QUOTE_OPENERS.get(opener, "")
    return closed if _prose.unbalanced_quotes(closed) is None else text


def _quote_cut(text: str, max_words: int, min_words: int) -> str | None:
    """A quotation of several sentences cut after one of its sentences, the mark closed.

    'He said: "A. B. C."' may stand as 'He said: "A."': the speaker's words, fewer of them.
    """
    best = None
    for m in _INNER_STOP.finditer(text):
        head = text[: m.start()]
        if word_count(head) > max_words:
            break
        opener = next(
            (c for c in reversed(head) if c in _QUOTE_OPENERS and _prose.unbalanced_quotes(head)),
            "",
        )
        if not opener:
            continue
        closed = head + _QUOTE_OPENERS[opener]
        if word_count(closed) >= min_words and _voice_ok(closed):
            best = closed
    return best


_WORD = re.compile(r"[A-Za-z]+(?:['’][a-z]+)?")


def _finite(text: str, names: Iterable[str] = ()) -> bool:
    """Whether the sentence has a finite verb (a teaser fragment has none).

    The lexicon answers most sentences at once; only the rest are tagged in context.
    """
    if any(_grammar.lexical_tag(w) in _grammar.FINITE_TAGS for w in _WORD.findall(text)):
        return True
    return any(t.tag in _grammar.FINITE_TAGS for t in _grammar.tag(text, names))


_DURATIONS = word_set(
    "year years week weeks day days month months hour hours decade decades minute minutes"
)
_SPAN = re.compile(
    r" (?:(?:just|only|some|about|nearly|almost|barely|more than|less than) )?"
    r"(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d+|many|several|a few|few) "
    r"(?:years?|weeks?|days?|months?|hours?|decades?|minutes?) (?:after|before|since|until|"
    r"later|earlier|ago)\b"
)
_AUXILIARY = word_set(
    "is are was were has have had will would can could may might must shall should does did"
)
# "identified as", "described as", "come as": "as" after a verb is its complement
_AS_TAKERS = frozenset({"VB", "VBD", "VBN", "VBZ", "VBP"})
# Words that open a clause of their own: a verb after one is that clause's, not the main one
_CLAUSE_WORDS = word_set(
    """
    who whom whose which that when where while because although though if unless whether
    as after before since until once what
    """
)


_NONBLANK = re.compile(r"\S+")
_MARKS = ",.;:\"“”‘’'"  # what a word loses to be looked up
_QUOTES = "\"“”‘’'"
_REPORT_ENDS = re.compile(r"\bthat\b|[\"“‘:]")  # what was said comes: "that", a quotation


def _reports(low: str) -> bool:
    """A verb that reports or finds ("show" the noun is none)."""
    return low in REPORTING and _grammar.lexical_tag(low).startswith("VB")


def _sure_verb(word: str) -> bool:
    """A finite verb whatever its context: an auxiliary, a modal, "-s" form or an irregular
    past ("took", "fell"); a past in "-ed" may be a participle ("a teacher accused of")."""
    low = word.lower().strip(_MARKS)
    tag = _grammar.lexical_tag(low)
    return (
        low in _AUXILIARY
        or tag in ("VBZ", "MD")
        or (tag == "VBD" and not low.endswith(("ed", "en")))
    )


class _Reading:
    """What the cut rules ask of one sentence's words, each part read in one pass.

    A sentence is cut before nearly every word, and each rule asks about the words before
    the cut or after it: asked anew at each cut that was quadratic on a long sentence. Here
    every question about the first ``i`` words (or the words from ``i`` on) is answered from
    a first or last index found once, on first use (most sentences ask few questions).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = text.split()

    @cached_property
    def starts(self) -> list[int]:
        """Where each word starts in the text."""
        return [m.start() for m in _NONBLANK.finditer(self.text)]

    @cached_property
    def _lows(self) -> list[str]:
        return [w.lower().strip(_MARKS) for w in self.words]

    @cached_property
    def _sure(self) -> list[bool]:
        return [_sure_verb(w) for w in self.words]

    @cached_property
    def _heads(self) -> tuple[int, int]:
        """The first sure verb, and the first past in "-ed" not opening an aside."""
        words, n = self.words, len(self.words)
        tags = [_grammar.lexical_tag(low) for low in self._lows]
        maybe = (
            j
            for j in range(1, n)
            if (tags[j] in _grammar.FINITE_TAGS or tags[j] == "VBN")
            and not words[j - 1].endswith(",")
        )
        return next((j for j in range(n) if self._sure[j]), n), next(maybe, n)

    @cached_property
    def _report(self) -> tuple[int, bool, int]:
        """The first verb (sure, or one that reports), whether it is a verb of saying, and
        the first "that" or quotation after it."""
        lows, n = self._lows, len(self.words)
        first = next((j for j in range(n) if self._sure[j] or _reports(lows[j])), n)
        told = first < n and _reports(lows[first]) and lows[first] in TOLD
        end = next((j for j in range(first + 1, n) if _REPORT_ENDS.search(self.words[j])), n)
        return first, told, end

    @cached_property
    def _stop(self) -> tuple[int, bool]:
        """The first word opening a clause or a sure verb, and whether it is the verb."""
        lows = self._lows
        first = next(
            (j for j in range(len(lows)) if lows[j] in _CLAUSE_WORDS or self._sure[j]), len(lows)
        )
        return first, first < len(lows) and lows[first] not in _CLAUSE_WORDS

    @cached_property
    def _own(self) -> list[bool]:
        """From word i on: a sure verb before a word that opens a clause or a quotation."""
        words = self.words
        own = [False] * (len(words) + 1)
        for j in range(len(words) - 1, -1, -1):
            w = words[j]
            opens = w.lower().strip(_QUOTES) in _CLAUSE_WORDS or w.startswith(('"', "“", "‘", "("))
            own[j] = not opens and (self._sure[j] or own[j + 1])
        return own

    @cached_property
    def _in_participle(self) -> list[bool]:
        """Up to word i: whether a participle opens the last phrase after a comma."""
        words = self.words
        out = [False] * (len(words) + 1)
        last_open = 0
        for i in range(len(words) + 1):
            out[i] = bool(last_open) and _grammar.lexical_tag(words[last_open].lower()) == "VBG"
            if 1 <= i < len(words) and words[i - 1].endswith(","):
                last_open = i
        return out

    @cached_property
    def _verbs(self) -> tuple[list[int], list[bool]]:
        """Up to word i: the last verb (finite, or one that reports); and whether each word,
        as that verb, reports."""
        ro = [w.strip(_MARKS.replace(".", "")).lower() for w in self.words]
        last = [-1] * (len(ro) + 1)
        for i, word in enumerate(ro):
            verb = _grammar.lexical_tag(word) in _grammar.FINITE_TAGS or _reports(word)
            last[i + 1] = i if verb else last[i]
        return last, [_reports(word) for word in ro]

    def head_verb(self, i: int) -> bool | None:
        """The first ``i`` words: True when they hold a sure finite verb, None when they hold
        none at all, False when their only one is a past in "-ed" (perhaps a participle) not
        opening an aside."""
        first_sure, first_maybe = self._heads
        if first_sure < i:
            return True
        return False if first_maybe < i else None

    def own_verb(self, i: int) -> bool:
        """The words from ``i`` on hold a sure finite verb of the sentence's own clause (not
        of a clause they open): the words before were only the subject."""
        return self._own[i]

    def main_verb(self, i: int) -> bool:
        """The first ``i`` words hold a sure finite verb before any word that opens a clause
        ("A landlord who was ..." has none: its verb is the relative clause's)."""
        first, is_verb = self._stop
        return first < i and is_verb

    def in_participle(self, i: int) -> bool:
        """The first ``i`` words end inside a phrase a participle opens after a comma ("...,
        blaming the incident"): a cut there leaves the verb without what it takes."""
        return self._in_participle[i]

    def reported_cut(self, i: int, extra: str = "") -> bool:
        """The first ``i`` words (and ``extra``, a piece of the next one) are cut before what
        was said: their first verb is one of saying ("told MPs last month, after ...") and no
        "that", quotation or colon follows it."""
        first, told, end = self._report
        if first < i:
            return told and end >= i and not _REPORT_ENDS.search(extra)
        low = extra.lower().strip(_MARKS)  # the piece is the first verb, and nothing follows
        return bool(extra) and _reports(low) and low in TOLD

    def reports_object(self, i: int, extra: str = "") -> bool:
        """The last verb of the first ``i`` words (and ``extra``) reports or finds, and only
        its noun phrase follows it ("found the number of people [who ...]")."""
        if extra:
            ro = extra.strip(_MARKS.replace(".", "")).lower()
            if _grammar.lexical_tag(ro) in _grammar.FINITE_TAGS or _reports(ro):
                return False  # the verb is the last word: no noun phrase after it
            last, reports = self._verbs[0][i], self._verbs[1]
            return last >= 0 and reports[last]
        last, reports = self._verbs[0][i], self._verbs[1]
        return last >= 0 and reports[last] and last < i - 1


def _opens_clause(m: re.Match[str], reading: _Reading) -> bool:
    """Whether the subordinating word at ``m`` opens a clause a headline may end before.

    Not "identified as", "describes as" (a verb's complement), not "many years after" (the
    time belongs to what follows), not "found the number of people who" (the finding).
    ``reading`` is of the text ``m`` matched in.
    """
    word = m.group(0).lower()
    body, starts = reading.text, reading.starts
    before = body[: m.start()].rstrip()
    prev = before.rsplit(" ", 1)[-1].lower().strip(",;:\"”’'")
    if word == "as" and not before.endswith(",") and _grammar.lexical_tag(prev) in _AS_TAKERS:
        return False
    if word in ("after", "before", "since", "until") and prev in _DURATIONS:
        return False
    # the words before the match: those wholly before it, and a piece of the one it ends
    k = bisect.bisect_right(starts, m.start()) - 1
    extra = body[starts[k] : m.start()].strip() if k >= 0 else ""
    whole = k if extra else max(k, 0)
    if word == "that" and reading.reported_cut(whole, extra):
        return False  # "told MPs last month, after ..., that he ...": what he told them
    return not (
        word in ("who", "which", "that", "whom", "whose") and reading.reports_object(whole, extra)
    )


def _head_verb(text: str) -> bool | None:
    """See :meth:`_Reading.head_verb`, for all of ``text``'s words."""
    reading = _Reading(text)
    return reading.head_verb(len(reading.words))


def _complete(text: str, names: Iterable[str] = ()) -> bool:
    """A clause with a verb of its own that does not stop mid-phrase ("Dated April 2015 and
    drawn up to brief the Senate" is a cut that lost its main clause), nor at the comma that
    closes an aside ("... when Marc Leishman, who finished fourth in 2013" lost the verb the
    aside held off)."""
    toks = _grammar.tag(text.rstrip(".!?"), names)
    return (
        _grammar.has_verb(toks) and not _grammar.cut_off(toks) and not _grammar.no_main_clause(toks)
    )


# 'is dubbed the "forgotten floor."': a dek may close on a quoted term, not on a quotation
_SHORT_QUOTE_END = re.compile(r"(?:^|\s)[\"“‘'](?:[^\s\"“”‘’']+\s){0,3}[^\s\"“”‘’']+\.[\"”’']$")
_GIVE_UPS = 3  # times a part may give its sentence up to the headline, per story
_LONG_ENOUGH = 8  # sentences: the dek can give one up to the headline and find another


class _Writer:
    """Writes one story; holds the article's sentences and what has been used."""

    def __init__(self, article: Article, style: HouseStyle) -> None:
        self.article = article
        self.style = style
        self.source: Source = read_source(article.title, article.text)
        self.names = self.source.names
        outlet = next(iter(article.outlets), "") or self.source.agency
        self.outlet = outlet.strip().replace("!", "")  # "Yahoo!" reads as "Yahoo" in our voice
        self.sents = [
            _Sent(i, t, word_count(t), frozenset(content_words(t)), bool(_NUMBER.search(t)))
            for i, t in enumerate(self.source.sentences)
        ]
        self.tf: Counter[str] = Counter()  # how often the article uses each content word
        for s in self.sents:
            self.tf.update(s.terms)
        self._score()
        markers = style.template_list("future_markers")
        future = (
            re.compile(r"\b(" + "|".join(map(re.escape, markers)) + r")\b") if markers else None
        )
        attribution = style.rule("bullet-attribution")
        self.attr_re = (
            attribution.pattern
            if attribution and attribution.pattern
            else re.compile(r"\b(said|says|according to|per)\b")
        )
        for s in self.sents:
            s.attr_re, s.future_re = self.attr_re, future
        self.ranked = sorted(self._lead(), key=lambda s: (-s.score, s.index))
        self.used: set[int] = set()
        self.written: list[str] = []  # every sentence put in a part, for the repeat check
        self.part = ""  # the part being written
        self.taken: dict[str, set[int]] = {}  # part -> the source sentences it holds
        self.banned: dict[str, set[int]] = {}  # part -> sentences the gate refused there
        self.banned_headlines: set[str] = set()
        self.echoed: tuple[str, int] | None = None  # (part, sentence) the headline repeats
        self.given_up = 0  # sentences parts gave up to the headline (a few at most)
        self.topic = "news"  # the theme section() finds, for the fallback wording
        self._prepared: dict[int, str | None] = {}
        self.dek_text = ""

    def _score(self) -> None:
        tf = self.tf
        title_terms = set(content_words(self.article.title))
        central = [
            sum(tf[t] - 1 for t in s.terms if tf[t] > 1) / math.sqrt(len(s.terms) + 1)
            for s in self.sents
        ]
        top = max(central, default=0.0) or 1.0
        for s, c in zip(self.sents, central, strict=True):
            s.score = (
                _W_POSITION / (1.0 + _DECAY * s.index)
                + _W_CENTRAL * c / top
                + _W_NUMBER * s.number
                + _W_TITLE * bool(s.terms & title_terms)
            )
            if s.words < 8 or s.text.rstrip("\"”’')").endswith("?"):
                s.score -= 0.6

    # -- shared helpers ---------------------------------------------------------
    @property
    def outlet_phrase(self) -> str:
        """The outlet as prose names it: "CNN", "the Daily Mail", "The Hollywood Reporter"."""
        name = self.outlet
        if not name:
            return self.style.outlet_fallback
        if name.startswith("The ") or name.lower().startswith("the "):
            return name
        words = set(self.style.template_list("outlet_takes_the"))
        last = name.split()[-1]
        return f"the {name}" if last in words or name in words else name

    def _fresh(self, text: str) -> bool:
        """Says something no part has said yet."""
        return all(similarity(text, w) < _REPEAT for w in self.written)

    def _take(self, index: int) -> None:
        self.used.add(index)
        self.taken.setdefault(self.part, set()).add(index)

    def _use(self, s: _Sent, text: str) -> None:
        self._take(s.index)
        self.written.extend(split_sentences(text) or [text])

    def _free(self, s: _Sent) -> bool:
        return s.index not in self.used and s.index not in self.banned.get(self.part, ())

    def _antecedent(self, index: int, pronoun: str) -> str:
        """The surname a "He" or "She" at sentence ``index`` points to, when it is certain.

        The nearest sentence before it (up to three back, past quotations and sentences that
        continue with the same pronoun) must have a person's name as its subject ("Mohammad
        Javad Zarif has ...", "In her lawsuit, Karo states ..."): the pronoun continues that
        subject, as news writing does.
        """
        for back in range(1, 4):
            if index - back < 0:
                return ""
            prev = self.source.sentences[index - back]
            if prev[:1] in "\"“‘'" or prev.split(" ", 1)[0] == pronoun:
                continue  # a quotation, or the same subject going on: look further back
            intro = _INTRO.match(prev)
            m = _NAME_SUBJECT.match(prev, intro.end() if intro else 0)
            if m is None:
                return ""
            after = prev[m.end() :].split(" ", 2)
            nxt = after[1].strip(",.;:") if len(after) > 1 and not after[0] else ""
            if nxt and _grammar.lexical_tag(nxt) in ("NN", "NNS", "JJ"):
                return ""  # "Marseille prosecutor Brice Robin": the name only modifies the noun
            words = [w for w in m.group(0).split() if w not in _TITLES]
            if not words or not all(
                _grammar.is_name_like(w)
                and not _grammar.is_common_word(w)
                and "'" not in w
                and "’" not in w
                for w in words
            ):
                return ""  # "Police ...", "Schuller's life ...": not a person as the subject
            title = m.group(0).split()[0]
            return f"{title} {words[-1]}" if title in _TITLES else words[-1]
        return ""

    def _group(self, index: int) -> str:
        """The plural subject a "They" at sentence ``index`` continues ("The women ...")."""
        if index == 0:
            return ""
        m = _PLURAL_SUBJECT.match(self.source.sentences[index - 1])
        if m is None:
            return ""
        head = m.group("head")
        if _grammar.lexical_tag(head) != "NNS":
            return ""
        return m.group(0).strip()

    def _resolve(self, s: _Sent, text: str) -> str:
        """ "He is ..." -> "Zarif is ..." where the subject is certain (see ``_antecedent``),
        after an opening phrase ("Back then, he ..." -> "Back then, Obama ...") and as a
        quotation's speaker ('"...," he said' -> '"...," Zarif said'); "They have ..." -> "The
        women have ..." after a sentence whose subject is that group."""
        speaker = PRONOUN_SPEAKER.search(text)
        if speaker is not None:
            name = self._antecedent(s.index, speaker.group(1).capitalize())
            if name:
                text = f"{text[: speaker.start(1)]}{name}{text[speaker.end(1) :]}"
        if text.startswith("They ") and not text.startswith("They say"):
            group = self._group(s.index)
            if group:
                return f"{group[0].upper()}{group[1:]} {text[5:]}"
            return text
        m = _HE_SHE.match(text) or _OPENING_HE_SHE.match(text)
        if m is None or (m.start(1) and _finite(text[: m.start(1)], self.names)):
            return text  # "X did Y, he said": the speaker, not the subject before
        pronoun = m.group(1).capitalize()
        name = self._antecedent(s.index, pronoun if pronoun in ("He", "She") else "")
        if not name:
            return text
        possessive = pronoun in ("His", "Her")
        return f"{text[: m.start(1)]}{name}{'’s' if possessive else ''}{text[m.end(1) :]}"

    def _points_back(self, text: str, before: str) -> bool:
        """Whether a person the text's pronoun ("He says ...") or speaker ('..." she said')
        stands for can be in ``before``: it names someone."""
        m = _HE_SHE.match(text) or PRONOUN_SPEAKER.search(text)
        if m is None:
            return True
        words = strip_attribution(before)[1].split()[1:]  # "Per CNN, " names no person
        return any(w in self.names or _grammar.is_name_like(w) for w in words)

    def _opening(self, text: str) -> str | None:
        """The sentence fit to open a part: a leading conjunction dropped, never a pronoun.

        "It comes after Sturgeon refused ..." ties its clause to news told before it: the
        clause is a fact of its own ("Sturgeon refused ..."), so it stands alone.
        """
        if text.split(" ", 1)[0].lower() in _NEEDS_MAIN and "," not in text:
            return None  # "As a fly found out when ...": a clause with no main clause
        problem = _prose.orphan_opening(text)
        if problem is None:
            return text
        tie = _COMES_AFTER.match(text)
        if tie is not None:
            rest = text[tie.end() :]
            rest = rest[0].upper() + rest[1:] if rest else rest
            if (
                word_count(rest) >= 6
                and _prose.orphan_opening(rest) is None
                and _complete(rest, self.names)
                and _head_verb(rest.rstrip(".!?")) is not False
            ):
                return rest
            return None
        first = text.split(" ", 1)
        if len(first) < 2 or first[0].strip(",").lower() not in _prose.CONJUNCTIONS:
            return None
        rest = first[1].lstrip(", ")
        if not rest:
            return None
        rest = rest[0].upper() + rest[1:]
        return rest if _prose.orphan_opening(rest) is None else None

    def _lower_first(self, text: str) -> str:
        """Lower-case the first word after an attribution unless it is a name."""
        word = re.match(r"[\w'’.-]+", text)
        if word is None:
            return text
        w = word.group(0).rstrip(".")
        after = text[word.end() : word.end() + 80].split(None, 1)
        if not w[:1].isupper() or _prose.keeps_capital(w, self.names, after[0] if after else ""):
            return text
        return text[0].lower() + text[1:]

    def _spare(self, n: int) -> bool:
        """Whether at least ``n`` sentences fit for a part are still free (parts yet to come
        need some). A question does not count: only the hook may use one."""
        found = 0
        for s in self.sents:
            if (
                self._free(s)
                and not s.text.rstrip("\"”’')").endswith("?")
                and self._ready(s) is not None
            ):
                found += 1
                if found >= n:
                    return True
        return False

    def _unspoken(self, text: str) -> bool:
        """A quotation of a sentence or more with no speaker named outside it.

        A few quoted words ("Labour MPs 'bleating' about poverty") take their speaker from
        the sentence itself, so they are fine.
        """
        if text[:1] in "‘“\"'" and QUOTED.match(text) is None:
            return True  # the first sentence of a longer quotation: its speaker comes later
        long_quote = any(
            len(m.group(0).split()) > 4 and not _TITLE_QUOTE.fullmatch(m.group(0))
            for m in QUOTED.finditer(text)
        )
        return long_quote and not self.attr_re.search(QUOTED.sub(" ", text))

    def _clauses(self) -> list[_Sent]:
        """Extra units for a short article: "X, who did Y, ..." also says "X did Y."

        A non-restrictive relative clause about a named person becomes its own sentence,
        with the name in place of "who" (the words are the source's). Used only when a part
        finds no whole sentence left.
        """
        out: list[_Sent] = []
        base = len(self.sents)
        for s in self.sents:
            if s.index in self.used:
                continue
            for m in _WHO.finditer(s.text):
                text = f"{m.group('name').split()[-1]} {m.group('rest').strip()}."
                if word_count(text) >= 6 and _voice_ok(text) and _complete(text, self.names):
                    out.append(
                        _Sent(
                            base + len(out),
                            text,
                            word_count(text),
                            frozenset(content_words(text)),
                            bool(_NUMBER.search(text)),
                        )
                    )
        return out

    def _lead(self) -> list[_Sent]:
        """Sentences fit to carry news, in the article's order (news puts it first)."""
        return [s for s in self.sents if s.words >= 6 and not s.text.rstrip("\"”’')").endswith("?")]

    def _ranked(self) -> list[_Sent]:
        return self.ranked

    def _ready(self, s: _Sent) -> str | None:
        """The sentence made fit to open a part in our voice, or None (worked out once)."""
        if s.index not in self._prepared:
            text: str | None = None
            # a quotation without its speaker (whose words?), or an aside in parentheses
            if not self._unspoken(s.text) and not s.text.startswith("("):
                text = self._opening(_close_quote(self._resolve(s, _compress(s.text))))
                if text is not None and (not _voice_ok(text) or PRONOUN_SPEAKER.search(text)):
                    text = None  # '"...," he said': whose words, when no name comes before?
                if text is not None and word_count(text) <= 10 and not _finite(text, self.names):
                    text = None  # "Living under ISIS.": a teaser fragment, not a sentence
            self._prepared[s.index] = text
        return self._prepared[s.index]

    def _candidates(self, pool: Iterable[_Sent]) -> Iterator[tuple[_Sent, str]]:
        """Unused sentences fit for our voice, each made fit to open a part."""
        for s in pool:
            if not self._free(s):
                continue
            text = self._ready(s)
            if text is None or not self._fresh(text):
                continue
            yield s, text

    # -- dek ----------------------------------------------------------------------
    def dek(self) -> str:
        """The lead news sentence as one sentence of 80-180 characters.

        Among the first lead sentences, one that fits whole goes first: a long one would lose
        its end to the cut, and as a bullet it keeps more of its facts.
        """
        lead = [s for s, _ in self._candidates(self._lead()[:6])][:3]
        whole = [s for s in lead if 80 <= len(_ends_sentence(self._ready(s) or "")) <= 180]
        buried = False
        for n, (s, text) in enumerate(self._candidates([*whole, *lead])):
            if text[:1] in "\"“‘'" or (buried and n < len(whole)):
                continue  # a quotation reads as our own claim in a dek
            for option in self._dek_options(text):
                if not self._dek_ok(option):
                    continue
                if self._buries(s, option, lead):
                    # the earlier sentence tells this news first: the dek comes from it
                    buried = True
                    break
                self._use(s, option)
                return option
        for s, text in self._candidates(self._ranked()):
            if text[:1] in "\"“‘'":
                continue
            for option in self._dek_options(text):
                if self._dek_ok(option):
                    self._use(s, option)
                    return option
        return ""

    def _buries(self, s: _Sent, option: str, lead: list[_Sent]) -> bool:
        """Whether a dek from a later lead sentence would make an earlier one, free and fit to
        give the dek itself, a repeat no bullet may then hold (the earlier one tells the same
        news first, and often more of it)."""
        return any(
            t.index < s.index
            and self._free(t)
            and similarity(self._ready(t) or "", option) >= _REPEAT
            and any(self._dek_ok(o) for o in self._dek_options(self._ready(t) or ""))
            for t in lead
        )

    def _dek_ok(self, option: str) -> bool:
        """One sentence of 80-180 characters ending on a full stop (inside the marks of a
        quoted term at most), its marks balanced, opening on its own subject (a cut may leave
        a quotation open or a main clause opening "He")."""
        return (
            80 <= len(option) <= 180
            and option.rstrip("\"”’'").endswith(".")
            and (option.endswith(".") or _SHORT_QUOTE_END.search(option) is not None)
            and len(split_sentences(option)) == 1
            and _voice_ok(option)
            and _prose.orphan_opening(option) is None
        )

    def _dek_options(self, text: str) -> Iterator[str]:
        """The sentence, its main clause and its clause-boundary cuts, shortest first.

        A dek is a sentence under the headline: the shortest complete form that keeps the
        news leaves the details to the bullets.
        """
        body = _main_clause(text).rstrip('.!?"”’ ')
        options = {_ends_sentence(text), _ends_sentence(body)}
        for m in _CUTS.finditer(body):
            head = body[: m.start()]
            if (
                79 <= len(head) <= 179
                and not _in_list(body, m)
                and _voice_ok(head)
                and _complete(head, self.names)
            ):
                options.add(_ends_sentence(head))
        yield from sorted(options, key=lambda o: (not 80 <= len(o) <= 180, len(o)))

    # -- bullets --------------------------------------------------------------------
    def _attribute(self, text: str) -> str:
        if _prose.attributes(text, self.attr_re):
            return text
        prefix = f"Per {self.outlet_phrase}, "
        return prefix + self._lower_first(text)

    def _room(self, body: str) -> int:
        """Words the attribution prefix will add (none when the body attributes itself)."""
        return 0 if _prose.attributes(body, self.attr_re) else 1 + len(self.outlet_phrase.split())

    def _bullet(self, s: _Sent, text: str) -> str | None:
        """The sentence as an attributed bullet of 15-45 words, or None.

        A leading subordinate clause goes ("As he awaits a report, Bush will ..." -> "Bush
        will ...") when the main clause carries the fact on its own.
        """
        main = _main_clause(text)
        body = main if word_count(main) >= 12 else text
        if word_count(body) + self._room(body) > _MAX_BULLET_WORDS:
            cut = _trim(body, _MAX_BULLET_WORDS - self._room(body), 12)
            if cut is None:
                return None
            body = cut
        if word_count(body) + self._room(body) < _MIN_BULLET_WORDS:
            nxt = next((t for t in self.sents if t.index == s.index + 1), None)
            if nxt is None or not self._free(nxt):
                return None
            merged = f"{body} {_compress(nxt.text)}"
            if (
                not _MIN_BULLET_WORDS
                <= word_count(merged) + self._room(merged)
                <= _MAX_BULLET_WORDS
            ):
                return None
            if not _voice_ok(merged) or not self._fresh(merged):
                return None
            self._take(nxt.index)
            body = merged
        bullet = self._attribute(body)
        return bullet if _voice_ok(bullet) else None

    def bullets(self, want: int) -> list[str]:
        """The lead sentences after the dek as attributed bullets, in the article's order.

        A sentence that opens on a pronoun joins the bullet holding the sentence before it,
        where its antecedent is, when the bullet has room.
        """
        picked: list[tuple[int, str]] = []
        last = -1  # the source sentence that ends the last bullet
        lead = {s.index for s in self._lead()}
        for s in self.sents:
            # a sentence too short to carry news alone ("He was 88.") may still join the one
            # before it, where its antecedent is
            tiny = s.index not in lead
            if not self._free(s) or self._unspoken(s.text) or (tiny and s.text.endswith("?")):
                continue
            text = _close_quote(self._resolve(s, _compress(s.text)))
            short = word_count(text) + 3 < _MIN_BULLET_WORDS
            if word_count(text) <= 10 and not _finite(text, self.names):
                continue  # a teaser fragment ("Selling Girl Scout cookies."), not news
            orphan = (
                _prose.orphan_opening(text) is not None and self._opening(text) is None
            ) or PRONOUN_SPEAKER.search(text) is not None  # its speaker is in the bullet before
            dek_at = min(self.taken.get("dek", {-9}))
            if (orphan or short) and not picked and dek_at == s.index - 1 and _voice_ok(text):
                # it follows the dek's sentence, where its antecedent is: one sentence of two
                first = text.split(" ", 1)[0]
                lowered = text if _prose.keeps_capital(first) else text[0].lower() + text[1:]
                joined = f"{self.dek_text.rstrip('.')}; {lowered}"
                if len(joined) <= 180 and self._fresh(text) and first != "I":
                    self.dek_text = joined
                    self._use(s, text)
                continue
            if tiny:
                continue
            # a short sentence of the same paragraph follows up the bullet's fact; one that
            # opens a paragraph starts another ("Schuller's life followed an arc.")
            same = (
                s.index
                and self.source.paragraph_of[s.index] == self.source.paragraph_of[s.index - 1]
            )
            if orphan or (short and same and picked and last == s.index - 1):
                # a pronoun's antecedent, or a short follow-up's fact, is in the bullet before
                if (
                    picked
                    and last == s.index - 1
                    and _voice_ok(text)
                    and self._points_back(text, picked[-1][1])
                ):
                    joined = f"{picked[-1][1]} {text}"
                    if word_count(joined) <= _MAX_BULLET_WORDS and self._fresh(text):
                        picked[-1] = (picked[-1][0], joined)
                        self._use(s, text)
                        last = s.index
                continue
            if len(picked) >= want:
                # a thin story takes one more bullet, if the next fact is a short one
                thin = word_count(" ".join([self.dek_text, *(b for _, b in picked)])) < _THIN
                # ...and leaves the nut graf and the kicker a sentence each
                if len(picked) > want or not thin or not self._spare(3):
                    break
            opened = self._opening(text)
            if opened is None or not _voice_ok(opened) or not self._fresh(opened):
                continue
            held = (set(self.used), {k: set(v) for k, v in self.taken.items()})
            bullet = self._bullet(s, opened)
            if bullet is None or not self._fresh(bullet):
                self.used, self.taken = held  # a sentence it took to merge is free again
                continue
            if len(picked) >= want and word_count(bullet) > _SHORT_EXTRA:
                self.used, self.taken = held
                break
            self._use(s, bullet)
            last = max(i for i in self.taken[self.part] if i <= s.index + 1)
            picked.append((s.index, bullet))
        picked.sort()
        return [b for _, b in picked]

    # -- headline ---------------------------------------------------------------------
    def _title_candidate(self) -> str:
        title = " ".join(self.article.title.split())
        title = _KICKER_WORDS.sub("", title)
        if len(title) > 60:
            title = _SITE_SUFFIX.sub("", title)
        title = title.rstrip(".")
        if title.islower() or _slug(title):
            return ""  # a slug from the link ("irans foreign minister"), not the outlet's headline
        if title.isupper():  # a shouting title: keep only the acronyms the text also writes
            caps = set(re.findall(r"\b[A-Z][A-Z0-9&]+\b", self.article.text))
            title = " ".join(w if w.strip(",.:;'\"") in caps else w.lower() for w in title.split())
        return title

    def _clause_cuts(self, text: str, strict: bool = True) -> Iterator[str]:
        """Prefixes of a sentence that end after a noun and still hold its verb.

        ``strict`` cuts only inside the main clause; otherwise a cut may fall inside a
        subordinate clause too (a second choice: it may leave that clause without its verb).
        """
        body = _main_clause(text).rstrip('.!?"”’ ')
        body = _without_speaker(_PAREN.sub("", body))  # "6,000 metres (3.7 miles)": no aside
        # a leading time or place ("In about five years, ...") is not the news
        intro, comma, rest = body.partition(", ")
        if (
            comma
            and intro.split(" ", 1)[0].lower() in _INTRO_WORDS
            and word_count(intro) <= 6
            and word_count(rest) >= 6
            and rest[:1].isalpha()
            and not QUOTED.search(intro)
            and not _grammar.has_verb(_grammar.tag(intro))
            and _grammar.has_verb(_grammar.tag(rest.split(",", 1)[0]))  # not "Missouri, Bush"
        ):
            body = rest[0].upper() + rest[1:]
        body = re.sub(r"\b(\w+s) who (?:were|are) (?=(?:on|in|at|from|inside|near) )", r"\1 ", body)
        yield body
        # "Ashgrove said on Friday that sales rose 9%" -> "Sales Rose 9%, Ashgrove Says": the
        # news first, its source after, as headlines put it
        report = SAID_THAT.match(body)
        if report is not None and report.group("who").split()[0].lower() not in _PRONOUNS:
            what = report.group("what")
            if _finite(what, self.names) and not QUOTED.search(what):
                yield f"{what[0].upper()}{what[1:]}, {report.group('who')} Says"
        # a dash opens an aside or a second thought: the clause before it may stand alone
        dash = _DASH.search(body)
        if dash is not None and _finite(body[: dash.start()], self.names):
            body = body[: dash.start()]
            yield body
        # a cut must keep only the main clause: past "that" or "who" the verb may be cut away
        # ("... Has Revealed That the Hairstyle She Models")
        sub = None
        if strict:
            clauses = _Reading(body)
            sub = next((m for m in _SUBCLAUSE.finditer(body) if _opens_clause(m, clauses)), None)
        # ...unless the main verb comes after it ("The humanoid, known as Ham, has been ...")
        if sub is not None and _finite(body[: sub.start()], self.names):
            body = body[: sub.start()].rstrip(", ")
            yield body
        # "... wreck retirement many years after the break-up": the span of time goes with
        # what it measures from, the clause before it may stand
        span = _SPAN.search(body) if strict else None
        if span is not None and word_count(body[: span.start()]) >= 5:
            head = body[: span.start()].rstrip(", ")
            if _head_verb(head) is not None:
                yield head
        # cut points: before a preposition, a conjunction or a relative word that follows a
        # noun (by the lexicon: the context rules misread headline syntax), or at a comma
        reading = _Reading(body)
        words, offsets = reading.words, reading.starts
        for i in range(len(words) - 1, 1, -1):
            nxt = words[i].lower().strip(",;:")
            prev = words[i - 1].strip(",.;:\"”’'")
            if words[i - 1].endswith(","):
                head = body[: offsets[i]].rstrip(", ")
                last_item = head.rsplit(",", 1)[-1]
                next_item = re.match(r"[^,]*?(?=,| and | or |$)", body[offsets[i] :])
                in_list = ("," in head and word_count(last_item) <= 4) or (
                    next_item is not None and word_count(next_item.group(0)) <= 3
                )
                # never inside a list ("Egypt, Bangladesh, Turkey, ..."), never an opening
                # phrase without the clause it leads into ("Like the scene from ..., the fly")
                verb = reading.head_verb(i)
                if (
                    not in_list
                    and (verb or (verb is False and not reading.own_verb(i)))
                    and not reading.reported_cut(i)
                ):
                    yield head
                continue
            noun = _grammar.lexical_tag(prev).startswith(("NN", "CD")) or prev[:1].isdigit()
            passive = _grammar.lexical_tag(prev) in ("VBN", "VBD") and words[i - 2].lower() in (
                "been",
                "be",
                "was",
                "were",
                "is",
                "are",
            )  # "Two Screeners Have Been Fired" is complete before "After ..."
            if prev.lower() in _TIME_WORDS and nxt in ("after", "before", "since", "until"):
                continue  # "many years after ...": the time belongs to what follows
            if nxt in _NOUN_TAKES.get(prev.lower(), ()):
                continue  # "launched a furious attack [on Labour MPs]": the noun needs it
            after = words[i + 1].lower().strip(",.;:") if i + 1 < len(words) else ""
            # "... a decorated career and was nominated ...": "and" then a verb starts a
            # second predicate, so the first stands alone ("a long and decorated" does not)
            joins = nxt in ("and", "but") and (
                after in _CLAUSE_STARTS or _grammar.lexical_tag(after) in ("VBD", "VBZ", "VBP")
            )
            # "... post-mortem and there were reports": a second clause, whatever ends the first
            clause = joins and after in _CLAUSE_SUBJECTS and reading.main_verb(i)
            if ((noun or passive) and (nxt in _ADJUNCTS or nxt in ("who", "which") or joins)) or (
                clause
            ):
                if nxt in ("who", "which") and reading.reports_object(i):
                    continue  # "found the number of people [who ...] fell": the finding is cut
                if not joins and not reading.head_verb(i) and reading.own_verb(i):
                    continue  # "A teacher accused of having sex [with ... took a deal]"
                if reading.in_participle(i):
                    continue  # "..., blaming the incident [on ...]": the phrase needs its end
                yield body[: offsets[i]].rstrip(", ")

    def _headline_ok(self, text: str, shortest: int = 45) -> bool:
        if text in self.banned_headlines:
            return False
        if not shortest <= len(text) <= 90 or not _voice_ok(text):
            return False
        if any(c in text for c in "?!()[]"):  # a headline asks nothing and has no aside
            return False
        if _CONNECTIVE.search(text):  # "Increasingly, However, ...": it leans on a sentence before
            return False
        if _prose.orphan_opening(text) is not None:
            return False
        # a quotation in a headline is whole: a pair of double marks or of curly single ones
        singles = text.count("‘")
        if QUOTED.search(text) and text.count('"') + text.count("“") < 2 and not singles:
            return False
        if singles and text.count("’") < singles:
            return False
        toks = _grammar.tag(text, self.names)
        return (
            _grammar.has_verb(toks)
            and not _grammar.cut_off(toks)
            and not _grammar.no_main_clause(toks)
            and not _grammar.word_salad(toks, self.names)
        )

    def _cased(self, text: str) -> str:
        """House title case, keeping a small word the source capitalises as a name ("Per")."""
        if not text:
            return text
        cased = title_case(text[0].upper() + text[1:]).split(" ")
        raw = text.split(" ")
        if len(raw) == len(cased):
            cased = [
                r if r[:1].isupper() and c[:1].islower() else c
                for r, c in zip(raw, cased, strict=True)
            ]
        return " ".join(cased)

    def _headline_options(self) -> Iterator[tuple[int, str]]:
        """(source sentence or -1, candidate), best first: the source title, then clauses of
        the dek's sentence and the bullets' sentences, then of the other lead sentences."""
        title = self._title_candidate()
        clickbait = self.style.rule("headline-no-clickbait")
        if title and not (clickbait and clickbait.pattern and clickbait.pattern.search(title)):
            yield -1, title
        # lead sentences as our voice has them: "He is ..." as "Zarif is ...", no "And ..."
        ready = [(s, self._ready(s)) for s in self.sents]
        lead = [
            (s, text)
            for s, text in ready
            if text is not None and text[:1] not in "\"“‘'" and not text.endswith("?")
        ]
        news = self.taken.get("dek", set()) | self.taken.get("bullets", set())
        held = set().union(*(v for k, v in self.taken.items() if k not in ("dek", "bullets")))

        def tier(s: _Sent) -> int:
            # the news first; a sentence another part holds last (the headline would echo it)
            return 0 if s.index in news else 2 if s.index in held else 1

        ranked = sorted(lead, key=lambda st: (tier(st[0]), -st[0].score, st[0].index))
        for strict in (True, False):
            for s, text in ranked:
                for option in self._clause_cuts(text, strict):
                    when = _LEADING_WHEN.match(option)
                    if when is not None:
                        # "On May 28, 2014, Some 7,000 People Gathered": the news, not the date
                        rest = option[when.end() :].strip()
                        yield s.index, rest[:1].upper() + rest[1:]
                    yield s.index, option.strip()
        # two short whole sentences, the house's two-beat form ("X Is Winning. Y Loses.")
        whole = [next(self._clause_cuts(text)) for _, text in lead[:4]]
        short = [w for w in whole if 20 <= len(w) < 45 and self._headline_ok(self._cased(w), 20)]
        for a, b in itertools.combinations(short, 2):
            yield -1, f"{a}. {b[0].upper()}{b[1:]}"

    def headline(self, topic: frozenset[str]) -> str:
        """The first candidate that reads as a headline and names the story's subject.

        Failing that, one that reads as a headline; failing that, the longest grammatical
        clause even if short (the gate then asks the editor for length, never for sense).
        The sentence it comes from is not used again (no part repeats the headline), and it
        does not repeat the dek word for word.
        """
        best: tuple[int, str] | None = None
        fallback: tuple[int, str] | None = None
        short: tuple[int, str] | None = None
        echo: tuple[int, str] | None = None
        verbatim: tuple[int, str] | None = None  # a whole sentence another part says
        said = {plain_words(w) for w in self.written}
        for n, (index, raw) in enumerate(self._headline_options()):
            if n > 400:
                break  # enough tries: the fallbacks below are good enough
            if not 20 <= len(raw) <= 90:
                continue  # title case keeps the length: no need to case it to know
            if plain_words(raw) in said:
                # another part word for word: only if no other candidate reads as a headline
                if verbatim is None and self._headline_ok(self._cased(raw)):
                    verbatim = (index, self._cased(raw))
                continue
            if word_count(raw) > _SAME_AS_DEK * word_count(self.dek_text) and (
                similarity(raw, self.dek_text) > _SAME_AS_DEK
            ):
                # most of the dek: only if no other candidate reads as a headline
                if echo is None and self._headline_ok(self._cased(raw)):
                    echo = (index, self._cased(raw))
                continue
            option = self._cased(raw)
            if len(raw) < 45:
                if (short is None or len(raw) > len(short[1])) and self._headline_ok(option, 20):
                    short = (index, option)
                continue
            if self._headline_ok(option):
                if topic & set(content_words(option)):
                    best = (index, option)
                    break
                fallback = fallback or (index, option)
        owner = None
        if verbatim is not None:
            owner = next((p for p, held in self.taken.items() if verbatim[0] in held), None)
        # the one sentence that makes a headline: the part that holds it gives it up (on a
        # short article the dek keeps it: there is no other sentence for the dek)
        gives = owner is not None and (owner != "dek" or len(self.sents) >= _LONG_ENOUGH)
        given_up = verbatim if gives and self.given_up < _GIVE_UPS else None
        chosen = best or fallback or echo or given_up or short or verbatim
        if chosen is None:
            return self._cased(self._title_candidate() or self.article.title)
        index, headline = chosen
        if chosen is given_up and owner is not None:
            self.echoed = (owner, index)
        if index >= 0 and index not in self.used:
            self._take(index)
        self.written.append(headline)
        return headline

    # -- nut graf, context, hook, kicker -----------------------------------------------
    def nut_graf(self) -> str:
        plain = [s for s in self._ranked() if not s.quoted and not s.according]
        first = None
        rest = [s for s in self._ranked() if not s.according]
        for s, text in self._candidates([*plain, *rest]):
            if 8 <= word_count(text) <= 45:
                first = (s, text)
                break
        if first is None:
            return ""
        s, text = first
        lead = (
            f"According to {self.outlet_phrase}, {self._lower_first(text)}" if self.outlet else text
        )
        self._use(s, text)
        # why it matters: a sentence on the stakes, where the article has sentences to spare
        spare = self._spare(4)
        stakes = [t for t in self.sents if spare and t.index > s.index and t.stakes]
        for t, more in self._candidates(sorted(stakes, key=lambda t: -t.score)):
            joined = f"{lead} {more}"
            if word_count(joined) <= 100:
                self._use(t, more)
                return joined
        if word_count(lead) < 20:
            for t, more in self._candidates(self._ranked()):
                joined = f"{lead} {more}"
                if 20 <= word_count(joined) <= 100:
                    self._use(t, more)
                    return joined
        return lead

    def context(self) -> str:
        rule = self.style.rule("context-words")
        least = rule.min if rule is not None and rule.min is not None else 15
        pool = sorted(
            (s for s in self.sents if s.background and s.text[:1] not in "\"“‘'"),
            key=lambda s: (-s.score, s.index),
        )
        parts: list[str] = []
        for s, whole in self._candidates([*pool, *self._ranked(), *self.sents]):
            text = _trim(whole, 45, 10) or ""
            if not text or not self._free(s):
                continue
            if word_count(" ".join([*parts, text])) > 90:
                continue
            parts.append(text)
            self._use(s, text)
            spare = self._spare(3)
            words = word_count(" ".join(parts))
            # short of the house's least, it takes a second sentence even from a thin article
            if len(parts) == 2 or words >= 40 or (not spare and words >= least):
                break
        if not parts:
            for s, text in self._candidates(self._clauses()):
                if word_count(text) >= least:
                    self._use(s, text)
                    return text
        return " ".join(parts)

    def hook(self, topic: frozenset[str]) -> str:
        pool = [s for s in self.sents[:12] if 6 <= s.words <= 35 and s.terms & topic]
        quoted = [s for s in pool if s.quoted and s.attributed]
        short = sorted((s for s in pool if s.words <= 25), key=lambda s: s.index)
        anywhere = [s for s in self.sents if 5 <= s.words <= 45 and s.terms & topic]
        for s, text in self._candidates([*quoted, *short, *pool, *anywhere]):
            fitted = _trim(text, 45, 8)
            if fitted is None:
                continue
            self._use(s, fitted)
            return fitted
        for s, text in self._candidates(c for c in self._clauses() if c.terms & topic):
            self._use(s, text)
            return text
        return ""

    def kicker(self) -> str:
        pool = [s for s in self.sents if 6 <= s.words <= 60]
        forward = [s for s in pool if s.forward]
        forward.sort(key=lambda s: (-(s.score * 0.5 + s.index / max(len(self.sents), 1)), s.index))
        rest = sorted(pool, key=lambda s: -s.index)
        for s, whole in self._candidates([*forward, *rest, *self.sents]):
            text = _trim(whole, 60, 8) or ""
            if not text or not self._free(s):
                continue
            if QUOTED.search(text) and not self.attr_re.search(text):
                continue
            self._use(s, text)
            return text
        return ""

    # -- labels -----------------------------------------------------------------------
    def section(self, headline: str, dek: str) -> str:
        """The theme: the common-noun phrase of the news the article repeats most.

        Candidates are the noun phrases of the headline and the dek (never a name, so never a
        minor entity), weighed by how often the article uses their words.
        """
        key = self.article.id or self.article.title
        tf = self.tf
        best: tuple[float, str] = (0.0, "")
        # the headline as the gate tagged it (cached), then the dek
        toks = [
            *_grammar.tag(headline, self.names),
            _grammar.Token(".", "."),
            *_grammar.tag(dek, self.names),
        ]
        run: list[_grammar.Token] = []
        for t in [*toks, _grammar.Token(".", ".")]:
            common = t.text.isalpha() and not t.text.isupper() and not _grammar.is_name_like(t.text)
            if t.tag in ("NN", "NNS") and common:
                run.append(_grammar.Token(t.low, t.tag))
                continue
            phrase = [w for w in run if w.low not in _TIME_WORDS and w.low not in STOPWORDS]
            run = []
            if not phrase or all(w.low in _GENERIC_NOUNS for w in phrase):
                continue
            phrase = [*phrase[-2:-1], _singular(phrase[-1])][-2:]
            weight = sum(tf[content_words(w.text)[0]] for w in phrase if content_words(w.text))
            if weight > best[0]:
                best = (float(weight), " ".join(w.text for w in phrase))
        self.topic = best[1] or self._topic_word(headline, dek) or "news"
        if best[1]:
            templates = self.style.template_list("section_templates")
            header = _pick(templates, key, "The {topic} Picture").replace("{topic}", best[1])
            if 2 <= word_count(header) <= 6:
                return title_case(header)
        return _pick(self.style.template_list("section_fallbacks"), key, "The Big Picture")

    def _topic_word(self, *parts: str) -> str:
        """The common noun of these parts the article uses most ("plan"), or ""."""
        tf = self.tf
        text = self.article.text
        nouns = [
            w
            for w in content_words(" ".join(parts))
            if w not in _GENERIC_NOUNS
            and w not in _TIME_WORDS
            and _grammar.lexical_tag(w) in ("NN", "NNS")
            and f" {w}" in text  # written in lower case somewhere: a common noun, not a name
        ]
        if not nouns:
            return ""
        word = max(nouns, key=lambda w: tf[w])
        return _singular(_grammar.Token(word, _grammar.lexical_tag(word))).text

    def _fallback(self, key: str) -> str:
        template = _pick(self.style.template_list(key), self.article.id + key, "")
        text = template.replace("{topic}", self.topic.lower()).replace(
            "{outlet}", self.outlet_phrase
        )
        return text[:1].upper() + text[1:]

    def lead_in(self) -> str:
        template = _pick(
            self.style.template_list("lead_ins"),
            self.article.id + "lead",
            "The details, per {outlet}:",
        )
        text = template.replace("{outlet}", self.outlet_phrase)
        return text[0].upper() + text[1:]

    def kicker_label(self) -> str:
        return _pick(
            self.style.template_list("kicker_labels"), self.article.id + "kick", "What Comes Next:"
        )

    # -- the whole story --------------------------------------------------------------
    def compose(self) -> StorySummary:
        """Every part, each from sentences no other part holds."""
        self.used, self.written, self.taken = set(), [], {}
        self.echoed = None
        self.part = "dek"
        self.dek_text = self.dek()
        self.part = "bullets"
        bullets = self.bullets(2)
        dek = self.dek_text  # the bullets may have joined a sentence to it
        topic = frozenset(content_words(" ".join([dek, *bullets])))
        # the parts with the fewest fitting sentences choose first on a short article
        self.part = "nut_graf"
        nut_graf = self.nut_graf()
        self.part = "kicker"
        kicker = self.kicker()
        self.part = "hook"
        hook = self.hook(topic)
        self.part = "context"
        context = self.context()
        # last, from the news the dek and bullets hold (or a sentence no part holds)
        self.part = "headline"
        headline = self.headline(topic)
        if self.echoed is not None:
            part, index = self.echoed
            self.banned.setdefault(part, set()).add(index)
            self.given_up += 1
            return self.compose()
        section = self.section(headline, dek)
        # an article with no sentence left for a part: wording that carries no fact
        hook = hook or self._fallback("hook_fallbacks")
        context = context or self._fallback("context_fallbacks")
        kicker = kicker or self._fallback("kicker_fallbacks")
        article = self.article
        return StorySummary(
            id=article.id,
            headline=headline,
            dek=dek,
            hook=hook,
            nut_graf=nut_graf,
            section=section,
            context=context,
            lead_in=self.lead_in(),
            bullets=tuple(bullets),
            kicker_label=self.kicker_label(),
            kicker=kicker,
            sources=article.credits,
            image=article.image,
            engine="extractive",
        )

    def refuse(self, story: StorySummary, parts: set[str]) -> None:
        """The gate refused these parts: their sentences may not stand there again."""
        for part in parts:
            if part == "headline":
                self.banned_headlines.add(story.headline)
            self.banned.setdefault(part, set()).update(self.taken.get(part, ()))


_REDRAWN = frozenset({"headline", "dek", "bullets", "nut_graf", "context", "hook", "kicker"})
_ATTEMPTS = 4
_NOT_REDRAWN = frozenset({"bullets-count", "not-empty"})


def write_story(article: Article, style: HouseStyle) -> StorySummary:
    """The offline engine's story for one article, held to the gate.

    A part the gate refuses is written again from other sentences (a few times at most).
    The story comes back with the gate's findings filled in.
    """
    w = _Writer(article, style)
    story = best = check_story(w.compose(), article, style)
    for _ in range(_ATTEMPTS):
        # too few bullets or an empty part: other sentences would not help, fewer would hurt
        refused = {
            f.part.split("[")[0] for f in story.errors if f.rule not in _NOT_REDRAWN
        } & _REDRAWN
        if not refused:
            break
        w.refuse(story, refused)
        story = check_story(w.compose(), article, style)
        if len(story.errors) <= len(best.errors):  # the latest of equally good attempts
            best = story
    return best
