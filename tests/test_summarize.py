"""The offline summarizer: sentence splitting, every story part in house form, facts kept."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from configs import plain_config

from pipeline.cli import cli
from pipeline.models import Article, Finding, SourceRef, StorySummary
from pipeline.summarize import (
    SummaryRun,
    check_facts,
    check_story,
    load_house_style,
    summarize,
)
from pipeline.summarize._extractive import write_story
from pipeline.summarize._style import story_parts
from pipeline.summarize._text import split_sentences, strip_attribution, title_case

FIXTURES = Path(__file__).parent / "fixtures" / "summarize"
STYLE = load_house_style()
# What the engine may leave for the editor on a short article: an empty part, too few
# bullets, a part too short or long. Everything else it writes must pass the gate.
_EDITOR_CHECKS = frozenset({"not_empty", "count", "chars", "words"})


def left_for_editor(story: StorySummary) -> list[Finding]:
    """Style findings other than parts left empty or short (none when the contract holds).

    A part that must share a word with other parts (``overlap``) cannot when those are all
    empty: that finding follows from a part left empty and is allowed too.
    """
    out = []
    for f in story.style:
        rule = STYLE.rule(f.rule)
        if rule is not None and rule.check in _EDITOR_CHECKS:
            continue
        if rule.check == "overlap" and not any(getattr(story, p) for p in rule.with_parts):
            continue
        out.append(f)
    return out


def _articles() -> list[Article]:
    out = []
    for line in (FIXTURES / "articles.jsonl").read_text().splitlines():
        r = json.loads(line)
        out.append(
            Article(
                id=r["id"],
                title=r["title"],
                text=r["text"],
                url=r.get("url", ""),
                source=r.get("source", ""),
                sources=tuple(SourceRef(*s) for s in r.get("sources", [])),
            )
        )
    return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Shares of Acme Inc. rose 4.5% on Monday. The U.S. market fell.",
            ["Shares of Acme Inc. rose 4.5% on Monday.", "The U.S. market fell."],
        ),
        (
            "Mr. Smith met Dr. Jones in Jan. 2024 in Washington. They spoke for an hour.",
            ["Mr. Smith met Dr. Jones in Jan. 2024 in Washington.", "They spoke for an hour."],
        ),
        (
            "Revenue hit $2.3 billion. Profit was 12.5 cents a share.",
            ["Revenue hit $2.3 billion.", "Profit was 12.5 cents a share."],
        ),
        (
            '"We are done," she said. "Really?" he asked. B.B. King played on.',
            ['"We are done," she said.', '"Really?" he asked.', "B.B. King played on."],
        ),
        ("It moved to the U.S. The plan worked.", ["It moved to the U.S.", "The plan worked."]),
        (
            '"We grew fast. Then we grew up," she said. Sales fell.',
            ['"We grew fast. Then we grew up," she said.', "Sales fell."],
        ),
        (  # a quotation never closed does not swallow the paragraph
            '"Unclosed quote here. Next sentence. Last one.',
            ['"Unclosed quote here.', "Next sentence.", "Last one."],
        ),
        (  # British style, flattened: each paragraph of a long quotation opens a new mark
            "He said: 'We will win. They know it. 'Nobody doubts that now.' Polls open at 7am.",
            [
                "He said: 'We will win.",
                "They know it.",
                "'Nobody doubts that now.'",
                "Polls open at 7am.",
            ],
        ),
        (  # ...while a quotation of several sentences that closes ahead stays one
            "She said: 'We grew fast. We grew up.' Sales fell.",
            ["She said: 'We grew fast. We grew up.'", "Sales fell."],
        ),
        (  # a military rank is a title, not the end of a sentence
            "She drove Army Spc. Caleb Barnes to a concert. He paid.",
            ["She drove Army Spc. Caleb Barnes to a concert.", "He paid."],
        ),
        (
            "U.S. officials said no. First para\n\nSecond para without stop",
            ["U.S. officials said no.", "First para", "Second para without stop"],
        ),
    ],
)
def test_split_sentences_survives_abbreviations_decimals_and_quotes(
    text: str, expected: list[str]
) -> None:
    assert split_sentences(text) == expected


def test_title_case_keeps_acronyms_and_inner_capitals() -> None:
    assert (
        title_case("the iPhone maker and the SEC agree on a $2 fine")
        == "The iPhone Maker and the SEC Agree on a $2 Fine"
    )


def test_title_case_capitalises_a_small_word_that_opens_a_sentence() -> None:
    # a two-sentence headline: "In" opens the second sentence, it is not inside a line
    assert title_case("the plant opens. in may it hires") == "The Plant Opens. In May It Hires"


# Articles too short to fill every part: the engine leaves parts for the editor.
SHORT_FIXTURES = frozenset({"short-no-numbers", "very-short"})


def test_every_fixture_story_passes_the_gate_and_short_ones_only_leave_parts_empty() -> None:
    run = summarize(_articles(), plain_config())
    assert isinstance(run, SummaryRun)
    assert [s.id for s in run.stories] == [a.id for a in _articles()]
    for story in run.stories:
        assert story.engine == "extractive"
        assert story.facts == (), story.facts
        if story.id in SHORT_FIXTURES:
            # three sentences or fewer cannot fill ten parts: it says so, and writes nothing
            # broken (see test_a_short_article_leaves_parts_for_the_editor_and_breaks_nothing)
            assert story.style, "a short article cannot fill every part"
            assert left_for_editor(story) == [], [f.message for f in story.style]
        else:
            assert story.style == (), [f.message for f in story.style]


def test_story_parts_follow_the_house_form() -> None:
    story = summarize(_articles()[:1], plain_config()).stories[0]
    assert story.headline == "Acme Robotics Raises $40 Million to Build Warehouse Robots"
    assert story.dek.endswith(".") and 80 <= len(story.dek) <= 180
    assert story.lead_in.endswith(":") and story.kicker_label.endswith(":")
    assert 2 <= len(story.bullets) <= 4
    assert all(15 <= len(b.split()) <= 45 for b in story.bullets)
    assert story.sources == (SourceRef("Tech Desk", "https://example.test/acme"),)
    # the figures stay exactly as the source gives them (the lead figure is in the dek now)
    assert "$40 million" in " ".join([story.dek, *story.bullets])


def test_bullets_carry_attribution_and_cite_the_clustered_outlets() -> None:
    merger = next(a for a in _articles() if a.id == "multi-source")
    story = summarize([merger], plain_config()).stories[0]
    assert story.sources == merger.sources
    # the house vocabulary names a "... Wire" with "the" (outlet_takes_the)
    assert all(
        any(w in b for w in ("Per the Markets Wire, ", "said", "according to"))
        for b in story.bullets
    )
    assert not any(f.rule == "bullet-attribution" for f in story.style)


def test_dateline_agency_becomes_the_attribution_when_no_outlet_is_given() -> None:
    art = next(a for a in _articles() if a.id == "dateline-agency")
    story = summarize([art], plain_config()).stories[0]
    assert "Reuters" in story.lead_in
    assert not story.bullets[0].startswith("ATLANTA")


def test_output_is_deterministic() -> None:
    a = summarize(_articles(), plain_config())
    b = summarize(_articles(), plain_config())
    assert a == b


@pytest.mark.parametrize("text", ["", "   ", "!!!", "Short.", "a" * 5000, '"unclosed quote ' * 50])
def test_odd_input_never_raises_and_is_reported(text: str) -> None:
    run = summarize([Article(id="odd", title="", text=text)], plain_config())
    story = run.stories[0]
    assert story.id == "odd"
    assert story.style  # an empty or junk article cannot pass, and the findings say why
    assert story.facts == ()  # the fact-free fallback wording adds nothing to check
    assert check_facts(story, Article(id="odd", title="", text=text)) == story.facts


def test_the_gate_finds_again_what_it_found_when_the_story_was_written() -> None:
    # the findings a story carries are the gate's own, not a stale or partial copy
    articles = _articles()
    style = load_house_style()
    for article, story in zip(articles, summarize(articles, plain_config()).stories, strict=True):
        bare = dataclasses.replace(story, style=(), facts=())
        again = check_story(bare, article, style)
        assert (again.style, again.facts) == (story.style, story.facts)


def test_cli_summarize_writes_one_line_per_input_and_reports_bad_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in.jsonl"
    rows = [json.loads(line) for line in (FIXTURES / "articles.jsonl").read_text().splitlines()]
    lines = [
        json.dumps({k: r[k] for k in ("id", "title", "text", "source") if k in r}) for r in rows[:2]
    ]
    src.write_text(
        lines[0] + "\n{not json\n" + '{"id": 7, "title": "t", "text": "x"}\n' + lines[1] + "\n"
    )
    out = tmp_path / "out.jsonl"
    monkeypatch.chdir(tmp_path)  # no ./config.yaml here: offline defaults
    result = CliRunner().invoke(cli, ["summarize", str(src), str(out)])
    assert result.exit_code == 1
    assert f"{src}:2: invalid JSON" in result.output
    assert f"{src}:3: key 'id' must be a string" in result.output
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [w["id"] for w in written] == ["business-funding", "markets-rates"]
    for w in written:
        assert set(w) >= {
            "id",
            "headline",
            "dek",
            "hook",
            "section",
            "lead_in",
            "bullets",
            "kicker_label",
            "kicker",
            "style",
            "facts",
        }
        assert w["style"] == [] and w["facts"] == []
        assert isinstance(w["bullets"], list)


def test_cli_summarize_exits_zero_when_every_line_is_good(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text((FIXTURES / "articles.jsonl").read_text())
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["summarize", str(src), "out.jsonl"])
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 7


def test_outlet_names_and_domains_do_not_break_the_house_voice() -> None:
    text = (
        "Podcast host Lumen.fm said on Monday it had signed 40 new shows this quarter, more than "
        "double the total a year ago. The company, which is based in Austin, said advertisers "
        "were paying more for shows with loyal audiences. Lumen.fm expects revenue to reach "
        "$12 million next year, chief executive Ana Ruiz said in a statement. Rivals have been "
        "cutting staff as ad budgets shrink across the industry. Ruiz said the company would keep "
        "hiring producers through the end of the year."
    )
    art = Article(id="lumen", title="", text=text, source="Wow! Media")
    story = summarize([art], plain_config()).stories[0]
    assert "!" not in story.lead_in and "Wow Media" in story.lead_in
    # six sentences for seven sentence parts: a part may be left empty, nothing else
    assert story.facts == ()
    assert left_for_editor(story) == [], [f.message for f in story.style]


def test_light_compression_drops_asides_but_never_list_items_or_quotes() -> None:
    from pipeline.summarize._extractive import _compress

    assert _compress("Acme Robotics, a Boston startup, said it raised money.") == (
        "Acme Robotics said it raised money."
    )
    assert _compress(
        "The deal, which was signed in May, covers the Fed, the ECB, and the BoE."
    ) == ("The deal covers the Fed, the ECB, and the BoE.")
    kept = 'Ruiz, who said "we are, frankly, stretched," will stay.'
    assert _compress(kept) == kept


def test_a_shouting_title_becomes_house_title_case_keeping_acronyms() -> None:
    text = (
        "Global semiconductor sales reached a record in October, the SIA industry group said on "
        "Monday, as demand for AI chips used in data centers kept climbing. Sales rose 12% from "
        "a year earlier to $58.2 billion, the group said. Memory chips led the gains, while "
        "chips for cars and factories were flat. The group expects growth to slow next year."
    )
    art = Article(
        id="caps",
        title="AI CHIP SALES HIT A RECORD IN OCTOBER, SIA SAYS",
        text=text,
        source="Markets Wire",
    )
    story = summarize([art], plain_config()).stories[0]
    assert story.headline == "AI Chip Sales Hit a Record in October, SIA Says"
    # four sentences: the engine may leave bullets for the editor, and breaks no other rule
    assert story.facts == ()
    assert left_for_editor(story) == [], [f.message for f in story.style]


# Made-up short articles, each with a trap: a pronoun or conjunction opening a sentence, a photo
# caption, a quotation (closed or not), a caption run into the next sentence, no outlet.
SHORT_ARTICLES = {
    "one-sentence": (
        "Ferry fares rise",
        "Ferry operator Solent Link raised its fares by 8% on Monday, blaming higher fuel costs "
        "on the crossing to the island.",
        "Harbour Gazette",
    ),
    "two-sentences": (
        "",
        "Millbrook Council approved a new cycle lane along the high street on Thursday after a "
        "two-year campaign by residents. It will cost £1.2 million and open in the spring.",
        "Valley Post",
    ),
    "pronouns-no-outlet": (
        "Bakery chain closes stores",
        "Crumb & Co, the bakery chain, will close 12 of its 40 stores by June. She said the "
        "decision was painful. They had struggled since energy bills doubled. But the company "
        "said no jobs would be lost.",
        "",
    ),
    "captions": (
        "Zoo welcomes twin otters",
        "Pictured: The otter pups at Larkfield Zoo\nLarkfield Zoo has welcomed twin otter pups, "
        "its first births in a decade, keepers said on Friday. The pups (pictured) will go on "
        "show in August. Keeper Amal Reyes said the mother was doing well and the pups were "
        "feeding.",
        "Daily Mail",
    ),
    "quotation": (
        "Mayor backs tram plan",
        'Mayor Ines Varga backed a plan to extend the tram line to the airport. "This is the '
        'link the city has waited thirty years for," Varga told reporters on Tuesday. The '
        "extension needs approval from the transport ministry.",
        "CNN",
    ),
    "unclosed-quotation": (
        "Strike talks stall",
        "Talks between the rail union and operators stalled on Wednesday. Union leader Odile "
        'Brandt said the offer was "an insult to every driver. The operators said they would '
        "meet again next week.",
        "Rail Weekly",
    ),
    "fused-caption": (
        "Festival sells out",
        "Organisers of the Brookside Festival said all 20,000 tickets sold out within an hour on "
        "Saturday. Fans queue outside the box office in Brookside The festival returns in July "
        "after a three-year break. Headliners will be announced next month, the organisers said.",
        "Valley Post",
    ),
}


def _normal(text: str) -> str:
    """A sentence compared as words: case, punctuation and "Per X, " do not count."""
    return " ".join(re.findall(r"[a-z0-9]+", strip_attribution(text)[1].lower()))


def verbatim_repeats(story: StorySummary) -> list[str]:
    """Sentences one part of the story repeats word for word from another part."""
    units = [
        (part, _normal(sentence))
        for part, text in story_parts(story)
        for sentence in split_sentences(text)
    ]
    return [
        f"{a} and {b}: {x!r}"
        for i, (a, x) in enumerate(units)
        for b, y in units[i + 1 :]
        if a != b and x and x == y
    ]


@pytest.mark.parametrize("key", sorted(SHORT_ARTICLES))
def test_a_short_article_leaves_parts_for_the_editor_and_breaks_nothing(key: str) -> None:
    title, text, source = SHORT_ARTICLES[key]
    story = summarize([Article(id=key, title=title, text=text, source=source)], plain_config())
    (story,) = story.stories
    # never broken language: no word salad, cut-off or verbless headline, orphan opening,
    # caption, unbalanced quote or repeat, and no unsupported fact...
    assert story.facts == (), [f.message for f in story.facts]
    assert left_for_editor(story) == [], [f.message for f in left_for_editor(story)]
    assert verbatim_repeats(story) == []
    written = " ".join(t for _, t in story_parts(story))
    assert "ictured" not in written and "queue outside" not in written
    # ...but it may leave parts empty or short, and the findings tell the editor which
    assert story.flagged


def test_fallback_wording_reads_when_the_article_names_no_outlet() -> None:
    title, text, _ = SHORT_ARTICLES["pronouns-no-outlet"]
    (story,) = summarize([Article(id="x", title=title, text=text)], plain_config()).stories
    for part, line in story_parts(story):
        assert "report from the report" not in line.lower(), (part, line)


def test_a_quotation_split_across_sentences_is_never_given_to_the_outlet() -> None:
    # British style: each paragraph of a long quotation opens with a quote mark and only the
    # last one closes, so the first sentence opens a quotation whose speaker comes much later
    text = (
        "Gary Locke will be confirmed as Kilmarnock's permanent manager on Friday, eight weeks "
        "after he was asked to take charge until the end of the season. ‘I had a taste of it "
        "at Hearts and really enjoyed it. I’m fortunate I was put into this position at a "
        "great club. It’s a fantastic opportunity and I want to repay the faith shown in me. "
        "‘But I’ve said all along, it’s not about me. It’s about the players. If they "
        "perform, you get a better reputation as a manager and that has been the case here. "
        "‘That’s how football works. If they play well, your stock rises. Equally, if they "
        "don’t play well, it’s the manager who gets the stick,’ said Locke. "
        "An announcement will be made "
        "by the Rugby Park club on Friday morning, with the former Hearts boss given a "
        "three-year deal. Locke had been working as No 2 under Allan Johnston when the manager "
        "announced in February that he would leave at the end of the season. The club's new "
        "chairman Jim Mann has praised the players for their response since February."
    )
    art = Article(id="q", title="Locke to stay", text=text, source="Daily Mail")
    (story,) = summarize([art], plain_config()).stories
    for part, line in story_parts(story):
        if "taste of it" in line:
            assert "Locke" in line.split("taste of it", 1)[1], (part, line)


def test_a_sentence_too_short_to_stand_alone_joins_the_dek_it_follows() -> None:
    text = (
        "Nadia Okonjo, the engineer who founded Fernhill Robotics and built its first Sheffield "
        "factory, died on Thursday, the company said.\n\nShe was 71 years old.\n\n"
        "Okonjo had led the firm through three rounds of layoffs and a move to Leeds in 2019, "
        "according to its annual report.\n\nThe company said its board would meet on Monday to "
        "choose a successor from among its four senior engineers.\n\n"
        "Fernhill employs 240 people in Sheffield and builds about 3,000 robots a year for "
        "warehouses across Europe.\n\nIts shares fell 4% in early trading on Friday after the "
        "news was announced by the chairman.\n\nRivals said the firm would struggle.\n\n"
        "Analysts at two banks said the robot maker's order book remained strong for 2027."
    )
    story = write_story(
        Article(id="okonjo", title="Fernhill founder dies", text=text, source="Ledger Weekly"),
        STYLE,
    )
    assert story.dek.endswith("was 71 years old.")
    # a short sentence that opens its own paragraph is not glued onto the bullet before it
    assert not any(
        b.endswith("Rivals said the firm would struggle.") and len(b) > 40 for b in story.bullets
    )


def _written(title: str, source: str, *paragraphs: str) -> StorySummary:
    """The offline engine's story for an article of these paragraphs."""
    text = "\n\n".join(paragraphs)
    return write_story(Article(id=title, title=title, text=text, source=source), STYLE)


def test_a_noun_that_spells_a_pronoun_does_not_keep_the_lead_out() -> None:
    # "mine" after "coal" is the pit, not the first person: the lead still gives the dek
    story = _written(
        "Hope lost for miners",
        "Ledger Weekly",
        "Rescuers have given up hope of finding four men trapped for a month in a Utah coal "
        "mine, a federal official said on Saturday.",
        "Efforts to reach them were suspended ten days later when two rescuers were killed.",
        "The mine's owner, Ridgeline Energy, said it would seal the entrance next week.",
        "Families of the men met officials in Price on Friday to hear the decision.",
        "A friend of mine was down there, one neighbour told the local paper afterwards.",
        "State inspectors will publish a report on the collapse in the spring.",
    )
    assert "coal mine" in story.dek, story.dek


def test_a_clause_tied_on_by_it_comes_after_stands_as_a_fact_of_its_own() -> None:
    story = _written(
        "Scots prefer EU vote",
        "Daily Mail",
        "Scottish voters would rather have a referendum on the EU than another vote on "
        "independence, a new survey of 1,000 adults has revealed.",
        "The idea of another referendum on Scotland's future before 2020 was ranked 19th on a "
        "list of 23 policies presented to voters.",
        "It comes after First Minister Nicola Sturgeon last night refused to rule out staging "
        "a second independence vote if her party wins the 2016 elections.",
        "The survey was carried out by Ipsos Mori for a Glasgow newspaper over four days.",
        "Labour said the figures showed that voters wanted the government to focus on jobs.",
        "The poll will be repeated in the autumn, the company said.",
    )
    assert not story.errors, story.errors
    assert any(
        b.startswith("Per the Daily Mail, First Minister Nicola Sturgeon last night refused")
        for b in story.bullets
    ), story.bullets
    assert not any("It comes after" in line for _, line in story_parts(story))


def test_the_dek_does_not_turn_the_lead_sentence_into_a_repeat() -> None:
    # the second sentence fits the dek whole, but it retells the lead, which has more: the
    # dek comes from the lead, and the lead's facts are not lost to the repeat check
    story = _written(
        "Cargo ship lost",
        "CNN",
        "An unmanned Russian cargo ship bound for the International Space Station will fall "
        "back into the atmosphere after flight controllers lost contact with it, American "
        "astronaut Scott Kelly said on Wednesday.",
        "The cargo ship that lost contact with flight controllers will fall back into the "
        "atmosphere in about a week, the Russian agency said.",
        "The ship was carrying three tonnes of food, fuel and equipment for the crew.",
        "Controllers tried for two days to reach it before giving up on Tuesday night.",
        "The crew of six has enough supplies to last until the summer, officials said.",
        "A replacement flight is planned for July, according to the agency.",
    )
    assert story.dek.startswith("An unmanned Russian cargo ship"), story.dek


def test_a_cut_never_ends_where_an_aside_held_off_its_verb() -> None:
    # the lead is too long for the dek or the headline whole; a cut at the comma closing
    # "who ..." would lose "had to withdraw" and leave "when Marc Leishman, who ..." without
    # its verb
    story = _written(
        "Leishman withdraws",
        "Daily Mail",
        "Play began late when Marc Leishman, who got so close to victory in 2013 before "
        "finishing tied fourth behind countryman Adam Scott and three other players at the "
        "final hole, had to withdraw from this week's tournament.",
        "His wife Audrey spent part of last week in a coma.",
        "Leishman left Augusta with the best wishes of all.",
        "The chairman of the club said the tournament would hold a minute's silence for the "
        "family on Friday morning.",
        "Organisers said the field would now number 96 players for the first round.",
        "Leishman is expected to return to the tour in time for the Players Championship.",
    )
    for line in (story.headline, story.dek, *story.bullets):
        assert not re.search(r", who [^,]*\.?$", line, re.IGNORECASE), line


def test_a_subordinate_clause_alone_is_never_a_part() -> None:
    story = _written(
        "Fly stuck to steak",
        "Daily Mail",
        "With summer around the corner, icy treats are back on the menu across the country.",
        "As a fly found out when it swooped in to have a lick of a frozen beef steak.",
        "Videoed up close, the fly is first seen enjoying itself as it fastens its tongue onto "
        "the steak.",
        "Moving its legs, the fly at first attempts to walk away, before arching its back and "
        "trying to pull free.",
        "The video was recorded in a kitchen in Auckland, New Zealand, last week.",
        "It has been watched more than 200,000 times since it was posted on Monday.",
    )
    assert not any("As a fly found out" in line for _, line in story_parts(story))


def test_furniture_before_a_dateline_further_down_is_left_out() -> None:
    story = _written(
        "The forgotten floor",
        "CNN",
        "Editor's note: In our Behind the Scenes series, correspondents share their "
        "experiences. Here, a reporter takes readers inside a jail.",
        'An inmate housed on the "forgotten floor," where many mentally ill inmates are housed '
        "before trial.",
        "MIAMI, Florida (CNN) -- The ninth floor of the Miami-Dade pretrial detention facility "
        'is dubbed the "forgotten floor."',
        "Inmates with the most severe mental illnesses are held there until they are ready to "
        "appear in court.",
        "Most often they face drug charges or charges of assaulting an officer, a judge says.",
        "The judge says many of these people should be in treatment rather than in a cell.",
    )
    text = " ".join(line for _, line in story_parts(story))
    assert "(CNN) --" not in text and "MIAMI" not in text
    assert "Behind the Scenes" not in text and "An inmate housed" not in text
    # the dek may close on a quoted term, its full stop inside the marks
    assert story.dek == (
        'The ninth floor of the Miami-Dade pretrial detention facility is dubbed the "forgotten '
        'floor."'
    ), story.dek
    assert not [f for f in story.errors if f.part == "dek"], story.errors


def test_a_pronoun_after_an_opening_phrase_is_resolved_or_left_out() -> None:
    story = _written(
        "Obama and the genocide",
        "CNN",
        "President Barack Obama will not use the word genocide to describe the killing of "
        "Armenians a century ago, the White House said on Tuesday.",
        "Obama called the killings a genocide when he ran for president in 2008.",
        "Back then, he held up his willingness to use the word as proof that he would tell the "
        "truth.",
        "After three months in office, he said the matter was one for historians to settle.",
        "Turkey denies that the killings amounted to genocide and has long lobbied against it.",
        "Armenia marks the anniversary of the killings with a day of mourning on Friday.",
    )
    lines = [line for _, line in story_parts(story)]
    assert not any(
        re.search(r"(?:^|, )(?:back then|after three months[^,]*), he\b", line, re.I)
        for line in lines
    ), lines


def test_x_did_y_he_said_is_never_given_to_the_subject_before_it() -> None:
    story = _written(
        "Man saved after 82 hours",
        "CNN",
        "Rescuers in Nepal have pulled a man from the wreckage of a building where he was stuck "
        "for 82 hours after the earthquake, officials said.",
        "The man, Rishi Khanal, was saved after a French team found him under the rubble on "
        "Tuesday, said Pushparam K.C., a police spokesman.",
        "The team used special gear that detects signs of life, he said.",
        "It took about 10 more hours for the team to dig him out, the spokesman said.",
        "Khanal was taken to a hospital in Kathmandu, where doctors said he was stable.",
        "More than 4,000 people died in the earthquake, according to the government.",
    )
    assert not any("life, Khanal said" in line for _, line in story_parts(story))


def test_a_quotation_whose_speaker_is_only_a_pronoun_gets_the_name_or_stays_out() -> None:
    story = _written(
        "Boy's parents thank donors",
        "CNN",
        "A five-year-old boy burned in an attack in Baghdad will be flown to Los Angeles for "
        "surgery next month, a charity said on Friday.",
        "Donors from 40 countries have given more than $250,000 to pay for his treatment.",
        '"We just want to thank everyone who has come forward," he said.',
        "The family has been given visas to travel with the boy to the United States.",
        "Youssif's father, Ali Kamil, said the boy had not smiled since the attack in January.",
        '"Now he smiles every day, and he asks when he can go to school," he said.',
        "The surgery is expected to take place at a children's hospital in March.",
    )
    # nobody is named before "he said" (a charity and donors are no "he"): the quotation
    # stays out rather than joining a bullet that cannot tell whose words they are
    assert not any('come forward," he said' in line for _, line in story_parts(story))
    # "United States" is no attribution ("states"): the bullet still credits its outlet
    assert all(b.startswith("Per CNN, ") or " said" in b for b in story.bullets), story.bullets


def test_a_cut_never_falls_inside_a_list() -> None:
    story = _written(
        "Harbor Mutual Raises Coastal Home Premiums by 18%",
        "Ledger Weekly",
        "Harbor Mutual will raise home insurance premiums by an average of 18% in five coastal "
        "states from January, the insurer said on Monday, after a second year of heavy storm "
        "losses along the Gulf and Atlantic coasts.",
        "The increase will affect about 1.4 million policies in Florida, Louisiana, Texas, South "
        "Carolina and North Carolina, according to filings the company made with state "
        "regulators. A typical homeowner in those states will pay about $540 more a year, "
        "Harbor Mutual said.",
        '"We are paying out more in claims than we collect in premiums along the coast, and '
        'that cannot go on," chief executive Ruth Abram said in a statement. She said the '
        "company's losses from hurricanes reached $2.9 billion in the first nine months of the "
        "year, up from $1.7 billion in the same period of 2025.",
        "Harbor Mutual is one of the few large insurers still writing new home policies in parts "
        "of Florida, where several smaller companies have failed since 2022.",
        "Consumer advocates said the increase would push more homeowners towards state-backed "
        "insurers of last resort.",
        "Harbor Mutual plans to offer discounts of up to 15% to owners who install storm "
        "shutters. State regulators are expected to rule on the filings by mid-December.",
    )
    for _, line in story_parts(story):
        assert not re.search(r"Louisiana(?:, Texas)?\.$", line), line


def test_a_sentence_in_parentheses_is_an_aside_never_a_part() -> None:
    story = _written(
        "Airline award seats",
        "CNN",
        "Southwest Airlines offered the most award tickets of the five biggest U.S. airlines "
        "last year, according to a new Consumer Reports study.",
        "(JetBlue only operates in 10 of the top 25 markets included in the study.)",
        "Nearly 10% of passengers on the five airlines flew on award tickets, the study found.",
        "JetBlue offered the fewest award seats, 892,000 one-way tickets, the magazine said.",
        "Southwest does not charge fees for checked bags, while other airlines do.",
        "The study covered 70 million passenger trips over the past year, the magazine said.",
    )
    assert not any(line.startswith("(") for _, line in story_parts(story))
