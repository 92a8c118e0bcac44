"""The house-style definition and its checker.

In: ``templates/house-style.yaml`` (rules with id, part, check, limits, description) and a
:class:`StorySummary`. Out: a :class:`HouseStyle` and one :class:`Finding` per broken rule,
naming the story, the part (``headline``, ``bullets[2]``...) and the span inside it.

These are the checks that need no source: form (lengths, case, punctuation), grammar of the
headline (``_grammar``), how our sentences read (``_prose``) and repeats between parts. The
fact checker (``_facts``) adds what needs the source; together they are the gate.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..config import BUNDLED_TEMPLATES
from ..errors import SummarizeError
from ..models import STORY_PARTS, Finding, Severity, StorySummary
from ..safe_yaml import load_yaml
from ..words import content_words
from . import _grammar, _prose
from ._text import (
    QUOTED,
    is_title_case,
    plain_words,
    sentence_pairs,
    similarity,
    split_sentences,
    word_count,
)

DEFAULT_STYLE_PATH = BUNDLED_TEMPLATES / "house-style.yaml"

PARTS = STORY_PARTS  # the parts in reading order (the house style's anatomy of a story)
_CHECKS = frozenset(
    {
        "chars",
        "words",
        "sentences",
        "count",
        "title_case",
        "ends_with",
        "not_ends_with",
        "forbid_pattern",
        "require_pattern",
        "attribution",
        "overlap",
        "not_empty",
        "balanced_quotes",
        "has_verb",
        "main_clause",
        "not_cut_off",
        "not_word_salad",
        "opening",
        "attribution_case",
        "no_caption",
        "names_source",
        "no_repeat",
    }
)

_CLOSING_MARKS = "\"”’'"


@dataclass(frozen=True)
class Rule:
    """One house-style rule as the definition file states it."""

    id: str
    part: str
    check: str
    description: str = ""
    min: int | None = None
    max: int | None = None
    chars: str = ""
    pattern: re.Pattern[str] | None = None
    outside_quotes: bool = False
    with_parts: tuple[str, ...] = ()
    severity: Severity = "error"


@dataclass(frozen=True)
class HouseStyle:
    """The parsed house-style definition: rules plus the template vocabulary.

    ``phrases`` holds the vocabulary's lists by name (section templates, fallbacks, lead-ins,
    kicker labels, future markers, outlets named with "the"); ``outlet_fallback`` names a
    source no outlet is known for; ``vocab_words`` every word of the templates.
    """

    rules: tuple[Rule, ...]
    phrases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    outlet_fallback: str = "the report"
    voice: str = ""
    source_text: str = ""
    path: str = ""
    vocab_words: frozenset[str] = frozenset()

    @property
    def digest(self) -> str:
        """A short hash of the definition, part of the LLM prompt version."""
        return hashlib.sha256(self.source_text.encode()).hexdigest()[:12]

    def template_list(self, key: str) -> list[str]:
        return list(self.phrases.get(key, ()))

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def describe(self) -> str:
        """The rules as a plain list, for the LLM prompt."""
        lines = [f"- {r.part}: {r.description}" for r in self.rules if r.description]
        return "\n".join(lines)


def _rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, dict):
        raise SummarizeError(f"{where}: a rule must be a mapping")
    rid, part, check = raw.get("id"), raw.get("part"), raw.get("check")
    if not isinstance(rid, str) or not isinstance(part, str) or check not in _CHECKS:
        raise SummarizeError(
            f"{where}: rule needs id, part and a check among {sorted(_CHECKS)}"
            f" (got id={rid!r}, check={check!r})"
        )
    base = part.removesuffix("[]")
    if part != "*" and base not in PARTS:
        raise SummarizeError(f"{where}: rule {rid!r}: unknown part {part!r}")
    pattern = None
    if "pattern" in raw:
        try:
            pattern = re.compile(str(raw["pattern"]))
        except re.error as exc:
            raise SummarizeError(f"{where}: rule {rid!r}: bad pattern: {exc}") from None
    if check in ("forbid_pattern", "require_pattern", "attribution") and pattern is None:
        raise SummarizeError(f"{where}: rule {rid!r}: check {check} needs a pattern")
    return Rule(
        id=rid,
        part=part,
        check=str(check),
        description=str(raw.get("description", "")),
        min=raw.get("min"),
        max=raw.get("max"),
        chars=str(raw.get("chars", "")),
        pattern=pattern,
        outside_quotes=bool(raw.get("outside_quotes", False)),
        with_parts=tuple(raw.get("with", ())),
        severity="warning" if raw.get("severity") == "warning" else "error",
    )


def load_house_style(path: Path | None = None) -> HouseStyle:
    """Read the house-style definition (default ``templates/house-style.yaml``).

    Raises :class:`SummarizeError` naming the file and rule when the definition is bad.
    """
    p = path or DEFAULT_STYLE_PATH
    try:
        text = p.read_text(encoding="utf-8")
        data = load_yaml(text)
    except (OSError, yaml.YAMLError) as exc:
        raise SummarizeError(f"{p}: cannot read the house style: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise SummarizeError(f"{p}: the house style needs a 'rules' list")
    rules = tuple(_rule(r, f"{p}: rules[{i}]") for i, r in enumerate(data["rules"]))
    vocab = data.get("vocabulary") or {}
    if not isinstance(vocab, dict):
        raise SummarizeError(f"{p}: 'vocabulary' must be a mapping")
    # each list is a set of phrases; outlet_fallback is the one word the writer reads alone
    phrases = {str(k): tuple(str(v) for v in vs) for k, vs in vocab.items() if isinstance(vs, list)}
    return HouseStyle(
        rules=rules,
        phrases=phrases,
        outlet_fallback=str(vocab.get("outlet_fallback", "the report")),
        voice=str(data.get("voice", "")),
        source_text=text,
        path=str(p),
        vocab_words=_template_words(phrases),
    )


def _template_words(phrases: Mapping[str, tuple[str, ...]]) -> frozenset[str]:
    """Every word our templates use, so the fact checker never takes them for names."""
    out: set[str] = set()
    for key in (
        "template_words",
        "section_templates",
        "section_fallbacks",
        "lead_ins",
        "kicker_labels",
    ):
        for phrase in phrases.get(key, ()):
            out.update(w.strip(":,.{}'") for w in phrase.split() if "{" not in w)
    return frozenset(w for w in out if w)


_DEFAULT: HouseStyle | None = None


def default_style() -> HouseStyle:
    """The shipped house style, read once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_house_style()
    return _DEFAULT


def story_parts(story: StorySummary) -> list[tuple[str, str]]:
    """(part name, text) for every text part of a story in reading order, bullets numbered."""
    parts: list[tuple[str, str]] = []
    for name in PARTS:
        if name == "bullets":
            parts += [(f"bullets[{i}]", b) for i, b in enumerate(story.bullets)]
        else:
            parts.append((name, str(getattr(story, name))))
    return parts


def outlet_names(story: StorySummary) -> frozenset[str]:
    """The outlets a story credits, as written and without a leading "The"."""
    out: set[str] = set()
    for ref in story.sources:
        name = " ".join(ref.name.split())
        if name:
            out.update({name, name.removeprefix("The ").removeprefix("the ")})
    return frozenset(out)


@lru_cache(maxsize=4096)
def _blank_quotes(text: str) -> str:
    """The text with quoted passages blanked out, positions kept."""
    return QUOTED.sub(lambda m: " " * len(m.group(0)), text)


# How a sentence names where the news came from, when not by the outlet's own name.
_SOURCED = re.compile(
    r"\b(?:according to|reported by|seen by|obtained by|published by|told|reported|reports|said|"
    r"says|per the|per a)\b",
    re.IGNORECASE,
)


def _check_text(
    rule: Rule, part: str, text: str, story: StorySummary, names: frozenset[str]
) -> Finding | None:
    def found(message: str, start: int = 0, end: int | None = None) -> Finding:
        return Finding(
            rule=rule.id,
            message=message,
            part=part,
            text=text,
            start=start,
            end=len(text) if end is None else end,
            story=story.id,
            severity=rule.severity,
        )

    def problem(p: _prose.Problem | None) -> Finding | None:
        return None if p is None else found(f"{part}: {p.reason}", p.start, p.end)

    stripped = text.strip()
    check = rule.check
    if check == "not_empty":
        return None if stripped else found(f"{part} is empty")
    if not stripped:
        return None  # not-empty reports it once
    if check in ("chars", "words", "sentences"):
        n = (
            len(stripped)
            if check == "chars"
            else word_count(stripped)
            if check == "words"
            else len(split_sentences(stripped))
        )
        if (rule.min is not None and n < rule.min) or (rule.max is not None and n > rule.max):
            return found(f"{part} has {n} {check}; the house style wants {rule.min}-{rule.max}")
        return None
    if check == "title_case":
        bad = is_title_case(stripped, names)
        if bad:
            s, e = bad[0]
            return found(f"{part} is not in title case ({stripped[s:e]!r})", s, e)
        return None
    if check == "ends_with":
        # American style closes the quotation after the full stop: 'the "forgotten floor."'
        ok = stripped.rstrip(_CLOSING_MARKS)[-1:] in tuple(rule.chars)
        return None if ok else found(f"{part} must end with one of {rule.chars!r}", len(text) - 1)
    if check == "not_ends_with":
        ok = stripped[-1] not in rule.chars
        return None if ok else found(f"{part} must not end with {stripped[-1]!r}", len(text) - 1)
    if check in ("forbid_pattern", "require_pattern") and rule.pattern is not None:
        hay = _blank_quotes(text) if rule.outside_quotes else text
        m = rule.pattern.search(hay)
        if check == "forbid_pattern" and m:
            return found(
                f"{part}: {rule.description or rule.id} ({m.group(0)!r})", m.start(), m.end()
            )
        if check == "require_pattern" and not m:
            return found(f"{part}: {rule.description or rule.id}")
        return None
    if check == "attribution" and rule.pattern is not None:
        if _prose.attributes(text, rule.pattern):
            return None
        return found(f"{part}: {rule.description or rule.id}")
    if check == "balanced_quotes":
        return problem(_prose.unbalanced_quotes(text))
    if check in ("has_verb", "main_clause", "not_cut_off", "not_word_salad"):
        toks = _grammar.tag(stripped, names)
        if check == "has_verb":
            return None if _grammar.has_verb(toks) else found(f"{part} has no verb")
        if check == "main_clause":
            why = _grammar.no_main_clause(toks)
            return found(f"{part} is a fragment: {why}") if why else None
        rest = " ".join(t for n, t in story_parts(story) if n != part)
        why = (
            _grammar.cut_off(toks, rest)
            if check == "not_cut_off"
            else _grammar.word_salad(toks, names)
        )
        kind = "is cut off" if check == "not_cut_off" else "is word salad"
        return found(f"{part} {kind}: {why}") if why else None
    if check == "opening":
        return problem(_prose.orphan_opening(text))
    if check == "attribution_case":
        return problem(_prose.attribution_case(text, names))
    if check == "no_caption":
        return problem(_prose.caption(text, outlet_names(story)))
    if check == "names_source":
        outlets = outlet_names(story)
        if not outlets or any(o.lower() in text.lower() for o in outlets) or _SOURCED.search(text):
            return None
        return found(f"{part} does not name the source ({' or '.join(sorted(outlets))})")
    if check == "overlap":
        mine = set(content_words(text))
        others: set[str] = set()
        for other in rule.with_parts:
            value = getattr(story, other, "")
            others.update(content_words(" ".join(value) if isinstance(value, tuple) else value))
        return (
            None
            if mine & others
            else found(f"{part} shares no key word with {', '.join(rule.with_parts)}")
        )
    return None


def _repeats(rule: Rule, story: StorySummary) -> list[Finding]:
    """Sentences of one part that another part (or another bullet) repeats.

    Only sentences that share a word pair are compared (an index of pairs finds them), and
    each against a bounded number of candidates, so a long odd input stays linear.
    """
    limit = (rule.max if rule.max is not None else 55) / 100
    units: list[tuple[str, str]] = []
    for name, text in story_parts(story):
        if name in ("headline", "section", "lead_in", "kicker_label"):
            continue
        units += [(name, sentence) for sentence in split_sentences(text)]
    out: list[Finding] = []
    # a headline shares words with the parts by design, but never a whole sentence of one
    headline = {plain_words(s) for s in split_sentences(story.headline)} - {""}
    for name, sentence in units:
        if plain_words(sentence) in headline:
            out.append(
                Finding(
                    rule=rule.id,
                    part="headline",
                    story=story.id,
                    text=story.headline,
                    severity=rule.severity,
                    message=f"the headline repeats a sentence of the {name} word for word: "
                    "say it in fewer words",
                )
            )
            break
    by_pair: dict[tuple[str, str], list[int]] = {}
    seen: set[str] = set()
    for j, (b_part, b) in enumerate(units):
        pairs = sentence_pairs(b)
        earlier: dict[int, int] = {}
        for pair in pairs:
            for i in by_pair.get(pair, ())[-_REPEAT_PEERS:]:
                earlier[i] = earlier.get(i, 0) + 1
            by_pair.setdefault(pair, []).append(j)
        if b_part in seen:
            continue
        for i in sorted(earlier, key=lambda i: -earlier[i])[:_REPEAT_PEERS]:
            a_part, a = units[i]
            if a_part == b_part:
                continue
            share = similarity(a, b)
            if share >= limit:
                seen.add(b_part)
                out.append(
                    Finding(
                        rule=rule.id,
                        part=b_part,
                        story=story.id,
                        text=b,
                        severity=rule.severity,
                        message=f"{b_part} repeats {a_part} ({round(100 * share)}% of its "
                        "word pairs): say something new or drop it",
                    )
                )
                break
    return out


_REPEAT_PEERS = 20  # candidates a sentence is compared with, most shared pairs first


def check_style(
    story: StorySummary, style: HouseStyle | None = None, names: frozenset[str] = frozenset()
) -> tuple[Finding, ...]:
    """Every house-style rule the story breaks, per part (empty when it passes).

    ``names`` are capitalised words the source uses as names (a capital after "Per X, " is
    right for them); without a source the lexicon decides.
    """
    style = style or default_style()
    parts = story_parts(story)
    out: list[Finding] = []
    for rule in style.rules:
        if rule.check == "no_repeat":
            out += _repeats(rule, story)
            continue
        if rule.part == "bullets":
            n = len(story.bullets)
            if (rule.min is not None and n < rule.min) or (rule.max is not None and n > rule.max):
                out.append(
                    Finding(
                        rule=rule.id,
                        part="bullets",
                        story=story.id,
                        message=f"{n} bullets; the house style wants {rule.min}-{rule.max}",
                    )
                )
            continue
        for name, text in parts:
            if (
                rule.part == "*"
                or rule.part == name
                or (rule.part == "bullets[]" and name.startswith("bullets["))
            ):
                finding = _check_text(rule, name, text, story, names)
                if finding is not None:
                    out.append(finding)
    return tuple(out)
