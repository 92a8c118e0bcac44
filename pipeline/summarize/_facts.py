"""The fact checker: every number, name and quotation of a story must be in its source.

In: a :class:`StorySummary` and its source (title + text + outlet names). Out: one
:class:`Finding` per unsupported number, proper name or quotation, naming the part and the
character span. Numbers compare by value, with units and scale words ("60 million" ==
60,000,000, "$2.3bn" == $2.3 billion, "two" == 2); percentages only match percentages.
Words of our own templates (from the house-style file) are never taken for names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..models import Finding, Severity, StorySummary
from ._style import HouseStyle, default_style, story_parts
from ._text import ABBREVIATIONS, QUOTED, SMALL_WORDS, STOPWORDS, stem

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
_WORD_NUMBER = re.compile(
    r"\b(?P<word>(?:"
    + "|".join(_TENS)
    + r")(?:-(?:one|"
    + "|".join(_UNITS)
    + r"))?|"
    + "|".join(_UNITS)
    + r"|dozen|hundred)\b(?:\s(?P<hundred>hundred)\b)?"
    r"(?:\s(?P<scale>thousand|million|billion|trillion)\b)?"
    r"(?:\s(?P<pct>percent\b|per cent\b))?",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’&.\-]*")
_CONNECTORS = frozenset({"of", "de", "du", "la", "van", "von", "der", "&"})
_TITLE_PARTS = ("headline", "section", "kicker_label")


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
    for m in _WORD_NUMBER.finditer(text):
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


def _norm(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.split())


def _nodots(text: str) -> str:
    return text.replace(".", "")


@dataclass(frozen=True)
class _Source:
    """The source text indexed once for every lookup of one story."""

    plain: str
    lower: str
    nodots: str
    words: frozenset[str]
    stems: frozenset[str]
    values: frozenset[float]
    percents: frozenset[float]
    initials: frozenset[str]


def _key(value: float) -> float:
    return round(value, 6)


@lru_cache(maxsize=64)
def _index(source: str) -> _Source:
    plain = _norm(source)
    nums = _numbers(plain)
    tokens = [t.rstrip(".'-") for t in _TOKEN.findall(plain)]
    words: set[str] = set()
    for t in tokens:
        low = t.lower().removesuffix("'s")
        words.add(low)
        words.add(_nodots(low))
        words.update(p for p in low.split(".") if p)  # "RSS.com" also supports "RSS"
    # initials of capitalised runs, so "FT" is supported by "Financial Times"
    initials: set[str] = set()
    for run in re.findall(
        r"(?:[A-Z][A-Za-z]+\s+(?:of\s+|the\s+|and\s+)?){1,5}[A-Z][A-Za-z]+", plain
    ):
        parts = [w for w in run.split() if w[0].isupper()]
        initials.add("".join(w[0] for w in parts))
    return _Source(
        plain=plain,
        lower=plain.lower(),
        nodots=_nodots(plain).replace("!", ""),  # "Yahoo!" supports "Yahoo"
        words=frozenset(words),
        stems=frozenset(stem(w) for w in words),
        values=frozenset(_key(n.value) for n in nums),
        percents=frozenset(_key(n.value) for n in nums if n.percent),
        initials=frozenset(initials),
    )


def _word_known(word: str, src: _Source) -> bool:
    low = word.lower().replace("’", "'").removesuffix("'s").strip(".'-")
    if not low or low in src.words or _nodots(low) in src.words:
        return True
    return any(
        low.endswith(s) and low[: -len(s)] in src.words for s in ("s", "es", "ed", "d", "ing")
    )


def _is_acronym(tok: str) -> bool:
    letters = [c for c in tok if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _name_supported(name: str, src: _Source) -> bool:
    n = _norm(name)
    for suffix in ("'s", "'"):
        n = n.removesuffix(suffix)
    if not n:
        return True
    if n in src.plain or _nodots(n) in src.nodots:
        return True
    if _is_acronym(n) and _nodots(n) in src.initials:
        return True
    return n.lower() in src.lower


def _names(part: str, text: str, vocab: frozenset[str]) -> list[tuple[str, int, int]]:
    """Capitalised runs and acronyms that read as proper names (not at sentence start)."""
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
        before = text[: m.start()].rstrip(" \"“‘'([")
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


def _check_part(
    part: str, text: str, src: _Source, vocab: frozenset[str], story: str
) -> list[Finding]:
    out: list[Finding] = []

    def flag(rule: str, what: str, s: int, e: int, severity: Severity = "error") -> None:
        out.append(
            Finding(
                rule=rule,
                part=part,
                text=text[s:e],
                start=s,
                end=e,
                story=story,
                severity=severity,
                message=f"{part}: {what} {text[s:e]!r} is not in the source",
            )
        )

    for n in _numbers(text):
        pool = src.percents if n.percent else src.values
        if _key(n.value) not in pool:
            flag("fact-number", "number", n.start, n.end)
    for m in QUOTED.finditer(text):
        body = m.group(0)[1:].rstrip("\"”’'")
        for piece in re.split(r"\.\.\.|…", body):
            q = _norm(piece).strip(" ,.;:?!'\"").lower()
            if len(q) > 1 and q not in src.lower:
                flag("fact-quote", "quotation", m.start(), m.end())
                break
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
            ):
                # in title case every word is capitalised, so a new word may be a name or a
                # paraphrase: acronyms are errors, other words a warning for the editor
                flag(
                    "fact-name",
                    "name" if _is_acronym(tok) else "word (possible name)",
                    m.start(),
                    m.start() + len(tok),
                    "error" if _is_acronym(tok) else "warning",
                )
        return out
    for name, s, e in _names(part, text, vocab):
        if not _name_supported(name, src):
            flag("fact-name", "name", s, e)
    return out


def check_facts(
    story: StorySummary, source: str, style: HouseStyle | None = None
) -> tuple[Finding, ...]:
    """Numbers, names and quotations of the story that the source does not support."""
    src = _index(source)
    vocab = (style or default_style()).vocab_words
    out: list[Finding] = []
    for part, text in story_parts(story):
        out.extend(_check_part(part, text, src, vocab, story.id))
    return tuple(out)
