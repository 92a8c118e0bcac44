"""Text helpers for the summarizer: cleaning, sentence splitting, words, title case.

In: plain article text (already sanitized). Out: cleaned sentences that survive
abbreviations (U.S., Inc., Mr., Jan.), decimals ($2.3 billion, 4.5%), initials
(B.B. King) and quotations; word tokens; house title case. Stop words and stems are
:mod:`pipeline.words`'s, shared with clustering.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

from ..words import word_set
from ._speech import SPEAKER_TAIL

# Title-case "small words": lower case inside a headline unless first or last.
SMALL_WORDS = word_set(
    """
    a an the and but or nor for so yet as at by in of off on per to up via vs
    """
)

# Abbreviations after which a period never ends a sentence (titles, months, "No. 1").
_NEVER_END = word_set(
    """
    mr mrs ms dr prof gen gov sen rep rev st mt lt col capt sgt maj cmdr adm pres supt
    det insp hon jan feb mar apr jun jul aug sep sept oct nov dec no nos vol vs fig
    approx dept ave blvd ft pvt pfc spc cpl brig cdr
    """
)
# Abbreviations that end a sentence only when a typical sentence opener follows.
_MAYBE_END = word_set(
    """
    inc corp co ltd llc plc bros jr sr etc calif fla ill wash conn penn pa va ariz colo
    mich minn tenn tex okla ore wis ky md mo nev mass
    """
)
ABBREVIATIONS = _NEVER_END | _MAYBE_END
_OPENERS = word_set(
    """
    the a an he she it they we i but and in on at this that these those his her their
    its there when while after before as if so some many most other one two three its
    our its however meanwhile yet still then now officials police shares
    """
)

_BOUNDARY = re.compile(r"(\.{3}|…|[.!?]+)([\"'”’)\]]*)\s+(?=[\"“‘'(\[]?[A-Z0-9$£€])")
# Quoted passages: straight and curly double quotes (an unclosed one runs to the end),
# curly single quotes, and straight single quotes that open after a non-letter and close before
# one (so apostrophes, as in "don't", stay inside).
# A single-quoted passage is read up to 2,000 characters: an opening mark that never closes
# would otherwise be scanned to the end of the text once per mark (quadratic on hostile text).
# Each branch opens on its mark (the letter before it is checked after), so the engine skips
# straight to the marks instead of trying every branch at every character.
QUOTED = re.compile(
    r"\"[^\"]*\"?|“[^”]*”?|‘(?<![A-Za-z]‘)(?:[^’]|’(?=[A-Za-z])){0,2000}’"
    r"|'(?<![A-Za-z]')(?:[^']|'(?=[A-Za-z])){0,2000}'(?![A-Za-z])"
)
_ACRONYM_DOTS = re.compile(r"(?:[A-Za-z]\.){2,}$")
_DATELINE = re.compile(
    r"^\s*(?:[A-Z][A-Za-z.,' -]{0,50}?\s*)?"
    r"\((?P<agency>[A-Z][A-Za-z.&' ]{1,40})\)\s*(?:--|—|–|-|:)?\s*"
)
_CAPS_DATELINE = re.compile(r"^\s*[A-Z][A-Z .,'-]{2,40}\s(?:--|—|–)\s+")


def clean_text(text: str) -> tuple[str, str]:
    """Strip a leading news dateline; return (text, agency named in it or "")."""
    text = text.replace("\xa0", " ").replace("\r\n", "\n").replace("\r", "\n")
    agency = ""
    m = _DATELINE.match(text[:120])
    if m:
        agency = m.group("agency").strip()
        text = text[m.end() :]
    else:
        m2 = _CAPS_DATELINE.match(text[:60])
        if m2:
            text = text[m2.end() :]
    return text.strip(), agency


def _lines(text: str) -> list[str]:
    """Lines of the text, joining hard-wrapped lines that continue a sentence."""
    out: list[str] = []
    for raw in text.split("\n"):
        line = " ".join(raw.split())
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        if (
            out
            and out[-1]
            and not out[-1].endswith((".", "!", "?", ":", '"', "”", "’"))
            and line[0].islower()
        ):
            out[-1] += " " + line
        else:
            out.append(line)
    return [line for line in out if line]


def _ends_here(before: str, punct: str, after: str) -> bool:
    """Whether a period (or other terminal mark) at this point ends a sentence."""
    if punct != ".":
        return True
    token = before.rsplit(None, 1)[-1] if before.strip() else ""
    token = token.lstrip("\"“‘'([")
    # "then-Sen. Obama", "ex-Gov. Brown": the title after the hyphen is the abbreviation
    low = token.lower().rstrip(".").rsplit("-", 1)[-1]
    nxt = after.lstrip("\"“‘'([").split(" ", 1)[0].strip(",;:").lower()
    if low in _NEVER_END:
        return low in ("no", "nos") and not nxt[:1].isdigit()  # "said no." ends; "No. 1" not
    if len(token) == 1 and token.isupper():
        return False  # an initial, as in "Harry S. Truman"
    if _ACRONYM_DOTS.search(token + ".") or low in _MAYBE_END:
        return nxt in _OPENERS
    return True


# Single quotation marks as British papers use them: one opens before a word, one closes
# after a word or mark and before a space or the end (an apostrophe sits inside a word).
# Patterns here open on the mark and check the character before it after, as QUOTED does.
_SINGLE_OPEN = re.compile(r"['‘](?<![^\s(:—–-]['‘])(?=[\w\"“])")
_SINGLE_CLOSE = re.compile(r"['’](?<=[\w.,!?;:…\"”]['’])(?=\s|$|[.,;:)])")


def _open_quote(piece: str) -> bool:
    if piece.count('"') % 2 == 1 or piece.count("“") > piece.count("”"):
        return True
    return len(_SINGLE_OPEN.findall(piece)) > len(_SINGLE_CLOSE.findall(piece))


_QUOTE_REACH = 400  # characters a quotation of several sentences may run on
_LOOK = 120  # characters read either side of a full stop for the words around it


# A mark that opens a quotation: after a space or a lead-in, before a word.
_ANY_OPEN = re.compile(r"['‘\"“](?<![^\s(:—–-]['‘\"“])(?=[\w\"“‘])")
_ANY_CLOSE = re.compile(r"”|['’](?<=[\w.,!?;:…\"”]['’])(?=\s|$|[.,;:)])|\"(?![\w‘'])")


def _closes_later(rest: str) -> bool:
    """The open quotation closes ahead, before another one opens.

    British news runs a quotation over paragraphs with no closing mark, each paragraph opening
    a new mark; once flattened, the next opening mark says the last sentence ended there.
    """
    near = rest[:_QUOTE_REACH]
    close = _ANY_CLOSE.search(near)
    if close is None:
        return False
    opening = _ANY_OPEN.search(near, 0, close.start())
    return opening is None


def split_sentences(text: str) -> list[str]:
    """Split plain text into sentences; paragraph and line breaks always split."""
    return list(_split_cached(text))


@lru_cache(maxsize=8192)
def _split_cached(text: str) -> tuple[str, ...]:
    sentences: list[str] = []
    for line in _lines(text):
        start = 0
        pieces: list[str] = []
        for m in _BOUNDARY.finditer(line):
            end = m.end(2)
            # the words either side of the mark, from bounded windows: no copy of the whole
            # line at each mark
            before = line[max(0, m.start(1) - _LOOK) : m.start(1)]
            if _ends_here(before, m.group(1), line[m.end() : m.end() + _LOOK]):
                piece = line[start:end].strip()
                if _open_quote(piece) and _closes_later(line[m.end() : m.end() + _QUOTE_REACH]):
                    continue  # a quotation of several sentences stays one sentence
                if piece:
                    pieces.append(piece)
                start = m.end()
        rest = line[start:].strip()
        if rest:
            pieces.append(rest)
        for piece in pieces:
            if sentences and pieces and SPEAKER_TAIL.match(piece) and sentences[-1][-1:] in "\"”’'":
                sentences[-1] += " " + piece  # the speaker stays with the quotation
            else:
                sentences.append(piece)
    return tuple(sentences)


def word_count(text: str) -> int:
    """Words as a reader counts them: whitespace-separated tokens."""
    return len(text.split())


def title_case(text: str) -> str:
    """House title case: capitalise every word except small words inside the line.

    Words with inner capitals or digits (iPhone, McHenry, 123rd) and acronyms are kept.
    """
    tokens = text.split()
    out: list[str] = []
    for i, tok in enumerate(tokens):
        # a small word that opens a sentence (after ".", "?", "!" or ":") takes its capital
        opens = i == 0 or tokens[i - 1].rstrip("\"”’')]").endswith((".", "?", "!", ":"))
        lead = len(tok) - len(tok.lstrip("\"“‘'([$£€"))
        head, body = tok[:lead], tok[lead:]
        core = body.rstrip(".,:;!?\"”’')]")
        if not body or not body[0].isalpha():
            out.append(tok)
            continue
        if any(c.isupper() for c in body[1:]) or any(c.isdigit() for c in body):
            out.append(tok)
            continue
        if not opens and i < len(tokens) - 1 and core.lower() in SMALL_WORDS:
            out.append(head + body.lower())
            continue
        parts = body.split("-")
        out.append(head + "-".join(p[:1].upper() + p[1:] for p in parts))
    return " ".join(out)


# Small words that only join (never adverbs or particles, which title case capitalises:
# "Gear Up", "Sounds So Sure").
_JOINING = word_set("a an the and but or nor of for at by from with per via vs to as")


def is_title_case(text: str, names: frozenset[str] = frozenset()) -> list[tuple[int, int]]:
    """Spans of words that break house title case (empty when the text complies).

    A long word in lower case breaks it, and so does a small word capitalised inside a line
    ("Plants The Garden") unless the source writes it so in a name ("Grammys On The Hill").
    """
    bad: list[tuple[int, int]] = []
    opening = True
    for m in re.finditer(r"\S+", text):
        raw = m.group(0)
        tok = raw.lstrip("\"“‘'([$£€")
        was_opening = opening
        opening = raw.rstrip("\"”’')]").endswith((".", ":", "?", "!", "—", "–"))
        if not tok or not tok[0].isalpha():
            continue
        core = tok.rstrip(".,:;!?\"”’')]")
        if core.lower() in SMALL_WORDS and was_opening and core[:1].islower():
            bad.append((m.start(), m.start() + len(raw)))  # "... a Plan. the Extension"
            continue
        if core.lower() in SMALL_WORDS:
            if (
                core[0].isupper()
                and core.lower() in _JOINING
                and not was_opening
                and not opening  # the last word of a sentence is capitalised
                and core not in names
            ):
                bad.append((m.start(), m.start() + len(raw)))
            continue
        if any(c.isdigit() for c in tok):
            continue
        if tok[0].islower() and not any(c.isupper() for c in tok[1:]):
            bad.append((m.start(), m.end()))
    return bad


# "Per the FT, ...", "According to a Reuters report, ...": how our voice opens an attribution.
ATTRIBUTION_PREFIX = re.compile(r"^(?:Per|According to) (?:[^,\"“”]{1,60}?), (?=\S)")
_SIM_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")  # the fast pattern, for ASCII text
_SIM_ANY = re.compile(r"[^\W_]+(?:['’][^\W\d_]+)?")  # the same for words of any script


def strip_attribution(text: str) -> tuple[str, str]:
    """(prefix, rest): the attribution our voice opened with, and the sentence after it."""
    m = ATTRIBUTION_PREFIX.match(text)
    return (m.group(0), text[m.end() :]) if m else ("", text)


def plain_words(text: str) -> str:
    """A sentence as its bare words: case, punctuation and a leading "Per X, " do not count."""
    return " ".join(_sim_words(strip_attribution(text)[1].lower()))


def sentence_pairs(text: str) -> frozenset[tuple[str, str]]:
    """The word pairs ``similarity`` compares (attribution prefix left out)."""
    return _bigrams(text)


def _sim_words(low: str) -> list[str]:
    """The words of lower-cased text that similarity compares ("zürich" is one word)."""
    return (_SIM_WORD if low.isascii() else _SIM_ANY).findall(low)


@lru_cache(maxsize=8192)
def _bigrams(text: str) -> frozenset[tuple[str, str]]:
    toks = _sim_words(strip_attribution(text)[1].lower())
    return frozenset(itertools.pairwise(toks))


def similarity(a: str, b: str) -> float:
    """How much of the shorter text the longer one repeats (shared word pairs, 0..1).

    Attribution prefixes are ignored, so "Per CNN, X" repeats "X". Texts of under four word
    pairs never count as repeats.
    """
    x, y = _bigrams(a), _bigrams(b)
    small = min(len(x), len(y))
    return 0.0 if small < 4 else len(x & y) / small
