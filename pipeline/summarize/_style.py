"""The house-style definition and its checker.

In: ``templates/house-style.yaml`` (rules with id, part, check, limits, description) and a
:class:`StorySummary`. Out: a :class:`HouseStyle` and one :class:`Finding` per broken rule,
naming the story, the part (``headline``, ``bullets[2]``...) and the span inside it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..config import BUNDLED_TEMPLATES
from ..errors import SummarizeError
from ..models import Finding, StorySummary
from ._text import QUOTED, content_words, is_title_case, split_sentences, word_count

DEFAULT_STYLE_PATH = BUNDLED_TEMPLATES / "house-style.yaml"

_PARTS = ("headline", "dek", "hook", "section", "lead_in", "bullets", "kicker_label", "kicker")
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
        "overlap",
        "not_empty",
        "balanced_quotes",
    }
)


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


@dataclass(frozen=True)
class HouseStyle:
    """The parsed house-style definition: rules plus the template vocabulary."""

    rules: tuple[Rule, ...]
    vocabulary: dict[str, Any] = field(default_factory=dict)
    voice: str = ""
    source_text: str = ""
    path: str = ""
    vocab_words: frozenset[str] = frozenset()

    @property
    def digest(self) -> str:
        """A short hash of the definition, part of the LLM prompt version."""
        return hashlib.sha256(self.source_text.encode()).hexdigest()[:12]

    def template_list(self, key: str) -> list[str]:
        value = self.vocabulary.get(key, [])
        return [str(v) for v in value] if isinstance(value, list) else []

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
    if part != "*" and base not in _PARTS:
        raise SummarizeError(f"{where}: rule {rid!r}: unknown part {part!r}")
    pattern = None
    if "pattern" in raw:
        try:
            pattern = re.compile(str(raw["pattern"]))
        except re.error as exc:
            raise SummarizeError(f"{where}: rule {rid!r}: bad pattern: {exc}") from None
    if check in ("forbid_pattern", "require_pattern") and pattern is None:
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
    )


def load_house_style(path: Path | None = None) -> HouseStyle:
    """Read the house-style definition (default ``templates/house-style.yaml``).

    Raises :class:`SummarizeError` naming the file and rule when the definition is bad.
    """
    p = path or DEFAULT_STYLE_PATH
    try:
        text = p.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise SummarizeError(f"{p}: cannot read the house style: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise SummarizeError(f"{p}: the house style needs a 'rules' list")
    rules = tuple(_rule(r, f"{p}: rules[{i}]") for i, r in enumerate(data["rules"]))
    vocab = data.get("vocabulary") or {}
    if not isinstance(vocab, dict):
        raise SummarizeError(f"{p}: 'vocabulary' must be a mapping")
    return HouseStyle(
        rules=rules,
        vocabulary=vocab,
        voice=str(data.get("voice", "")),
        source_text=text,
        path=str(p),
        vocab_words=_template_words(vocab),
    )


def _template_words(vocab: dict[str, Any]) -> frozenset[str]:
    """Every word our templates use, so the fact checker never takes them for names."""
    out: set[str] = set()
    for key in (
        "template_words",
        "section_templates",
        "section_fallbacks",
        "lead_ins",
        "kicker_labels",
    ):
        value = vocab.get(key, [])
        for phrase in value if isinstance(value, list) else []:
            out.update(w.strip(":,.{}'") for w in str(phrase).split() if "{" not in w)
    return frozenset(w for w in out if w)


_DEFAULT: HouseStyle | None = None


def default_style() -> HouseStyle:
    """The shipped house style, read once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_house_style()
    return _DEFAULT


def story_parts(story: StorySummary) -> list[tuple[str, str]]:
    """(part name, text) for every text part of a story, bullets numbered."""
    parts = [(name, str(getattr(story, name))) for name in _PARTS if name != "bullets"]
    parts[5:5] = [(f"bullets[{i}]", b) for i, b in enumerate(story.bullets)]
    return parts


def _blank_quotes(text: str) -> str:
    """The text with quoted passages blanked out, positions kept."""
    return QUOTED.sub(lambda m: " " * len(m.group(0)), text)


def _check_text(rule: Rule, part: str, text: str, story: StorySummary) -> Finding | None:
    def found(message: str, start: int = 0, end: int | None = None) -> Finding:
        return Finding(
            rule=rule.id,
            message=message,
            part=part,
            text=text,
            start=start,
            end=len(text) if end is None else end,
            story=story.id,
        )

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
        bad = is_title_case(stripped)
        if bad:
            s, e = bad[0]
            return found(f"{part} is not in title case ({stripped[s:e]!r})", s, e)
        return None
    if check == "ends_with":
        ok = stripped[-1] in rule.chars
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
    if check == "balanced_quotes":
        straight = text.count('"') % 2
        curly = text.count("“") - text.count("”")
        if straight or curly:
            at = max(text.rfind('"'), text.rfind("“"), text.rfind("”"))
            return found(f"{part}: a quotation opens or closes without its other mark", at, at + 1)
        return None
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


def check_style(story: StorySummary, style: HouseStyle | None = None) -> tuple[Finding, ...]:
    """Every house-style rule the story breaks, per part (empty when it passes)."""
    style = style or default_style()
    parts = story_parts(story)
    out: list[Finding] = []
    for rule in style.rules:
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
                finding = _check_text(rule, name, text, story)
                if finding is not None:
                    out.append(finding)
    return tuple(out)
