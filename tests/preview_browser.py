"""Headless Chromium for the preview tests, on top of ``tests/browser.py``.

It uses the same browser, driver and flags as the email tests; the only
difference is the host resolver: a test may name hosts that resolve to
127.0.0.1 (to play a DNS-rebinding attacker), every other name still fails, so
nothing a page loads can leave the machine. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from browser import CHROMEDRIVER, CHROMIUM, FLAGS, available
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

__all__ = ["ARTIFACTS", "available", "chromium", "screenshot"]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
_RESOLVER = "--host-resolver-rules="


@contextmanager
def chromium(
    *, width: int = 1500, height: int = 1100, local_names: tuple[str, ...] = ()
) -> Iterator[WebDriver]:
    """A headless Chromium; ``local_names`` resolve to 127.0.0.1, every other name fails."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        if not flag.startswith(_RESOLVER):
            options.add_argument(flag)
    rules = [f"MAP {name} 127.0.0.1" for name in local_names]
    rules.append("MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost")
    options.add_argument(_RESOLVER + ", ".join(rules))
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception:
        shutil.rmtree(profile, ignore_errors=True)
        raise
    driver.set_page_load_timeout(15)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver: WebDriver, name: str) -> Path:
    """Save the current page as ``test-artifacts/<name>.png``; return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(target))
    return target
