"""How our own sentences read: openings, quotation marks, captions, attribution, repeats.

In: the text of one story part (or two parts, for repeats). Out: the span and reason of what
breaks the house style ("" or None when the text is fine). Each check here is one rule of
the house style that the gate applies and the offline engine avoids:

- a part never opens on a pronoun or conjunction whose antecedent lives elsewhere;
- quotation marks, double and single, open and close inside the part;
- after "Per the FT, " the sentence goes on in lower case unless it starts with a name;
- no photo caption ("Pictured: ...", "(pictured)", a caption run into the next sentence);
- no sentence repeats another part's sentence (shared word pairs, see ``similarity``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from ..words import word_set
from ._grammar import (
    FUNCTION_TAGS,
    has_verb,
    is_name_like,
    lexical_tag,
    tag,
    title_case_words,
    tokens,
)
from ._speech import SPEECH
from ._text import split_sentences, strip_attribution

_PRONOUNS = word_set(
    """
    he she they it him her them his their its this that these those such
    """
)
_DEMONSTRATIVES = frozenset({"this", "these", "those", "that", "such"})
_TIME_NOUNS = word_set(
    """
    year years week weeks month months day days morning afternoon evening night season
    summer winter spring autumn fall time weekend quarter century decade term spring
    """
)
CONJUNCTIONS = word_set(
    """
    and but or nor so yet also however meanwhile moreover furthermore nevertheless
    nonetheless besides instead still thus therefore hence likewise similarly
    additionally
    """
)
# "It is unclear whether ...", "It was reported that ...": an "it" that points at nothing
# Link words that are also adverbs of degree or time: "So many ...", "Still more ..."
_ADVERB_TOO = frozenset({"so", "still", "yet", "also"})
_EXPLETIVE_IT = re.compile(
    r"^(?:It|it)(?:'s|’s| is| was| has been| had been| will be| would be| remains| seems)"
    r"(?: not| also| still| now)? (?:un)?(?:clear|likely|possible|important|difficult|hard|"
    r"easy|true|known|understood|thought|believed|expected|estimated|reported|said|feared|"
    r"hoped|rumoured|rumored|claimed|alleged|time|worth|too early|too soon)\b"
)
# Photo-caption furniture: labels and asides that point at a picture the story lacks.
_CAPTION_WORDS = re.compile(
    r"\b(?:Pictured|Picture|Photo|Photograph|Photographed|Image|Above|Below|Inset|Left|Right|"
    r"Centre|Center|Top|Bottom|Main|File|Video|Footage|Seen here|Remanded|Jailed|Charged|"
    r"Arrested|Convicted|Sentenced|Accused|Tragic|Tragedy|Victim|Killed|Missing|Scene|"
    r"Inseparable|Happier times)\s*:",
)
_CAPTION_ASIDE = re.compile(
    r"\((?:pictured|pictured [^)]{0,40}|left|right|centre|center|above|below|inset|top|"
    r"bottom|file|file photo|file picture|stock image|stock photo|seen here|main)\)"
    r"|\bseen here\b|\bpictured (?:left|right|above|below|with|at|in|on)\b",
    re.IGNORECASE,
)
# A short label and a colon at a sentence start, then a capital: "Bad memories: The ..."
_LABEL = re.compile(
    r"(?:^|(?<=[.!?\"”’] ))(?P<label>[A-Z][\w'’-]*(?: [\w'’&-]+){0,4}): (?=[A-Z\"“‘'])"
)
_QUOTE_MARKS = re.compile('["“”‘’]')
# A colon that opens a capitalised sentence: where a caption's label ends
_LABEL_COLON = re.compile(r": (?=[A-Z][a-z])")
# A caption run into the next sentence: a lower-case word, then a capitalised opener.
_FUSED = re.compile(
    r"(?<=[a-z0-9%)]) (?P<word>In|The|A|An|She|He|It|They|His|Her|Their|But|And|This|These|"
    r"Like|As|When|After|While|Its|Now|There|Mr|Mrs|Ms)(?= [a-z])"
)


@dataclass(frozen=True)
class Problem:
    """What a prose check found: the reason and the span inside the text."""

    reason: str
    start: int = 0
    end: int = 0


# "Back then, he held up ...": an opening phrase, then a person's pronoun as the subject
_AFTER_OPENING = re.compile(
    r"(?P<phrase>[^,;:\"“”‘’]{2,80}), (?P<pronoun>he|she|they|his|her|their)\b"
)


def _pronoun_after_opening(rest: str, at: int) -> Problem | None:
    """The subject after an opening phrase is a pronoun, and the phrase names nobody it could
    point to ("When Smith arrived, he said" is fine; "In 2012, he said" is not)."""
    m = _AFTER_OPENING.match(rest)
    if m is None or any(w[:1].isupper() for w in m.group("phrase").split()[1:]):
        return None
    start = at + m.start("pronoun")
    return Problem(
        f"its subject {m.group('pronoun')!r}, after the opening phrase, points to someone "
        "outside this part",
        start,
        start + len(m.group("pronoun")),
    )


# Tags before which a verb of saying reads as a noun: "five coastal states", "its reports"
_NOUN_BEFORE = frozenset({"DT", "JJ", "JJR", "JJS", "CD", "PRP$", "POS"})


def attributes(text: str, pattern: re.Pattern[str]) -> bool:
    """Whether the text names its source by the house pattern ("Per X, ...", "X said ..."),
    where a verb the pattern matches reads as a verb: straight after a lower-case article,
    adjective or number it is a noun ("in five coastal states", "the reports")."""
    for m in pattern.finditer(text):
        verb = next((g for g in m.groups() if g), None)
        if verb is None:
            return True  # "Per X, ...", "Label: ..."
        before = text[: m.start()].split()
        raw = before[-1].lstrip("\"“‘'(") if before else ""
        if not raw or not raw[-1].isalnum() or raw[0].isupper():
            return True  # "Paris, 20, said", "Brown argued": a speaker before the verb
        if not (raw[0].isdigit() or lexical_tag(raw.lower()) in _NOUN_BEFORE):
            return True
    return False


def orphan_opening(text: str) -> Problem | None:
    """A part opening on a pronoun or conjunction that points outside the part.

    "This year" and other times are fine; "This decision" and "Such moves" point back to
    something the reader of this part has not seen.
    """
    _, rest = strip_attribution(text.lstrip("\"“‘' "))
    words = rest.split()
    if not words:
        return None
    first = words[0].strip(",;:—–-").lower().replace("’", "'").removesuffix("'s")
    at = len(text) - len(rest)
    span = (at, at + len(words[0]))
    if first in CONJUNCTIONS:
        nxt_word = words[1] if len(words) > 1 else ""
        if (
            first in _ADVERB_TOO
            and not words[0].endswith(",")
            and lexical_tag(nxt_word.strip(",.;:").lower()) in ("JJ", "RB", "JJR", "RBR", "DT")
        ):
            return None  # "So many young Americans", "Still more": an adverb, not a link
        return Problem(f"it opens on the conjunction {words[0].strip(',')!r}", *span)
    if first in ("here", "there") and words[0].endswith(","):
        # "Here, inmates ...": the place is in a sentence this part does not hold
        return Problem(
            f"it opens on {words[0]!r}, which points to a place outside this part", *span
        )
    if first not in _PRONOUNS:
        # inside a quotation the pronouns are the speaker's, who is named after it
        return None if text[:1] in "\"“‘'" else _pronoun_after_opening(rest, at)
    if first == "it" and _EXPLETIVE_IT.match(rest):
        return None  # "It is unclear whether ...": nothing to point back to
    nxt = words[1].strip(",.;:").lower() if len(words) > 1 else ""
    if first in _DEMONSTRATIVES and nxt in _TIME_NOUNS:
        return None
    return Problem(f"it opens on {words[0]!r}, which points to something outside this part", *span)


_SINGLE_MARK = re.compile(r"['‘’]")
# "a big number '3'": a quoted number; "'90s" and "the class of '98" elide a century instead
_QUOTED_NUMBER = re.compile(r"\d[\d,.]*['’]")
# what a quotation's opening mark follows: a space, a bracket, a dash or another mark ("Jr.'s"
# and "rock'n'roll" hold apostrophes)
_BEFORE_OPENING = frozenset('([{/—–-"“')
_STRAIGHT_MARK = re.compile(r'"')
_CURLY_MARK = re.compile(r"[“”]")


@lru_cache(maxsize=8192)
def _single_quote_marks(text: str) -> tuple[list[int], list[int]]:
    """Positions of single quotation marks used as quotes (not apostrophes)."""
    opens: list[int] = []
    closes: list[int] = []
    for m in _SINGLE_MARK.finditer(text):
        i, c = m.start(), m.group(0)
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        if c == "‘" or (
            c == "'"
            and (before.isspace() or before in _BEFORE_OPENING)
            and (after.isalpha() or after in '"“' or _QUOTED_NUMBER.match(text, i + 1))
        ):
            if c == "'" and text[i + 1 : i + 4].lower() in ("em ", "n' ", "til", "cau"):
                continue  # 'em, rock 'n' roll, 'til, 'cause
            opens.append(i)
        elif not after.isalnum() and (before.isalnum() or before in ".,!?;:)…-"):
            if before.lower() == "s" and c in "'’" and not opens:
                continue  # the plural possessive, "the Smiths' arrows"
            if text[i - 2 : i].lower() in ("'n", "’n"):
                continue  # the second mark of rock 'n' roll
            closes.append(i)
    return opens, closes


def opens_quotation(text: str) -> bool:
    """Whether the text opens a quotation it does not close (British news runs one over
    sentences and paragraphs: "He said: 'It is sad news. He was the guy who ...")."""
    straight = [m.start() for m in _STRAIGHT_MARK.finditer(text)]
    if len(straight) % 2 and text[straight[-1] + 1 : straight[-1] + 2].isalnum():
        return True
    if text.count("“") > text.count("”"):
        return True
    opens, closes = _single_quote_marks(text)
    return len(opens) > len(closes)


@lru_cache(maxsize=8192)
def unbalanced_quotes(text: str) -> Problem | None:
    """A quotation that opens and never closes, or closes and never opened."""
    straight = [m.start() for m in _STRAIGHT_MARK.finditer(text)]
    if len(straight) % 2:
        return Problem("a double quotation mark has no partner", straight[-1], straight[-1] + 1)
    depth = 0
    for m in _CURLY_MARK.finditer(text):
        i, c = m.start(), m.group(0)
        if c == "“":
            depth += 1
        elif c == "”":
            depth -= 1
            if depth < 0:
                return Problem("a closing quotation mark has no opening one", i, i + 1)
    if depth:
        at = text.rfind("“")
        return Problem("a quotation opens and never closes", at, at + 1)
    opens, closes = _single_quote_marks(text)
    if len(opens) > len(closes):
        at = opens[len(closes)] if len(closes) < len(opens) else opens[-1]
        return Problem("a single quotation mark opens and never closes", at, at + 1)
    if len(closes) > len(opens):
        # a plural possessive may look like a closing mark: only count one after a non-s
        real = [i for i in closes if text[i - 1].lower() != "s"]
        if len(real) > len(opens):
            return Problem(
                "a single quotation mark closes and never opened", real[-1], real[-1] + 1
            )
    return None


def keeps_capital(word: str, names: Iterable[str] = (), after: str = "") -> bool:
    """Whether a word keeps its capital after "Per X, ": a name ("Windsor-born" by its first
    part), a title before one ("President Bush": ``after`` is the next word), "I" or an
    acronym."""
    head = word.split("-", 1)[0]
    names = frozenset(names)
    if word == "I" or (word.isupper() and len(word) > 1) or word in names:
        return True
    if after[:1].isupper() and lexical_tag(word.lower()) not in FUNCTION_TAGS:
        # "President Bush", "First Minister Nicola Sturgeon": a title opens the name's run of
        # capitals ("The Duke" is an article before one)
        return True
    if names and word.isalpha() and lexical_tag(word.lower()):
        # "Track officials had been keen": a common word the source never writes with a
        # capital mid-sentence, capitalised here only because its sentence opened on it
        return False
    if is_name_like(word):
        return True
    # "Windsor-born": a name the lexicon does not know in lower case ("Grandmother-of-three"
    # is a common word)
    return head != word and (
        head in names or (is_name_like(head) and not lexical_tag(head.lower()))
    )


def _next_word(text: str, at: int) -> str:
    """The word after position ``at`` ("" at the end)."""
    rest = text[at : at + 80].split(None, 1)
    return rest[0] if rest else ""


def attribution_case(text: str, names: frozenset[str]) -> Problem | None:
    """ "Per the FT, A meat trader ...": after our attribution, a capital only for a name."""
    for sentence in split_sentences(text):
        prefix, rest = strip_attribution(sentence)
        if not prefix or not rest[:1].isupper():
            continue
        word = re.match(r"[\w'’.-]+", rest)
        if word is None:
            continue
        w = word.group(0).rstrip(".")
        if keeps_capital(w, names, _next_word(rest, word.end())):
            continue
        at = text.find(sentence) + len(prefix)
        return Problem(
            f"{w!r} after {prefix.strip()!r} should be lower case (it is not a name)",
            at,
            at + len(w),
        )
    return None


@lru_cache(maxsize=8192)
def fused_label(text: str) -> Problem | None:
    """A caption's label run into a sentence mid-way, its full stop lost ("... needed
    entertaining Fall of an Empire: The Story ...", "... was shot Musical team: The ...").

    The label is the capitalised run, up to seven words, before a colon that opens a
    capitalised sentence, and it follows a lower-case word that is not a function word ("the
    release of Fall of an Empire: The Story" cites a title; "The PM added: That" quotes).
    """
    straight = curly = seen = 0  # double quote marks before the colon, counted once
    for colon in _LABEL_COLON.finditer(text):
        part = text[seen : colon.start()]
        straight += part.count('"')
        curly += part.count("“") - part.count("”")
        seen = colon.start()
        if straight % 2 or curly > 0:
            continue  # inside a quotation or a quoted title ("Going Clear: Scientology ...")
        words = text[max(0, colon.start() - 300) : colon.start()].split()[-8:]
        for i in range(len(words) - 1, 0, -1):
            word, prev = words[i], words[i - 1]
            if not word[:1].isupper() or not prev[:1].islower():
                continue
            if lexical_tag(prev.lower().strip(",;")) in FUNCTION_TAGS:
                continue  # "of an Empire", "release of Fall": a title the sentence cites
            label = " ".join(words[i:])
            if SPEECH.search(label) or has_verb(tag(label)) or _QUOTE_MARKS.search(label):
                break  # "... the PM added: That ...": a speaker's colon
            at = colon.start() - len(label)
            return Problem(f"{label + ':'!r} is a caption run into the sentence", at, colon.start())
    return None


def caption(text: str, outlets: frozenset[str] = frozenset()) -> Problem | None:
    """Photo-caption furniture in running text."""
    colon = ":" in text
    if colon and (m := _CAPTION_WORDS.search(text)):
        return Problem(f"a photo caption ({m.group(0)!r}) is run into the text", *m.span())
    low = text.lower()
    if ("(" in text or "pictured" in low or "seen here" in low) and (
        m := _CAPTION_ASIDE.search(text)
    ):
        return Problem(f"{m.group(0)!r} points at a photo the story does not have", *m.span())
    for m in _LABEL.finditer(text) if colon else ():
        label = m.group("label")
        if label in outlets or SPEECH.search(label) or has_verb(tag(label)):
            continue  # "Reuters: ..." is our attribution; "He added: ..." introduces a quote
        return Problem(f"{label + ':'!r} reads as a photo-caption label", *m.span("label"))
    fused = fused_label(text) if colon else None
    if fused is not None:
        return fused
    m = _FUSED.search(text)
    # in title case every word is capitalised: no sentence boundary to miss
    if m is not None and not title_case_words(tokens(text)):
        return Problem(
            f"a sentence runs into the next without a full stop (before {m.group('word')!r})",
            m.start("word"),
            m.end("word"),
        )
    return None
