"""Shared fixtures: the loopback chat-completions server, LLM configs, and the shared eval set
(dev articles and desk stories) read in place: it is never copied into the repository, and a
test that needs it fails (never skips) when it is missing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from llmserver import ChatServer, serve

from pipeline.config import LLM, Config, Newsletter, Sender, Summarizer
from pipeline.models import Article

ROOT = Path(__file__).resolve().parents[1]


def _eval_dirs() -> list[Path]:
    """Where the shared eval set may be: beside this checkout, else beside its main checkout.

    It is never copied into the repository. A git worktree (``.git`` is a file naming its
    gitdir) sits elsewhere, so the main checkout's neighbour is tried as well.
    """
    dirs = [ROOT.parent / "shared" / "eval"]
    dotgit = ROOT / ".git"
    if dotgit.is_file() and dotgit.read_text().startswith("gitdir:"):
        gitdir = Path(dotgit.read_text().split(":", 1)[1].strip())
        common = gitdir / "commondir"
        if common.is_file():
            main = (gitdir / common.read_text().strip()).resolve().parent
            dirs.append(main.parent / "shared" / "eval")
    return dirs


EVAL = next((d for d in _eval_dirs() if d.is_dir()), _eval_dirs()[0])


@dataclass(frozen=True)
class DeskCase:
    """One dev article and the story a desk editor wrote for it in the house style."""

    article: Article
    story: dict[str, Any]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: this test reads the shared eval set (dev.jsonl, desk.jsonl), "
            f"looked for in {', '.join(map(str, _eval_dirs()))}; put shared/ beside the repository"
        )
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def dev() -> list[Article]:
    """The 100 dev articles (CNN or Daily Mail as the outlet), in file order."""
    rows = _read_jsonl(EVAL / "dev.jsonl")
    articles = [
        Article(id=r["id"], title=r.get("title", ""), text=r["text"], source=r.get("source", ""))
        for r in rows
    ]
    assert len(articles) == 100, f"expected 100 dev articles in {EVAL}, found {len(articles)}"
    return articles


@pytest.fixture(scope="session")
def desk(dev: list[Article]) -> list[DeskCase]:
    """The 30 desk-written stories with their articles (joined on id with dev.jsonl)."""
    by_id = {a.id: a for a in dev}
    cases = []
    for row in _read_jsonl(EVAL / "desk.jsonl"):
        if row["id"] not in by_id:
            pytest.fail(f"desk story {row['id']} has no article in {EVAL / 'dev.jsonl'}")
        cases.append(DeskCase(by_id[row["id"]], row["story"]))
    assert len(cases) == 30, f"expected 30 desk stories in {EVAL}, found {len(cases)}"
    return cases


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    """A chat-completions server on 127.0.0.1 that accepts every response_format."""
    with serve() as server:
        yield server


def make_config(base_url: str, **llm: Any) -> Config:
    """A minimal newsletter config with the LLM engine on ``base_url``."""
    settings = {
        "base_url": base_url,
        "model": "test-model",
        "timeout": 2.0,
        "retries": 1,
        "concurrency": 1,
        **llm,
    }
    return Config(
        newsletter=Newsletter(
            name="T",
            sender=Sender(name="T", email="t@example.test"),
            signup_url="https://example.test/s",
            unsubscribe_url="https://example.test/u",
            postal_address="1 St",
        ),
        summarizer=Summarizer(engine="llm", llm=LLM(**settings)),
    )


@pytest.fixture
def llm_config() -> Callable[..., Config]:
    return make_config
