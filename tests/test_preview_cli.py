"""`newsletter preview`: serves on 127.0.0.1 from the installed CLI, opens no browser."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from newsletter_cli import CLI
from preview_site import EDITION, make_site

pytestmark = pytest.mark.slow  # the installed CLI in a process


def test_preview_command_serves_the_site_on_loopback(tmp_path: Path) -> None:
    config = make_site(tmp_path)
    proc = subprocess.Popen(
        [CLI, "preview", "--config", config.file, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "BROWSER": "false"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, line + (proc.stderr.read() if proc.stderr else "")
        conn = http.client.HTTPConnection("127.0.0.1", int(m.group(1)), timeout=10)
        conn.request("GET", f"/issue/{EDITION.isoformat()}")
        resp = conn.getresponse()
        assert resp.status == 200 and b"Quillon Sells Out" in resp.read()
        conn.close()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_preview_help_names_its_options() -> None:
    out = subprocess.run([CLI, "preview", "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "--port" in out.stdout and "--open" in out.stdout


def test_a_busy_port_is_a_one_line_error(tmp_path: Path) -> None:
    config = make_site(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run(
            [CLI, "preview", "--config", config.file, "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and f"127.0.0.1:{port}" in out.stderr
    assert "--port" in out.stderr
