"""Draft: the editable Markdown round-trips, hand edits are read back, errors name the line."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.draft import format_draft, parse_draft
from pipeline.errors import DraftError
from pipeline.models import Finding, Image, Issue, QuickLink, SourceRef, StorySummary

STORY = StorySummary(
    id="g0011223344556677",
    headline="Quillon Sells Out Its Chips Through 2027. Rivals Are Left Waiting.",
    dek="Quillon Semiconductor, the Oslo chip designer, has booked its whole output for two years.",
    hook="Chip buyers are queueing like it is a sneaker drop.\n\nAnd the queue is long.",
    nut_graf="",
    section="The Supply Squeeze",
    context="",
    lead_in="Here is what the order book shows:",
    bullets=(
        "Per Markets Wire, Quillon booked $2.3 billion in orders, up 14% on the year.",
        "Chief executive Maria Okafor said the company plans a second fab in 2027.",
    ),
    kicker_label="Sold Out, Not Sold On:",
    kicker="Analysts expect rivals to cut prices to win the customers left waiting.",
    sources=(
        SourceRef("Markets Wire", "https://markets-wire.example/quillon"),
        SourceRef("Tech Desk", "https://tech-desk.example/q"),
    ),
    image=Image("https://img.example/q.jpg", "A Quillon wafer", "Photo by A. Lee via Tech Desk"),
    facts=(
        Finding(
            rule="unsupported-number",
            message='"$4 billion" is not in the source',
            part="bullets[0]",
        ),
    ),
)
ISSUE = Issue(
    date=date(2026, 11, 28),
    subject="Quillon Sells Out",
    intro="Good morning.",
    stories=(STORY,),
    quick_links=(
        QuickLink("Halvorsen & Sons buys a rival", "https://x.example/a", "Retail Brief"),
    ),
)


def test_round_trip_keeps_every_part() -> None:
    text = format_draft(ISSUE, newsletter="The Daily Ledger")
    back = parse_draft(text)
    s = back.stories[0]
    assert (s.id, s.headline, s.dek, s.section) == (
        STORY.id,
        STORY.headline,
        STORY.dek,
        STORY.section,
    )
    assert s.hook == STORY.hook and s.lead_in == STORY.lead_in
    assert s.bullets == STORY.bullets
    assert (s.kicker_label, s.kicker) == (STORY.kicker_label, STORY.kicker)
    assert s.sources == STORY.sources and s.image == STORY.image
    assert back.quick_links == ISSUE.quick_links
    assert back.date == ISSUE.date and back.subject == ISSUE.subject
    assert "> **Check:** bullets[0]" in text, "fact flags are shown to the editor"
    assert s.facts == (), "flags are notes, not content"


def test_hand_edits_are_read_back() -> None:
    text = format_draft(ISSUE)
    text = text.replace(
        "- Chief executive", "- A new bullet the editor wrote, with care.\n- Chief executive"
    )
    text = text.replace("## Quillon Sells Out Its Chips", "## Quillon Books Every Chip")
    text = text.replace("status: draft", "status: approved")
    s = parse_draft(text).stories[0]
    assert len(s.bullets) == 3 and s.bullets[1].startswith("A new bullet")
    assert s.headline.startswith("Quillon Books Every Chip")
    assert parse_draft(text).status == "approved"


def test_dropping_a_story_by_deleting_its_section() -> None:
    two = Issue(
        date=ISSUE.date,
        subject="s",
        intro="i",
        stories=(
            STORY,
            STORY.__class__(
                **{
                    **STORY.__dict__,
                    "id": "g99",
                    "headline": "Second Story Headline Is Here For Tests Today",
                }
            ),
        ),
    )
    text = format_draft(two)
    start = text.index("## Second Story")
    assert len(parse_draft(text[:start]).stories) == 1


def test_text_after_bullets_must_be_a_kicker() -> None:
    text = format_draft(ISSUE).replace("**Sold Out, Not Sold On:** ", "")
    with pytest.raises(DraftError) as info:
        parse_draft(text, file="outbox/2026-11-28/draft.md")
    assert info.value.file == "outbox/2026-11-28/draft.md"
    lines = text.splitlines()
    assert lines[info.value.line - 1].startswith("Analysts expect")  # type: ignore[operator]


@pytest.mark.parametrize(
    ("broken", "line"),
    [("date: 2026-11-28", 3), ("status: draft", 4)],
)
def test_front_matter_errors_name_the_line(broken: str, line: int) -> None:
    text = format_draft(ISSUE, newsletter="N").replace(broken, broken.split(":")[0] + ": a: b")
    with pytest.raises(DraftError) as info:
        parse_draft(text, file="d.md")
    assert info.value.line == line and "d.md" in str(info.value)


def test_bad_status_is_refused() -> None:
    with pytest.raises(DraftError, match="status must be one of"):
        parse_draft(format_draft(ISSUE).replace("status: draft", "status: final"))


def test_bad_quick_link_names_line() -> None:
    text = format_draft(ISSUE).replace("- [Halvorsen", "- Halvorsen [")
    with pytest.raises(DraftError, match="quick link"):
        parse_draft(text)
