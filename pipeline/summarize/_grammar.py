"""Part-of-speech tags and the sentence checks built on them.

In: short English text (a headline, a sentence, the opening of a part). Out: Penn Treebank
tags and the verdicts the gate and the offline engine share: does a headline have a verb, is
it cut off, is it word salad; is a word a common English word or a name.

The tagger is TextBlob's English tagger (Brill's lexicon, suffix and context rules, shipped
inside the wheel, so nothing is downloaded at run time). Headlines are in title case, which a
lexicon tagger reads as a string of names, so title-case words are looked up in lower case
unless the text around them uses them as names. Two corrections the Brill rules miss in
headline syntax follow ("She Hands Keys an Award": a plural noun after a pronoun is a verb).
Input is capped, so every call is linear and small.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..words import word_set
from ._speech import HEADLINE_REPORTED, HEADLINE_REPORTED_HOW, HEADLINE_REPORTS
from ._text import ABBREVIATIONS

_MAX_TOKENS = 80  # tagging is for headlines and sentence openings, never whole articles

# letters of any script ("Jörg Düsterwald", "José"), and letters or digits
_L, _LD = r"[^\W\d_]", r"[^\W_]"
_TOKEN = re.compile(
    rf"[$£€¥]?\d(?:[\d,.]*\d)?(?:st|nd|rd|th|s|%|bn|m|k)?(?!{_L})"  # 3,000 20th 1990s 5%
    r"|n['’]t\b"  # the negation of a contraction, as its own token ("does" + "n't")
    r"|['’](?:s|re|ve|ll|d|m)\b"  # clitics and the possessive
    rf"|{_L}(?:[\w.&-]*{_L})?(?=n['’]t\b)"  # "does" before "n't"
    # words, U.S., Acton-Smith, O'Brien (an apostrophe inside a word, never a clitic)
    rf"|{_LD}(?:[\w.&-]*{_LD})?(?:['’](?!(?:s|re|ve|ll|d|m)\b){_L}+)*"
    r"|[^\s\w]|_"  # punctuation, one mark a token
)

VERB_TAGS = frozenset({"VB", "VBD", "VBP", "VBZ", "MD", "VBN"})
_FINITE = frozenset({"VB", "VBD", "VBP", "VBZ", "MD"})
# a verb that is finite whatever its context: a past, a present, a modal (a base form may be an
# infinitive or an imperative)
FINITE_TAGS = frozenset({"VBD", "VBP", "VBZ", "MD"})
_NOUNS = frozenset({"NN", "NNS", "NNP", "NNPS"})
_DO_MODAL = word_set(
    """
    do does did will would can could shall should may might must
    """
)
_SUBJECT_PRONOUNS = frozenset({"he", "she", "it", "they", "we", "i", "you", "who"})

ARTICLES = frozenset({"a", "an", "the"})
DETERMINERS = ARTICLES | frozenset(
    {"this", "these", "those", "every", "each", "its", "their", "his", "our", "my", "your"}
)
PREPOSITIONS = word_set(
    """
    about above across after against along amid among around as at before behind below
    beneath beside besides between beyond by despite during except for from in inside
    into like near of off on onto out outside over past per since than through
    throughout till to toward towards under underneath unlike until up upon versus via
    with within without
    """
)
CONJUNCTIONS = frozenset({"and", "or", "but", "nor", "because", "although", "whereas", "unless"})
# A preposition may end a headline as the particle of a phrasal verb ("Fowler Hit Back").
_PARTICLES = frozenset(
    {"up", "out", "off", "back", "down", "over", "away", "in", "on", "around", "through"}
)
_MONTHS = word_set(
    """
    january february march april may june july august september october november
    december jan feb mar apr jun jul aug sep sept oct nov dec
    """
)
# Titles that stand before a name ("Maj. Gen. Allen ...", "Sen. Smith"): never a last word.
_TITLE_ABBREVIATIONS = word_set(
    """
    mr mrs ms dr prof gen gov sen rep rev st lt col capt sgt maj cmdr adm pres supt det insp
    hon sir lord lady dame
    """
)
# Words that never end a complete phrase: they need what follows ("her own [lives]").
_WANTS_MORE = word_set("own other another several whose every each either neither such")
# Nouns that need their "of ...": "at the age [of 15]", "was a result [of ...]".
_NEEDS_OF = word_set(
    """
    age result part number lot kind sort type member rest half majority percentage total
    series couple pair group handful range host set bunch fraction proportion share
    """
)
_PARTICIPLE = re.compile(r"(?:ed|en|ing)$")
# Clause openers whose clause needs a verb of its own: "... Began When Australian Marc Leishman"
_CLAUSE_OPENERS = word_set("when because although though unless whether whereas")
# Past participles that need what follows: "Had Been Diagnosed [with ...]", "Is Known [as ...]"
_NEEDS_COMPLEMENT = word_set(
    "diagnosed described known regarded considered dubbed branded deemed labelled labeled named"
)
_BE = word_set("be been being is are was were am 's")
# Words that open a clause of their own, whose verb comes after them
_OPENS_CLAUSE = word_set(
    "that when where while because although though if unless whether as since until once"
)
_SUBORDINATORS = word_set(
    "as when while because if although though since unless until whether after before once"
)
# Pieces of contractions that a slug or a careless cut leaves standing alone.
_FRAGMENTS = frozenset({"ll", "ve", "re", "s", "t", "d", "m", "nt"})
FUNCTION_TAGS = frozenset(
    {"DT", "IN", "TO", "CC", "PRP", "PRP$", "MD", "WDT", "WP", "WRB", "POS", "EX", "RP"}
)
_AUXILIARIES = word_set(
    """
    is are was were be been being am has have had do does did will would can could shall
    should may might must 's 're 've 'll 'd n't not
    """
)
# Tag pairs English does not produce: "the will", "of the." A shuffled headline shows them.
_BAD_PAIRS = {
    # (a past form after an article is an adjective: "a Reported Fortune", "the Frozen Embryo")
    "DT": frozenset({"DT", "MD", "VBZ", "VBP", "CC", "TO", "PRP", "IN", "POS"}),
    "PRP$": frozenset({"DT", "MD", "VBZ", "VBP", "CC", "TO", "PRP", "IN", "POS"}),
    "IN": frozenset({"MD", "VBZ", "VBP", "POS"}),  # ("before and after" is English)
    "TO": frozenset({"MD", "CC", "VBZ", "VBD", "VBN", "POS"}),
    "CC": frozenset({"CC", "POS"}),
    "MD": frozenset({"DT", "MD", "VBD", "VBZ", "POS", "CC"}),
    "POS": frozenset({"POS", "IN", "TO", "CC", "MD", "VBD", "VBZ"}),
}


# Closed-class words keep their class whatever the context rules guess: on a headline out of
# order, Brill's rules turn "at" into a noun and "by" into a determiner.
_CLOSED: dict[str, str] = {
    **dict.fromkeys(("a", "an", "the", "these", "those", "every", "each"), "DT"),
    **dict.fromkeys(
        word_set(
            """
        about across after against along amid among around as at before behind below
        beneath beside between beyond by despite during from in inside into near of
        off on onto over per since through throughout toward towards under until
        upon via with within without
            """
        ),
        "IN",
    ),
    "to": "TO",
    **dict.fromkeys(("and", "or", "but", "nor"), "CC"),
    **dict.fromkeys(("he", "she", "they", "we", "i", "him", "them", "us", "me"), "PRP"),
    **dict.fromkeys(("his", "its", "their", "our", "my", "your"), "PRP$"),
    **dict.fromkeys(("would", "could", "should", "shall", "might", "must"), "MD"),
    **{"is": "VBZ", "are": "VBP", "was": "VBD", "were": "VBD", "be": "VB", "been": "VBN"},
    **{"has": "VBZ", "have": "VBP", "had": "VBD", "does": "VBZ", "do": "VBP", "did": "VBD"},
}
# What never follows a subject pronoun directly: a noun, an article, an adjective.


@dataclass(frozen=True)
class Token:
    """One word or mark with its Penn Treebank tag."""

    text: str
    tag: str

    @property
    def low(self) -> str:
        return self.text.lower()


@lru_cache(maxsize=1)
def _lexicon() -> Any:
    """TextBlob's English lexicon (loaded on first use: about 0.3 s once per process)."""
    import textblob.en

    lexicon = textblob.en.lexicon
    lexicon.load()  # a lazy dict: load it now so lookups below see every word
    return lexicon


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    """Lower-case English words: the lexicon's non-name entries and the spelling list."""
    import textblob.en

    words = {w for w, t in _lexicon().items() if w.islower() and not t.startswith("NNP")}
    spelling = textblob.en.spelling
    spelling.load()
    words.update(w for w in spelling if w.isalpha())
    return frozenset(words)


@lru_cache(maxsize=65536)
def lexical_tag(word: str) -> str:
    """The lexicon's tag for one word out of context ("" when it does not know the word)."""
    lex = _lexicon()
    return str(lex.get(word) or lex.get(word.lower()) or "").split("-")[0]


@lru_cache(maxsize=65536)
def is_common_word(word: str) -> bool:
    """Whether a word (any case) is ordinary English rather than a name."""
    low = word.lower().replace("’", "'").removesuffix("'s").strip(".'-")
    low = re.sub(r"n't$|'(?:re|ve|ll|d|m)$", "", low)  # "hasn't" is "has", "they'll" "they"
    if not low:
        return True
    common = _common_words()
    if low in common:
        return True
    if "-" in low:
        return all(p in common or p.isdigit() for p in low.split("-") if p)
    for suffix, repl in (("s", ""), ("es", ""), ("ies", "y"), ("ed", ""), ("ed", "e"), ("ing", "")):
        if low.endswith(suffix) and low[: -len(suffix)] + repl in common:
            return True
    return False


@lru_cache(maxsize=65536)
def is_name_like(word: str) -> bool:
    """A capitalised word the lexicon knows only as a name, or does not know at all."""
    w = word.replace("’", "'").removesuffix("'s").strip(".'-")
    if not w or not w[0].isupper():
        return False
    lex = _lexicon()
    tag = lex.get(w)
    if tag is not None and (tag.startswith("NNP") or lex.get(w.lower()) is None):
        return True  # a name, or a word English always capitalises ("German", "British")
    return not is_common_word(w)


@lru_cache(maxsize=8192)
def can_be_verb(word: str) -> bool:
    """Whether the lexicon knows a verb reading of the word (the tagger's guess is not enough).

    The lexicon stores one tag a word, so a noun that is also a verb ("hand", "map") counts
    when the lexicon knows its past or -ing form ("handed", "mapped").
    """
    lex = _lexicon()
    low = word.lower().replace("’", "'")
    if low in _AUXILIARIES or low in _DO_MODAL:
        return True
    tag = lex.get(low) or ""
    if tag.startswith("VB") or tag == "MD":
        return True
    stems = {low}
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("d", "")):
        if low.endswith(suffix) and len(low) > len(suffix) + 1:
            stems.add(low[: -len(suffix)] + repl)
    for stem in stems:
        if (lex.get(stem) or "").startswith("VB"):
            return True
        double = stem + stem[-1:]
        for form in (stem + "ed", stem + "d", stem + "ing", double + "ed", double + "ing"):
            if (lex.get(form) or "").startswith("VB"):
                return True
    return False


def tokens(text: str) -> list[str]:
    """Words, numbers, clitics and marks of a short text ("U.S." and "Mr." keep their dot)."""
    out: list[str] = []
    for tok in _TOKEN.findall(text[: _MAX_TOKENS * 20]):
        if tok == "." and out and _abbreviation(out[-1]):
            out[-1] += "."
        else:
            out.append(tok)
        if len(out) >= _MAX_TOKENS:
            break
    return out


def _abbreviation(word: str) -> bool:
    return "." in word or (len(word) == 1 and word.isupper()) or word.lower() in ABBREVIATIONS


def title_case_words(words: Sequence[str]) -> bool:
    """Whether most words are capitalised (a headline, a label)."""
    alpha = [w for w in words if w[:1].isalpha()]
    caps = sum(w[0].isupper() for w in alpha)
    return len(alpha) >= 3 and caps >= 0.6 * len(alpha)


def _closed_tag(word: str, tagged: str) -> str:
    """The tag of a closed-class word by its spelling, or the tagger's.

    "US" or "IT" in capitals is a name, never the pronoun it spells.
    """
    if len(word) > 1 and word.isupper() and word.isalpha():
        return "NNP" if tagged in FUNCTION_TAGS else tagged
    return _CLOSED.get(word.lower().replace("’", "'"), tagged)


def _lookup_form(word: str, first: bool, title: bool, names: frozenset[str]) -> str:
    """The form to look up: title-case words in lower case unless used as names."""
    if not word[:1].isupper() or (word.isupper() and len(word) > 1) or word in names:
        return word
    low = word.lower()
    lex = _lexicon()
    tag_low = lex.get(low)
    if tag_low is None:
        return word
    if title:
        return low  # in a headline every word is capitalised: the case says nothing
    if first:
        tag_cap = lex.get(word)
        return low if tag_cap is None or not tag_low.startswith("NN") else word
    return word


@lru_cache(maxsize=4096)
def _tag_cached(text: str, names: frozenset[str]) -> tuple[Token, ...]:
    from textblob._text import find_tags

    words = tokens(text)
    if not words:
        return ()
    title = title_case_words(words)
    looked: list[str] = []
    first = True
    for w in words:
        # the lexicon and the rules know the straight apostrophe only ("CRS’s": a possessive)
        looked.append(_lookup_form(w.replace("’", "'"), first, title, names))
        first = w in (".", "!", "?", ":")
    lex = _lexicon()
    tagged = find_tags(
        looked,
        lexicon=lex,
        morphology=lex.morphology,
        default=("NN", "NNP", "CD"),
        language="en",
    )
    if not title:
        # Brill's context rules were learnt on running text; on a title-case headline they
        # turn "have" into a noun and "backs" into a name, so a headline keeps the lexicon's
        # tags and the two corrections below
        tagged = apply_context(tagged)
    out = [
        Token(w, _closed_tag(w, str(t).split("-")[0]))
        for w, (_, t) in zip(words, tagged, strict=True)
    ]
    for i, t in enumerate(out):  # "Since May 2014": the month, not the modal
        if t.low == "may" and i + 1 < len(out) and out[i + 1].tag == "CD":
            out[i] = Token(t.text, "NNP")
    return tuple(_correct(out))


@lru_cache(maxsize=1)
def _rules_by_tag() -> dict[str, list[tuple[str, str, str, str, str]]]:
    """Brill's context rules, grouped by the tag they change (order kept, "*" in every group)."""
    context = _lexicon().context
    context.load()
    rules = [(r[0], r[1], r[2].lower(), r[3], r[4] if len(r) > 4 else "") for r in context]
    tags = {r[0] for r in rules if r[0] != "*"}
    return {t: [r for r in rules if r[0] in (t, "*")] for t in tags}


def apply_context(tokens: list[list[str]]) -> list[list[str]]:
    """Brill's context rules over tagged tokens, as TextBlob's ``Context.apply`` does them.

    The same rules in the same order with the same results (a test holds it to the
    library), but each token only visits the rules for its own tag: the library tries all
    293 on every token, which made tagging most of the engine's time.
    """
    pad = [["STAART", "STAART"]] * 3
    t = pad + [list(x) for x in tokens] + pad
    groups = _rules_by_tag()
    for i in range(3, len(t) - 3):
        for _, to, cmd, x, y in groups.get(t[i][1], ()):
            if _rule_holds(t, i, cmd, x, y):
                t[i] = [t[i][0], to]
    return t[3:-3]


def _rule_holds(t: list[list[str]], i: int, cmd: str, x: str, y: str) -> bool:
    """Whether one Brill context rule's condition holds at token ``i`` (padded list)."""
    if cmd == "prevtag":
        return x == t[i - 1][1]
    if cmd == "nexttag":
        return x == t[i + 1][1]
    if cmd == "prev1or2tag":
        return x == t[i - 1][1] or x == t[i - 2][1]
    if cmd == "next1or2tag":
        return x == t[i + 1][1] or x == t[i + 2][1]
    if cmd == "prev1or2or3tag":
        return x == t[i - 1][1] or x == t[i - 2][1] or x == t[i - 3][1]
    if cmd == "next1or2or3tag":
        return x == t[i + 1][1] or x == t[i + 2][1] or x == t[i + 3][1]
    if cmd == "prev2tag":
        return x == t[i - 2][1]
    if cmd == "next2tag":
        return x == t[i + 2][1]
    if cmd == "surroundtag":
        return x == t[i - 1][1] and y == t[i + 1][1]
    if cmd == "curwd":
        return x == t[i][0]
    if cmd == "prevwd":
        return x == t[i - 1][0]
    if cmd == "nextwd":
        return x == t[i + 1][0]
    if cmd == "prev1or2wd":
        return x == t[i - 1][0] or x == t[i - 2][0]
    if cmd == "next1or2wd":
        return x == t[i + 1][0] or x == t[i + 2][0]
    if cmd == "prevwdtag":
        return x == t[i - 1][0] and y == t[i - 1][1]
    if cmd == "nextwdtag":
        return x == t[i + 1][0] and y == t[i + 1][1]
    if cmd == "wdprevtag":
        return x == t[i - 1][1] and y == t[i][0]
    if cmd == "wdnexttag":
        return x == t[i][0] and y == t[i + 1][1]
    if cmd == "wdand2aft":
        return x == t[i][0] and y == t[i + 2][0]
    if cmd == "wdand2tagbfr":
        return x == t[i - 2][1] and y == t[i][0]
    if cmd == "wdand2tagaft":
        return x == t[i][0] and y == t[i + 2][1]
    if cmd == "lbigram":
        return x == t[i - 1][0] and y == t[i][0]
    if cmd == "rbigram":
        return x == t[i][0] and y == t[i + 1][0]
    if cmd == "prevbigram":
        return x == t[i - 2][1] and y == t[i - 1][1]
    if cmd == "nextbigram":
        return x == t[i + 1][1] and y == t[i + 2][1]
    return False


def _correct(toks: list[Token]) -> list[Token]:
    """Two repairs for headline syntax, applied only where a clause has no finite verb."""
    out = list(toks)
    for i, tok in enumerate(out):
        if tok.tag not in ("NNS", "NN", "NNP") or i == 0:
            continue
        prev = out[i - 1]
        before = out[i - 2] if i > 1 else None
        if tok.tag == "NN" and (
            prev.low in _DO_MODAL
            or (prev.low in ("n't", "not") and before is not None and before.low in _DO_MODAL)
        ):  # "Doesn't Plan", "Will Try"
            out[i] = Token(tok.text, "VB")
            continue
        nxt = out[i + 1] if i + 1 < len(out) else None
        clause = _clause_of(out, i)
        if any(t.tag in _FINITE for t in clause):
            continue
        plural = tok.low.endswith("s") and not tok.low.endswith("ss")
        if prev.low in _SUBJECT_PRONOUNS:  # "She Hands", "They Nail"
            out[i] = Token(tok.text, "VBZ" if plural else "VBP")
        elif (
            plural
            and tok.tag != "NNP"
            # "Fernhill's Chief Hands": a noun the lexicon calls an adjective after a possessive
            and (
                prev.tag in _NOUNS
                or (prev.tag == "JJ" and before is not None and before.tag == "POS")
            )
            and nxt is not None
            and nxt.tag in ("DT", "PRP$", "PRP", "CD", "$", "NNP", "JJ", "TO", "RB", "IN", "NN")
            and can_be_verb(tok.text)
        ):  # "Divorce Ends the Marriage", "Facebook Maps America's", "Radcliffe Gains Access"
            out[i] = Token(tok.text, "VBZ")
    return out


def _clause_of(toks: Sequence[Token], i: int) -> list[Token]:
    start = i
    while start > 0 and toks[start - 1].text not in (".", "!", "?", ";", ":"):
        start -= 1
    end = i
    while end + 1 < len(toks) and toks[end + 1].text not in (".", "!", "?", ";", ":"):
        end += 1
    return list(toks[start : end + 1])


def tag(text: str, names: Iterable[str] = ()) -> tuple[Token, ...]:
    """Tagged tokens of a short text; ``names`` are words to keep as names when capitalised."""
    return _tag_cached(text, frozenset(names))


def sentences_of(toks: Sequence[Token]) -> list[list[Token]]:
    """The tokens split at sentence marks (a headline may hold two sentences)."""
    out: list[list[Token]] = [[]]
    for t in toks:
        if t.text in (".", "!", "?"):
            if out[-1]:
                out.append([])
        else:
            out[-1].append(t)
    return [s for s in out if s]


def has_verb(toks: Sequence[Token]) -> bool:
    """Whether the text holds a verb (a passive participle counts, as headlines use it).

    The one verbless frame headlines use, "From A to B, C", counts as complete.
    """
    for i, t in enumerate(toks):
        if t.tag not in VERB_TAGS or not can_be_verb(t.text):
            continue
        prev = toks[i - 1] if i else None
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if (
            t.tag == "VBN"
            and prev is not None
            and prev.tag in ("DT", "PRP$", "POS", "JJ")
            and nxt is not None
            and nxt.tag in _NOUNS
        ):
            continue  # "The Frozen Embryo": a participle used as an adjective
        return True
    return _from_to_frame(toks)


def _from_to_frame(toks: Sequence[Token]) -> bool:
    """ "From Tyson's Mansion to a Giga-Coaster, CNN's Best Videos": a headline's verbless frame."""
    low = [t.low for t in toks]
    return bool(low) and low[0] == "from" and "to" in low[2:] and "," in low


def _claim_then_source(words: Sequence[Token]) -> bool:
    """ "Sales Hit a Record, SIA Says": a whole claim, a comma, then a short speaker."""
    low = [t.low for t in words]
    if "," not in low:
        return False
    comma = len(low) - 1 - low[::-1].index(",")
    claim, speaker = words[:comma], words[comma + 1 :]
    return 2 <= len(speaker) <= 4 and any(t.tag in _FINITE for t in claim)


def cut_off(toks: Sequence[Token], context: str = "") -> str:
    """Why a headline reads as cut mid-phrase ("" when it ends cleanly).

    ``context`` is the rest of the story: a number it writes with a unit or a noun after it
    ("$22 million", "six miners") is cut when the headline ends on it bare.
    """
    for sent in sentences_of(toks):
        words = [t for t in sent if t.text not in ('"', "'", "”", "’", ")", "(")]
        if not words:
            continue
        last = words[-1]
        prev = words[-2] if len(words) > 1 else None
        low = last.low
        if last.text in (",", ";", ":", "-", "–", "—", "&") or last.tag == "POS":
            return f"it ends on {last.text!r}"
        if low in ARTICLES or (low in DETERMINERS and low != "his"):
            return f"it ends on the article or determiner {last.text!r}"
        if low in CONJUNCTIONS:
            return f"it ends on the conjunction {last.text!r}"
        if low in PREPOSITIONS:
            after_verb = prev is not None and (
                (prev.tag.startswith("VB") and can_be_verb(prev.text))
                or prev.tag == "MD"
                or prev.low in _AUXILIARIES
            )
            if low == "to" and after_verb:
                continue  # "He Doesn't Plan To"
            if low in _PARTICLES and after_verb:
                continue  # "Fowler Hit Back"
            return f"it ends on the preposition {last.text!r}"
        if low in ("who", "which", "whose", "whom", "where", "when", "if", "whether"):
            return f"it ends on {last.text!r}"
        if low in ("he", "she", "they", "we", "i"):
            return f"it ends on the subject {last.text!r}, with no verb after it"
        if low.rstrip(".") in _TITLE_ABBREVIATIONS and last.text[:1].isupper():
            return f"it ends on the title {last.text!r}, cut from its name"
        if _bare_number(last, prev, context):
            return f"it ends on the bare number {last.text!r}"
        if (
            last.tag == "VBN"
            and prev is not None
            and prev.tag in _NOUNS
            and any(t.tag in ("VBZ", "VBP", "VBD", "MD") for t in words[:-2])
        ):  # "... a Dispute Over Frozen Embryos Created": the clause lost its end
            return f"it ends on {last.text!r}, a participle whose phrase was cut"
        if low == "so" and prev is not None and prev.tag in _NOUNS:
            return "it ends on 'so', cut before what follows"
        tail = " ".join(t.low for t in words[-4:])
        if (
            HEADLINE_REPORTED.search(tail) or HEADLINE_REPORTED_HOW.search(tail)
        ) and not _claim_then_source(words):
            return "it ends on who said it, without what was said"
        if low in _WANTS_MORE:
            return f"it ends on {last.text!r}, which needs the words that were cut"
        if low in _NEEDS_COMPLEMENT and prev is not None and prev.low in _BE:
            return f"it ends on {last.text!r}, which needs what follows it ('with ...', 'as ...')"
        lost = _lost_content(words) or _held_off(sent)
        if lost:
            return lost
        if low in _AUXILIARIES and low not in ("not", "n't") and len(words) > 2:
            return f"it ends on the auxiliary {last.text!r}, without its verb"
        before = prev.low if prev is not None else ""
        played = len(words) > 2 and words[-3].low.startswith("play")  # "Played a Part"
        if low in _NEEDS_OF and before in ARTICLES | {"its", "their", "his", "her"} and not played:
            return f"it ends on {before} {last.text!r}, cut before its 'of ...'"
        if (
            prev is not None
            and before != "her"  # "Did Not Leave Her Unscathed": her is the object
            and (prev.tag in ("DT", "PRP$", "IN") or before in ("of", "a", "an", "the"))
            and lexical_tag(low) in ("JJ", "JJS", "JJR", "VBG")
            and not can_be_verb(last.text)
        ):
            return f"it ends on the adjective {last.text!r}, cut before its noun"
    return ""


def _held_off(sent: Sequence[Token]) -> str:
    """Why a cut stops inside an aside that held off its clause's verb ("Play Began Late When
    Marc Leishman, Who Got So Close ...": Leishman's verb came after the aside) or before the
    "but" a "not only" needs, "" if not.

    A complete clause may close on one ("The Firm Hired Jane Doe, Who Left Google").
    """
    low = [t.low for t in sent]
    only = next((i for i in range(1, len(low)) if low[i] == "only" and low[i - 1] == "not"), -1)
    if only > 0 and "but" not in low[only:]:
        return "it says 'not only' and stops before the 'but' that completes it"
    commas = [i for i, t in enumerate(sent) if t.text == ","]
    if not commas or commas[-1] + 1 >= len(sent):
        return ""
    at = commas[-1]
    if sent[at + 1].low not in ("who", "which", "whose"):
        return ""
    opened = max((i for i in range(at) if sent[i].low in _OPENS_CLAUSE), default=-1)
    if has_verb(sent[opened + 1 : at]):
        return ""
    return f"it stops inside the aside {sent[at + 1].text!r} ..., before the verb it held off"


def _lost_content(words: Sequence[Token]) -> str:
    """Why a headline lost what its verb or clause opener needs ("" when nothing is lost)."""
    low = [t.low for t in words]
    # "Lubitz Told His Flight School in 2009": told whom, never what
    told = [i for i, w in enumerate(low) if w in ("told", "tells") and i > 0]
    if told and low[told[-1] - 1] not in _BE:
        after = words[told[-1] + 1 :]
        if not any(
            t.tag in _FINITE or t.low in ("to", "that", "about", "of", "how") for t in after
        ):
            return f"it ends before what {words[told[-1]].text!r} reported"
    # "To Put Food [on the table]": put somewhere, never nowhere
    put = [i for i, w in enumerate(low) if w in ("put", "puts", "putting")]
    if put and not any(t.tag in ("IN", "RP", "RB") for t in words[put[-1] + 1 :]):
        return f"it ends before where {words[put[-1]].text!r} puts it"
    # "... Began When Australian Marc Leishman": the clause lost its verb
    # ...and "Washington Believes That the Relationship Between Britain": so did "that"
    openers = [
        i
        for i, w in enumerate(low)
        if i > 0
        and (
            w in _CLAUSE_OPENERS
            or (
                w == "that"
                and words[i].tag == "IN"
                and words[i - 1].tag in VERB_TAGS
                and i + 1 < len(words)
                and words[i + 1].tag in ("DT", "PRP", "PRP$", "CD", "EX")  # not "Bought That House"
            )
        )
    ]
    if openers and not any(
        t.tag in _FINITE and can_be_verb(t.text) for t in words[openers[-1] + 1 :]
    ):
        return f"it ends inside a {words[openers[-1]].text!r} clause that lost its verb"
    return ""


def _verb_groups(seq: Sequence[Token]) -> int:
    """Verb groups that may be finite ("Did Not Experience" is one): how many clauses there are.

    Generous on purpose: a word the tagger read as a noun but that can be a verb where a verb
    may stand ("Troops Who Fought in Iraq Return Home") counts, so a doubt never rejects.
    """
    groups = 0
    prev = ""
    before = ""
    for t in seq:
        if t.tag == "RB" or t.low in ("not", "n't"):
            continue
        if t.low in ("who", "which", "that"):
            prev, before = "relative", t.tag
            continue
        # "Who Sold": a past form straight after the relative word is its finite verb
        finite = (
            (t.tag in _FINITE or (t.tag == "VBN" and prev == "relative"))
            and before != "TO"  # "to Party": an infinitive says nothing by itself
            and can_be_verb(t.text)
        )
        maybe = not finite and (
            t.tag in _NOUNS | {"VB", "VBP", "VBZ"}
            and before not in ("TO", "DT", "PRP$", "IN", "JJ", "POS", "CD")
            and can_be_verb(t.text)
        )
        # a noun that could be a verb ("Return") starts a group only where no verb runs on;
        # after a verb it is read as its object ("Bought Tickets")
        if (finite and prev not in ("finite", "aux")) or (maybe and prev == ""):
            groups += 1
        prev = (
            ("aux" if t.low in _AUXILIARIES else "finite") if finite else "maybe" if maybe else ""
        )
        before = t.tag
    return groups


def no_main_clause(toks: Sequence[Token]) -> str:
    """Why a headline is a fragment with no main clause ("" when it has one).

    "As a fly found out when ..." is only a subordinate clause; "Dotted among scrubland,
    placed in ..." and "The head, designed by ..." have participles but no finite verb.
    """
    for sent in sentences_of(toks):
        words = [t for t in sent if t.text[:1].isalnum()]
        if not words:
            continue
        first = words[0].low
        if first in _SUBORDINATORS and not any(t.text == "," for t in sent):
            return f"it is only a clause starting with {words[0].text!r}, with no main clause"
        finite = [
            t
            for k, t in enumerate(sent)
            if t.tag in ("VB", "VBZ", "VBP", "VBD", "MD")
            and can_be_verb(t.text)
            and t is not words[0]
            and not (t.tag == "VB" and k and sent[k - 1].tag == "TO")  # "to Brief": infinitive
        ]
        participles = [
            t for t in sent if t.tag in ("VBN", "VBG", "VBD") and _PARTICIPLE.search(t.low)
        ]
        relative = next(
            (
                i
                for i, t in enumerate(sent)
                if t.low in ("who", "which") and i and sent[i - 1].text == ","
            ),
            None,
        )
        if relative is not None and not any(t in finite for t in sent[:relative]):
            return "its only verb is inside a 'who' or 'which' clause: it names, it does not say"
        # "A Widow From Edinburgh Who Loves to Party": one verb, and the 'who' clause holds it
        bare = next(
            (
                i
                for i, t in enumerate(sent)
                if i
                and (
                    (
                        t.low in ("who", "which")
                        and (sent[i - 1].tag in _NOUNS or sent[i - 1].low in ("those", "one"))
                    )
                    or (t.low == "that" and sent[i - 1].tag in _NOUNS)  # "a body that gives"
                )
            ),
            None,
        )
        if (
            bare is not None
            and not any(t in finite for t in sent[:bare])
            and _verb_groups(sent[bare:]) <= 1
        ):
            return "its only verb is inside a 'who' or 'which' clause: it names, it does not say"
        # "Like the Scene From Dumb and Dumber ...": a phrase, no clause at all
        if (
            words[0].tag == "IN"
            and first not in _SUBORDINATORS
            and not finite
            and not _from_to_frame(sent)
        ):
            return f"it is only a phrase starting with {words[0].text!r}, with no main clause"
        if finite or not participles:
            continue
        # a dash sets off an aside as a comma does ("The Document – Prepared by ...")
        comma = next((i for i, t in enumerate(sent) if t.text in (",", "–", "—", "-")), None)
        if participles[0] is words[0] and comma is None:
            return "it opens on a participle and has no main clause: a fragment"
        after = [t for t in sent[comma + 1 :] if t.text[:1].isalnum()] if comma is not None else []
        if participles[0] is words[0] and after and after[0] in participles:
            return "it is two participle phrases and no main clause: a fragment"
        if comma is not None and sent.index(participles[0]) > comma:
            return "it has participles but no finite verb: a fragment, not a sentence"
    return ""


_NUMBER_WORDS = word_set(
    """
    two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty hundred thousand dozen
    """
)


def _bare_number(last: Token, prev: Token | None, context: str) -> bool:
    text = last.text.rstrip(".")
    if last.low in _NUMBER_WORDS:
        # "with three", "for six": a number word after a preposition has lost its noun
        return prev is not None and (prev.tag == "IN" or prev.low in DETERMINERS)
    if not re.fullmatch(r"[$£€¥]?\d[\d,]*(?:\.\d+)?", text):
        return False
    if re.fullmatch(r"(?:19|20)\d\d", text):
        return False  # a year
    if context and re.search(rf"(?<![\w.,]){re.escape(text)}\s+[A-Za-z]", context):
        return True  # the story writes "$22 million" where the headline stops at "$22"
    text = text.lstrip("$£€¥")
    if prev is None:
        return True
    if prev.low in ("at", "aged", "age") or prev.low in _MONTHS:
        return False  # "Dies at 88", "Since May 2014"
    return prev.low in DETERMINERS or prev.tag in ("JJ", "DT", "PRP$", "IN", "CD")


def _clause_before(seq: Sequence[Token], i: int) -> list[Token]:
    """The tokens of the clause before position ``i`` (back to a sentence mark or comma)."""
    start = i
    while start > 0 and seq[start - 1].text not in (".", "!", "?", ";", ":", ","):
        start -= 1
    return list(seq[start:i])


def _nominal(t: Token, names: frozenset[str]) -> bool:
    """A common noun or adjective that cannot be read as a verb ("grandmother", "online")."""
    if t.text in names or t.tag in FUNCTION_TAGS or not t.text[:1].isalpha():
        return False
    return lexical_tag(t.low) in ("NN", "NNS", "JJ") and not can_be_verb(t.text)


def word_salad(toks: Sequence[Token], names: Iterable[str] = ()) -> str:
    """Why a headline reads as a bag of words ("" when it reads as English)."""
    known = frozenset(names)
    words = [t for t in toks if t.text[:1].isalnum() or t.text[:1] in "'’"]
    for i, t in enumerate(words):
        if t.low.strip("'’") in _FRAGMENTS and t.text[:1] not in "'’":
            return f"{t.text!r} is a fragment of a word"
        if t.tag == "POS" and i > 0 and words[i - 1].tag in FUNCTION_TAGS:
            return f"{words[i - 1].text}{t.text} is not a word"
    for sent in sentences_of(toks):  # a two-sentence headline is judged a sentence at a time
        content = [t for t in sent if t.text[:1].isalpha()]
        function = [
            t
            for t in content
            if t.tag in FUNCTION_TAGS or t.low in _AUXILIARIES or t.low in ("not", "no", "so")
        ]
        # "Grocer Fresh Lane Names New Chief Executive": a short line with one finite verb
        # reads, and so does a report of one ("Grocer Says Early Holiday Sales Rose 9%")
        verbs = [t for t in content if t.tag in ("VBZ", "VBD", "VBP")]
        finite = len(content) < 10 and (
            len(verbs) == 1
            or (len(verbs) == 2 and verbs[0].low in HEADLINE_REPORTS and verbs[1] is not sent[-1])
        )
        if len(content) >= 7 and not function and not finite:
            return "it strings words together with no article, preposition or auxiliary"
        if len(content) >= 8 and len(function) < 0.2 * len(content) and not finite:
            return "it strings words together with hardly an article, preposition or auxiliary"
    seq = [t for t in toks if t.text not in ('"', "'", "“", "”", "‘", "’", "(", ")")]
    for i in range(len(seq) - 1):
        a, b = seq[i], seq[i + 1]
        if a.low == "that" or b.low == "that" or "," in (a.text, b.text):
            continue  # "that" is a determiner, a pronoun and a conjunction: no rule fits it
        if (
            b.tag in _BAD_PAIRS.get(a.tag, ())
            # "a Prosecutors": a singular article before a plural noun
            or (
                a.low in ("a", "an")
                and lexical_tag(b.low) == "NNS"
                and b.text not in known
                and (i + 2 >= len(seq) or seq[i + 2].tag not in ("NN", "NNS", "NNP", "JJ"))
            )
            # "She Grandmother": a subject pronoun and no verb after it
            or (a.low in ("he", "she", "they", "we", "i") and _nominal(b, known))
            # "Online the Britt": a noun, then an article, with no verb before it in the
            # clause to give it a second object ("Called Fowler's Girlfriend a Gold Digger")
            or (
                b.low in ARTICLES
                and _nominal(a, known)
                and not any(
                    t.tag in VERB_TAGS and can_be_verb(t.text) for t in _clause_before(seq, i)
                )
            )
        ):
            return f"the words do not follow each other as English does ({a.text + ' ' + b.text!r})"
    return ""


def opening(text: str) -> list[Token]:
    """The first few tagged tokens of a text (enough to judge how it opens)."""
    return list(tag(" ".join(text.split()[:6])))
