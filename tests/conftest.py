"""Shared fixtures: the loopback chat-completions server, LLM configs, and the shared eval set
(dev articles and desk stories) read in place through ``evalset.py``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from evalset import EVAL, read_jsonl
from llmserver import ChatServer, serve

from pipeline.config import LLM, Config, Newsletter, Sender, Summarizer
from pipeline.models import Article


@dataclass(frozen=True)
class DeskCase:
    """One dev article and the story a desk editor wrote for it in the house style."""

    article: Article
    story: dict[str, Any]


@pytest.fixture(scope="session")
def dev() -> list[Article]:
    """The 100 dev articles (CNN or Daily Mail as the outlet), in file order."""
    rows = read_jsonl(EVAL / "dev.jsonl")
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
    for row in read_jsonl(EVAL / "desk.jsonl"):
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


# -- linear time -------------------------------------------------------------------------
# Time is compared between an input and one four times its size (a linear path takes about
# 4x, a quadratic one about 16x; a 2x step would leave a quadratic path, slowed by its linear
# parts, at about 3x, too near a linear one's 2x to tell on a busy machine), never against a
# fixed number of seconds.


def _repeated(pattern: str, size: int, salt: int) -> str:
    """``size`` characters of the pattern, with a salt so no cache answers for an earlier run."""
    body = pattern * (size // len(pattern) + 1)
    return f"Q{salt} {body}"[:size]


def _best_seconds(run: Callable[[str], object], pattern: str, size: int) -> float:
    """The best of up to three runs on fresh inputs (fewer when one run is already slow), in
    this process's CPU seconds: other processes on a busy machine do not count."""
    best = float("inf")
    spent = 0.0
    for salt in range(3):
        text = _repeated(pattern, size, salt + 10 * size)
        start = time.process_time()
        run(text)
        took = time.process_time() - start
        best, spent = min(best, took), spent + took
        if spent > 2.0:
            break
    return best


def check_linear(run: Callable[[str], object], pattern: str, size: int) -> None:
    """Fail unless ``run`` on ``pattern`` repeated to 4 * ``size`` characters takes at most
    8x its time on ``size`` characters (linear: about 4x; quadratic: about 16x)."""
    run(_repeated(pattern, 200, 0))  # warm up: lexicon, tagger, compiled patterns
    small = _best_seconds(run, pattern, size)
    large = _best_seconds(run, pattern, 4 * size)
    # Below 50 ms a run is too quick to time.
    assert large < 0.05 or large <= 8.0 * small, (
        f"{4 * size} characters took {large:.3f} s, {large / small:.1f}x the {small:.3f} s of "
        f"{size}: not linear"
    )


@pytest.fixture
def assert_linear() -> Callable[[Callable[[str], object], str, int], None]:
    """``assert_linear(run, pattern, size)``: see :func:`check_linear`."""
    return check_linear
