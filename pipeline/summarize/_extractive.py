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
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from ..models import Article, SourceRef, StorySummary
from ._style import HouseStyle
from ._text import (
    QUOTED,
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
_NUMBER = re.compile(r"\d")
# Page furniture, not news (matched on the lower-cased sentence, which is much faster).
_JUNK = re.compile(
    r"»|click here|scroll down|e-mail to a friend|all rights reserved|contributed to this report"
    r"|read more|read:|watch:|published:|updated:|follow @|copyright|subscribe|sign up"
    r"|editor's note|photo:|pictured|visit site|https?://|www\."
)
_CUTS = re.compile(r"(?:,|;| --| —| –)\s")
_DAYS = word_set(
    """
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March
    April May June July August September October November December
    """
)
_CAP_RUN = re.compile(r"(?<![\w'’-])(?:[A-Z][a-zA-Z'’&-]+ )*[A-Z][a-zA-Z'’&-]+(?![\w'’-])")
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


@lru_cache(maxsize=8192)
def _voice_ok(text: str, balanced: bool = True) -> bool:
    """No first person and no '!' outside quotations; quotes balanced unless not required."""
    outside = QUOTED.sub(" ", text)
    if _FIRST_PERSON.search(outside) or "!" in outside:
        return False
    return not balanced or (
        len(_QUOTES.findall(text)) % 2 == 0 and text.count("‘") <= text.count("’")
    )


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


# Light compression: asides a reader can skip. Non-restrictive relative clauses after a
# comma, appositives after a name (not list items), and dash asides; never inside quotes.
_ASIDES = (
    re.compile(r", (?:who|which|whose) [^,\"“”‘’]{3,80},(?= )"),
    re.compile(r"(\b[A-Z][\w.'’-]*), (?:a|an|the) [^,\"“”‘’0-9]{3,60},(?= (?!and |or )[a-z])"),
    re.compile(r" (?:--|—|–) [^-—–\"“”‘’]{3,80} (?:--|—|–)(?= )"),
)


# A trailing circumstance after the main clause (", as demand slows ...") is context a
# bullet can drop when what is left still carries the fact.
_TAIL = re.compile(r", (?:as|after|amid|while|following|despite|even as|with) [^\"“”‘’]{12,}[.!]?$")


_PRONOUN_START = word_set("he she they it this these that those his her their its such both")


def _dangling(text: str) -> bool:
    """The sentence opens with a pronoun whose antecedent lives in another sentence."""
    return text.split(" ", 1)[0].strip("\"“‘'").lower() in _PRONOUN_START


def _compress(text: str) -> str:
    """The sentence without its skippable asides (the facts it keeps are the source's own)."""
    for pattern in _ASIDES:
        text = pattern.sub(lambda m: m.group(1) if m.groups() else "", text)
    tail = _TAIL.search(text)
    if tail and word_count(text[: tail.start()]) >= 12 and text.count('"') % 2 == 0:
        text = text[: tail.start()] + "."
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
_WEIGHTS = (1.6, 0.5, 0.12, 0.0, 0.15, 0.35)
_MAX_BULLET_WORDS = 45
_SHORT_FOLLOW_UP = 10  # words; such a sentence joins the bullet before it
_SHORT_BULLETS_WORDS = 55


class _Writer:
    """Writes one story; holds the article's sentences and the words it may use."""

    def __init__(self, article: Article, style: HouseStyle) -> None:
        self.article = article
        self.style = style
        self.vocab = style.vocabulary
        text, agency = clean_text(article.text)
        self.outlet = (
            (article.source or (article.sources[0].name if article.sources else "") or agency)
            .strip()
            .replace("!", "")
        )  # "Yahoo!" reads as "Yahoo" in our voice
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
            if _JUNK.search(raw.lower()) or not any(c.isalpha() for c in raw):
                continue
            n = word_count(raw)
            first = raw.lstrip("\"“‘'(")[:1]
            clean = (first.isupper() or first.isdigit()) and _voice_ok(raw, balanced=False)
            clean = clean and raw[-1] in ".?!\"”’)'"
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
        prefixes = self.style.template_list("attribution_prefixes") or ["{Outlet}: "]
        prefix = prefixes[k % len(prefixes)]
        if self.outlet:
            cap = self.outlet[:1].upper() + self.outlet[1:]
            prefix = prefix.replace("{Outlet}", cap).replace("{outlet}", self.outlet)
        else:
            prefix = str(self.vocab.get("attribution_fallback", "Report: "))
        if prefix.rstrip().endswith(":"):
            return prefix + text  # "Outlet: Sentence." keeps the sentence as written
        first = text.split(" ", 1)[0]
        if (
            first.lower() in self.lower_words
            and first not in self.mid_caps
            and first.isalpha()
            and not first.isupper()
        ):
            text = text[0].lower() + text[1:]
        return prefix + _lower_first(text)

    def _room(self, body: str) -> int:
        """Words the attribution prefix will add (none when the body attributes itself)."""
        return 0 if self.attr_re.search(body) else word_count(self._attribute("x", 0)) - 1

    def _body(self, s: _Sent) -> str | None:
        """The sentence as a bullet body: 15-45 words once attributed."""
        body = _compress(s.text)
        if word_count(body) + self._room(body) > _MAX_BULLET_WORDS:
            cut = _trim(body, _MAX_BULLET_WORDS - 3, 12)
            if cut is None:
                return None
            body = cut
        if word_count(body) + self._room(body) < 15:
            nxt = next((t for t in self.sents if t.index == s.index + 1 and t.clean), None)
            if nxt is None or nxt.index in self.used:
                return None
            merged = body + " " + _compress(nxt.text)
            if not 15 <= word_count(merged) + self._room(merged) <= 45:
                return None
            self.used.add(nxt.index)
            body = merged
        else:
            # a very short follow-up ("He was 88.") belongs with the fact before it, and so
            # does one that carries the attribution the fact lacks
            nxt = next((t for t in self.sents if t.index == s.index + 1 and t.clean), None)
            if (
                nxt is not None
                and nxt.index not in self.used
                and (nxt.words <= _SHORT_FOLLOW_UP or (nxt.attributed and self._room(body)))
                and word_count(body) + nxt.words + self._room(body + " " + nxt.text)
                <= _MAX_BULLET_WORDS
            ):
                self.used.add(nxt.index)
                body = body + " " + _compress(nxt.text)
        # a quotation the splitter cut in two would open in one bullet and close in the next
        return body if _voice_ok(body) else None

    def bullets(self, want: int = 3) -> list[str]:
        """The leading salient sentences as attributed bullets, in the article's order.

        A fourth bullet is added when the first ``want`` are short (under
        ``_SHORT_BULLETS_WORDS`` words together), so thin bullets still cover the news.
        """
        ranked = sorted(
            (
                s
                for s in self.sents
                if s.clean and s.words >= 6 and not s.text.rstrip("\"”’')").endswith("?")
            ),
            key=lambda s: (-s.score, s.index),
        )
        bodies: list[tuple[int, str]] = []
        for s in ranked:
            total = sum(word_count(b) for _, b in bodies)
            if len(bodies) >= want and (len(bodies) >= 4 or total >= _SHORT_BULLETS_WORDS):
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

    def _headline_candidates(self) -> Iterator[str]:
        title = " ".join(self.article.title.split())
        title = _SOURCE_SUFFIX.sub("", title) if len(title) > 90 else title
        if title.isupper():  # a shouting title: keep only the acronyms the text also writes so
            caps = set(re.findall(r"\b[A-Z][A-Z0-9&]+\b", self.article.text))
            title = " ".join(w if w.strip(",.:;'\"") in caps else w.lower() for w in title.split())
        yield title.rstrip(".")
        lead = [s for s in self.sents[:4] if not s.text.rstrip('"”’)').endswith("?")]
        if lead:
            options = self._clauses(lead[0].text, 45, 90)
            yield from sorted(options, key=len, reverse=True)
            if len(lead) > 1 and len(lead[0].text) < 45:  # two short sentences, house form
                yield f"{lead[0].text} {lead[1].text}".rstrip(".")
        for s in lead[:3]:
            yield _word_cut(_main_clause(s.text), 88)
        if title and lead:  # short title: let the lead's first clause complete it
            yield f"{title}: {_word_cut(_main_clause(lead[0].text), 86 - len(title))}"

    def headline(self, topic: frozenset[str]) -> str:
        clickbait = self.style.rule("headline-no-clickbait")
        fallback = ""
        for raw in self._headline_candidates():
            text = raw
            if clickbait is not None and clickbait.pattern is not None:
                text = " ".join(clickbait.pattern.sub("", text).split()).strip(" :,-")
            if not text or "?" in text or "!" in text or not _voice_ok(text):
                continue
            fallback = fallback or text
            if 45 <= len(text) <= 90 and topic & set(content_words(text)):
                return title_case(text[0].upper() + text[1:])
        return title_case(_word_cut(fallback, 90)) if fallback else ""

    def _dek_candidates(self) -> Iterator[str]:
        plain = [
            s
            for s in self.sents
            if s.clean and _voice_ok(s.text) and not s.text.rstrip("\"”’')").endswith("?")
        ]
        for s in plain[:6]:
            yield from (
                c + "." for c in sorted(self._clauses(s.text, 79, 179), key=len, reverse=True)
            )
        for s in plain[:6]:  # a long lead sentence, cut at a clean word boundary
            yield _word_cut(_main_clause(s.text), 178) + "."
        if len(plain) >= 2:  # two short lead sentences joined into one
            a, b = plain[0].text.rstrip(".!? "), plain[1].text.rstrip(".!? ")
            yield f"{a}; {_lower_first(b)}."
        for s in plain[:3]:
            yield f"{s.text.rstrip('.!? ')}, per {self._outlet_name()}."
        title = " ".join(self.article.title.split()).rstrip(".!?")
        if title and _voice_ok(title):
            yield f"{title}, per {self._outlet_name()}."
        for s in plain[6:]:
            yield from (c + "." for c in self._clauses(s.text, 79, 179))

    def dek(self) -> str:
        fallback = ""
        for text in self._dek_candidates():
            if len(text) < 3 or "?" in text[-3:]:
                continue
            fallback = fallback or text
            if 80 <= len(text) <= 180 and len(split_sentences(text)) == 1 and _voice_ok(text):
                return text
        return fallback

    def hook(self, avoid: str, topic: frozenset[str]) -> str:
        pool = [
            s
            for s in self.sents[:8]
            if s.clean
            and _voice_ok(s.text)
            and s.index not in self.used
            and 5 <= s.words <= 45
            and s.text not in avoid
            and s.terms & topic
            and s.text.split(" ", 1)[0].lower() not in ("and", "but", "so", "or", "yet")
        ]
        pool = [s for s in pool if not _dangling(s.text)] or pool
        engaging = [
            s for s in pool if _QUOTES.search(s.text) or s.text.endswith("?") or s.words <= 22
        ]
        pick = (
            engaging
            or pool
            or [
                s
                for s in self.sents
                if s.clean
                and s.index not in self.used
                and 5 <= s.words <= 45
                and s.terms & topic
                and _voice_ok(s.text)
            ]
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
            s
            for s in self.sents
            if s.clean and s.index not in self.used and 6 <= s.words <= 60 and _voice_ok(s.text)
        ]
        # analysis, not a quotation, reads best as the last word
        forward = [s for s in pool if future is not None and future.search(s.text)]
        forward = [s for s in forward if not _QUOTES.search(s.text)] or forward
        forward = [s for s in forward if not s.text.rstrip("\"”’')").endswith("?")] or forward
        # "They expect ..." out of context names nobody: prefer a sentence that stands alone
        forward = [s for s in forward if not _dangling(s.text)] or forward
        pool = [s for s in pool if not _dangling(s.text)] or pool
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
            if not before or before[-1] in '.!?"”':  # sentence start: the first word may be common
                toks = toks[1:] if toks[0].lower() in STOPWORDS or len(toks) == 1 else toks
            toks = [t.replace("’", "'").removesuffix("'s") for t in toks]
            name = " ".join(toks if len(toks) <= 3 else toks[-2:])  # "Fed Chair Jerome Powell"
            if (
                not name
                or name in banned
                or toks[0].lower() in STOPWORDS
                or _FIRST_PERSON.search(name)
            ):
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
    headline = w.headline(frozenset(content_words(" ".join([dek, *bullets]))))
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
        nut_graf="",
        section=w.section(),
        context="",
        lead_in=w.lead_in(),
        bullets=tuple(bullets),
        kicker_label=w.kicker_label(),
        kicker=kicker,
        sources=sources,
        image=article.image,
        engine="extractive",
    )
