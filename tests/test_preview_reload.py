"""Live reload from templates and the house style: a save re-renders the open issue."""

from __future__ import annotations

import http.client
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from preview_site import EDITION, make_site

from pipeline.build import issue_dir
from pipeline.config import Config
from pipeline.preview import PreviewServer, make_app

DAY = EDITION.isoformat()


@pytest.fixture
def site(tmp_path: Path) -> Config:
    return make_site(tmp_path)


@pytest.fixture
def server(site: Config) -> Iterator[PreviewServer]:
    with make_app(site, port=0).start() as srv:
        yield srv


def get(srv: PreviewServer, path: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request("GET", path, headers={"Host": f"localhost:{srv.port}"})
    body = conn.getresponse().read().decode("utf-8")
    conn.close()
    return body


def changed_version(srv: PreviewServer, old: str, timeout: float = 2.0) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        version = str(json.loads(get(srv, f"/api/version?date={DAY}"))["version"])
        if version != old:
            return version
        time.sleep(0.05)
    raise AssertionError(f"no re-render within {timeout} s")


def opened(srv: PreviewServer) -> str:
    get(srv, f"/issue/{DAY}")
    return str(json.loads(get(srv, f"/api/version?date={DAY}"))["version"])


def test_a_broken_template_shows_its_name_and_line_then_recovers(
    server: PreviewServer, site: Config
) -> None:
    template = site.templates_path / "issue.mjml.j2"
    good = template.read_text(encoding="utf-8")
    html_before = (issue_dir(site, EDITION) / "issue.html").read_text(encoding="utf-8")
    version = opened(server)
    template.write_text(good + "\n{% if unfinished\n", encoding="utf-8")
    version = changed_version(server, version)
    page = get(server, f"/issue/{DAY}")
    error = re.search(r'id="render-error">(.*?)</div>', page, re.S)
    assert error and re.search(r"issue\.mjml\.j2:\d+", error.group(1)), page[:2000]
    assert (issue_dir(site, EDITION) / "issue.html").read_text(encoding="utf-8") == html_before
    template.write_text(good, encoding="utf-8")
    changed_version(server, version)
    assert 'id="render-error"' not in get(server, f"/issue/{DAY}")


def test_saving_the_house_style_re_renders(server: PreviewServer, site: Config) -> None:
    style = site.templates_path / "house-style.yaml"
    version = opened(server)
    style.write_text(
        style.read_text(encoding="utf-8") + "\n# touched by the editor\n", encoding="utf-8"
    )
    changed_version(server, version)
