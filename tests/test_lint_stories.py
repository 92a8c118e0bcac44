"""``newsletter lint --stories FILE``: the gate on stories written elsewhere, one verdict a story.

Input: one JSON object a line, ``{"article": {"id","source","title","text"}, "story": {...}}``.
Output: text, or one JSON object a line ``{"id","findings":[{"rule","severity","part",
"message"}]}``. Exit 0 when no story has an error, 1 when one has, 2 when the input cannot be
read (the message names the file and line).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from test_gate import ARTICLE, GOOD

from pipeline.cli import cli

STORY_KEYS = ("headline", "dek", "hook", "nut_graf", "section", "context", "lead_in")


def _story(**change: Any) -> dict[str, Any]:
    data = {k: getattr(GOOD, k) for k in (*STORY_KEYS, "kicker_label", "kicker")}
    data["bullets"] = list(GOOD.bullets)
    data.update(change)
    return data


def _line(story: dict[str, Any], **article: str) -> str:
    art = {k: v for k, v in asdict(ARTICLE).items() if k in ("id", "source", "title", "text")}
    return json.dumps({"article": {**art, **article}, "story": story})


BAD = _story(bullets=[GOOD.bullets[0], GOOD.bullets[0]])  # twin bullets: no-repeat
WARNED = _story(hook="Call it the Jay Gatsby school of factory openings: one maker in Sheffield.")


@pytest.fixture
def lint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run ``lint --stories`` on the given lines, outside any newsletter folder."""
    monkeypatch.chdir(tmp_path)  # no config.yaml here: the shipped house style
    path = tmp_path / "stories.jsonl"

    def run(*lines: str, fmt: str = "text") -> Result:
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        return CliRunner().invoke(cli, ["lint", "--stories", str(path), "--format", fmt])

    run.path = path  # type: ignore[attr-defined]
    return run


def _json(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_a_good_story_exits_0(lint: Any) -> None:
    result = lint(_line(_story()))
    assert result.exit_code == 0, result.output
    assert result.stdout == "fern: ok (0 finding(s))\n"


def test_a_blocked_story_exits_1_and_names_its_findings(lint: Any) -> None:
    result = lint(_line(_story()), _line(BAD, id="twin"))
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "fern: ok (0 finding(s))"
    assert lines[1].startswith("twin: blocked (")
    assert any(
        line.startswith("  error: bullets[1]: [no-repeat] bullets[1] repeats bullets[0]")
        for line in lines
    )


def test_json_gives_one_object_a_story(lint: Any) -> None:
    result = lint(_line(_story()), _line(BAD, id="twin"), _line(WARNED, id="gatsby"), fmt="json")
    assert result.exit_code == 1, result.output
    rows = _json(result)
    assert [r["id"] for r in rows] == ["fern", "twin", "gatsby"]
    assert all(set(r) == {"id", "findings"} for r in rows)
    assert rows[0]["findings"] == []
    for finding in rows[1]["findings"] + rows[2]["findings"]:
        assert set(finding) == {"rule", "severity", "part", "message"}
    assert {"rule": "no-repeat", "severity": "error", "part": "bullets[1]"}.items() <= (
        rows[1]["findings"][0].items()
    )
    assert [(f["rule"], f["severity"], f["part"]) for f in rows[2]["findings"]] == [
        ("fact-name", "warning", "hook")
    ]


def test_warnings_alone_exit_0(lint: Any) -> None:
    result = lint(_line(WARNED), fmt="json")
    assert result.exit_code == 0, result.output
    (row,) = _json(result)
    assert [f["severity"] for f in row["findings"]] == ["warning"]


def test_a_missing_story_part_is_a_finding_not_a_crash(lint: Any) -> None:
    story = _story()
    del story["kicker"], story["nut_graf"]
    result = lint(_line(story), fmt="json")
    assert result.exit_code == 1, result.output
    (row,) = _json(result)
    empty = {(f["rule"], f["part"]) for f in row["findings"]}
    assert {("not-empty", "kicker"), ("not-empty", "nut_graf")} <= empty
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_an_article_without_title_or_source_is_read(lint: Any) -> None:
    art = json.dumps({"article": {"id": "bare", "text": ARTICLE.text}, "story": _story()})
    result = lint(art, fmt="json")
    assert result.exit_code in (0, 1), result.output
    assert _json(result)[0]["id"] == "bare"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "invalid JSON"),
        ('["a list"]', "a line must be a JSON object"),
        (json.dumps({"story": {}}), 'needs an "article" object and a "story" object'),
        (_line(_story(bullets="one bullet")), "story.bullets must be a list of strings"),
        (_line(_story(dek=7)), "story.dek must be a string"),
        (json.dumps({"article": {"id": "x"}, "story": {}}), "article.text must be a string"),
    ],
)
def test_unreadable_input_exits_2_and_names_the_line(lint: Any, bad: str, message: str) -> None:
    result = lint(_line(_story()), "", bad)  # a blank line is skipped but still counted
    assert result.exit_code == 2, result.output
    assert f"error: {lint.path}:3: " in result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_missing_file_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["lint", "--stories", str(tmp_path / "nowhere.jsonl")])
    assert result.exit_code == 2
    assert "nowhere.jsonl: cannot read" in result.output
