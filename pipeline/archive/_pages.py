"""Web pages: issues, site details and the list provider's form in, HTML and CSS text out.

The templates are ``templates/web/*.j2`` (a newsletter's own templates folder may
override any of them; the bundled ones fill the gaps). HTML templates are autoescaped,
so story text from feeds and drafts is always text, never markup; links pass the email's
rule (absolute http(s) only, quoted); every page forbids scripts outright in its
Content-Security-Policy. The stylesheet takes only validated colours and a font list
cut down to the characters a font list needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import jinja2

from ..config import BUNDLED_TEMPLATES, Brand, Config, MailingList
from ..models import Issue, paragraphs
from ..render import date_label, fill_template, http_url, issue_subject, preheader

__all__ = [
    "Head",
    "IndexRow",
    "SignupForm",
    "Site",
    "issue_body",
    "issue_head",
    "render_page",
    "signup_form",
    "stylesheet",
]


@dataclass(frozen=True)
class Site:
    """What every page shows around its content: names, the site's own links, footer."""

    name: str
    tagline: str
    logo: str
    signup_invitation: str
    postal_address: str
    home: str  # the index, from the server's root
    feed: str
    style: str
    signup: str  # the site's signup page, or the configured signup_url without a list


@dataclass(frozen=True)
class Head:
    """One page's title and its Open Graph and canonical metadata."""

    title: str
    og_title: str
    description: str
    url: str  # canonical, absolute
    og_type: str = "website"
    image: str = ""
    published: str = ""


@dataclass(frozen=True)
class IndexRow:
    """One issue on the index page."""

    href: str
    subject: str
    date_label: str
    iso_date: str
    description: str


@dataclass(frozen=True)
class SignupForm:
    """The subscribe form as the provider expects it: its endpoint, the name of the email
    field, fixed hidden fields and the honeypot field bots fill in (if the provider has one)."""

    action: str
    email_field: str
    hidden: tuple[tuple[str, str], ...] = ()
    honeypot: str = ""


def signup_form(mailing: MailingList) -> SignupForm:
    """The form fields each provider's embedded subscribe form posts."""
    action = http_url(mailing.subscribe_url)
    if mailing.provider == "listmonk":
        # listmonk: `l` once per list UUID; `nonce` is its honeypot, sent empty
        lists = tuple(("l", list_id) for list_id in mailing.subscribe_lists)
        return SignupForm(action, "email", (("nonce", ""), *lists))
    if mailing.provider == "buttondown":
        return SignupForm(action, "email", (("embed", "1"),))
    query = dict(parse_qsl(urlsplit(mailing.subscribe_url).query))
    # Mailchimp drops a signup whose b_<u>_<id> field is filled in: a bot's
    return SignupForm(action, "EMAIL", honeypot=f"b_{query['u']}_{query['id']}")


def _host(url: str) -> str:
    return urlsplit(url).netloc


@lru_cache(maxsize=8)
def _environment(own: Path, bundled: Path) -> jinja2.Environment:
    roots = [str(own)] if own != bundled else []
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*roots, str(bundled)]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(paragraphs=paragraphs, http_url=http_url, host=_host)
    return env


def _fill(config: Config, name: str, **context: object) -> str:
    templates = config.templates_path
    env = _environment(templates, BUNDLED_TEMPLATES)
    return fill_template(env, f"web/{name}", context, where=str(templates))


def issue_body(config: Config, issue: Issue) -> str:
    """The issue as HTML, without the page around it: the page's article and the feed
    entry's content (every link in it is absolute)."""
    return _fill(config, "body.html.j2", issue=issue, date_label=date_label(issue.date))


def render_page(config: Config, template: str, site: Site, head: Head, **context: object) -> bytes:
    """One whole page from ``web/<template>`` (issue, index or signup)."""
    return _fill(config, template, site=site, head=head, **context).encode("utf-8")


def issue_head(config: Config, issue: Issue, url: str, published: datetime) -> Head:
    """An issue page's head: the email's subject and preheader, its first story image."""
    subject = issue_subject(issue, config)
    images = (http_url(s.image.url) for s in issue.stories if s.image is not None)
    return Head(
        title=f"{subject} | {config.newsletter.name}",
        og_title=subject,
        description=preheader(issue, config),
        url=url,
        og_type="article",
        image=next((i for i in images if i), ""),
        published=published.isoformat(),
    )


# a font list needs names, spaces, commas and quotes: anything else could end the rule
_FONT_JUNK = re.compile(r"[^A-Za-z0-9 ,'\"-]")


def stylesheet(config: Config, brand: Brand) -> bytes:
    """The site's CSS in the newsletter's colours (validated hex) and font."""
    font = _FONT_JUNK.sub("", brand.font)[:200] or "Georgia, serif"
    return _fill(config, "style.css.j2", brand=brand, font=font).encode("utf-8")
