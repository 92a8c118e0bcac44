"""The rendered email in real headless Chromium: 375 px and 600 px wide, light and dark.

The fixed issue is served from 127.0.0.1 with its story image; each view is saved
to test-artifacts/ and checked: no horizontal overflow, every story headline
visible and on top, and text contrast of at least 4.5:1 in both colour schemes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import Browser, available, contrast, luminance
from loopback import serving
from render_samples import FIXTURES, fixed_issue, render_config

from pipeline.render import render

pytestmark = pytest.mark.slow  # headless Chromium

ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"

# Reads every text element's colour and the first opaque background behind it.
_PROBE = """
const vw = window.innerWidth;
function background(el) {
  for (let e = el; e; e = e.parentElement) {
    const c = getComputedStyle(e).backgroundColor;
    if (c && c !== 'transparent' && !/rgba\\(.*, 0\\)$/.test(c)) return c;
  }
  return 'rgb(255, 255, 255)';
}
const headlines = [...document.querySelectorAll('h2')].map(h => {
  h.scrollIntoView({block: 'center'});
  const r = h.getBoundingClientRect();
  const cs = getComputedStyle(h);
  const top = document.elementFromPoint(Math.max(r.left + 4, 0), r.top + r.height / 2);
  return {text: h.textContent, left: r.left, right: r.right, width: r.width, height: r.height,
          shown: cs.visibility === 'visible' && cs.display !== 'none' && Number(cs.opacity) > 0,
          onTop: top !== null && (top === h || h.contains(top))};
});
window.scrollTo(0, 0);
const texts = [...document.querySelectorAll('h1, h2, h3, p, li, a, strong')]
  .filter(e => e.textContent.trim() && e.getClientRects().length)
  .map(e => ({tag: e.tagName, text: e.textContent.trim().slice(0, 40),
              color: getComputedStyle(e).color, background: background(e)}));
const images = [...document.images].map(i => ({right: i.getBoundingClientRect().right,
                                               loaded: i.complete && i.naturalWidth > 0}));
return {innerWidth: vw, scrollWidth: document.documentElement.scrollWidth,
        headlines, texts, images};
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("email")
    with serving(folder) as base:  # files are read per request: written once the port is known
        rendered = render(fixed_issue(image_base=base), render_config())
        (folder / "issue.html").write_text(rendered.html, encoding="utf-8")
        (folder / "photo.svg").write_bytes((FIXTURES / "photo.svg").read_bytes())
        yield f"{base}/issue.html"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert available(), "Chromium is missing: apt-get install -y chromium chromium-driver"
    with Browser() as b:
        yield b


@pytest.mark.parametrize("width", [375, 600])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_email_in_chromium(browser: Browser, served: str, width: int, scheme: str) -> None:
    browser.viewport(width, 900, dark=scheme == "dark")
    browser.open(served)
    browser.wait_for("return [...document.images].every(i => i.complete)")
    view = browser.evaluate(_PROBE)
    browser.screenshot(ARTIFACTS / f"email-{width}-{scheme}.png")

    assert view["innerWidth"] == width
    assert view["scrollWidth"] <= width, "horizontal overflow"
    assert [h["text"] for h in view["headlines"]] == [s.headline for s in fixed_issue().stories]
    for h in view["headlines"]:
        assert h["shown"] and h["onTop"], h
        assert h["width"] > 100 and h["height"] > 20, h
        assert h["left"] >= 0 and h["right"] <= width, h
    assert view["images"] and all(i["loaded"] and i["right"] <= width for i in view["images"])

    worst = min(view["texts"], key=lambda t: contrast(t["color"], t["background"]))
    assert contrast(worst["color"], worst["background"]) >= 4.5, worst
    page = luminance(view["texts"][0]["background"])
    assert (page < 0.05) if scheme == "dark" else (page > 0.8)
