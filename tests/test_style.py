"""The house-style definition file and the style checker."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.errors import SummarizeError
from pipeline.models import SourceRef, StorySummary
from pipeline.summarize import check_style, load_house_style

GOOD = StorySummary(
    id="s1",
    headline="Harbor Freight Lines Bets Big on Electric Trucks Over Diesel",
    dek="Harbor Freight Lines, the Oakland hauler with orange cabs, will swap a third of its "
    "fleet for battery trucks.",
    hook="Trucking rarely moves fast, but one hauler in Oakland just bet its fleet on batteries.",
    nut_graf="According to the Port Ledger, Harbor Freight Lines will replace a third of its "
    "diesel fleet with battery trucks, a bet that fuel savings will outrun the cost of chargers.",
    section="The Charging Question",
    context="Haulers at the port have tested electric trucks for years, but most kept diesel "
    "because chargers were scarce and batteries heavy.",
    lead_in="The details, per the Port Ledger:",
    bullets=(
        "Per the Port Ledger, Harbor Freight Lines will buy 400 battery trucks by 2028, about a "
        "third of its fleet.",
        "Chief executive Dana Ruiz said the company expects fuel savings of $18 million a year "
        "once the order arrives.",
    ),
    kicker_label="Range Anxiety, Meet Payroll:",
    kicker="The bet pays only if the chargers arrive on time, and the port has missed dates.",
)


def _rules(story: StorySummary) -> set[tuple[str, str]]:
    return {(f.rule, f.part) for f in check_style(story)}


def test_a_story_in_house_form_passes() -> None:
    assert check_style(GOOD) == ()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"headline": "Trucks Go Electric"}, ("headline-length", "headline")),
        (
            {"headline": "Is Harbor Freight Lines Betting Its Whole Fleet on Electric Trucks?"},
            ("headline-no-question", "headline"),
        ),
        (
            {"headline": "Harbor Freight Lines bets big on electric trucks over diesel rivals"},
            ("headline-title-case", "headline"),
        ),
        (
            {"headline": "Shocking Move: Harbor Freight Lines Bets Big on Electric Trucks"},
            ("headline-no-clickbait", "headline"),
        ),
        (
            {"headline": "Quarterly Results Season Opens With Surprises Across the Board"},
            ("headline-names-subject", "headline"),
        ),
        (
            {
                "dek": "Harbor Freight Lines is going electric. It will buy battery trucks"
                " for a third of its fleet."
            },
            ("dek-one-sentence", "dek"),
        ),
        ({"dek": "Harbor Freight Lines goes electric."}, ("dek-length", "dek")),
        (
            {
                "dek": "Harbor Freight Lines, the Oakland hauler with orange cabs, will swap"
                " a third of its fleet for battery trucks"
            },
            ("dek-period", "dek"),
        ),
        ({"hook": " ".join(["word"] * 50) + " trucks."}, ("hook-words", "hook")),
        (
            {
                "hook": "Nobody saw the weather turn so cold this late in spring,"
                " and gardeners grumbled."
            },
            ("hook-leads-in", "hook"),
        ),
        ({"section": "Charging"}, ("section-words", "section")),
        ({"section": "The Charging Question."}, ("section-no-final-punctuation", "section")),
        ({"section": "the charging question"}, ("section-title-case", "section")),
        ({"lead_in": "The details, per the Port Ledger."}, ("lead-in-colon", "lead_in")),
        ({"bullets": GOOD.bullets[:1]}, ("bullets-count", "bullets")),
        (
            {"bullets": (GOOD.bullets[0], "Harbor Freight Lines will buy 400 trucks.")},
            ("bullet-words", "bullets[1]"),
        ),
        (
            {
                "bullets": (
                    GOOD.bullets[0],
                    "Harbor Freight Lines will buy 400 battery trucks by 2028, "
                    "about a third of its fleet, to cut fuel costs.",
                )
            },
            ("bullet-attribution", "bullets[1]"),
        ),
        (
            # a passive or an order is no attribution: whose word is this?
            {
                "bullets": (
                    GOOD.bullets[0],
                    "Harbor Freight Lines was asked to buy 400 battery trucks by 2028, "
                    "about a third of its fleet, and drivers were told to train.",
                )
            },
            ("bullet-attribution", "bullets[1]"),
        ),
        (
            # "United States" is a place, not a verb of saying
            {
                "bullets": (
                    GOOD.bullets[0],
                    "Harbor Freight Lines will buy 400 battery trucks by 2028 and ship them "
                    "across the United States.",
                )
            },
            ("bullet-attribution", "bullets[1]"),
        ),
        (
            # "states" after an adjective is the noun, not a verb of saying
            {
                "bullets": (
                    GOOD.bullets[0],
                    "Harbor Freight Lines will buy 400 battery trucks by 2028 to run in five "
                    "coastal states.",
                )
            },
            ("bullet-attribution", "bullets[1]"),
        ),
        ({"kicker_label": "Range Anxiety, Meet Payroll"}, ("kicker-label-colon", "kicker_label")),
        ({"kicker_label": "Finally:"}, ("kicker-label-words", "kicker_label")),
        (
            {"kicker": "We think the bet will pay off for the company and its drivers."},
            ("no-first-person", "kicker"),
        ),
        (
            {"kicker": "The bet pays only if the chargers arrive on time!"},
            ("no-exclamation", "kicker"),
        ),
        ({"kicker": ""}, ("not-empty", "kicker")),
        # the nut graf and the context are parts like any other: required
        ({"nut_graf": ""}, ("not-empty", "nut_graf")),
        ({"context": "  "}, ("not-empty", "context")),
        (
            {"nut_graf": "Harbor Freight Lines will swap a third of its fleet for battery trucks."},
            ("nut-graf-words", "nut_graf"),
        ),
        ({"context": "Chargers are scarce."}, ("context-words", "context")),
        (
            {
                "sources": (SourceRef("Port Ledger"),),
                "nut_graf": "Harbor Freight Lines will replace a third of its diesel fleet with "
                "battery trucks, a bet that fuel savings will outrun the cost of chargers.",
            },
            ("nut-graf-names-source", "nut_graf"),
        ),
        (
            {
                "bullets": (
                    GOOD.bullets[0],
                    'Chief executive Ana Ruiz said the trucks "will pay for themselves by 2030,'
                    " according to the company's filing with regulators.",
                )
            },
            ("quotes-balanced", "bullets[1]"),
        ),
    ],
)
def test_each_broken_rule_is_reported_with_its_part(
    change: dict[str, object], expected: tuple[str, str]
) -> None:
    assert expected in _rules(replace(GOOD, **change))  # type: ignore[arg-type]


def test_findings_name_the_story_and_the_span() -> None:
    story = replace(GOOD, headline="Harbor Freight Lines bets Big on Electric Trucks Over Diesel")
    (finding,) = check_style(story)
    assert finding.story == "s1" and finding.part == "headline"
    assert story.headline[finding.start : finding.end] == "bets"


def test_quotations_may_keep_their_own_voice() -> None:
    kicker = '"We will win this!" Ruiz told the Port Ledger, and the board agreed.'
    story = replace(GOOD, kicker=kicker)
    assert check_style(story) == ()


def test_a_custom_definition_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "style.yaml"
    path.write_text("rules:\n  - {id: short-headline, part: headline, check: chars, max: 20}\n")
    style = load_house_style(path)
    assert [f.rule for f in check_style(GOOD, style)] == ["short-headline"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("rules: [{id: x, part: headline, check: nonsense}]", "rules[0]"),
        ("rules: [{id: x, part: footer, check: chars}]", "unknown part 'footer'"),
        ("rules: [{id: x, part: dek, check: forbid_pattern, pattern: '('}]", "bad pattern"),
        ("rules: {}", "needs a 'rules' list"),
        ("rules: [\n", "cannot read"),
    ],
)
def test_a_bad_definition_names_the_file_and_rule(tmp_path: Path, body: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    with pytest.raises(SummarizeError) as err:
        load_house_style(path)
    assert str(path) in str(err.value) and needle in str(err.value)


def test_the_shipped_definition_documents_every_rule() -> None:
    style = load_house_style()
    assert len(style.rules) >= 20
    assert all(r.description for r in style.rules)
    assert "Bottom" in style.vocab_words


def test_the_vocabulary_is_read_as_phrase_lists_and_the_outlet_fallback(tmp_path: Path) -> None:
    path = tmp_path / "style.yaml"
    path.write_text(
        "rules: []\n"
        "vocabulary:\n"
        "  outlet_fallback: the wire\n"
        "  kicker_labels: ['Next Up:', 2026]\n"
        "  lead_ins: not a list\n",
        encoding="utf-8",
    )
    style = load_house_style(path)
    assert style.outlet_fallback == "the wire"
    assert style.template_list("kicker_labels") == ["Next Up:", "2026"]
    assert style.template_list("lead_ins") == [] and style.template_list("missing") == []
    assert {"Next", "Up", "2026"} <= style.vocab_words
    assert load_house_style().outlet_fallback == "the report"
