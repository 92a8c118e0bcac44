"""The web archive in real headless Chromium, on a phone (375 px) and a desktop (1280 px),
light and dark, served from 127.0.0.1 as a static host would.

The email's own "View in your browser" link is followed to the page (and its canonical
URL is where the browser landed); the page fits the screen with every headline shown and
readable contrast; a story's <script> never runs; the index leads to the issues; the
signup form really posts to a loopback list provider; the feed, fetched over HTTP, reads
back through ingest. Views are saved to test-artifacts/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from archive_site import HOSTILE, edition, hostile_issue, newsletter
from browser import Browser, available, contrast
from loopback import running, serving
from lxml import html
from render_samples import FIXTURES, fixed_issue
from selenium.webdriver.common.by import By

from pipeline.archive import publish_archive
from pipeline.config import Config, Feed, Sources
from pipeline.ingest import ingest
from pipeline.render import render
from pipeline.store import open_store

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
MON, TUE = date(2026, 3, 2), date(2026, 3, 3)
LIST_ID = "6f1c1e6a-8f0e-4a55-9b59-4a1e0e0c3a21"

# Every text element's colour against the first opaque background behind it, the
# headlines' boxes, the images and what the page says about itself.
_VIEW = """
const solid = c => c && c !== 'transparent' && !/rgba\\(.*, 0\\)$/.test(c);
function behind(el) {
  for (let e = el; e; e = e.parentElement) {
    const c = getComputedStyle(e).backgroundColor;
    if (solid(c)) return c;
  }
  return 'rgb(255, 255, 255)';
}
const box = e => { const r = e.getBoundingClientRect(); return {left: r.left, right: r.right,
  width: r.width, shown: getComputedStyle(e).visibility === 'visible' && r.height > 0}; };
return {
  href: location.href,
  innerWidth: window.innerWidth,
  scrollWidth: document.documentElement.scrollWidth,
  canonical: document.querySelector('link[rel=canonical]').href,
  ogUrl: document.querySelector('meta[property="og:url"]').content,
  title: document.title,
  pwned: window.pwned === undefined ? null : window.pwned,
  headlines: [...document.querySelectorAll('h2')].map(h => ({text: h.textContent, ...box(h)})),
  images: [...document.images].map(i => ({loaded: i.complete && i.naturalWidth > 0,
                                           right: i.getBoundingClientRect().right})),
  texts: [...document.querySelectorAll('h1, h2, h3, p, li, a, label, button, time')]
    .filter(e => e.textContent.trim() && e.getClientRects().length)
    .map(e => ({text: e.textContent.trim().slice(0, 40), color: getComputedStyle(e).color,
                background: behind(e)})),
};
"""


@dataclass
class _Provider:
    """The list provider's subscribe endpoint on 127.0.0.1: records each form post."""

    url: str = ""
    posts: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)


def _provider_handler(provider: _Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            provider.posts.append((self.path, parse_qs(body, keep_blank_values=True)))
            page = b"<!doctype html><title>Subscribed</title><p id=thanks>Check your inbox.</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

    return Handler


@pytest.fixture(scope="module")
def provider() -> Iterator[_Provider]:
    found = _Provider()
    with running(ThreadingHTTPServer(("127.0.0.1", 0), _provider_handler(found))) as url:
        found.url = url
        yield found


@dataclass(frozen=True)
class _Served:
    """The site's address, its newsletter's config and a Chromium to look at it with."""

    base: str
    config: Config
    browser: Browser


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, provider: _Provider) -> Iterator[_Served]:
    """Monday (approved, with a photo served beside the site) and Tuesday (sent, hostile
    story text) published into a site served on 127.0.0.1, linked from its own address,
    and one Chromium for the module."""
    folder = tmp_path_factory.mktemp("archive")
    site = folder / "site"
    site.mkdir()
    with serving(site) as base:
        config = newsletter(
            folder,
            web_url=f"{base}/issues/{{date}}",
            mailing_list={
                "provider": "listmonk",
                "subscribe_url": f"{provider.url}/subscription/form",
                "subscribe_lists": [LIST_ID],
            },
        )
        shutil.copy(FIXTURES / "photo.svg", site / "photo.svg")
        edition(config, MON, issue=fixed_issue(image_base=base))
        edition(config, TUE, "draft", sent=True, issue=hostile_issue())
        assert publish_archive(config).issues == (TUE, MON)
        assert available(), "Chromium is missing: apt-get install -y chromium chromium-driver"
        with Browser() as browser:
            yield _Served(base, config, browser)


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_emails_link_opens_a_page_that_fits(served: _Served, width: int, scheme: str) -> None:
    browser = served.browser
    issue = replace(fixed_issue(image_base=served.base), date=MON)
    email = html.fromstring(render(issue, served.config).html)
    (link,) = email.xpath("//a[text()='View in your browser']/@href")
    assert link == f"{served.base}/issues/2026-03-02"  # no slash: the host redirects

    browser.viewport(width, 900, dark=scheme == "dark")
    browser.open(link)
    browser.wait_for("return [...document.images].every(i => i.complete)")
    view = browser.evaluate(_VIEW)
    browser.screenshot(ARTIFACTS / f"archive-issue-{width}-{scheme}.png")

    assert view["href"] == f"{served.base}/issues/2026-03-02/"
    assert view["canonical"] == view["ogUrl"] == view["href"]
    assert view["title"] == "The Tape for 2026-03-02 | The Morning Tape"
    assert view["innerWidth"] == width and view["scrollWidth"] <= width, "horizontal overflow"
    assert [h["text"] for h in view["headlines"]] == [s.headline for s in issue.stories]
    for h in view["headlines"]:
        assert h["shown"] and h["left"] >= 0 and h["right"] <= width and h["width"] > 100, h
    assert view["images"] and all(i["loaded"] and i["right"] <= width for i in view["images"])
    worst = min(view["texts"], key=lambda t: contrast(t["color"], t["background"]))
    assert contrast(worst["color"], worst["background"]) >= 4.5, worst


def test_a_story_script_never_runs(served: _Served) -> None:
    browser = served.browser
    browser.viewport(375, 900, dark=False)
    browser.open(f"{served.base}/issues/2026-03-03/")
    view = browser.evaluate(_VIEW)
    assert view["pwned"] is None
    assert view["headlines"][0]["text"] == HOSTILE
    assert view["scrollWidth"] <= 375


def test_the_index_leads_to_each_issue_newest_first(served: _Served) -> None:
    browser = served.browser
    browser.viewport(1280, 900, dark=False)
    browser.open(f"{served.base}/")
    links = browser.driver.find_elements(By.CSS_SELECTOR, "ol.issues a")
    assert [a.text for a in links] == ["The Tape for 2026-03-03", "The Tape for 2026-03-02"]
    browser.screenshot(ARTIFACTS / "archive-index-1280.png")
    links[1].click()
    browser.wait_for("return location.pathname === '/issues/2026-03-02/'")
    assert browser.evaluate("return document.querySelector('h2').textContent") == (
        fixed_issue().stories[0].headline
    )


def test_the_signup_form_posts_to_the_list_provider(served: _Served, provider: _Provider) -> None:
    browser = served.browser
    browser.viewport(375, 800, dark=False)
    browser.open(f"{served.base}/issues/2026-03-02/")
    browser.driver.find_element(By.LINK_TEXT, "Sign up here").click()
    browser.wait_for("return location.pathname === '/signup/'")
    view = browser.evaluate(_VIEW)
    assert view["scrollWidth"] <= 375
    browser.screenshot(ARTIFACTS / "archive-signup-375.png")
    browser.driver.find_element(By.ID, "email").send_keys("reader@example.test")
    browser.driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    browser.wait_for("return document.getElementById('thanks') !== null")
    assert provider.posts == [
        ("/subscription/form", {"email": ["reader@example.test"], "nonce": [""], "l": [LIST_ID]})
    ]


def test_the_feed_over_http_reads_back_through_ingest(served: _Served) -> None:
    feed = Feed(url=f"{served.base}/feed.atom", name="Archive", allow_internal=True)
    config = served.config.model_copy(update={"sources": Sources(feeds=(feed,))})
    with open_store(config.state_path) as store:
        result = ingest(config, store)
    (source,) = result.sources
    assert source.status == "ok", source.error
    assert [i.url for i in source.items] == [
        f"{served.base}/issues/2026-03-03/",
        f"{served.base}/issues/2026-03-02/",
    ]
    assert HOSTILE in source.items[0].text and "<script>" not in source.items[0].html
