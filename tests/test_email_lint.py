"""lint_email: each rule fires on a broken file and names its place; a clean file passes."""

from __future__ import annotations

import dataclasses
from email import message_from_bytes, policy

import pytest
from render_samples import fixed_issue, render_config

from pipeline.config import Config
from pipeline.models import Finding, RenderedIssue
from pipeline.render import lint_email, render


@pytest.fixture(scope="module")
def config() -> Config:
    return render_config()


@pytest.fixture(scope="module")
def clean(config: Config) -> RenderedIssue:
    return render(fixed_issue(), config)


def rules(findings: tuple[Finding, ...], severity: str | None = None) -> list[str]:
    return [f.rule for f in findings if severity is None or f.severity == severity]


def with_html(rendered: RenderedIssue, old: str, new: str) -> RenderedIssue:
    assert old in rendered.html
    return dataclasses.replace(rendered, html=rendered.html.replace(old, new, 1))


def with_headers(rendered: RenderedIssue, **headers: str | None) -> RenderedIssue:
    msg = message_from_bytes(rendered.eml, policy=policy.SMTP)
    for name, value in headers.items():
        name = name.replace("_", "-")
        del msg[name]
        if value is not None:
            msg[name] = value
    return dataclasses.replace(rendered, eml=msg.as_bytes())


def test_a_clean_render_has_no_finding(clean: RenderedIssue, config: Config) -> None:
    assert lint_email(clean, config) == ()


def test_html_over_the_budget_blocks_and_near_it_warns(
    clean: RenderedIssue, config: Config
) -> None:
    size = len(clean.html.encode())
    tight = config.model_copy(
        update={"email": config.email.model_copy(update={"max_html_bytes": size - 1})}
    )
    [finding] = lint_email(clean, tight)
    assert (finding.rule, finding.severity, finding.part) == ("html-size", "error", "html")
    assert str(size) in finding.message
    near = config.model_copy(
        update={"email": config.email.model_copy(update={"max_html_bytes": size + 100})}
    )
    assert [(f.rule, f.severity) for f in lint_email(clean, near)] == [("html-size", "warning")]


def test_image_without_alt_text(clean: RenderedIssue, config: Config) -> None:
    broken = with_html(clean, 'alt="Cranes over a container terminal"', 'alt=" "')
    [finding] = lint_email(broken, config)
    assert (finding.rule, finding.part) == ("img-alt", "html: img #1")
    missing = with_html(clean, 'alt="Cranes over a container terminal"', "")
    assert rules(lint_email(missing, config)) == ["img-alt"]


@pytest.mark.parametrize(
    ("href", "severity"),
    [
        ("javascript:alert(1)", "error"),
        (" JavaScript:alert(1)", "error"),
        ("data:text/html;base64,PHNjcmlwdD4=", "error"),
        ("/archive/2026-03-04", "error"),
        ("http://morningtape.example/archive/2026-03-04", "warning"),
    ],
)
def test_link_schemes(clean: RenderedIssue, config: Config, href: str, severity: str) -> None:
    broken = with_html(
        clean, "href=https://morningtape.example/archive/2026-03-04", f'href="{href}"'
    )
    [finding] = lint_email(broken, config)
    assert (finding.rule, finding.severity) == ("link-scheme", severity)
    assert finding.part.startswith("html: a #") and finding.part.endswith(" href")
    assert finding.text == href.strip()


def test_image_source_scheme(clean: RenderedIssue, config: Config) -> None:
    broken = with_html(clean, "src=https://img.morningtape.example/photo.svg", "src=photo.svg")
    [finding] = lint_email(broken, config)
    assert (finding.rule, finding.part) == ("link-scheme", "html: img #1 src")


def test_script_and_event_handlers(clean: RenderedIssue, config: Config) -> None:
    scripted = with_html(clean, "</body>", "<script>alert(1)</script></body>")
    assert rules(lint_email(scripted, config)) == ["script"]
    handler = with_html(clean, "<h2 ", '<h2 onclick="steal()" ')
    [finding] = lint_email(handler, config)
    assert (finding.rule, finding.part, finding.text) == ("event-handler", "html: h2 #1", "steal()")


def test_external_stylesheets(clean: RenderedIssue, config: Config) -> None:
    linked = with_html(
        clean, "</head>", '<link rel="stylesheet" href="https://cdn.example/a.css"></head>'
    )
    assert rules(lint_email(linked, config)) == ["external-stylesheet"]
    imported = with_html(clean, "<style>", "<style>@import url(https://cdn.example/a.css);")
    assert rules(lint_email(imported, config)) == ["external-stylesheet"]


def test_list_unsubscribe_headers(clean: RenderedIssue, config: Config) -> None:
    none = lint_email(with_headers(clean, List_Unsubscribe=None), config)
    assert [(f.rule, f.part) for f in none] == [("list-unsubscribe", "header: List-Unsubscribe")]
    mail_only = lint_email(with_headers(clean, List_Unsubscribe="<mailto:leave@x.example>"), config)
    assert [(f.rule, f.severity) for f in mail_only] == [("list-unsubscribe", "error")]
    https_only = lint_email(with_headers(clean, List_Unsubscribe="<https://x.example/u>"), config)
    assert [(f.rule, f.severity) for f in https_only] == [("list-unsubscribe", "warning")]
    no_post = lint_email(with_headers(clean, List_Unsubscribe_Post=None), config)
    assert [(f.rule, f.part) for f in no_post] == [
        ("list-unsubscribe-post", "header: List-Unsubscribe-Post")
    ]
    wrong_post = lint_email(with_headers(clean, List_Unsubscribe_Post="Unsubscribe"), config)
    assert rules(wrong_post) == ["list-unsubscribe-post"]


@pytest.mark.parametrize("header", ["Subject", "From", "Date", "Message-ID"])
def test_required_headers(clean: RenderedIssue, config: Config, header: str) -> None:
    [finding] = lint_email(with_headers(clean, **{header.replace("-", "_"): None}), config)
    assert (finding.rule, finding.part) == ("header-missing", f"header: {header}")


def test_message_must_be_multipart_alternative_with_both_parts(
    clean: RenderedIssue, config: Config
) -> None:
    msg = message_from_bytes(clean.eml, policy=policy.SMTP)
    html_only = next(p for p in msg.iter_parts() if p.get_content_type() == "text/html")
    single = msg.__class__(policy=policy.SMTP)
    for name, value in msg.items():
        if name.lower() != "content-type":
            single[name] = value
    single.set_content(html_only.get_content(), subtype="html")
    found = lint_email(dataclasses.replace(clean, eml=single.as_bytes()), config)
    assert rules(found) == ["mime", "mime"]
    assert "text/html, not multipart/alternative" in found[0].message
    assert "no text/plain part" in found[1].message


def test_plain_text_must_exist_and_read_as_text(clean: RenderedIssue, config: Config) -> None:
    empty = lint_email(dataclasses.replace(clean, text="  \n"), config)
    assert [(f.rule, f.part) for f in empty] == [("text-missing", "text")]
    markup = clean.text.replace("THE CAPACITY GLUT", "<p>THE CAPACITY GLUT</p>")
    found = lint_email(dataclasses.replace(clean, text=markup), config)
    line = markup.splitlines().index("<p>THE CAPACITY GLUT</p>") + 1
    assert [(f.rule, f.part, f.severity) for f in found] == [
        ("text-readable", f"text: line {line}", "error")
    ]
    entity = lint_email(
        dataclasses.replace(clean, text=clean.text.replace("stack up:", "stack up &amp; down:")),
        config,
    )
    assert rules(entity) == ["text-readable"]
    long_line = clean.text + "\n" + "word " * 20 + "\n" + "https://example.com/" + "x" * 90 + "\n"
    assert [
        (f.rule, f.severity) for f in lint_email(dataclasses.replace(clean, text=long_line), config)
    ] == [("text-readable", "warning")]


@pytest.mark.parametrize(
    "marker", ["TK", "TODO", "FIXME", "Lorem ipsum", "{{ story.kicker }}", "[placeholder]"]
)
def test_placeholders_in_html_and_text(clean: RenderedIssue, config: Config, marker: str) -> None:
    html = with_html(clean, "The Capacity Glut</h3>", f"The Capacity {marker}</h3>")
    [finding] = lint_email(html, config)
    assert (finding.rule, finding.severity) == ("placeholder", "error")
    assert finding.part.startswith("html: text")
    text = dataclasses.replace(
        clean, text=clean.text.replace("THE CAPACITY GLUT", f"THE CAPACITY {marker}")
    )
    [finding] = lint_email(text, config)
    assert finding.rule == "placeholder" and finding.part.startswith("text: line ")


def test_placeholder_in_subject_and_words_that_only_look_alike(
    clean: RenderedIssue, config: Config
) -> None:
    tk = dataclasses.replace(clean, subject="TK headline")
    assert [(f.rule, f.part) for f in lint_email(tk, config)] == [
        ("placeholder", "header: Subject")
    ]
    # ordinary words that contain the letters are not placeholders
    fine = with_html(clean, "The Capacity Glut</h3>", "A todo list for TKO fans in Tokyo</h3>")
    assert lint_email(fine, config) == ()


def test_empty_sections(clean: RenderedIssue, config: Config) -> None:
    headline = fixed_issue().stories[1].headline
    no_headline = with_html(clean, f">{headline}</h2>", "> </h2>")
    [finding] = lint_email(no_headline, config)
    assert (finding.rule, finding.part) == ("empty-section", "html: h2 #2")
    no_bullets = clean.html
    start = no_bullets.index("<ul")
    end = no_bullets.index("</ul>", start)
    emptied = dataclasses.replace(
        clean, html=no_bullets[:start] + "<ul></ul>" + no_bullets[end + 5 :]
    )
    assert [(f.rule, f.part) for f in lint_email(emptied, config)] == [
        ("empty-section", "html: ul #1")
    ]


def test_language_dark_mode_and_width_warnings(clean: RenderedIssue, config: Config) -> None:
    und = with_html(clean, "lang=en", "lang=und")
    assert [(f.rule, f.severity) for f in lint_email(und, config)] == [("lang", "warning")]
    no_dark = with_html(clean, "name=color-scheme", "name=theme")
    assert [(f.rule, f.severity) for f in lint_email(no_dark, config)] == [("dark-mode", "warning")]
    wide = with_html(clean, "width=552", "width=800")
    assert [(f.rule, f.part) for f in lint_email(wide, config)] == [("max-width", "html: img #1")]


def test_unparseable_message_is_a_finding_not_a_crash(clean: RenderedIssue, config: Config) -> None:
    found = lint_email(dataclasses.replace(clean, eml=b"\xff\xfe garbage"), config)
    assert "mime" in rules(found) or "header-missing" in rules(found)
    assert all(f.severity in ("error", "warning") for f in found)


def test_footer_needs_a_visible_unsubscribe_link_and_the_postal_address(
    clean: RenderedIssue, config: Config
) -> None:
    no_link = with_html(
        clean, 'href="https://morningtape.example/leave?list=daily"', "href=https://x.example/"
    )
    assert [(f.rule, f.part) for f in lint_email(no_link, config)] == [
        ("unsubscribe-link", "html: footer")
    ]
    no_address = with_html(clean, "12 Harbour Road, Unit 3", "")
    assert [(f.rule, f.part) for f in lint_email(no_address, config)] == [
        ("postal-address", "html: footer")
    ]
    text = clean.text.replace("Unsubscribe: https://morningtape.example/leave?list=daily", "")
    text = text.replace("12 Harbour Road, Unit 3, ", "")
    assert [
        (f.rule, f.part) for f in lint_email(dataclasses.replace(clean, text=text), config)
    ] == [
        ("unsubscribe-link", "text: footer"),
        ("postal-address", "text: footer"),
    ]


def test_an_issue_without_stories_and_a_text_part_missing_a_story(
    clean: RenderedIssue, config: Config
) -> None:
    headline = fixed_issue().stories[2].headline
    text = clean.text.replace(headline.upper().split(".")[0], "SOMETHING ELSE")
    [finding] = lint_email(dataclasses.replace(clean, text=text), config)
    assert (finding.rule, finding.severity, finding.text) == (
        "text-incomplete",
        "warning",
        headline,
    )
    empty = render(dataclasses.replace(fixed_issue(), stories=()), config)
    assert ("empty-section", "html: body") in [(f.rule, f.part) for f in lint_email(empty, config)]
