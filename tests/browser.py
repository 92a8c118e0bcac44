"""A small driver for Debian's headless Chromium, shared by the email and preview tests.

In: a URL (file:// or http://127.0.0.1), a viewport width and a colour scheme.
Out: screenshots (PNG files) and the values of JavaScript expressions; ``contrast``
rates a text colour against its background as WCAG does.

Chromium is driven through Selenium and the Debian chromedriver, never a
downloaded browser. The viewport is set through the DevTools protocol because
headless Chromium will not make a window narrower than 500 px. Host resolution
is pinned to loopback so a page can never reach the network.

    with Browser() as b:
        b.viewport(375, dark=True)
        b.open(url)
        b.evaluate("return document.title")
        b.wait_for("return document.readyState === 'complete'")
        b.screenshot(Path("test-artifacts/page.png"))
"""

from __future__ import annotations

import base64
import re
import shutil
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
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
    "--hide-scrollbars",
    # every host name resolves to nothing except loopback: no page reaches the network
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
)


def _rgb(css: str) -> tuple[float, float, float]:
    r, g, b = (float(x) for x in re.findall(r"[\d.]+", css)[:3])
    return r, g, b


def luminance(css: str) -> float:
    """WCAG relative luminance of a CSS rgb() colour."""

    def channel(v: float) -> float:
        v /= 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = _rgb(css)
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def available() -> bool:
    """True when Chromium and chromedriver are installed (``.ci/run`` installs them)."""
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


class Browser:
    """One headless Chromium with a fresh profile; close it (or use ``with``)."""

    def __init__(self, width: int = 600, height: int = 900, *, timeout: float = 10.0) -> None:
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self._profile}")
        options.add_argument(f"--window-size={max(width, 500)},{height}")
        try:
            self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        except Exception:
            shutil.rmtree(self._profile, ignore_errors=True)
            raise
        self.driver.set_page_load_timeout(timeout)
        self.driver.set_script_timeout(timeout)
        self.viewport(width, height)

    def viewport(self, width: int, height: int = 900, *, dark: bool | None = None) -> None:
        """Set the layout viewport (any width, even under 500 px) and the colour scheme."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500},
        )
        if dark is not None:
            self.color_scheme(dark=dark)

    def color_scheme(self, *, dark: bool) -> None:
        """Emulate ``prefers-color-scheme`` (light or dark)."""
        self.driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]},
        )

    def open(self, url: str) -> None:
        """Load a page and wait for it (file:// or loopback http only)."""
        self.driver.get(url)

    def evaluate(self, script: str, *args: Any) -> Any:
        """Run JavaScript in the page; ``return`` a value to get it back."""
        return self.driver.execute_script(script, *args)

    def wait_for(self, script: str, *, timeout: float = 5.0, interval: float = 0.05) -> Any:
        """Evaluate ``script`` until it returns something truthy; that value, or TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(script)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"not true after {timeout} s: {script}")
            time.sleep(interval)

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        """Write a PNG of the viewport, or of the whole page height."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", params)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        """Quit Chromium and remove its profile folder."""
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
