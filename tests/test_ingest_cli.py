"""`newsletter ingest`: --source overrides, --format json, exit status."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from configs import NEWSLETTER_YAML
from feedserver import feed_route, fixture, serve, status

from pipeline.cli import cli

CONFIG = (
    NEWSLETTER_YAML
    + """\
sources:
  feeds:
    - {url: feeds/desk.rss, name: Harbour}
paths: {state: state.sqlite3}
fetch: {timeout: 2, retries: 0}
"""
)


def setup(tmp_path: Path) -> Path:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "desk.rss").write_bytes(fixture("own/desk.rss"))
    cfg = tmp_path / "config.yaml"
    cfg.write_text(CONFIG, encoding="utf-8")
    return cfg


def test_json_prints_one_object_per_source_and_exits_0_on_partial_failure(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    with serve({"/a.atom": feed_route(fixture("own/desk.atom")), "/x": status(500)}) as srv:
        # the server is on 127.0.0.1: the config entries allow it, --source picks them
        entries = "".join(
            f"    - {{url: '{srv.url(p)}', allow_internal: true}}\n" for p in ("/a.atom", "/x")
        )
        text = cfg.read_text(encoding="utf-8")
        cfg.write_text(text.replace("Harbour}\n", "Harbour}\n" + entries), encoding="utf-8")
        result = CliRunner().invoke(
            cli,
            [
                "ingest",
                "--config",
                str(cfg),
                "--source",
                srv.url("/a.atom"),
                "--source",
                srv.url("/x"),
                "--format",
                "json",
            ],
        )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["source"] for r in rows] == [srv.url("/a.atom"), srv.url("/x")]
    assert rows[0]["status"] == "ok" and rows[0]["items"] == 3 and rows[0]["error"] == ""
    assert rows[1]["status"] == "error" and rows[1]["items"] == 0
    assert rows[1]["error"].startswith(srv.url("/x") + ": HTTP 500")


def test_human_output_uses_the_configured_feeds(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    result = CliRunner().invoke(cli, ["ingest", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "feeds/desk.rss: 3 items, 3 new" in result.output
    assert "1 sources, 0 failed, 3 new items" in result.output


def test_exit_1_when_every_source_failed(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    result = CliRunner().invoke(
        cli,
        [
            "ingest",
            "--config",
            str(cfg),
            "--source",
            str(tmp_path / "nope.xml"),
        ],
    )
    assert result.exit_code == 1
    assert f"FAIL {tmp_path / 'nope.xml'}: cannot read: No such file or directory" in result.output


def test_config_error_is_one_line_with_file_and_key(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    cfg.write_text(CONFIG.replace("retries: 0", "retries: 0, max_redirect: 3"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["ingest", "--config", str(cfg)])
    assert result.exit_code == 2
    assert "config.yaml:11: key 'fetch.max_redirect': unknown key" in result.output
