"""Drive Debian's /usr/bin/chromium headless through /usr/bin/chromedriver (selenium).

The browser starts with a fresh profile and no background networking, and its
host resolver maps every name to "not found" except the ones a test maps to
127.0.0.1, so nothing it loads can leave the machine. Screenshots go to
``test-artifacts/`` at the project root (ignored by git).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def available() -> bool:
    """True when Chromium and its driver are installed."""
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


@contextmanager
def chromium(
    *, width: int = 1500, height: int = 1100, local_names: tuple[str, ...] = ()
) -> Iterator[WebDriver]:
    """A headless Chromium; ``local_names`` resolve to 127.0.0.1, every other name fails."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    rules = [f"MAP {name} 127.0.0.1" for name in local_names]
    rules.append("MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost")
    options.add_argument("--host-resolver-rules=" + ", ".join(rules))
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
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
