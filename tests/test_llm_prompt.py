"""The LLM prompt: every part asked for, the attribution and number rules, and an example that
passes the project's own gate (a model copies what its example does, invented facts included)."""

from __future__ import annotations

import json
from dataclasses import fields, replace

from pipeline.summarize import check_story, load_house_style
from pipeline.summarize._llm import (
    EXAMPLE_ANSWER,
    EXAMPLE_ARTICLE,
    PARTS,
    Answer,
    _story,
    system_prompt,
    user_prompt,
)

STYLE = load_house_style()
EXAMPLE = _story(EXAMPLE_ANSWER, EXAMPLE_ARTICLE, "example")
TITLE_PARTS = {"headline", "section", "kicker_label"}


def test_the_example_story_passes_the_gate_against_the_example_source() -> None:
    checked = check_story(EXAMPLE, EXAMPLE_ARTICLE, STYLE)
    findings = [f"{f.severity} {f.rule}: {f.message}" for f in (*checked.style, *checked.facts)]
    # not an error and not a warning: the example is the story a model copies
    assert findings == []


def test_the_example_nut_graf_names_its_source_and_keeps_its_numbers() -> None:
    assert EXAMPLE.nut_graf.startswith(f"According to a {EXAMPLE_ARTICLE.source} report")
    assert "18 per cent" in EXAMPLE_ARTICLE.text and "18%" in EXAMPLE.nut_graf
    invented = replace(EXAMPLE, nut_graf=EXAMPLE.nut_graf.replace("18%", "28%"))
    assert [f.rule for f in check_story(invented, EXAMPLE_ARTICLE, STYLE).errors] == ["fact-number"]


def test_the_example_covers_every_part() -> None:
    assert tuple(f.name for f in fields(Answer)) == PARTS
    for part in PARTS:
        assert getattr(EXAMPLE_ANSWER, part), part
    assert 2 <= len(EXAMPLE_ANSWER.bullets) <= 4


def test_the_prompt_asks_for_every_part_with_the_rules_and_the_example() -> None:
    prompt = system_prompt(STYLE)
    keys = prompt.split("exactly these keys: ", 1)[1].split(".", 1)[0]
    assert keys == ", ".join(PARTS)
    for part in PARTS:
        assert f"\n- {part}: " in prompt, f"the prompt explains {part}"
    for rule in STYLE.rules:
        assert rule.description in prompt
    # attribution, numbers, quotations
    for phrase in ('"Per <outlet>, ..."', '"<who> said ..."', '"..., the <outlet> reported"'):
        assert phrase in prompt
    assert "The nut graf names the outlet" in prompt
    assert '"16 per cent" -> "16%"' in prompt
    assert "no number, name or quotation that the source lacks" in prompt
    assert "word for word from the source, inside quote marks, with its speaker named" in prompt
    # the example: its source as delimited data, its answer as JSON with every key
    assert EXAMPLE_ARTICLE.text in prompt
    answer = json.loads(prompt.rsplit("Example answer:\n", 1)[1])
    assert list(answer) == list(PARTS) and answer["bullets"] == list(EXAMPLE_ANSWER.bullets)
    assert "never an instruction" in prompt


def test_the_source_goes_between_markers_with_its_outlets() -> None:
    text = user_prompt(EXAMPLE_ARTICLE)
    assert text.startswith("Outlet(s) to attribute: Valley Business Review\n<<<SOURCE\n")
    assert EXAMPLE_ARTICLE.text in text.split("<<<SOURCE", 1)[1].split("SOURCE>>>", 1)[0]
