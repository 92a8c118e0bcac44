"""The fact checker: every number, name and quotation of a story must be in its source.

In: a :class:`StorySummary` and its :class:`Article` (title, text, outlets). Out: one
:class:`Finding` per unsupported number, name or quotation, per source quotation presented as
our own words; each names the part and the character span.

What counts as support, so that good writing passes:
- numbers by value, with units and scale words ("60 million" == 60,000,000, "$7.5million" ==
  "$7.5 million", "2.3bn" == "2.3 billion", "two" == 2); a percentage matches a percentage,
  and a range carries its unit to both ends ("16 to 31 per cent" supports "16% to 31%");
- names through case, possessives, hyphens and the shorter forms the source uses ("Acton-Smith"
  for "Michael Acton-Smith", "Mandarin-speaking" for "Mandarin speaking", "the FT" for
  "Financial Times"); ordinary English words in a title-case part are not names;
- quotations verbatim, with "..." and "[...]" allowed as cuts and insertions.
A name the source lacks in the hook, section header or kicker label (a pop-culture image, a
play on words) is a warning for the editor; anywhere else it is an error.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from ..models import Article, Finding, Severity, StorySummary
from ..words import STOPWORDS, stem
from ._grammar import is_common_word
from ._source import Source, read_source
from ._speech import ATTRIBUTED
from ._style import HouseStyle, default_style, story_parts
from ._text import (
    ABBREVIATIONS,
    QUOTED,
    SMALL_WORDS,
    split_sentences,
    strip_attribution,
)

_SCALES = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "mn": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "tn": 1e12,
}
_FRACTIONS = {"½": 0.5, "¼": 0.25, "¾": 0.75, "⅓": 1 / 3, "⅔": 2 / 3}
_NUMBER = re.compile(
    r"(?<![\w.,])(?P<cur>[$£€¥])?\s?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?P<frac>[½¼¾⅓⅔])?"
    r"(?:st|nd|rd|th|s)?"
    r"(?:\s?(?P<scale>thousand|million|billion|trillion|bn|mn|tn|m|k|b)\b)?"
    r"(?:\s?(?P<pct>%|percent\b|per cent\b|percentage points?\b))?",
    re.IGNORECASE,
)
_UNITS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_WORD_NUMBER_PATTERN = (
    r"\b(?P<word>(?:"
    + "|".join(_TENS)
    + r")(?:-(?:one|"
    + "|".join(_UNITS)
    + r"))?|"
    + "|".join(_UNITS)
    + r"|dozen|hundred)\b(?:\s(?P<hundred>hundred)\b)?"
    r"(?:\s(?P<scale>thousand|million|billion|trillion)\b)?"
    r"(?:\s(?P<pct>percent\b|per cent\b))?"
)
_WORD_NUMBER = re.compile(_WORD_NUMBER_PATTERN)  # on lower-cased text
_WORD_NUMBER_ANY_CASE = re.compile(_WORD_NUMBER_PATTERN, re.IGNORECASE)
# "16 to 31 per cent", "$5 and $6 million": the unit after the second number is the first's
_RANGE = re.compile(r"^\s*(?:to|and|or|-|–|—)\s*$", re.IGNORECASE)
# words of any script: an invented "Jörg Müller" is a name as much as "Jorg Muller"
_TOKEN = re.compile(r"[^\W_][\w'’&.\-]*")
_CONNECTORS = frozenset({"of", "de", "du", "la", "van", "von", "der", "&", "bin", "al"})
_TITLE_PARTS = ("headline", "section", "kicker_label")
# Parts where a new name is an image or a play on words, for the editor to judge.
_IMAGE_PARTS = frozenset({"hook", "section", "kicker_label"})
_WINDOW = 6  # words a source quotation must share to count as reproduced
_SPACED = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class _Number:
    value: float
    percent: bool
    start: int
    end: int


def _numbers(text: str) -> list[_Number]:
    out: list[_Number] = []
    for m in _NUMBER.finditer(text):
        raw = m.group("num").replace(",", "")
        value = float(raw) + _FRACTIONS.get(m.group("frac") or "", 0.0)
        scale = (m.group("scale") or "").lower()
        if scale in ("m", "b", "k") and not m.group("cur"):
            scale = ""  # "6,000m" of distance, "4k" of a screen: no money scale without a currency
        value *= _SCALES.get(scale, 1.0)
        out.append(_Number(value, bool(m.group("pct")), m.start("num"), m.end()))
    # the words matched in lower case: a case-blind pattern is three times slower
    low = text.lower()
    words = (
        _WORD_NUMBER.finditer(low)
        if len(low) == len(text)  # lower() kept every offset
        else _WORD_NUMBER_ANY_CASE.finditer(text)
    )
    for m in words:
        word = m.group("word").lower()
        if word == "dozen":
            value = 12.0
        elif word == "hundred":
            value = 100.0
        elif "-" in word:
            tens, unit = word.split("-")
            value = float(_TENS[tens] + (_UNITS.get(unit) or 1))
        else:
            value = float(_UNITS.get(word) or _TENS[word])
        if m.group("hundred"):
            value *= 100
        value *= _SCALES.get((m.group("scale") or "").lower(), 1.0)
        out.append(_Number(value, bool(m.group("pct")), m.start(), m.end()))
    return out


def _ranges(text: str) -> list[tuple[float, bool]]:
    """Values the first number of a range takes from the second ("16 to 31 per cent")."""
    out: list[tuple[float, bool]] = []
    found = sorted(_NUMBER.finditer(text), key=lambda m: m.start())
    for a, b in itertools.pairwise(found):
        if not _RANGE.match(text[a.end() : b.start()]) or a.group("scale") or a.group("pct"):
            continue
        value = float(a.group("num").replace(",", ""))
        scale = (b.group("scale") or "").lower()
        if scale and not (scale in ("m", "b", "k") and not b.group("cur")):
            out.append((value * _SCALES[scale], False))
        if b.group("pct"):
            out.append((value, True))
    return out


def _norm(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.split())


def _nodots(text: str) -> str:
    return text.replace(".", "")


def _spaced(text: str) -> str:
    """Lower case, every run of non-alphanumerics one space, padded: for phrase lookups."""
    return " " + _SPACED.sub(" ", text.lower()).strip() + " "


class _Index:
    """The source text, indexed for the lookups of the stories written from it.

    Each index is built on first use: a story of the source's own sentences needs little more
    than the plain text, one that paraphrases needs its numbers, words and initials.
    """

    def __init__(self, text: str, read: Source) -> None:
        self.plain = _norm(text)
        self.read = read
        self._contexts: dict[float, frozenset[str]] = {}

    @cached_property
    def lower(self) -> str:
        return self.plain.lower()

    @cached_property
    def spaced(self) -> str:
        return _spaced(self.plain)

    @cached_property
    def nodots(self) -> str:
        return _nodots(self.plain).replace("!", "")  # "Yahoo!" supports "Yahoo"

    @cached_property
    def _numbers(self) -> list[_Number]:
        return _numbers(self.plain)

    @cached_property
    def _ranges(self) -> list[tuple[float, bool]]:
        return _ranges(self.plain)

    @cached_property
    def values(self) -> frozenset[float]:
        return frozenset(_key(n.value) for n in self._numbers) | {_key(v) for v, _ in self._ranges}

    @cached_property
    def percents(self) -> frozenset[float]:
        direct = {_key(n.value) for n in self._numbers if n.percent}
        return frozenset(direct | {_key(v) for v, pct in self._ranges if pct})

    @cached_property
    def occurrences(self) -> dict[float, list[_Number]]:
        """Value -> where the source writes it."""
        out: dict[float, list[_Number]] = {}
        for n in self._numbers:
            out.setdefault(_key(n.value), []).append(n)
        return out

    @cached_property
    def ratios(self) -> frozenset[str]:
        return frozenset(_RATIO.findall(self.plain))

    @cached_property
    def words(self) -> frozenset[str]:
        out: set[str] = set()
        for t in set(_TOKEN.findall(self.plain)):
            low = t.rstrip(".'-").lower().removesuffix("'s")
            out.add(low)
            if "." in low or "-" in low:
                out.add(_nodots(low))
                out.update(p for p in re.split(r"[.\-]", low) if p)  # "RSS.com", "Acton-Smith"
        return frozenset(out)

    @cached_property
    def initials(self) -> frozenset[str]:
        """Initials of capitalised runs, so "FT" is supported by "Financial Times"."""
        out: set[str] = set()
        for run in _CAPITAL_RUN.findall(self.plain):
            out.add("".join(w[0] for w in run.split() if w[0].isupper()))
        return frozenset(out)

    @cached_property
    def quote_windows(self) -> frozenset[tuple[str, ...]]:
        """Word runs only a quotation has: the narrative does not repeat them."""
        narrative = " . ".join(_spaced(QUOTED.sub(" . ", s)) for s in self.read.sentences)
        quotes: set[tuple[str, ...]] = set()
        for q in self.read.quotes:
            if "\n" not in q and len(q.split()) <= 60:
                quotes |= {w for w in _windows(q) if f" {' '.join(w)} " not in narrative}
        return frozenset(quotes)

    def context(self, value: float) -> frozenset[str]:
        """Stems of the words around every place the source writes this value.

        Eight words either side, read from a slice around each place (eight words never run
        past 200 characters in prose), not from a pass over the whole text.
        """
        if value not in self._contexts:
            near: set[str] = set()
            for n in self.occurrences.get(value, ()):
                lo = max(0, n.start - 200)
                local = _Number(n.value, n.percent, n.start - lo, n.end - lo)
                near |= _around(_word_spans(self.plain[lo : n.end + 200]), local, 8)
            self._contexts[value] = frozenset(near)
        return self._contexts[value]


_CAPITAL_RUN = re.compile(r"(?:[A-Z][^\W\d_]+\s+(?:of\s+|the\s+|and\s+)?){1,5}[A-Z][^\W\d_]+")


def _key(value: float) -> float:
    return round(value, 6)


def _windows(text: str) -> set[tuple[str, ...]]:
    """Every run of ``_WINDOW`` words with at least two content words, in one pass."""
    words = _spaced(text).split()
    content = [w not in STOPWORDS for w in words]
    out = set()
    count = sum(content[:_WINDOW])
    for i in range(len(words) - _WINDOW + 1):
        if i:
            count += content[i + _WINDOW - 1] - content[i - 1]
        if count >= 2:
            out.add(tuple(words[i : i + _WINDOW]))
    return out


def source_text(article: Article) -> str:
    """What a story may draw its facts from: title, text and every outlet's name."""
    return "\n".join([article.title, article.text, *article.outlets])


@lru_cache(maxsize=64)
def _index(text: str, read: Source) -> _Index:
    return _Index(text, read)


_WORD_AT = re.compile(r"[^\W\d_][\w'’-]+")
# Odds and scores ("20/1", "3-2") compare as written: their parts are not quantities.
_RATIO = re.compile(r"\d(?<![\w/]\d)\d*/\d+(?![\w/])")


@lru_cache(maxsize=32768)
def _content_stem(word: str) -> str:
    """The stem of a content word, or "" for a stopword or a short word."""
    low = word.lower().replace("’", "'").removesuffix("'s")
    return stem(low) if low not in STOPWORDS and len(low) > 2 else ""


def _word_spans(text: str) -> list[tuple[int, str]]:
    """(start, stem) of every content word, in order."""
    out = []
    for m in _WORD_AT.finditer(text):
        root = _content_stem(m.group(0))
        if root:
            out.append((m.start(), root))
    return out


def _around(words_at: list[tuple[int, str]], n: _Number, reach: int) -> set[str]:
    """Stems of the content words within ``reach`` words either side of a number."""
    i = bisect.bisect_left(words_at, (n.start, ""))
    return {w for _, w in words_at[max(0, i - reach) : i + reach]}


def _word_known(word: str, src: _Index) -> bool:
    low = word.lower().replace("’", "'").removesuffix("'s").strip(".'-")
    if not low or low in src.words or _nodots(low) in src.words:
        return True
    if any(low.endswith(s) and low[: -len(s)] in src.words for s in ("s", "es", "ed", "d", "ing")):
        return True
    # the singular of a plural the source writes ("Polyp" for "polyps", "City" for "cities")
    return any(low + s in src.words for s in ("s", "es")) or (
        low.endswith("y") and low[:-1] + "ies" in src.words
    )


def _is_acronym(tok: str) -> bool:
    letters = [c for c in tok if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _name_supported(name: str, src: _Index) -> bool:
    n = _norm(name)
    for suffix in ("'s", "'"):
        n = n.removesuffix(suffix)
    if not n:
        return True
    if n in src.plain or _nodots(n) in src.nodots or _spaced(n) in src.spaced:
        return True
    if _is_acronym(n) and _nodots(n) in src.initials:
        return True
    # a shorter or reordered form the source supports word by word ("Ms Kunis" for
    # "Mila Kunis ... Ms Kunis", "Acton-Smith" for "Michael Acton-Smith")
    parts = [p for p in re.split(r"[\s\-]+", n) if p]
    return all(
        _word_known(p, src) or (p.lower() in _CONNECTORS) or (_is_acronym(p) and p in src.initials)
        for p in parts
    ) and any(p[:1].isupper() for p in parts)


def _names(text: str, vocab: frozenset[str]) -> list[tuple[str, int, int]]:
    """Capitalised runs and acronyms that read as proper names (not at sentence start).

    A possessive ends a run: "MindCandy's Michael Acton-Smith" is two names.
    """
    found: list[tuple[str, int, int]] = []
    run: list[re.Match[str]] = []
    run_initial = False

    def flush() -> None:
        nonlocal run
        while run and run[-1].group(0).lower() in _CONNECTORS:
            run.pop()
        toks = run
        if toks:
            first = toks[0].group(0).rstrip(".")
            if (
                run_initial
                and (len(toks) == 1 or first.lower() in STOPWORDS)
                and not _is_acronym(first)
            ):
                toks = toks[1:]
                while toks and toks[0].group(0).lower() in _CONNECTORS:
                    toks = toks[1:]
            if toks:
                s, e = toks[0].start(), toks[-1].end()
                name = text[s:e].rstrip(".")
                found.append((name, s, s + len(name)))
        run = []

    prev_end = 0
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        gap = text[prev_end : m.start()]
        before = text[max(0, m.start() - 40) : m.start()].rstrip(" \"“‘'([")
        initial = not before or (before[-1] in ".!?:" and not _abbrev_before(before))
        capital = tok[0].isupper() and tok.rstrip(".'’") not in vocab
        connector = tok.lower() in _CONNECTORS and bool(run)
        if run and (gap.strip() or initial or not (capital or connector)):
            flush()
        if capital and tok != "I" and not tok.isdigit():
            if not run:
                run_initial = initial
            run.append(m)
        elif connector and not gap.strip():
            run.append(m)
        prev_end = m.end()
        if run and tok.endswith(("'s", "’s", "s'", "s’")):
            flush()
    flush()
    return found


def _abbrev_before(before: str) -> bool:
    """Whether the period just before is an abbreviation like 'Sen.' or 'U.S.' (no new sentence)."""
    last = before.rsplit(None, 1)[-1] if before.split() else ""
    core = last.rstrip(".")
    return (
        bool(core)
        and core[0].isupper()
        and (len(core) == 1 or "." in core or core.lower() in ABBREVIATIONS)
    )


def _quote_pieces(body: str) -> list[str]:
    """A quotation cut at "...", "…" and editorial insertions "[who]"."""
    return [p for p in re.split(r"\.\.\.|…|\[[^\]]*\]", body) if p.strip()]


def _unmarked_quote(text: str, src: _Index) -> tuple[int, int] | None:
    """A span of our own words (outside quote marks) that is a source quotation, unattributed."""
    if not src.quote_windows:
        return None
    blanked = QUOTED.sub(lambda m: " " * len(m.group(0)), text)
    for sentence in re.split(r"(?<=[.!?])\s+", blanked):
        shared = _windows(sentence) & src.quote_windows
        if not shared:
            continue
        # the speaker's verb must stand outside the quoted stretch ("say" inside it is the
        # speaker's own word, not our attribution)
        words = _spaced(sentence).split()
        hits = [
            i for i in range(len(words) - _WINDOW + 1) if tuple(words[i : i + _WINDOW]) in shared
        ]
        rest = " ".join(words[: hits[0]] + words[hits[-1] + _WINDOW :])
        if ATTRIBUTED.search(rest):
            continue
        start = text.find(sentence.strip())
        return (max(start, 0), max(start, 0) + len(sentence.strip()))
    return None


def _verbatim(text: str, src: _Index) -> bool:
    """The part, past our attribution ("Per CNN, "), is the source's own words as written.

    Every number, name and quotation in it is then the source's, in the source's context:
    nothing to look up one by one (the offline engine's parts mostly are).
    """
    rest = strip_attribution(text)[1]
    if len(rest) < 20:
        return False
    if _as_written(rest, src):
        return True
    # a part of two sentences from two places ("According to CNN, X. Y."): each as written
    pieces = split_sentences(rest)
    return len(pieces) > 1 and all(len(p) >= 20 and _as_written(p, src) for p in pieces)


def _as_written(text: str, src: _Index) -> bool:
    """The text is in the source word for word (its first letter in either case)."""
    return _norm(text[:1].upper() + text[1:]) in src.plain or _norm(text) in src.plain


def _check_part(
    part: str, text: str, src: _Index, vocab: frozenset[str], story: str
) -> list[Finding]:
    out: list[Finding] = []

    def flag(
        rule: str, what: str, s: int, e: int, severity: Severity = "error", tail: str = ""
    ) -> None:
        out.append(
            Finding(
                rule=rule,
                part=part,
                text=text[s:e],
                start=s,
                end=e,
                story=story,
                severity=severity,
                message=f"{part}: {what} {text[s:e]!r} {tail or 'is not in the source'}",
            )
        )

    def unmarked_quote() -> None:
        span = _unmarked_quote(text, src)
        if span is not None:
            flag(
                "fact-quote-unmarked",
                "the source's quotation",
                *span,
                tail="appears as our own words: keep its quote marks and its speaker",
            )

    if part not in _TITLE_PARTS and _verbatim(text, src):
        # the source's own words: only whether they were a quotation can still be wrong
        unmarked_quote()
        return out
    ratios = list(_RATIO.finditer(text))
    for m in ratios:
        if m.group(0) not in src.ratios:
            flag("fact-number", "figure", m.start(), m.end())
    numbers = _numbers(text)
    words_at = _word_spans(text) if numbers and part not in _TITLE_PARTS else []
    for n in numbers:
        if any(m.start() <= n.start < m.end() for m in ratios):
            continue
        pool = src.percents if n.percent else src.values
        if _key(n.value) not in pool:
            flag("fact-number", "number", n.start, n.end)
            continue
        # the value is in the source, but is it this fact's number? (a changed "8 to 17"
        # that happens to match a "9" elsewhere): some word around it must be around it there
        near = _around(words_at, n, 3) if part not in _TITLE_PARTS else set()
        if near and not near & src.context(_key(n.value)):
            flag(
                "fact-number",
                "number",
                n.start,
                n.end,
                tail="is in the source, but not with the words around it here",
            )
    for m in QUOTED.finditer(text):
        body = m.group(0)[1:].rstrip("\"”’'")
        for piece in _quote_pieces(body):
            q = _norm(piece).strip(" ,.;:?!'\"").lower()
            if len(q) > 1 and q not in src.lower and _spaced(q) not in src.spaced:
                flag("fact-quote", "quotation", m.start(), m.end())
                break
    if part not in _TITLE_PARTS:
        unmarked_quote()
    severity: Severity = "warning" if part in _IMAGE_PARTS else "error"
    if part in _TITLE_PARTS:
        for m in _TOKEN.finditer(text):
            tok = m.group(0).rstrip(".:,")
            if (
                tok[0].isupper()
                and not any(c.isdigit() for c in tok)
                and tok not in vocab
                and tok.lower() not in SMALL_WORDS
                and tok.lower() not in STOPWORDS
                and not _word_known(tok, src)
                and (_is_acronym(tok) or not is_common_word(tok))
            ):
                # in title case every word is capitalised: only a word that is no ordinary
                # English is taken for a name
                flag("fact-name", "name", m.start(), m.start() + len(tok), severity)
        return out
    for name, s, e in _names(text, vocab):
        if not _name_supported(name, src):
            flag("fact-name", "name", s, e, severity)
    return out


def check_facts(
    story: StorySummary, article: Article, style: HouseStyle | None = None
) -> tuple[Finding, ...]:
    """Numbers, names and quotations of the story that its source does not support."""
    src = _index(source_text(article), read_source(article.title, article.text))
    vocab = (style or default_style()).vocab_words
    out: list[Finding] = []
    for part, text in story_parts(story):
        out.extend(_check_part(part, text, src, vocab, story.id))
    return tuple(out)
