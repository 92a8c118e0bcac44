"""`newsletter summarize`: every story part per output line, the fallback mark and the flag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli

FIXTURES = Path(__file__).parent / "fixtures" / "summarize"
PARTS = ("headline", "dek", "hook", "nut_graf", "section", "context", "lead_in", "kicker")


def test_each_line_carries_every_part_the_fallback_and_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = (FIXTURES / "articles.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    # too short for a house-style story: the checker flags what the engine can make of it
    thin = json.dumps({"id": "thin", "title": "Rates", "text": "Rates rose."})
    (tmp_path / "in.jsonl").write_text("\n".join([*good, thin]) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no ./config.yaml here: the offline engine
    result = CliRunner().invoke(cli, ["summarize", "in.jsonl", "out.jsonl"])
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [w["id"] for w in written] == ["business-funding", "markets-rates", "thin"]
    for w in written:
        assert all(isinstance(w[part], str) for part in PARTS)
        assert isinstance(w["bullets"], list)
        assert w["fallback"] == "", "the offline engine was asked: it is no fallback"
        assert w["flagged"] == bool(w["style"] or w["facts"] or w["fallback"])
    assert written[2]["flagged"], "the thin article's story has findings"
    flagged = sum(1 for w in written if w["flagged"])
    closing = f"3 stories written to out.jsonl; {flagged} flagged (0 by the offline fallback);"
    assert closing in result.output
