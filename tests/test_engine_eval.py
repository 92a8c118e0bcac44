"""The offline engine and the gate on real articles: the shared eval set, read in place.

``dev.jsonl``: 100 CNN and Daily Mail articles; ``desk.jsonl``: 30 stories a desk editor wrote
for some of them in the house style (see ``conftest.py`` for where they are looked for). The
engine's stories must pass the gate with no error and no fact finding, and never say the same
sentence twice; the desk's stories must pass the gate too, with few warnings.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import DeskCase
from evalset import read_jsonl

from pipeline.models import Article, Finding, SourceRef, StorySummary
from pipeline.summarize import check_story, load_house_style
from pipeline.summarize._extractive import write_story
from pipeline.summarize._style import story_parts
from pipeline.summarize._text import split_sentences, strip_attribution

STYLE = load_house_style()


@pytest.fixture(scope="module")
def stories(dev: list[Article]) -> list[tuple[Article, StorySummary]]:
    """The offline engine's story for every dev article (checked by the gate as it writes)."""
    return [(a, write_story(a, STYLE)) for a in dev]


def _describe(findings: list[Finding]) -> str:
    return "\n".join(f"{f.story} {f.severity} {f.rule} {f.part}: {f.message}" for f in findings)


@pytest.mark.slow
def test_every_offline_story_passes_the_gate_with_no_error(
    stories: list[tuple[Article, StorySummary]],
) -> None:
    # the house style's bar: every part filled and right, so no error of any rule (a part left
    # empty or too few bullets included)
    errors = [f for _, s in stories for f in s.errors]
    assert errors == [], f"{len(errors)} errors by rule {Counter(f.rule for f in errors)}:\n" + (
        _describe(errors)
    )


@pytest.mark.slow
def test_no_offline_story_has_a_fact_finding(
    stories: list[tuple[Article, StorySummary]],
) -> None:
    facts = [f for _, s in stories for f in s.facts]
    assert facts == [], _describe(facts)


@pytest.mark.slow
def test_the_engine_reports_the_gate_s_own_findings(
    stories: list[tuple[Article, StorySummary]],
) -> None:
    for article, story in stories:
        again = check_story(story, article, STYLE)
        assert (again.style, again.facts) == (story.style, story.facts), story.id


def _words(text: str) -> str:
    """A sentence as its words: case, punctuation and a leading "Per X, " do not count."""
    return " ".join(re.findall(r"[a-z0-9]+", strip_attribution(text)[1].lower()))


@pytest.mark.slow
def test_no_part_repeats_another_part_verbatim(
    stories: list[tuple[Article, StorySummary]],
) -> None:
    repeats = []
    for _, story in stories:
        units = [
            (part, _words(sentence))
            for part, text in story_parts(story)
            for sentence in split_sentences(text)
        ]
        repeats += [
            f"{story.id}: {a} = {b}: {x!r}"
            for i, (a, x) in enumerate(units)
            for b, y in units[i + 1 :]
            if a != b and x and x == y
        ]
    assert repeats == [], f"{len(repeats)} sentences said twice:\n" + "\n".join(repeats)


@pytest.mark.slow
def test_no_part_is_an_aside_in_parentheses(
    stories: list[tuple[Article, StorySummary]],
) -> None:
    # "(JetBlue only operates in 10 of the top 25 markets ...)" was once a hook
    odd = [
        f"{story.id} {part}: {text[:80]!r}"
        for _, story in stories
        for part, text in story_parts(story)
        if text.startswith("(")
    ]
    assert odd == [], "\n".join(odd)


def _desk_story(case: DeskCase) -> StorySummary:
    data: dict[str, Any] = case.story
    text = {
        k: str(data.get(k, ""))
        for k in ("headline", "dek", "hook", "nut_graf", "section", "context", "lead_in")
    }
    return StorySummary(
        id=case.article.id,
        bullets=tuple(data.get("bullets", ())),
        kicker_label=str(data.get("kicker_label", "")),
        kicker=str(data.get("kicker", "")),
        sources=(SourceRef(case.article.source),),
        engine="desk",
        **text,
    )


def test_desk_stories_pass_the_gate_with_few_warnings(desk: list[DeskCase]) -> None:
    checked = [check_story(_desk_story(c), c.article, STYLE) for c in desk]
    errors = [f for s in checked for f in s.errors]
    assert errors == [], _describe(errors)
    warnings = [f for s in checked for f in (*s.style, *s.facts) if f.severity == "warning"]
    assert len(warnings) / len(checked) <= 0.5, _describe(warnings)


def test_a_missing_eval_set_fails_and_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"dev\.jsonl is missing: .*shared/eval"):
        read_jsonl(tmp_path / "dev.jsonl")
