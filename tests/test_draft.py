"""Draft: the editable Markdown round-trips, hand edits are read back, errors name the line.

The property test at the end writes arbitrary stories and reads them back.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.draft import format_draft, parse_draft
from pipeline.errors import DraftError
from pipeline.models import Finding, Image, Issue, QuickLink, SourceRef, StorySummary

OLD_LAYOUT = Path(__file__).parent / "fixtures" / "draft" / "old-layout.md"

STORY = StorySummary(
    id="g0011223344556677",
    headline="Quillon Sells Out Its Chips Through 2027. Rivals Are Left Waiting.",
    dek="Quillon Semiconductor, the Oslo chip designer, has booked its whole output for two years.",
    hook="Chip buyers are queueing like it is a sneaker drop, and Quillon is the only shop.",
    nut_graf="According to a Markets Wire report, Quillon has booked its factories solid through"
    " 2027. If smaller buyers cannot get chips until then, some may have to redesign products"
    " around a rival's parts.",
    section="The Supply Squeeze",
    context="Quillon makes the power chips that carmakers and data-centre builders use to manage"
    " electricity, and it runs a single fab.\n\nLong supply contracts have become the norm as"
    " buyers try to lock in parts a year or more ahead.",
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
    engine="llm:test-model",
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
    assert back.stories[0] == dataclasses.replace(STORY, facts=())
    assert back.quick_links == ISSUE.quick_links
    assert back.date == ISSUE.date and back.subject == ISSUE.subject
    assert "> **Check:** bullets[0]" in text, "fact flags are shown to the editor"
    assert back.stories[0].facts == (), "flags are notes, not content"


def test_the_draft_reads_in_the_emails_order() -> None:
    text = format_draft(ISSUE)
    story = text[text.index("## Quillon") :]
    nut, context = STORY.nut_graf, STORY.context.split("\n\n")
    order = [
        "## Quillon Sells Out",
        "<!-- story: g0011223344556677 -->",
        "**Dek:** Quillon Semiconductor",
        "**Sources:** [Markets Wire](https://markets-wire.example/quillon) · [Tech Desk]",
        "**Image:** ![A Quillon wafer](https://img.example/q.jpg) Photo by A. Lee",
        f"\n\n{STORY.hook}\n\n",
        f"\n\n{nut}\n\n",
        "\n\n### The Supply Squeeze\n\n",
        f"\n\n{context[0]}\n\n{context[1]}\n\n",
        f"\n\n{STORY.lead_in}\n\n- Per Markets Wire",
        "\n\n**Sold Out, Not Sold On:** Analysts expect",
    ]
    positions = [story.find(part) for part in order]
    assert -1 not in positions and positions == sorted(positions), positions
    assert "**Section:**" not in text, "the section header is a heading now"


def test_a_draft_in_the_old_layout_reads_as_it_always_did() -> None:
    # written by the pipeline before nut graf and context existed, then edited by hand;
    # the expected story is what the parser of that time read from this file
    issue = parse_draft(OLD_LAYOUT.read_text(encoding="utf-8"))
    first = StorySummary(
        id="g0011223344556677",
        headline="Quillon Sells Out Its Chips Through 2027. Rivals Are Left Waiting.",
        dek="Quillon Semiconductor, the Oslo chip designer, has booked its whole output for two"
        " years.",
        hook="Chip buyers are queueing like it is a sneaker drop, and the editor wrapped this line"
        " by hand.\n\nAnd the queue is long.",
        nut_graf="",
        section="The Supply Squeeze",
        context="",
        lead_in="Here is what the order book shows:",
        bullets=(
            "Per Markets Wire, Quillon booked $2.3 billion in orders, up 14% on the year.",
            "Chief executive Maria Okafor said the company plans a second fab in 2027, the editor"
            " wrapped this bullet.",
        ),
        kicker_label="Sold Out, Not Sold On:",
        kicker="Analysts expect rivals to cut prices to win the customers left waiting.",
        sources=(
            SourceRef("Markets Wire", "https://markets-wire.example/quillon"),
            SourceRef("Tech Desk", "https://tech-desk.example/q?a=1&b=2"),
        ),
        image=Image(
            "https://img.example/q.jpg", "A Quillon wafer", "Photo by A. Lee via Tech Desk"
        ),
        engine="editor",
    )
    second = StorySummary(
        id="e8286df6bb62f514f",
        headline="A Story the Editor Wrote By Hand Without a Marker",
        dek="Written in the draft, with no pipeline marker.",
        hook="A single paragraph of hook.",
        nut_graf="",
        section="",
        context="",
        lead_in="What to know:",
        bullets=("A star bullet written by hand.", "A plus bullet written by hand."),
        kicker_label="The Takeaway:",
        kicker="Kept as the kicker.",
        engine="editor",
    )
    assert issue == Issue(
        date=date(2026, 11, 28),
        subject="Quillon Sells Out Its Chips Through 2027",
        intro="Good morning. Two stories today.",
        stories=(first, second),
        quick_links=(
            QuickLink("Halvorsen & Sons buys a rival", "https://x.example/a", "Retail Brief"),
            QuickLink("Ferry operator adds a night route", "https://x.example/b", ""),
        ),
        status="edited",
        generated_at=datetime(2026, 11, 28, 6, 0, tzinfo=timezone(timedelta(hours=1))),
    )


FALLBACK = dataclasses.replace(
    STORY, engine="extractive", fallback="the answer named a number its source lacks", facts=()
)
FALLBACK_LINE = (
    "> **Fallback:** the LLM's story was rejected (the answer named a number its source lacks);"
    " the offline engine wrote this one."
)


def test_a_fallback_story_is_marked_for_the_editor_and_read_back() -> None:
    text = format_draft(dataclasses.replace(ISSUE, stories=(FALLBACK,)))
    assert FALLBACK_LINE in text.splitlines()
    assert text.index(FALLBACK_LINE) < text.index(FALLBACK.hook), "seen before the story"
    story = parse_draft(text).stories[0]
    assert story == FALLBACK
    assert story.flagged, "a fallback is flagged even with no finding"
    # the next build writes the same draft again: the mark survives any number of rounds
    assert format_draft(parse_draft(text)) == text


def test_deleting_the_fallback_note_clears_the_mark() -> None:
    text = format_draft(dataclasses.replace(ISSUE, stories=(FALLBACK,)))
    story = parse_draft(text.replace(FALLBACK_LINE + "\n", "")).stories[0]
    assert story.fallback == "" and not story.flagged
    assert story.engine == "extractive"


def test_a_reworded_fallback_note_keeps_the_mark() -> None:
    text = format_draft(dataclasses.replace(ISSUE, stories=(FALLBACK,)))
    reworded = text.replace(FALLBACK_LINE, "> **Fallback:** numbers still to check")
    assert parse_draft(reworded).stories[0].fallback == "numbers still to check"
    blank = text.replace(FALLBACK_LINE, "> **Fallback:**")
    assert parse_draft(blank).stories[0].fallback == "no reason given"


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


@pytest.mark.parametrize(
    ("old", "new", "at", "message"),
    [
        ("### The Supply Squeeze", "### The Supply Squeeze\n\n### Again", "### Again", "second"),
        ("**Dek:**", "**Section:** Old Style\n**Dek:**", "**Section:**", "both"),
        (
            "Chip buyers are",
            "- A bullet above the header.\n\nChip buyers are",
            "- A bullet",
            "below",
        ),
        ("![A Quillon wafer]", "[A Quillon wafer]", "**Image:**", "**Image:** must look like"),
    ],
)
def test_layout_errors_name_the_line(old: str, new: str, at: str, message: str) -> None:
    text = format_draft(ISSUE).replace(old, new, 1)
    with pytest.raises(DraftError, match=re.escape(message)) as info:
        parse_draft(text, file="outbox/d/draft.md")
    assert info.value.file == "outbox/d/draft.md"
    assert text.splitlines()[info.value.line - 1].startswith(at)  # type: ignore[operator]


def test_bad_quick_link_names_line() -> None:
    text = format_draft(ISSUE).replace("- [Halvorsen", "- Halvorsen [")
    with pytest.raises(DraftError, match="quick link"):
        parse_draft(text)


# -- round trip: whatever format_draft writes, parse_draft reads back -----------------------


def test_links_and_images_that_broke_the_round_trip_survive_it() -> None:
    # each of these once built fine and then failed or lost a link on the next render
    story = dataclasses.replace(
        STORY,
        facts=(),
        sources=(
            SourceRef("Wire](https://evil.example) [Other", "https://wire.example/a"),
            SourceRef("Wiki", "https://wiki.example/Quillon_(company)"),
            SourceRef("Spaced", "https://spaced.example/a b?q=x y"),
            SourceRef("Angled \\ [name]", "https://x.example/<a>\\b"),
        ),
        image=Image("https://img.example/a photo (1).jpg", "Alt ] with [brackets](", "Photo by X"),
    )
    issue = dataclasses.replace(
        ISSUE,
        stories=(story,),
        quick_links=(QuickLink("A [title](x) here", "https://q.example/p)a (b)", "Src ) ("),),
    )
    text = format_draft(issue)
    back = parse_draft(text)  # the image line once failed here with draft.md:12
    assert back.stories[0].sources == story.sources
    assert back.stories[0].image == story.image
    assert back.quick_links == issue.quick_links
    assert "[Wiki](<https://wiki.example/Quillon_(company)>)" in text
    assert "[Wire\\](https://evil.example) \\[Other](https://wire.example/a)" in text


def _line(s: str) -> str:
    return " ".join(s.split())


def _paras(s: str) -> str:
    return "\n\n".join(p for p in (_line(c) for c in re.split(r"\n\s*\n", s)) if p)


def _as_written(issue: Issue) -> Issue:
    """What a draft can carry of an issue, normalised the way the writer writes it.

    - Every text has its whitespace collapsed to single spaces (a part sits on one line of
      the draft; HTML and the wrapped text part collapse it anyway); nut graf and context
      keep their paragraph breaks (blank lines); the lead-in is one paragraph.
    - The hook is its first paragraph: any more read back as the nut graf's first ones
      (the draft tells them apart by place; the email shows the same paragraphs).
    - Blank bullets are dropped (they would render as empty list items).
    - The kicker label is printed with one closing colon (trailing colons and spaces
      dropped, one added back): the draft marks the label by that colon.
    - Findings are not carried: the draft shows fact flags as notes, and every render
      checks the story again.
    - An empty engine reads as "editor", like a story with no engine line; a fallback with a
      blank reason still reads as a fallback, with "no reason given".
    """
    stories = []
    for s in issue.stories:
        label = re.sub(r"[\s:]+$", "", _line(s.kicker_label))
        hook, *more = _paras(s.hook).split("\n\n")
        image = s.image and Image(_line(s.image.url), _line(s.image.alt), _line(s.image.credit))
        stories.append(
            dataclasses.replace(
                s,
                headline=_line(s.headline),
                dek=_line(s.dek),
                hook=hook,
                nut_graf=_paras("\n\n".join([*more, s.nut_graf])),
                section=_line(s.section),
                context=_paras(s.context),
                lead_in=_line(s.lead_in),
                bullets=tuple(_line(b) for b in s.bullets if b.strip()),
                kicker_label=label + ":" if label else "",
                kicker=_line(s.kicker),
                sources=tuple(SourceRef(_line(r.name), _line(r.url)) for r in s.sources),
                image=image,
                style=(),
                facts=(),
                engine=s.engine or "editor",
                fallback=_line(s.fallback) or ("no reason given" if s.fallback else ""),
            )
        )
    return dataclasses.replace(
        issue,
        subject=_line(issue.subject),
        intro=_line(issue.intro),
        stories=tuple(stories),
        quick_links=tuple(
            QuickLink(_line(q.title), _line(q.url), _line(q.source)) for q in issue.quick_links
        ),
    )


# Markdown and draft syntax, mixed into arbitrary text (any character UTF-8 can carry:
# a draft is a UTF-8 file), so that the writer meets what it must escape.
_SYNTAX = st.sampled_from(
    [
        *"[]()<>\\*#-+>!`:·—%",
        "](",
        "](https://evil.example/x)",
        "**",
        ":**",
        "## ",
        "### ",
        "- ",
        "* ",
        "> ",
        "> **Fallback:** ",
        "**Dek:** ",
        "**Section:** x",
        "<!-- story: x -->",
        "<!-- engine: y -->",
        "<!-- quick-links -->",
        "<!--",
        "-->",
        "--",
        " — ",
        "\n",
        "\n\n",
        "\r\n",
        " \n \n",
        "\t",
        "\u2028",
        "\x85",
        "\x0c",
        "https://x.example/a b",
        "); the offline engine wrote this one.",
        "the LLM's story was rejected (",
        "---",
    ]
)
_TEXT = st.lists(st.one_of(_SYNTAX, st.text(st.characters(codec="utf-8"), max_size=6)), max_size=8)
TEXT = _TEXT.map("".join)
# parts the draft tells apart by their place need text: a story always has a headline, a
# hook above its nut graf, and a lead-in above its bullets (an empty hook would let the
# nut graf's first paragraph take its place, an empty lead-in the context's last)
SOME_TEXT = st.builds(
    lambda a, c, b: a + c + b,
    TEXT,
    st.characters(codec="utf-8").filter(lambda c: not c.isspace()),
    TEXT,
)
URL = st.one_of(TEXT, st.builds(str.__add__, st.sampled_from(["https://x.example/", ""]), TEXT))
ENGINE = st.one_of(st.sampled_from(["extractive", "llm:qwen2.5-7b", "editor", ""]), TEXT)
STORY_ID = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,15}", fullmatch=True)


def _stories(part: st.SearchStrategy[str]) -> st.SearchStrategy[StorySummary]:
    """Stories with arbitrary text; ``part`` draws the hook, lead-in and one bullet."""
    return st.builds(
        StorySummary,
        id=STORY_ID,
        headline=SOME_TEXT,
        dek=TEXT,
        hook=part,
        nut_graf=TEXT,
        section=TEXT,
        context=TEXT,
        lead_in=part,
        bullets=st.builds(lambda b, more: [b, *more], part, st.lists(TEXT, max_size=3))
        .flatmap(st.permutations)
        .map(tuple),
        kicker_label=TEXT,
        kicker=TEXT,
        sources=st.lists(st.builds(SourceRef, TEXT, URL), max_size=3).map(tuple),
        image=st.none() | st.builds(Image, URL, TEXT, TEXT),
        facts=st.lists(
            st.builds(Finding, rule=st.just("r"), message=TEXT, part=TEXT), max_size=2
        ).map(tuple),
        engine=ENGINE,
        fallback=TEXT,
    )


ZONES = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=3))]
)
ISSUES = st.builds(
    Issue,
    date=st.dates(date(1900, 1, 1), date(2100, 12, 31)),
    subject=TEXT,
    intro=TEXT,
    stories=st.lists(_stories(SOME_TEXT), min_size=1, max_size=3).map(tuple),
    quick_links=st.lists(st.builds(QuickLink, TEXT, URL, TEXT), max_size=3).map(tuple),
    status=st.sampled_from(["draft", "edited", "approved", "sent"]),
    # the draft keeps the time to the second
    generated_at=st.none()
    | st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1), timezones=ZONES).map(
        lambda d: d.replace(microsecond=0)
    ),
)


# 100 examples keep the suite quick; 3,000 passed when this was written
@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(ISSUES)
def test_every_draft_the_writer_makes_reads_back_as_the_same_issue(issue: Issue) -> None:
    text = format_draft(issue, newsletter="The Daily Ledger")
    assert parse_draft(text) == _as_written(issue)
    # and a rebuild from the draft writes it again byte for byte (fact notes come from
    # the summarizer, not from the draft)
    unflagged = [dataclasses.replace(s, facts=()) for s in issue.stories]
    again = format_draft(parse_draft(text), newsletter="The Daily Ledger")
    assert again == format_draft(
        dataclasses.replace(issue, stories=tuple(unflagged)), newsletter="The Daily Ledger"
    )


def _reading_order(s: StorySummary) -> tuple[object, ...]:
    above = [*_paras(s.hook).split("\n\n"), *_paras(s.nut_graf).split("\n\n")]
    below = [*_paras(s.context).split("\n\n"), _line(s.lead_in)]
    return (
        [p for p in above if p],
        s.section,
        [p for p in below if p],
        s.bullets,
        (s.kicker_label, s.kicker),
        dataclasses.replace(s, hook="", nut_graf="", context="", lead_in=""),
    )


@pytest.mark.slow
@settings(max_examples=50, deadline=None)
@given(_stories(TEXT))
def test_a_story_with_empty_parts_still_reads_back_in_the_same_order(story: StorySummary) -> None:
    # hook and nut graf, context and lead-in are told apart by place: with one of them
    # empty the other may take its name, but never its place in the email, and the
    # draft always reads back (it once failed only at the next render)
    issue = dataclasses.replace(ISSUE, stories=(story,), quick_links=())
    back = parse_draft(format_draft(issue)).stories[0]
    assert _reading_order(back) == _reading_order(_as_written(issue).stories[0])
