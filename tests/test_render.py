"""Render: golden HTML and text, escaping, images, links, size budget, .eml, determinism."""

from __future__ import annotations

import dataclasses
import re
import shutil
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest
from render_samples import GOLDEN, SECRET_FACT, fixed_issue, render_config

from pipeline.config import Config
from pipeline.draft import format_draft, parse_draft
from pipeline.errors import RenderError
from pipeline.models import Image, QuickLink, RenderedIssue, SourceRef, StorySummary
from pipeline.render import lint_email, render

TEMPLATES = Path(__file__).parent.parent / "templates"


class _Text(HTMLParser):
    """Visible text of an HTML document, by tag (what a reader would see)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.by_tag: dict[str, list[str]] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("img", "meta", "br"):
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self._open:
            self.by_tag.setdefault(self._open[-1], []).append(data)


def texts(html: str, tag: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return [t.strip() for t in parser.by_tag.get(tag, []) if t.strip()]


def parts(eml: bytes) -> tuple[EmailMessage, dict[str, str]]:
    msg = message_from_bytes(eml, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    bodies = {
        p.get_content_type(): p.get_content().replace("\r\n", "\n")
        for p in msg.walk()
        if not p.is_multipart()
    }
    return msg, bodies


@pytest.fixture(scope="module")
def config() -> Config:
    return render_config()


@pytest.fixture(scope="module")
def rendered(config: Config) -> RenderedIssue:
    return render(fixed_issue(), config)


def test_html_matches_golden(rendered: RenderedIssue) -> None:
    # regenerate with: python -m tests.regen_golden (after a deliberate change)
    golden = (GOLDEN / "issue.html").read_text(encoding="utf-8")
    assert rendered.html == golden, "review the change, then: python -m tests.regen_golden"


def test_text_matches_golden(rendered: RenderedIssue) -> None:
    golden = (GOLDEN / "issue.txt").read_text(encoding="utf-8")
    assert rendered.text == golden, "review the change, then: python -m tests.regen_golden"


def test_render_is_byte_identical_on_a_second_run(config: Config, rendered: RenderedIssue) -> None:
    again = render(fixed_issue(), config)
    assert again == rendered
    changed = render(dataclasses.replace(fixed_issue(), intro="A different intro today."), config)
    assert changed.eml != rendered.eml
    assert parts(changed.eml)[0]["Message-ID"] != parts(rendered.eml)[0]["Message-ID"]


def test_feed_text_is_escaped_and_shows_as_written(rendered: RenderedIssue) -> None:
    headlines = texts(rendered.html, "h2")
    assert headlines[0] == "Container Rates Are Sliding Again. Shippers & <Ports> Feel It."
    assert "<Ports>" not in rendered.html
    assert (
        "<title>Container Rates Are Sliding Again. Shippers & ‹Ports› Feel It.</title>"
        in rendered.html
    )


def test_script_in_feed_text_never_becomes_markup(config: Config) -> None:
    issue = fixed_issue()
    evil = dataclasses.replace(
        issue.stories[0],
        headline='Chip Buyers Rush <script>alert(1)</script> Ahead of "Tariffs" & Fees',
        dek='<img src=x onerror="alert(2)"> was in the feed.',
    )
    out = render(dataclasses.replace(issue, stories=(evil, *issue.stories[1:])), config)
    assert "<script" not in out.html.lower()
    assert "<img src=x" not in out.html
    assert texts(out.html, "h2")[0] == evil.headline


def test_every_story_part_is_shown_in_house_style_order(rendered: RenderedIssue) -> None:
    issue = fixed_issue()
    assert texts(rendered.html, "h2") == [s.headline for s in issue.stories]
    assert texts(rendered.html, "h3")[:3] == [s.section for s in issue.stories]
    assert texts(rendered.html, "strong") == [s.kicker_label for s in issue.stories]
    html = rendered.html
    first = issue.stories[0]
    context = first.context.split("\n\n")
    order = [
        "Container Rates Are Sliding Again",
        first.dek,
        "Cranes over a container terminal",
        first.hook,
        first.nut_graf,
        first.section,
        context[0],
        context[1],
        first.lead_in,
        "$1,840 per box",
        first.kicker_label,
        first.kicker,
        "Read more:",
    ]
    positions = [html.find(p) for p in order]
    assert -1 not in positions and positions == sorted(positions)
    for bullet in first.bullets:
        assert bullet in texts(html, "li")
    # each paragraph of nut graf and context is a paragraph of the email
    paragraphs = texts(html, "p")
    assert first.nut_graf in paragraphs and context[0] in paragraphs and context[1] in paragraphs


def test_the_text_part_has_the_parts_in_the_same_order(rendered: RenderedIssue) -> None:
    first = fixed_issue().stories[0]
    flat = " ".join(rendered.text.split())  # the text part wraps lines at 78
    order = [
        first.hook,
        first.nut_graf,
        first.section.upper(),
        *first.context.split("\n\n"),
        first.lead_in,
        first.kicker_label + " " + first.kicker,
    ]
    positions = [flat.find(" ".join(p.split())) for p in order]
    assert -1 not in positions and positions == sorted(positions)
    # paragraphs stay apart: a blank line before the context's second paragraph
    assert "\n\nThe biggest lines have tried" in rendered.text


def test_an_untouched_draft_renders_the_email_the_build_rendered(config: Config) -> None:
    # build renders the issue it generated; render, lint and send read it back from
    # draft.md: they must agree, even for links that need escaping in Markdown
    issue = fixed_issue()
    odd = dataclasses.replace(
        issue.stories[0],
        sources=(
            SourceRef("Harbor](https://evil.example) [Ledger", "https://harborledger.example/a"),
            SourceRef("Wiki", "https://wiki.example/Rates_(shipping)"),
        ),
        image=Image("https://img.morningtape.example/a photo.svg", "Cranes", "Photo by R. Osei"),
    )
    # a hook of two paragraphs (an old draft's) comes back as hook and nut graf, same email
    two = dataclasses.replace(issue.stories[2], hook="Deadlines move stock.\n\nThis one did.")
    for stories in ((odd, *issue.stories[1:]), (*issue.stories[:2], two)):
        case = dataclasses.replace(issue, stories=stories)
        reread = parse_draft(format_draft(case))
        assert render(reread, config) == render(case, config)
    assert render(parse_draft(format_draft(issue)), config) == render(issue, config)


def test_unsupported_facts_stay_out_of_the_email(rendered: RenderedIssue) -> None:
    assert SECRET_FACT not in rendered.html
    assert SECRET_FACT not in rendered.text
    assert SECRET_FACT.encode() not in rendered.eml


def test_images_have_alt_text_falling_back_to_the_headline(rendered: RenderedIssue) -> None:
    alts = re.findall(r'<img alt="([^"]*)"', rendered.html)
    assert alts == [
        "Cranes over a container terminal",
        "A Grocery Chain Is Pricing Milk With AI. Its Rivals Are Watching Closely.",
    ]
    assert texts(rendered.html, "p").count("Photo by R. Osei via Dockside Images") == 1


def test_unsafe_links_and_images_are_left_out_with_a_warning(config: Config) -> None:
    issue = fixed_issue()
    story = dataclasses.replace(
        issue.stories[0],
        image=Image("javascript:alert(1)", "x", ""),
        sources=(
            SourceRef("Bad", "javascript:alert(2)"),
            SourceRef("Good", "https://good.example/a"),
        ),
    )
    out = render(
        dataclasses.replace(
            issue,
            stories=(story, *issue.stories[1:]),
            quick_links=(QuickLink("Relative", "/local/path"), *issue.quick_links),
        ),
        config,
    )
    assert "javascript:" not in out.html
    assert "/local/path" not in out.html
    assert "https://good.example/a?utm_source" in out.html
    assert any("story 1: image" in w for w in out.warnings)
    assert any("story 1: source link" in w for w in out.warnings)
    assert any("quick link 1" in w for w in out.warnings)


def test_quotes_and_brackets_in_urls_are_percent_encoded(config: Config) -> None:
    issue = fixed_issue()
    story = dataclasses.replace(
        issue.stories[0],
        image=Image('https://img.example/a.jpg" onerror="alert(1)', "Alt", ""),
        sources=(SourceRef("Wire", "https://wire.example/a b/<x>'y'?q=é"),),
    )
    html = render(dataclasses.replace(issue, stories=(story, *issue.stories[1:])), config).html
    assert '<img src="https://img.example/a.jpg%22%20onerror=%22alert(1)" alt=Alt ' in html
    assert "https://wire.example/a%20b/%3Cx%3E%27y%27?q=%C3%A9&utm_source" in html


def test_links_get_utm_parameters_except_unsubscribe(rendered: RenderedIssue) -> None:
    hrefs = re.findall(r'href="?([^" >]+)', rendered.html)
    story_link = next(h for h in hrefs if h.startswith("https://harborledger.example"))
    assert story_link == (
        "https://harborledger.example/rates?id=881&utm_source=newsletter"
        "&utm_medium=email&utm_campaign=tape-daily&utm_content=story-1"
    )
    unsub = next(h for h in hrefs if "leave?" in h)
    assert unsub == "https://morningtape.example/leave?list=daily"
    assert all(h.startswith(("https://", "mailto:")) for h in hrefs)
    # the text part keeps the links clean for people
    assert "utm_" not in rendered.text


def test_utm_can_be_turned_off_and_never_overrides(config: Config) -> None:
    off = config.model_copy(update={"email": config.email.model_copy(update={"utm": False})})
    assert "utm_" not in render(fixed_issue(), off).html
    issue = fixed_issue()
    tagged = dataclasses.replace(
        issue, quick_links=(QuickLink("Tagged", "https://x.example/?utm_source=partner"),)
    )
    html = render(tagged, config).html
    assert "utm_source=partner&utm_medium=email" in html
    assert "utm_source=partner&utm_source" not in html


def test_document_language_dark_mode_preheader_and_width(rendered: RenderedIssue) -> None:
    html = rendered.html
    assert re.search(r"<html[^>]* lang=\"?en\b", html)
    assert re.search(r'<meta content="light dark" name="?color-scheme', html)
    assert "prefers-color-scheme:dark" in html.replace(" ", "")
    assert "max-width:600px" in html
    widths = [int(w) for w in re.findall(r"width[=:]\"?(\d+)(?:px)?", html)]
    assert widths and max(widths) <= 600
    # the preheader is the lead story's dek, hidden at the top of the body
    body = html[html.index("<body") :]
    assert body.index(fixed_issue().stories[0].dek[:30]) < body.index("<h1")


def test_inline_styles_are_applied_by_css_inline(rendered: RenderedIssue) -> None:
    h2 = re.search(r"<h2 [^>]*>", rendered.html)
    assert h2 and "font-size:23px" in h2.group(0)
    assert "/* inline */" not in rendered.html


def test_masthead_and_footer_carry_every_required_part(rendered: RenderedIssue) -> None:
    html = rendered.html
    assert texts(html, "h1") == ["The Morning Tape"]
    assert "Wednesday, March 4, 2026" in texts(html, "p")
    for needed in (
        "https://morningtape.example/join?utm_source=newsletter",
        "https://morningtape.example/leave?list=daily",
        "12 Harbour Road, Unit 3",
        "https://morningtape.example/archive/2026-03-04",
        "Forwarded this by a colleague?",
        "Five minutes, the whole market.",
    ):
        assert needed in html, needed
    assert texts(html, "h3")[-1] == "More stories worth a look"


def test_logo_shows_only_when_configured(config: Config) -> None:
    brand = config.newsletter.brand.model_copy(
        update={"logo": "https://morningtape.example/logo.png"}
    )
    nl = config.newsletter.model_copy(update={"brand": brand})
    html = render(fixed_issue(), config.model_copy(update={"newsletter": nl})).html
    assert '<img alt="The Morning Tape"' in html
    assert "logo.png" not in render(fixed_issue(), config).html
    local = brand.model_copy(update={"logo": "images/logo.png"})
    nl = config.newsletter.model_copy(update={"brand": local})
    out = render(fixed_issue(), config.model_copy(update={"newsletter": nl}))
    assert "logo.png" not in out.html
    assert out.warnings == ("logo 'images/logo.png' left out (not an http(s) URL)",)


def test_twenty_story_issue_fits_the_gmail_budget(config: Config) -> None:
    base = fixed_issue()
    stories = tuple(dataclasses.replace(base.stories[i % 3], id=f"s{i}") for i in range(20))
    out = render(dataclasses.replace(base, stories=stories), config)
    assert len(out.html.encode()) < 102_400
    assert out.warnings == ()
    assert lint_email(out, config) == ()


def test_over_budget_trims_quick_links_first_and_warns(config: Config) -> None:
    issue = dataclasses.replace(
        fixed_issue(),
        quick_links=tuple(
            QuickLink(
                f"Quick item number {i} with a longish title", f"https://q.example/{i}", "Wire"
            )
            for i in range(12)
        ),
    )
    budget = len(
        render(dataclasses.replace(issue, quick_links=issue.quick_links[:8]), config).html.encode()
    )
    tight = config.model_copy(
        update={"email": config.email.model_copy(update={"max_html_bytes": budget})}
    )
    out = render(issue, tight)
    assert len(out.html.encode()) <= budget
    assert len(re.findall(r"q\.example/\d", out.html)) == 8
    assert "Quick item number 7 " in out.text and "Quick item number 8 " not in out.text
    assert out.warnings == (
        f"HTML over the {budget}-byte budget: quick links trimmed from 12 to 8 "
        f"({len(out.html.encode())} bytes now)",
    )
    # every story stays: only quick links are trimmed
    assert texts(out.html, "h2") == [s.headline for s in issue.stories]


def test_eml_is_multipart_alternative_with_every_header(
    config: Config, rendered: RenderedIssue
) -> None:
    msg, bodies = parts(rendered.eml)
    assert msg.get_content_type() == "multipart/alternative"
    assert bodies["text/plain"] == rendered.text
    assert bodies["text/html"] == rendered.html
    assert msg["Subject"] == rendered.subject == fixed_issue().stories[0].headline
    assert msg["From"] == "The Morning Tape <desk@morningtape.example>"
    assert msg["Reply-To"] == "letters@morningtape.example"
    # no generated_at: 06:00 of the issue date in the newsletter's timezone (Chicago, CST)
    assert msg["Date"] == "Wed, 04 Mar 2026 06:00:00 -0600"
    assert re.fullmatch(r"<20260304\.[0-9a-f]{32}@morningtape\.example>", msg["Message-ID"])
    assert msg["List-Unsubscribe"] == (
        "<https://morningtape.example/leave?list=daily>, "
        "<mailto:leave@morningtape.example?subject=unsubscribe>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    for part in msg.walk():
        if not part.is_multipart():
            assert part.get_content_charset() == "utf-8"
    assert all(len(line) <= 998 for line in rendered.eml.split(b"\r\n"))
    assert rendered.eml.count(b"\n") == rendered.eml.count(b"\r\n")


def test_date_header_comes_from_generated_at(config: Config) -> None:
    stamp = datetime(2026, 3, 4, 11, 30, tzinfo=UTC)
    out = render(dataclasses.replace(fixed_issue(), generated_at=stamp), config)
    assert parts(out.eml)[0]["Date"] == "Wed, 04 Mar 2026 11:30:00 +0000"


def test_subject_from_issue_or_config_template(config: Config) -> None:
    nl = config.newsletter.model_copy(update={"subject": "{name} | {date}: {lead_headline}"})
    templated = render(fixed_issue(), config.model_copy(update={"newsletter": nl}))
    assert templated.subject == (
        "The Morning Tape | March 4, 2026: "
        "Container Rates Are Sliding Again. Shippers & <Ports> Feel It."
    )
    own = render(dataclasses.replace(fixed_issue(), subject="Freight’s Big Slide"), config)
    assert own.subject == "Freight’s Big Slide"
    assert parts(own.eml)[0]["Subject"] == "Freight’s Big Slide"
    bad = config.newsletter.model_copy(update={"subject": "{headline}"})
    with pytest.raises(RenderError, match=r"newsletter\.subject"):
        render(fixed_issue(), config.model_copy(update={"newsletter": bad}))


def test_line_breaks_in_data_cannot_add_headers(config: Config) -> None:
    nl = config.newsletter.model_copy(
        update={"reply_to": "a@morningtape.example\r\nBcc: x@evil.example"}
    )
    out = render(
        dataclasses.replace(fixed_issue(), subject="Rates\r\nBcc: y@evil.example"),
        config.model_copy(update={"newsletter": nl}),
    )
    head = out.eml.split(b"\r\n\r\n", 1)[0]
    assert not [line for line in head.split(b"\r\n") if line.lower().startswith(b"bcc")]
    assert parts(out.eml)[0]["Subject"] == "Rates Bcc: y@evil.example"


def test_plain_text_is_written_for_people(rendered: RenderedIssue) -> None:
    text = rendered.text
    lines = text.splitlines()
    assert all(len(line) <= 78 for line in lines if " " in line.strip())
    assert "<" not in re.sub(r"<PORTS>", "", text) and "&amp;" not in text
    # numbered links listed under each story, in story order
    assert (
        "Read more:\n  [1] Retail Brief: https://retailbrief.example/fenwick-ai\n"
        "  [2] Fenwick Foods: https://investors.fenwick.example/q4" in text
    )
    assert (
        "  * Per the Tech Desk, distributor orders for memory chips rose 18% in\n"
        "    February from January." in text
    )
    for needed in (
        "Sign up: https://morningtape.example/join",
        "Unsubscribe: https://morningtape.example/leave?list=daily",
        "leave@morningtape.example",
        "12 Harbour Road",
    ):
        assert needed in text
    assert SECRET_FACT not in text


def _templates_copy(tmp_path: Path, config: Config) -> Config:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    return config.model_copy(
        update={"paths": config.paths.model_copy(update={"templates": str(folder)})}
    )


@pytest.mark.parametrize(
    ("old", "new", "lines_in", "message"),
    [
        (
            "<mj-text>\n          <h2>",
            "<mj-txt>\n          <h2>",
            0,
            "unknown MJML component <mj-txt>",
        ),
        (
            '<mj-image src="{{ story.image.url }}"',
            '<mj-image sorce="{{ story.image.url }}"',
            0,
            "<mj-image> does not support attribute 'sorce'",
        ),
        (
            'padding-bottom="12px"',
            "padding-bottom=12px",
            0,
            "<mj-image> attribute 'padding-bottom' must be quoted",
        ),
    ],
)
def test_invalid_mjml_in_a_template_fails_with_template_and_line(
    tmp_path: Path, config: Config, old: str, new: str, lines_in: int, message: str
) -> None:
    cfg = _templates_copy(tmp_path, config)
    story = tmp_path / "templates" / "partials" / "story.mjml.j2"
    source = story.read_text()
    assert old in source
    story.write_text(source.replace(old, new, 1))
    with pytest.raises(RenderError) as info:
        render(fixed_issue(), cfg)
    assert info.value.template == "partials/story.mjml.j2"
    assert info.value.line == source[: source.index(old)].count("\n") + 1 + lines_in
    assert message in str(info.value)


def test_text_component_directly_in_the_body_is_refused(tmp_path: Path, config: Config) -> None:
    cfg = _templates_copy(tmp_path, config)
    main = tmp_path / "templates" / "issue.mjml.j2"
    source = main.read_text()
    marker = '{% include "partials/masthead.mjml.j2" %}'
    main.write_text(source.replace(marker, "    <mj-text>loose</mj-text>\n" + marker))
    with pytest.raises(RenderError) as info:
        render(fixed_issue(), cfg)
    assert info.value.template == "issue.mjml.j2"
    assert info.value.line == source[: source.index(marker)].count("\n") + 1
    assert "<mj-text> may not sit inside <mj-body>" in str(info.value)


def test_generated_mjml_is_checked_too(tmp_path: Path, config: Config) -> None:
    cfg = _templates_copy(tmp_path, config)
    footer = tmp_path / "templates" / "partials" / "footer.mjml.j2"
    # a tag name that only exists after Jinja has run: the static check cannot see it
    footer.write_text(
        footer.read_text().replace("<mj-column>", "<mj-column>\n<{{ 'mj-blink' }} />", 1)
    )
    with pytest.raises(RenderError) as info:
        render(fixed_issue(), cfg)
    assert info.value.template == "issue.mjml.j2 (generated MJML)"
    assert info.value.line is not None and info.value.line > 1
    assert "unknown MJML component <mj-blink>" in str(info.value)


def test_undefined_template_variable_names_template_and_line(
    tmp_path: Path, config: Config
) -> None:
    cfg = _templates_copy(tmp_path, config)
    masthead = tmp_path / "templates" / "partials" / "masthead.mjml.j2"
    source = masthead.read_text()
    masthead.write_text(source.replace("{{ nl.date_label }}", "{{ nl.date_lable }}"))
    with pytest.raises(RenderError) as info:
        render(fixed_issue(), cfg)
    assert info.value.template == "masthead.mjml.j2"
    assert info.value.line == source[: source.index("{{ nl.date_label }}")].count("\n") + 1
    assert "date_lable" in str(info.value)


def test_story_without_image_or_sources_renders_without_empty_parts(config: Config) -> None:
    bare = StorySummary(
        id="bare",
        headline="Rates Hold Steady for Now. Traders Expect a Cut by Summer.",
        dek="The central bank, cautious as ever, kept its benchmark rate where it was this week.",
        hook="Sometimes the biggest news is that nothing happened.",
        nut_graf="According to the Wire, the central bank left its benchmark rate unchanged for a "
        "third meeting. If inflation keeps cooling, the first cut could come by summer.",
        section="The Long Pause",
        context="Rate decisions move mortgage costs, savings rates and the price of company debt, "
        "so markets parse every word of the statement.",
        lead_in="What traders are pricing in:",
        bullets=("Per the Wire, futures imply two cuts by the end of the year, starting in June.",),
        kicker_label="Wait and See:",
        kicker="Patience is a policy too, at least until the next jobs report lands.",
    )
    # a draft from before nut graf and context has neither: no empty paragraph for them
    for story in (bare, dataclasses.replace(bare, nut_graf="", context="")):
        out = render(dataclasses.replace(fixed_issue(), stories=(story,), quick_links=()), config)
        assert "Read more" not in out.html and "Read more" not in out.text
        assert "More stories worth a look" not in out.html
        assert "<img" not in out.html
        assert not re.search(r"<(p|li|ul|h\d)[^>]*>\s*</\1>", out.html)
        assert "\n\n\n" not in out.text
    assert bare.context in texts(
        render(dataclasses.replace(fixed_issue(), stories=(bare,)), config).html, "p"
    )
