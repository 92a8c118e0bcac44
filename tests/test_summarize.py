"""The offline summarizer: sentence splitting, every story part in house form, facts kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import Config, Newsletter, Sender
from pipeline.models import Article, SourceRef
from pipeline.summarize import SummaryRun, check_facts, check_style, source_text, summarize
from pipeline.summarize._text import split_sentences, title_case

FIXTURES = Path(__file__).parent / "fixtures" / "summarize"


def _config() -> Config:
    return Config(
        newsletter=Newsletter(
            name="Test",
            sender=Sender(name="Test", email="t@example.test"),
            signup_url="https://example.test/s",
            unsubscribe_url="https://example.test/u",
            postal_address="1 Test Street",
        )
    )


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


def test_every_fixture_story_passes_style_and_facts_except_the_one_sentence_article() -> None:
    run = summarize(_articles(), _config())
    assert isinstance(run, SummaryRun)
    assert [s.id for s in run.stories] == [a.id for a in _articles()]
    for story in run.stories:
        assert story.engine == "extractive"
        assert story.facts == (), story.facts
        if story.id == "very-short":
            # one 20-word sentence cannot make two 15-word bullets: it degrades, and says so
            assert {f.rule for f in story.style} == {"bullets-count"}
        else:
            assert story.style == (), [f.message for f in story.style]


def test_story_parts_follow_the_house_form() -> None:
    story = summarize(_articles()[:1], _config()).stories[0]
    assert story.headline == "Acme Robotics Raises $40 Million to Build Warehouse Robots"
    assert story.dek.endswith(".") and 80 <= len(story.dek) <= 180
    assert story.lead_in.endswith(":") and story.kicker_label.endswith(":")
    assert 2 <= len(story.bullets) <= 4
    assert all(15 <= len(b.split()) <= 45 for b in story.bullets)
    assert story.sources == (SourceRef("Tech Desk", "https://example.test/acme"),)
    # the figures stay exactly as the source gives them
    assert any("$40 million" in b for b in story.bullets)


def test_bullets_carry_attribution_and_cite_the_clustered_outlets() -> None:
    merger = next(a for a in _articles() if a.id == "multi-source")
    story = summarize([merger], _config()).stories[0]
    assert story.sources == merger.sources
    assert all(
        any(w in b for w in ("Per Markets Wire, ", "said", "according to")) for b in story.bullets
    )
    assert not any(f.rule == "bullet-attribution" for f in story.style)


def test_dateline_agency_becomes_the_attribution_when_no_outlet_is_given() -> None:
    art = next(a for a in _articles() if a.id == "dateline-agency")
    story = summarize([art], _config()).stories[0]
    assert "Reuters" in story.lead_in
    assert not story.bullets[0].startswith("ATLANTA")


def test_output_is_deterministic() -> None:
    a = summarize(_articles(), _config())
    b = summarize(_articles(), _config())
    assert a == b


@pytest.mark.parametrize("text", ["", "   ", "!!!", "Short.", "a" * 5000, '"unclosed quote ' * 50])
def test_odd_input_never_raises_and_is_reported(text: str) -> None:
    run = summarize([Article(id="odd", title="", text=text)], _config())
    story = run.stories[0]
    assert story.id == "odd"
    assert story.style  # an empty or junk article cannot pass, and the findings say why
    assert check_facts(story, source_text(Article(id="odd", title="", text=text))) == story.facts


def test_check_style_accepts_the_stories_it_wrote() -> None:
    for story in summarize(_articles(), _config()).stories:
        assert check_style(story) == story.style


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
    story = summarize([art], _config()).stories[0]
    assert "!" not in story.lead_in
    assert story.style == () and story.facts == ()


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
    story = summarize([art], _config()).stories[0]
    assert story.headline == "AI Chip Sales Hit a Record in October, SIA Says"
    assert story.style == () and story.facts == ()
