"""The offline engine: one :class:`Article` in, one house-style :class:`StorySummary` out.

Deterministic and model-free. Sentences are scored for salience (position, centrality across
the text, numbers, attributions); the bullets are the leading salient sentences, each with a
light attribution; headline, dek, hook, section header, lead-in and kicker come from the
title and the source sentences, so every number, name and quotation is the source's own.
Template wording (lead-ins, kicker labels, section patterns) comes from the house-style file.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass

from ..models import Article, SourceRef, StorySummary
from ._style import HouseStyle
from ._text import (
    STOPWORDS,
    clean_text,
    content_words,
    split_sentences,
    title_case,
    word_count,
    word_set,
)

_QUOTES = re.compile(r"[\"“”]")
_FIRST_PERSON = re.compile(r"\b(I|[Ww]e|[Oo]ur|[Uu]s|[Mm]y|I'm|I’m|[Ww]e're|[Ww]e’re)\b")
_QUOTED = re.compile(r"\"[^\"]*\"?|“[^”]*”?|(?<![A-Za-z])‘[^’]*’")
_NUMBER = re.compile(r"\d")
_JUNK = re.compile(
    r"»|\bclick here\b|\bscroll down\b|\be-mail to a friend\b|\ball rights reserved\b|"
    r"\bcontributed to this report\b|\bread more\b|\bread:|\bwatch:|\bpublished:|\bupdated:|"
    r"\bfollow @|\bcopyright\b|\bsubscribe\b|\bsign up\b|\beditor's note\b|\bphoto:|"
    r"\bpictured\b|\bhttps?://|\bwww\.",
    re.IGNORECASE,
)
_CUTS = re.compile(r"(?:,|;| --| —| –)\s")
_DAYS = word_set(
    """
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March
    April May June July August September October November December
    """
)
_CAP_RUN = re.compile(r"(?<![\w'’-])(?:[A-Z][a-zA-Z'’&-]+ )*[A-Z][a-zA-Z'’&-]+")
_SOURCE_SUFFIX = re.compile(r"\s+(?:[-|–—:]\s+[^-|–—:]{2,40})$")


@dataclass
class _Sent:
    index: int
    text: str
    words: int
    terms: frozenset[str]
    number: bool
    attributed: bool
    clean: bool  # fit for our own voice: no first person, no '!', no junk, balanced quotes
    score: float = 0.0


def _voice_ok(text: str) -> bool:
    outside = _QUOTED.sub(" ", text)
    if _FIRST_PERSON.search(outside) or "!" in outside:
        return False
    return len(_QUOTES.findall(text)) % 2 == 0 and text.count("‘") <= text.count("’")


def _digest(*parts: str) -> int:
    return int(hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:8], 16)


def _pick(options: list[str], key: str, fallback: str) -> str:
    return options[_digest(key) % len(options)] if options else fallback


def _ends_sentence(text: str) -> str:
    text = text.rstrip(" ,;:-–—")
    return text if text.endswith((".", "!", "?", '"', "”", "’")) else text + "."


def _lower_first(text: str) -> str:
    """Lower-case the first word when it is a common word (never a name)."""
    first = text.split(" ", 1)[0]
    if first.lower() in STOPWORDS and first not in ("I", "I'm") and not first.isupper():
        return text[0].lower() + text[1:]
    return text


_SUBORDINATE = word_set(
    """
    as while after before when although though if since because despite with without
    once until unless whether amid following
    """
)


def _main_clause(text: str) -> str:
    """The sentence without a leading subordinate clause ("As he waits, X did Y" -> "X did Y")."""
    first = text.split(" ", 1)[0].lower()
    if first in _SUBORDINATE and ", " in text:
        rest = text.split(", ", 1)[1]
        if word_count(rest) >= 6 and rest[:1].isalpha():
            return rest[0].upper() + rest[1:]
    return text


def _trim(text: str, max_words: int, min_words: int) -> str | None:
    """Cut a sentence at its last clause boundary that fits, keeping quotes balanced."""
    if word_count(text) <= max_words:
        return text
    best = None
    for m in _CUTS.finditer(text):
        head = text[: m.start()]
        n = word_count(head)
        if n > max_words:
            break
        if n >= min_words and _voice_ok(head):
            best = head
    return None if best is None else _ends_sentence(best)


_SCALE_WORDS = word_set(
    """
    thousand million billion trillion percent per cent bn m
    """
)


def _word_cut(text: str, limit: int) -> str:
    """The longest run of whole words within ``limit`` characters that ends cleanly:
    no open quote or parenthesis, no number cut from its scale word, no dangling small word."""
    words = text.rstrip(".?!").split()
    n = 0
    total = -1
    for w in words:
        if total + len(w) + 1 > limit:
            break
        total += len(w) + 1
        n += 1
    _BREAKS = _SUBORDINATE | {"and", "but", "who", "which", "that", "where"}
    for k in range(n, 0, -1):  # prefer to stop before a clause, if that leaves enough
        if k < len(words) and (words[k].lower() in _BREAKS or words[k - 1].endswith(",")):
            if len(" ".join(words[:k]).rstrip(",")) >= 45:
                n = k
            break
    while n > 0:
        head = words[:n]
        nxt = words[n].lower().strip(",.;:)") if n < len(words) else ""
        last = head[-1]
        joined = " ".join(head)
        if (
            last.lower().strip(",;:") in STOPWORDS
            or nxt in _SCALE_WORDS
            or joined.count("(") != joined.count(")")
            or not _voice_ok(joined)
        ):
            n -= 1
            continue
        return joined.rstrip(",;:-–—")
    return ""


# Salience weights: position, centrality, has a number, is attributed, shares a title word,
# and the position decay. Lead sentences dominate, as they do in news writing.
_WEIGHTS = (1.6, 0.5, 0.12, 0.3, 0.15, 0.35)
_MAX_BULLET_WORDS = 45


class _Writer:
    """Writes one story; holds the article's sentences and the words it may use."""

    def __init__(self, article: Article, style: HouseStyle) -> None:
        self.article = article
        self.style = style
        self.vocab = style.vocabulary
        text, agency = clean_text(article.text)
        self.outlet = (
            article.source or (article.sources[0].name if article.sources else "") or agency
        ).strip()
        self.sents = self._sentences(text)
        attribution = style.rule("bullet-attribution")
        self.attr_re = (
            attribution.pattern
            if attribution and attribution.pattern
            else re.compile(r"\b(said|says|according to|per)\b")
        )
        for s in self.sents:
            s.attributed = bool(self.attr_re.search(s.text))
        self._score()
        self.used: set[int] = set()
        # words the text uses in lower case, and capitalised words seen mid-sentence (names)
        self.lower_words = {w for w in re.findall(r"\b[a-z][a-z'’-]*\b", text)}
        self.mid_caps = {m.group(1) for m in re.finditer(r"[a-z,;] ([A-Z][\w'’-]*)", text)}

    def _sentences(self, text: str) -> list[_Sent]:
        out: list[_Sent] = []
        for raw in split_sentences(text):
            if _JUNK.search(raw) or not any(c.isalpha() for c in raw):
                continue
            n = word_count(raw)
            first = raw.lstrip("\"“‘'(")[:1]
            clean = (_voice_ok(raw) and first.isupper()) or first.isdigit()
            clean = clean and _voice_ok(raw) and raw[-1] in '.?!"”’)'
            out.append(
                _Sent(
                    len(out),
                    raw,
                    n,
                    frozenset(content_words(raw)),
                    bool(_NUMBER.search(raw)),
                    False,
                    clean,
                )
            )
        return out

    def _score(self) -> None:
        tf: Counter[str] = Counter()
        for s in self.sents:
            tf.update(s.terms)
        title_terms = set(content_words(self.article.title))
        for s in self.sents:
            shared = [tf[t] - 1 for t in s.terms if tf[t] > 1]
            centrality = sum(shared) / math.sqrt(len(s.terms) + 1)
            s.score = centrality
        top = max((s.score for s in self.sents), default=0.0) or 1.0
        w = _WEIGHTS
        for s in self.sents:
            position = 1.0 / (1.0 + w[5] * s.index)
            s.score = (
                w[0] * position
                + w[1] * s.score / top
                + w[2] * s.number
                + w[3] * s.attributed
                + w[4] * bool(s.terms & title_terms)
            )
            if s.words < 8 or s.text.endswith("?"):
                s.score -= 0.6

    # -- bullets --------------------------------------------------------
    def _outlet_name(self) -> str:
        return self.outlet or str(self.vocab.get("outlet_fallback", "the report"))

    def _attribute(self, text: str, k: int) -> str:
        if self.attr_re.search(text):
            return text
        prefixes = self.style.template_list("attribution_prefixes") or ["Per {outlet}, "]
        outlet = self._outlet_name()
        prefix = prefixes[k % len(prefixes)]
        cap = outlet[:1].upper() + outlet[1:]
        prefix = prefix.replace("{Outlet}", cap).replace("{outlet}", outlet)
        first = text.split(" ", 1)[0]
        if (first.lower() in self.lower_words and first not in self.mid_caps
                and first.isalpha() and not first.isupper()):
            text = text[0].lower() + text[1:]
        return prefix + _lower_first(text)

    def _room(self, body: str) -> int:
        """Words the attribution prefix will add (none when the body attributes itself)."""
        return 0 if self.attr_re.search(body) else 3

    def _body(self, s: _Sent) -> str | None:
        """The sentence as a bullet body: 15-45 words once attributed."""
        body = s.text
        if s.words + self._room(body) > _MAX_BULLET_WORDS:
            cut = _trim(s.text, _MAX_BULLET_WORDS - 3, 12)
            if cut is None:
                return None
            body = cut
        if word_count(body) + self._room(body) < 15:
            nxt = next((t for t in self.sents if t.index == s.index + 1 and t.clean), None)
            if nxt is None or nxt.index in self.used:
                return None
            merged = body + " " + nxt.text
            if not 15 <= word_count(merged) + self._room(merged) <= 45:
                return None
            self.used.add(nxt.index)
            body = merged
        return body

    def bullets(self, want: int = 3) -> list[str]:
        ranked = sorted(
            (s for s in self.sents if s.clean and s.words >= 6), key=lambda s: (-s.score, s.index)
        )
        bodies: list[tuple[int, str]] = []
        for s in ranked:
            if len(bodies) == want:
                break
            if s.index in self.used:
                continue
            self.used.add(s.index)
            body = self._body(s)
            if body is None:
                self.used.discard(s.index)
            else:
                bodies.append((s.index, body))
        if len(bodies) < 2:  # short or odd text: any sentence, then whatever the text has
            for s in self.sents:
                if len(bodies) >= 2:
                    break
                if s.index not in self.used and s.words >= 3:
                    self.used.add(s.index)
                    bodies.append((s.index, self._body(s) or s.text))
        bodies.sort()
        return [self._attribute(body, k) for k, (_, body) in enumerate(bodies)]

    # -- headline, dek, hook, kicker ------------------------------------------
    def _clauses(self, text: str, lo: int, hi: int) -> list[str]:
        """Prefixes of a sentence ending at clause boundaries, lo..hi characters long."""
        body = _main_clause(text).rstrip('.?!"”’ ')
        out = [body] if lo <= len(body) <= hi else []
        for m in _CUTS.finditer(body):
            head = body[: m.start()]
            if lo <= len(head) <= hi and _voice_ok(head):
                out.append(head)
        return out

    def headline(self) -> str:
        title = " ".join(self.article.title.split())
        title = _SOURCE_SUFFIX.sub("", title) if len(title) > 90 else title
        if 45 <= len(title) <= 90 and "?" not in title and "!" not in title:
            return title_case(title.rstrip("."))
        lead = [s for s in self.sents[:4] if s.clean and not s.text.endswith("?")]
        if lead:
            options = self._clauses(lead[0].text, 45, 90)
            if options:
                return title_case(max(options, key=len))
            if len(lead) > 1 and len(lead[0].text) < 45:  # two short sentences, house form
                pair = f"{lead[0].text} {lead[1].text}".rstrip(".")
                if 45 <= len(pair) <= 90:
                    return title_case(pair)
        for s in lead[:2]:
            cut = _word_cut(_main_clause(s.text), 88)
            if len(cut) >= 45:
                return title_case(cut)
        fallback = title or (self.sents[0].text if self.sents else "")
        return title_case(_word_cut(fallback, 90)) if fallback else ""

    def dek(self) -> str:
        for s in self.sents[:6]:
            if not s.clean:
                continue
            options = [
                c
                for c in self._clauses(s.text, 79, 179)
                if not _QUOTES.search(c) or len(_QUOTES.findall(c)) % 2 == 0
            ]
            if options:
                return max(options, key=len) + "."
        short = [s for s in self.sents[:3] if s.clean]
        if len(short) >= 2:
            a, b = short[0].text.rstrip(".!? "), short[1].text.rstrip(".!? ")
            joined = f"{a}; {_lower_first(b)}."
            if len(joined) <= 180 and len(split_sentences(joined)) == 1:
                return joined
        if short:
            base = short[0].text.rstrip(".!? ")
            padded = f"{base}, per {self._outlet_name()}."
            return padded if len(padded) <= 180 else base[:178].rsplit(" ", 1)[0] + "."
        return ""

    def hook(self, avoid: str, topic: frozenset[str]) -> str:
        pool = [
            s
            for s in self.sents[:8]
            if s.clean
            and s.index not in self.used
            and 5 <= s.words <= 45
            and s.text not in avoid
            and s.terms & topic
            and s.text.split(" ", 1)[0].lower() not in ("and", "but", "so", "or", "yet")
        ]
        engaging = [
            s for s in pool if _QUOTES.search(s.text) or s.text.endswith("?") or s.words <= 22
        ]
        pick = (
            engaging
            or pool
            or [s for s in self.sents if s.clean and 5 <= s.words <= 45 and s.terms & topic]
            or [s for s in self.sents if s.clean and 5 <= s.words <= 45]
            or self.sents
        )
        if not pick:
            return ""
        s = pick[0]
        self.used.add(s.index)
        return s.text if s.words <= 45 else (_trim(s.text, 45, 5) or " ".join(s.text.split()[:45]))

    def kicker(self) -> str:
        markers = [str(m) for m in self.vocab.get("future_markers", [])]
        future = (
            re.compile(r"\b(" + "|".join(map(re.escape, markers)) + r")\b") if markers else None
        )
        pool = [
            s for s in self.sents if s.clean and s.index not in self.used and 6 <= s.words <= 60
        ]
        forward = [s for s in pool if future is not None and future.search(s.text)]
        best = max(
            forward or pool or [s for s in self.sents if s.clean] or self.sents,
            key=lambda s: (s.score * 0.5 + s.index / max(len(self.sents), 1), -s.index),
            default=None,
        )
        if best is None:
            return ""
        self.used.add(best.index)
        text = best.text
        return text if best.words <= 80 else (_trim(text, 80, 6) or text)

    def section(self) -> str:
        banned = {self.outlet, *self.outlet.split()} | _DAYS
        counts: Counter[str] = Counter()
        first: dict[str, int] = {}
        text = " ".join(s.text for s in self.sents)
        for m in _CAP_RUN.finditer(text):
            toks = m.group(0).split()
            before = text[: m.start()].rstrip()
            if not before or before[-1] in ".!?\"”":  # sentence start: the first word may be common
                toks = toks[1:] if toks[0].lower() in STOPWORDS or len(toks) == 1 else toks
            toks = [t.removesuffix("'s").removesuffix("’s") for t in toks]
            name = " ".join(toks[:3])
            if not name or name in banned or toks[0].lower() in STOPWORDS:
                continue
            counts[name] += 1
            first.setdefault(name, m.start())
        key = self.article.id or self.article.title
        if counts:
            topic = max(counts, key=lambda n: (counts[n] + 0.5 * len(n.split()), -first[n]))
            templates = self.style.template_list("section_templates")
            header = _pick(templates, key, "The {topic} Picture").replace("{topic}", topic)
            if 2 <= word_count(header) <= 6:
                return title_case(header)
        return _pick(self.style.template_list("section_fallbacks"), key, "The Big Picture")

    def lead_in(self) -> str:
        template = _pick(
            self.style.template_list("lead_ins"),
            self.article.id + "lead",
            "The details, per {outlet}:",
        )
        text = template.replace("{outlet}", self._outlet_name())
        return text[0].upper() + text[1:]

    def kicker_label(self) -> str:
        return _pick(
            self.style.template_list("kicker_labels"), self.article.id + "kick", "What Comes Next:"
        )


def write_story(article: Article, style: HouseStyle) -> StorySummary:
    """The offline engine's story for one article (findings not yet filled)."""
    w = _Writer(article, style)
    # short texts keep a sentence or two back for the hook and the kicker
    bullets = w.bullets(3 if sum(s.clean for s in w.sents) >= 6 else 2)
    dek = w.dek()
    headline = w.headline()
    topic = frozenset(content_words(" ".join([headline, dek, *bullets])))
    hook = w.hook(dek, topic)
    kicker = w.kicker()
    sources = article.sources or (
        (SourceRef(article.source, article.url),) if article.source or article.url else ()
    )
    return StorySummary(
        id=article.id,
        headline=headline,
        dek=dek,
        hook=hook,
        section=w.section(),
        lead_in=w.lead_in(),
        bullets=tuple(bullets),
        kicker_label=w.kicker_label(),
        kicker=kicker,
        sources=sources,
        image=article.image,
        engine="extractive",
    )
