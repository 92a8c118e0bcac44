"""The preview in real headless Chromium: index, issue page, live reload, drop, script, Host."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from preview_browser import available, chromium, screenshot
from preview_site import DAY, EDITION, draft_path
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from pipeline.config import Config
from pipeline.draft import parse_draft
from pipeline.edition import issue_dir
from pipeline.preview import PreviewServer

pytestmark = pytest.mark.slow  # headless Chromium

Q, H, B = "g1000000000000001", "g1000000000000002", "g1000000000000003"
REBIND = "rebind.test"  # a foreign name the browser resolves to 127.0.0.1

if not available():  # pragma: no cover - .ci/run installs chromium and chromium-driver
    pytest.fail("install Debian's chromium and chromium-driver (see .ci/run)", pytrace=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium(local_names=(REBIND,)) as driver:
        yield driver


def open_issue(browser: WebDriver, server: PreviewServer) -> None:
    browser.get(f"{server.url}issue/{DAY}")
    WebDriverWait(browser, 5).until(lambda d: d.find_elements(By.ID, "stories"))


def email_text(browser: WebDriver, frame: str) -> str:
    browser.switch_to.frame(browser.find_element(By.ID, f"frame-{frame}"))
    try:
        return str(browser.find_element(By.TAG_NAME, "body").text)
    finally:
        browser.switch_to.default_content()


_HEADLINE_LIGHTNESS = """
const leaf = [...document.querySelectorAll("body *")].find(
    (e) => e.childElementCount === 0 && e.textContent.includes(arguments[0]));
const rgb = getComputedStyle(leaf).color.match(/[0-9.]+/g).map(Number);
return (rgb[0] + rgb[1] + rgb[2]) / 3;
"""


def headline_lightness(browser: WebDriver, frame: str) -> float:
    """How light (0-255) the lead headline's text is drawn in one email frame."""
    browser.switch_to.frame(browser.find_element(By.ID, f"frame-{frame}"))
    try:
        return float(browser.execute_script(_HEADLINE_LIGHTNESS, "Quillon Sells Out"))
    finally:
        browser.switch_to.default_content()


def test_index_lists_issues_with_their_state(browser: WebDriver, server: PreviewServer) -> None:
    browser.get(server.url)
    row = browser.find_element(By.CSS_SELECTOR, f'#issues tr[data-date="{DAY}"]')
    assert "draft" in row.text and "Quillon Sells Out" in row.text
    screenshot(browser, "preview-index")
    row.find_element(By.TAG_NAME, "a").click()
    WebDriverWait(browser, 5).until(lambda d: d.current_url.endswith(f"/issue/{DAY}"))


def test_issue_page_shows_the_email_and_findings(browser: WebDriver, server: PreviewServer) -> None:
    open_issue(browser, server)
    widths = {
        f: browser.find_element(By.ID, f"frame-{f}").size["width"]
        for f in ("desktop", "phone", "dark")
    }
    assert abs(widths["desktop"] - 600) <= 4 and abs(widths["phone"] - 375) <= 4
    for frame in ("desktop", "phone", "dark"):
        assert "Halvorsen & Sons Buys Nordmarket" in email_text(browser, frame), frame
    # the dark view applies the email's own dark-mode rules: light text on dark
    assert headline_lightness(browser, "dark") > 128 > headline_lightness(browser, "desktop")
    # nut graf and context are in the email and on the desk; the fallback is badged
    assert "According to a Retail Brief report" in email_text(browser, "desktop")
    panel = browser.find_element(By.ID, f"story-{H}")
    assert "According to a Retail Brief report" in panel.text and "120 stores" in panel.text
    badge = browser.find_element(By.CSS_SELECTOR, f"#story-{B} .fallback")
    assert badge.is_displayed() and "its source lacks" in badge.text
    assert not browser.find_elements(By.CSS_SELECTOR, f"#story-{Q} .fallback")
    text_part = browser.find_element(By.ID, "text-part").text
    assert "HALVORSEN & SONS BUYS NORDMARKET" in text_part.upper()
    # the deliberate fact fault (600 where the source says 500) is linked to its story
    group = browser.find_element(By.ID, f"findings-{H}")
    assert "600" in group.text
    link = group.find_element(By.CSS_SELECTOR, f'a[href="#story-{H}"]')
    link.click()
    assert browser.current_url.endswith(f"#story-{H}")
    screenshot(browser, "preview-issue")


def test_saving_the_draft_refreshes_the_open_page_within_2s(
    browser: WebDriver, server: PreviewServer, site: Config
) -> None:
    open_issue(browser, server)
    time.sleep(0.5)  # the page is polling; the watcher is running
    path = draft_path(site)
    new = "Halvorsen Closes In On Nordmarket. Shoppers Wait For Cheaper Milk."
    old = parse_draft(path.read_text(encoding="utf-8")).stories[1].headline
    start = time.monotonic()
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    # the page reloads itself: an element may go stale while it is read
    WebDriverWait(
        browser, 2.0, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,)
    ).until(lambda d: new in d.find_element(By.ID, f"story-{H}").text)
    elapsed = time.monotonic() - start
    assert new in email_text(browser, "desktop")
    assert elapsed < 2.0
    screenshot(browser, "preview-live-reload")


def test_a_broken_draft_shows_its_line_over_the_last_good_render(
    browser: WebDriver, server: PreviewServer, site: Config
) -> None:
    open_issue(browser, server)
    path = draft_path(site)
    path.write_text(
        path.read_text(encoding="utf-8").replace("status: draft", "status: maybe"), encoding="utf-8"
    )
    WebDriverWait(browser, 2.0, poll_frequency=0.05).until(
        lambda d: d.find_elements(By.ID, "render-error")
    )
    error = browser.find_element(By.ID, "render-error").text
    assert f"{path}:" in error and "status" in error
    assert "Halvorsen & Sons Buys Nordmarket" in email_text(browser, "desktop")
    screenshot(browser, "preview-broken-draft")


def test_a_story_dropped_in_the_page_leaves_draft_and_email(
    browser: WebDriver, server: PreviewServer, site: Config
) -> None:
    open_issue(browser, server)
    story = browser.find_element(By.ID, f"story-{H}")
    story.find_element(By.CSS_SELECTOR, "form.drop button").click()
    WebDriverWait(browser, 5).until(lambda d: d.find_elements(By.ID, "flash"))
    assert "dropped story" in browser.find_element(By.ID, "flash").text
    assert not browser.find_elements(By.ID, f"story-{H}")
    ids = [s.id for s in parse_draft(draft_path(site).read_text(encoding="utf-8")).stories]
    assert ids == [Q, B]
    html = (issue_dir(site, EDITION) / "issue.html").read_text(encoding="utf-8")
    assert "Nordmarket" not in html
    assert "Nordmarket" not in email_text(browser, "desktop")
    screenshot(browser, "preview-dropped")


def test_story_order_buttons_move_stories(
    browser: WebDriver, server: PreviewServer, site: Config
) -> None:
    open_issue(browser, server)
    browser.find_element(By.ID, f"story-{B}").find_element(
        By.CSS_SELECTOR, "form.up button"
    ).click()
    WebDriverWait(browser, 5).until(lambda d: d.find_elements(By.ID, "flash"))
    order = [
        e.get_attribute("data-story") for e in browser.find_elements(By.CSS_SELECTOR, "li.story")
    ]
    assert order == [Q, B, H]
    ids = [s.id for s in parse_draft(draft_path(site).read_text(encoding="utf-8")).stories]
    assert ids == [Q, B, H]


def test_feed_script_never_runs(browser: WebDriver, server: PreviewServer) -> None:
    open_issue(browser, server)
    title = browser.title
    time.sleep(0.3)  # give any injected handler time to fire
    assert browser.title == title and "pwned" not in browser.title
    story = browser.find_element(By.ID, f"story-{B}").text
    assert "<script>document.title='pwned'</script>" in story  # shown as text
    assert browser.execute_script("return document.querySelectorAll('main script').length") == 0
    assert (
        browser.execute_script("return document.querySelectorAll('[onerror], img[src=x]').length")
        == 0
    )
    for frame in ("desktop", "dark"):
        browser.switch_to.frame(browser.find_element(By.ID, f"frame-{frame}"))
        try:
            assert "pwned" not in browser.title
            assert browser.execute_script("return document.scripts.length") == 0
        finally:
            browser.switch_to.default_content()
    screenshot(browser, "preview-script-escaped")


def test_a_foreign_host_is_refused(browser: WebDriver, server: PreviewServer) -> None:
    # DNS rebinding: a foreign name that resolves to 127.0.0.1 reaches the server
    browser.get(f"http://{REBIND}:{server.port}/")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "421" in body and "Test Ledger" not in body
    screenshot(browser, "preview-foreign-host")
