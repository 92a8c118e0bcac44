"""Shared helpers for the scheduler, lock, alert and crash tests (not a test module).

``make_config`` copies ``fixtures/schedule/base-config.yaml`` into a temporary folder,
merges the test's own keys over it and loads it through the real config loader.
``AlertServer`` is a real HTTP server on 127.0.0.1 that records the JSON it is sent.
``Scheduler`` is a `newsletter schedule` process whose JSON log lines a test waits for.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
import yaml
from loopback import running
from newsletter_cli import CLI

from pipeline.config import Config, load_config

FIXTURES = Path(__file__).parent / "fixtures"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def make_config(
    folder: Path,
    extra: dict[str, Any] | None = None,
    base: Path = FIXTURES / "schedule" / "base-config.yaml",
) -> Config:
    """Write a config into ``folder`` (the base fixture plus ``extra``) and load it."""
    data = _merge(yaml.safe_load(base.read_text(encoding="utf-8")), extra or {})
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_config(path)


class AlertServer:
    """Records every POST body; answers with ``status`` after ``delay`` seconds."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.status = status
        self.delay = delay
        self.received: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                owner.received.append(
                    {
                        "path": self.path,
                        "type": self.headers.get("Content-Type"),
                        "json": json.loads(body),
                    }
                )
                time.sleep(owner.delay)
                try:
                    self.send_response(owner.status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"no")
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @contextmanager
    def running(self) -> Iterator[AlertServer]:
        with running(self.server):
            yield self


def make_site(folder: Path, extra: dict[str, Any] | None = None) -> Config:
    """A newsletter folder whose one feed has five items published in the last hours,
    so a build for today's edition has stories whatever the clock says."""
    now = datetime.now(UTC)
    values = {f"published_{i}": format_datetime(now - timedelta(hours=i)) for i in range(1, 6)}
    template = (FIXTURES / "schedule" / "fresh-feed.xml.tmpl").read_text(encoding="utf-8")
    (folder / "feed.xml").write_text(template.format(**values), encoding="utf-8")
    site = {
        "sources": {"feeds": [{"url": "feed.xml", "name": "Harbor Street Journal"}]},
        "issue": {"stories": 3, "quick_links": 2, "max_age_hours": 48},
    }
    return make_config(folder, _merge(site, extra or {}))


def add_feed_item(config: Config, item_xml: str) -> None:
    """Append one ``<item>...</item>`` to the feed ``make_site`` wrote."""
    feed = Path(config.root) / "feed.xml"
    text = feed.read_text(encoding="utf-8").replace("</channel>", item_xml + "\n</channel>")
    feed.write_text(text, encoding="utf-8")


REPO = Path(__file__).resolve().parent.parent


def copy_shipped_site(folder: Path) -> Path:
    """The shipped config.yaml with its bundled sources, copied into ``folder``."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    for name in ("samples", "inbox"):
        shutil.copytree(REPO / name, folder / name)
    shutil.copy(REPO / "config.yaml", folder / "config.yaml")
    return folder


def run_build(config: Config, *args: str) -> subprocess.CompletedProcess[str]:
    """`newsletter build` of ``config`` through the installed CLI."""
    return subprocess.run(
        [CLI, "build", "--config", str(Path(config.root) / "config.yaml"), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


class Scheduler:
    """A `newsletter schedule --log-format json` process whose log lines arrive in a queue.

    Every one started is killed after its test, passed or failed (``kill_leftovers``, run by
    the autouse fixture ``no_scheduler_left_running``, which the modules starting schedulers
    import): a failed assertion never leaves a scheduler running.
    """

    started: ClassVar[list[subprocess.Popen[str]]] = []

    @classmethod
    def kill_leftovers(cls) -> None:
        while cls.started:
            proc = cls.started.pop()
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)

    def __init__(self, config: Config | None, *args: str) -> None:
        # no config: the arguments name what to schedule (`--all --deployment FILE`)
        named = [] if config is None else ["--config", str(Path(config.root) / "config.yaml")]
        self.proc = subprocess.Popen(
            [CLI, "schedule", *named, "--log-format", "json", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        Scheduler.started.append(self.proc)
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(json.loads(line))  # every line must be one JSON object

    def wait_for(self, prefix: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                record = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(record)
            if record["message"].startswith(prefix):
                return record
        pytest.fail(f"no log line starting {prefix!r}; saw {[r['message'] for r in self.seen]}")

    def finish(self, timeout: float = 20) -> int:
        code = self.proc.wait(timeout=timeout)
        time.sleep(0.1)  # let the reader thread drain the pipe
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code

    def messages(self) -> list[str]:
        return [r["message"] for r in self.seen]


@pytest.fixture(autouse=True)
def no_scheduler_left_running() -> Iterator[None]:
    """A scheduler process a test started never outlives it, even when the test fails."""
    yield
    Scheduler.kill_leftovers()


def local_zone() -> str:
    """A zone where it is now between 02:00 and 22:00, so 'a few minutes ago' is today."""
    for zone in ("America/New_York", "Europe/London", "Asia/Tokyo"):
        if 2 <= datetime.now(ZoneInfo(zone)).hour < 22:
            return zone
    raise AssertionError("three zones 5 and 9 hours apart cannot all be near midnight")


def at(zone: str, minutes: int) -> str:
    return (datetime.now(ZoneInfo(zone)) + timedelta(minutes=minutes)).strftime("%H:%M")
