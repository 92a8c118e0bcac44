"""YAML aliases and duplicate keys are refused wherever a YAML file is read.

A 600-byte alias list stands for 9**10 values: config.yaml reached 10.9 GB before it
was killed and inbox front matter ended in MemoryError. Now each is one error line
naming the file and the line of the first alias, at once.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from configs import NEWSLETTER_YAML

from pipeline.config import load_config
from pipeline.draft import parse_draft
from pipeline.errors import ConfigError, DraftError, SummarizeError
from pipeline.ingest import ingest
from pipeline.safe_yaml import load_yaml
from pipeline.store import open_store
from pipeline.summarize import load_house_style

LEVELS = [f"&a [{', '.join(['x'] * 9)}]"] + [
    f"&{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(9)
]
BOMB = "".join(f"k{n}: {level}\n" for n, level in enumerate(LEVELS))  # about 600 bytes


def test_an_alias_bomb_in_the_config_is_one_error_line(tmp_path: Path) -> None:
    p = tmp_path / "config.yaml"
    p.write_text(NEWSLETTER_YAML + BOMB, encoding="utf-8")
    t0 = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        load_config(p)
    assert time.perf_counter() - t0 < 1.0
    assert str(err.value) == (
        f"{p}:8: invalid YAML: aliases (*a) are not allowed here: write the value out"
    )


def test_duplicate_keys_in_the_config_are_an_error(tmp_path: Path) -> None:
    p = tmp_path / "config.yaml"
    p.write_text(NEWSLETTER_YAML + "issue: {stories: 4}\nissue: {stories: 9}\n", "utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(p)
    assert str(err.value) == f"{p}:8: invalid YAML: duplicate key 'issue' (first given on line 7)"


def test_an_alias_bomb_in_front_matter_is_refused(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    story = inbox / "bomb.md"
    story.write_text(f"---\ntitle: [{', '.join(LEVELS)}]\n---\nBody.\n", encoding="utf-8")
    dup = inbox / "twice.md"
    dup.write_text("---\ntitle: One\nurl: https://x.example/a\ntitle: Two\n---\nBody.\n", "utf-8")
    p = tmp_path / "config.yaml"
    p.write_text(NEWSLETTER_YAML + "sources: {inbox: inbox}\npaths: {state: s.sqlite3}\n", "utf-8")
    cfg = load_config(p)
    t0 = time.perf_counter()
    with open_store(cfg.state_path) as store:
        res = {r.source: r for r in ingest(cfg, store).sources}
    assert time.perf_counter() - t0 < 2.0
    assert res[str(story)].error == (
        f"{story}:2: malformed front matter: aliases (*a) are not allowed here: write the value out"
    )
    assert res[str(dup)].error == (
        f"{dup}:4: malformed front matter: duplicate key 'title' (first given on line 2)"
    )


@pytest.mark.slow
def test_load_yaml_reads_what_safe_load_reads() -> None:
    text = "a: [1, 2.5, x]\nb: {c: 2026-11-27, d: null}\ne: &anchor-alone yes\n"
    assert load_yaml(text) == yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError, match="nested too deeply"):
        load_yaml("[" * 100_000)


def test_an_alias_bomb_in_the_draft_front_matter_is_one_error_line() -> None:
    text = f"---\nedition: 2026-11-27\nstories: [{', '.join(LEVELS)}]\n---\n\n## A\n"
    t0 = time.perf_counter()
    with pytest.raises(DraftError) as err:
        parse_draft(text, file="draft.md")
    assert time.perf_counter() - t0 < 1.0
    assert str(err.value) == (
        "draft.md:3: front matter is not valid YAML: "
        "aliases (*a) are not allowed here: write the value out"
    )


def test_an_alias_in_the_house_style_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "house-style.yaml"
    p.write_text(f"rules: []\nvocabulary: {{bomb: [{', '.join(LEVELS)}]}}\n", "utf-8")
    with pytest.raises(SummarizeError, match="aliases"):
        load_house_style(p)
