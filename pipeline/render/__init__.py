"""Render stage: an :class:`Issue` and the :class:`Config` in, a :class:`RenderedIssue` out.

``render`` fills the MJML templates (Jinja2, strict, escaped), checks the MJML,
turns it into minified HTML with inlined CSS, writes the plain-text part and
wraps both in a multipart/alternative ``.eml``. It is deterministic: the same
issue and config give byte-identical files. When the HTML would pass the size
budget (Gmail clips at about 102 KB) quick links are trimmed and a warning says so.

``lint_email`` checks finished files (size, alt text, links, scripts, headers,
the text part, placeholders) and returns :class:`Finding` objects. The web archive
shares the email's subject, preheader, date label, link rule and template errors
(``issue_subject``, ``preheader``, ``date_label``, ``http_url``, ``fill_template``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from ..config import Config
from ..errors import RenderError
from ..models import Issue, QuickLink, RenderedIssue, StorySummary, paragraphs
from ._lint import lint_email
from ._mime import build_eml
from ._mjml import MAIN_TEMPLATE, fill_template, mjml_to_html, render_template
from ._text import render_text

__all__ = [
    "date_label",
    "fill_template",
    "http_url",
    "issue_subject",
    "lint_email",
    "preheader",
    "render",
]

_SEND_HOUR = time(6, 0)
# RFC 3986 reserved and unreserved characters, and % for escapes already made
_URL_SAFE = ":/?#[]@!$&()*+,;=%~-._"


def render(issue: Issue, config: Config) -> RenderedIssue:
    """Render one issue into HTML, plain text and ``.eml`` bytes.

    Raises :class:`RenderError` naming the template and line when a template or
    the MJML it generates is invalid, or when the subject template is bad.
    """
    warnings: list[str] = []
    subject = issue_subject(issue, config)
    stories = [_story(s, i, config, warnings) for i, s in enumerate(issue.stories, 1)]
    links = _quick_links(issue.quick_links, config, warnings)
    nl = _newsletter(issue, config, warnings)
    base: dict[str, Any] = {
        "nl": nl,
        "brand": config.newsletter.brand,
        # minify-html writes <title> text raw (legal RCDATA): keep markup-like text out of it
        "subject": subject.replace("<", "‹").replace(">", "›"),
        "preheader": preheader(issue, config),
        "stories": stories,
    }
    templates = config.templates_path
    budget = config.email.max_html_bytes

    def html_with(count: int) -> str:
        mjml_source = render_template(
            templates,
            MAIN_TEMPLATE,
            {**base, "quick_links": [q.html for q in links[:count]]},
            html=True,
        )
        return mjml_to_html(mjml_source, minify=config.email.minify)

    html = html_with(len(links))
    kept = len(links)
    if _size(html) > budget:
        kept, html = _trim_quick_links(html_with, len(links), budget)
        size = _size(html)
        if kept < len(links):
            warnings.append(
                f"HTML over the {budget}-byte budget: quick links trimmed from "
                f"{len(links)} to {kept} ({size} bytes now)"
            )
        if size > budget:
            warnings.append(
                f"HTML is {size} bytes, over the {budget}-byte budget: Gmail will clip it"
            )
    # the text part carries clean links: UTM tails make them unreadable there
    text = render_text(
        templates,
        {
            **base,
            "nl": {**nl, "signup_url": nl["text_signup_url"]},
            "stories": [{**s, "links": s["text_links"]} for s in stories],
            "quick_links": [q.text for q in links[:kept]],
        },
    )
    eml = build_eml(
        subject=subject, text=text, html=html, sent_at=_sent_at(issue, config), config=config
    )
    return RenderedIssue(html=html, text=text, eml=eml, subject=subject, warnings=tuple(warnings))


def _size(html: str) -> int:
    return len(html.encode("utf-8"))


def _trim_quick_links(html_with: Callable[[int], str], total: int, budget: int) -> tuple[int, str]:
    """The most quick links that fit the budget (binary search), and that HTML."""
    best = html_with(0)
    if _size(best) > budget:
        return 0, best
    lo, hi = 0, total - 1  # total itself is known to be over
    while lo < hi:
        mid = (lo + hi + 1) // 2
        candidate = html_with(mid)
        if _size(candidate) <= budget:
            lo, best = mid, candidate
        else:
            hi = mid - 1
    return lo, best


def _sent_at(issue: Issue, config: Config) -> datetime:
    if issue.generated_at is not None:
        if issue.generated_at.tzinfo is None:
            return issue.generated_at.replace(tzinfo=config.newsletter.tz)
        return issue.generated_at
    return datetime.combine(issue.date, _SEND_HOUR, tzinfo=config.newsletter.tz)


def date_label(d: date) -> str:
    """An edition's date as readers see it: "Wednesday, March 4, 2026"."""
    return f"{d:%A}, {d:%B} {d.day}, {d.year}"


def issue_subject(issue: Issue, config: Config) -> str:
    """The subject line: the draft's, else the config's subject template filled in."""
    if issue.subject.strip():
        return " ".join(issue.subject.split())
    lead = issue.stories[0].headline if issue.stories else config.newsletter.name
    template = config.newsletter.subject
    d = issue.date
    try:
        subject = template.format(
            lead_headline=lead, date=f"{d:%B} {d.day}, {d.year}", name=config.newsletter.name
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise RenderError(
            f"bad subject template {template!r} in {config.file}"
            f" (key newsletter.subject): {exc!r}; "
            "use {lead_headline}, {date} or {name}"
        ) from None
    return " ".join(subject.split())


def preheader(issue: Issue, config: Config) -> str:
    """The one-line summary inbox previews show: the lead story's dek, else the intro."""
    if issue.stories and issue.stories[0].dek:
        return issue.stories[0].dek
    return issue.intro or config.newsletter.intro or config.newsletter.tagline


def _newsletter(issue: Issue, config: Config, warnings: list[str]) -> dict[str, str]:
    nl = config.newsletter
    if nl.brand.logo and not http_url(nl.brand.logo):
        warnings.append(f"logo {nl.brand.logo!r} left out (not an http(s) URL)")
    web = nl.web_url.replace("{date}", issue.date.isoformat()) if nl.web_url else ""
    return {
        "name": nl.name,
        "tagline": nl.tagline,
        "logo": http_url(nl.brand.logo),
        "date_label": date_label(issue.date),
        "intro": issue.intro or nl.intro,
        "signup_invitation": nl.signup_invitation,
        "signup_url": _utm(nl.signup_url, config, "signup"),
        "text_signup_url": nl.signup_url,
        "unsubscribe_url": nl.unsubscribe_url,
        "unsubscribe_mailto": nl.unsubscribe_mailto,
        "postal_address": nl.postal_address,
        "web_url": http_url(web),
    }


def http_url(url: str) -> str:
    """The URL when it is absolute http(s) with a host, else "": nothing else becomes a link.

    Quotes, angle brackets, spaces and non-ASCII are percent-encoded, so a URL
    from a feed can never close its attribute, whatever the minifier's quoting.
    """
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("https", "http") or not parts.netloc:
        return ""
    return quote(url, safe=_URL_SAFE)


def _utm(url: str, config: Config, content: str) -> str:
    """Add UTM parameters (never overriding ones the link already has)."""
    if not config.email.utm:
        return url
    campaign = config.newsletter.utm_campaign or "-".join(config.newsletter.name.lower().split())
    wanted: tuple[tuple[str, str], ...] = (
        ("utm_source", config.email.utm_source),
        ("utm_medium", config.email.utm_medium),
        ("utm_campaign", campaign),
        ("utm_content", content),
    )
    parts = urlsplit(url)
    if "utm_" in parts.query:
        have = {k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}
        wanted = tuple((k, v) for k, v in wanted if k not in have)
    extra = urlencode([(k, v) for k, v in wanted if v])
    if not extra:
        return url
    # appended as text: re-encoding the whole query would rewrite the source's own link
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def _story(story: StorySummary, number: int, config: Config, warnings: list[str]) -> dict[str, Any]:
    # StorySummary.facts are for editors: they never reach the email
    image = None
    if story.image is not None:
        if image_url := http_url(story.image.url):
            image = {
                "url": image_url,
                "alt": story.image.alt.strip() or story.headline,
                "credit": story.image.credit.strip(),
            }
        else:
            warnings.append(
                f"story {number}: image {story.image.url!r} left out (not an http(s) URL)"
            )
    links, text_links = [], []
    for ref in story.sources:
        if not ref.url:
            continue
        url = http_url(ref.url)
        if not url:
            warnings.append(
                f"story {number}: source link {ref.url!r} left out (not an http(s) URL)"
            )
            continue
        name = ref.name or urlsplit(url).netloc
        links.append({"name": name, "url": _utm(url, config, f"story-{number}")})
        text_links.append({"name": name, "url": url})
    return {
        "headline": story.headline,
        "dek": story.dek,
        "hook": story.hook,
        "nut_graf": story.nut_graf,
        "section": story.section,
        "context": story.context,
        # one <p> per paragraph (the text part wraps each on its own)
        "hook_paragraphs": paragraphs(story.hook),
        "nut_graf_paragraphs": paragraphs(story.nut_graf),
        "context_paragraphs": paragraphs(story.context),
        "lead_in": story.lead_in,
        "bullets": list(story.bullets),
        "kicker_label": story.kicker_label,
        "kicker": story.kicker,
        "image": image,
        "links": links,
        "text_links": text_links,
    }


@dataclass(frozen=True)
class _Link:
    html: dict[str, str]
    text: dict[str, str]


def _quick_links(
    quick_links: Sequence[QuickLink], config: Config, warnings: list[str]
) -> list[_Link]:
    out = []
    for n, q in enumerate(quick_links, 1):
        url = http_url(q.url)
        if not url:
            warnings.append(f"quick link {n}: {q.url!r} left out (not an http(s) URL)")
            continue
        base = {"title": q.title, "source": q.source}
        out.append(_Link({**base, "url": _utm(url, config, "quick-links")}, {**base, "url": url}))
    return out
