"""The LLM writer against the desk's own stories: good writing passes, corrupted writing does not.

The loopback server answers with the 30 desk-written stories of the shared eval set (built at test
time from ``../shared/eval/desk.jsonl``, joined on id with ``dev.jsonl``), so the whole path runs:
prompt, HTTP, structured output, validation, the style and fact gate, retries and the cache.
Corrupted answers are derived from those stories here, one fault each.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import DeskCase
from evalset import read_jsonl
from llmserver import ChatServer, Reply, Responder, Seen, attempt

from pipeline.config import Config
from pipeline.models import StorySummary
from pipeline.store import open_store
from pipeline.summarize import SummaryRun, summarize

Configure = Callable[..., Config]


def desk_replay(cases: list[DeskCase], answers: dict[str, list[str]]) -> Responder:
    """Answer each story's tries with ``answers[id]`` in order, else with its desk story."""
    by_text = [(c.article.text[:300], c) for c in cases]

    def respond(seen: Seen) -> Reply:
        user = seen.messages[1]["content"]
        found = [c for text, c in by_text if text in user]
        if len(found) != 1:
            return Reply(status=400, error=f"{len(found)} desk articles match this request")
        case = found[0]
        tries = answers.get(case.article.id) or [json.dumps(case.story, ensure_ascii=False)]
        return Reply(content=tries[min(attempt(seen), len(tries) - 1)])

    return respond


def _parts(story: Any) -> dict[str, Any]:
    names = ("headline", "dek", "hook", "nut_graf", "section", "context", "lead_in")
    out = {n: getattr(story, n) for n in (*names, "kicker_label", "kicker")}
    return {**out, "bullets": list(story.bullets)}


@pytest.mark.slow
def test_every_desk_story_is_accepted_at_the_first_try_and_cached(
    chat: ChatServer, llm_config: Configure, desk: list[DeskCase], tmp_path: Path
) -> None:
    chat.responder = desk_replay(desk, {})
    config = llm_config(chat.url, concurrency=2)
    articles = [c.article for c in desk]
    with open_store(tmp_path / "state.sqlite3") as store:
        run = summarize(articles, config, store=store)
    # on failure, say which desk stories the gate refused and with which findings
    rejected = {
        s.id: (s.fallback, [r.messages[-1]["content"] for r in _retries(chat, s.id, desk)])
        for s in run.stories
        if s.fallback
    }
    assert rejected == {}, f"the gate refused good desk stories: {rejected}"
    assert run.calls == 30 and run.errors == () and run.cache_hits == 0
    assert all(attempt(r) == 0 for r in chat.requests), "no story needed a retry"
    for case, story in zip(desk, run.stories, strict=True):
        assert story.id == case.article.id and story.engine == "llm:test-model"
        assert story.errors == ()
        assert _parts(story) == {k: case.story[k] for k in _parts(story)}

    # the rebuild with unchanged sources asks nothing: every story comes from the state store
    with open_store(tmp_path / "state.sqlite3") as store:
        again = summarize(articles, config, store=store)
    assert (again.calls, again.cache_hits, len(chat.requests)) == (0, 30, 30)
    assert again.stories == run.stories


def _retries(chat: ChatServer, story_id: str, desk: list[DeskCase]) -> list[Seen]:
    text = next(c.article.text[:300] for c in desk if c.article.id == story_id)
    return [r for r in chat.requests if attempt(r) and text in r.messages[1]["content"]]


# --- corrupted answers ---------------------------------------------------------------------


@dataclass(frozen=True)
class Corruption:
    """One fault put into a desk story: the answer text, what the retry must quote, the reason."""

    case: DeskCase
    answer: str
    feedback: str
    reason: str


def _words(text: str) -> int:
    return len(text.split())


def _pick(desk: list[DeskCase], fits: Callable[[DeskCase, int, str], bool]) -> tuple[DeskCase, int]:
    """The first desk story with a bullet the corruption fits."""
    for case in desk:
        for i, bullet in enumerate(case.story["bullets"]):
            if fits(case, i, bullet):
                return case, i
    pytest.fail("no desk story has a bullet this corruption fits")


def _with_bullet(case: DeskCase, i: int, bullet: str) -> str:
    bullets = list(case.story["bullets"])
    bullets[i] = bullet
    return json.dumps({**case.story, "bullets": bullets}, ensure_ascii=False)


def invented_number(desk: list[DeskCase]) -> Corruption:
    number = re.compile(r"(?<![\w.,])\d+(?:,\d{3})*(?:\.\d+)?(?![\w,])")
    case, i = _pick(desk, lambda c, i, b: bool(number.search(b)))
    assert "7319" not in case.article.text.replace(",", "")
    answer = _with_bullet(case, i, number.sub("7,319", case.story["bullets"][i], count=1))
    return Corruption(case, answer, "7,319", "unsupported facts (fact-number)")


def invented_name(desk: list[DeskCase]) -> Corruption:
    case, i = _pick(desk, lambda c, i, b: _words(b) <= 38 and b.endswith("."))
    assert "Marlowe" not in case.article.text
    bullet = case.story["bullets"][i][:-1] + ", Quentin Marlowe of Harrowgate Partners noted."
    answer = _with_bullet(case, i, bullet)
    return Corruption(case, answer, "Quentin Marlowe", "unsupported facts (fact-name)")


def invented_quote(desk: list[DeskCase]) -> Corruption:
    case, i = _pick(desk, lambda c, i, b: _words(b) <= 34 and b.endswith("."))
    quote = "a turning point for the whole industry"
    assert quote not in case.article.text.lower()
    bullet = case.story["bullets"][i][:-1] + f', a move one insider called "{quote}."'
    answer = _with_bullet(case, i, bullet)
    return Corruption(case, answer, quote, "unsupported facts (fact-quote)")


def bullet_as_dek(desk: list[DeskCase]) -> Corruption:
    case = desk[0]
    answer = json.dumps({**case.story, "dek": case.story["bullets"][0]}, ensure_ascii=False)
    reason = "dek and bullets[0] say the same words; each part says its own"
    return Corruption(case, answer, "dek and bullets[0] say the same words", reason)


def invalid_json(desk: list[DeskCase]) -> Corruption:
    case = desk[1]
    answer = json.dumps(case.story, ensure_ascii=False)[:-40]
    return Corruption(case, answer, "invalid JSON (", "invalid JSON (")


def missing_part(desk: list[DeskCase]) -> Corruption:
    case = desk[2]
    answer = json.dumps({k: v for k, v in case.story.items() if k != "context"})
    return Corruption(case, answer, "the story lacks context", "the story lacks context")


CORRUPTIONS = [invented_number, invented_name, invented_quote, bullet_as_dek, invalid_json]
CORRUPTIONS += [missing_part]


def _corrupted_run(
    chat: ChatServer, llm_config: Configure, bad: Corruption, then: str
) -> tuple[SummaryRun, StorySummary]:
    """One story whose first answer is ``bad.answer`` and whose retry is ``then``."""
    chat.responder = desk_replay([bad.case], {bad.case.article.id: [bad.answer, then]})
    run = summarize([bad.case.article], llm_config(chat.url, retries=1))
    assert run.calls == 2
    retry = chat.requests[1].messages
    assert retry[-2] == {"role": "assistant", "content": bad.answer}
    assert bad.feedback in retry[-1]["content"], "the retry names what was wrong"
    return run, run.stories[0]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__)
def test_a_corrupted_answer_is_retried_with_its_findings_and_a_good_retry_is_kept(
    chat: ChatServer,
    llm_config: Configure,
    desk: list[DeskCase],
    corrupt: Callable[[list[DeskCase]], Corruption],
) -> None:
    bad = corrupt(desk)
    run, story = _corrupted_run(chat, llm_config, bad, json.dumps(bad.case.story))
    assert run.errors == () and story.engine == "llm:test-model" and story.fallback == ""
    assert _parts(story) == {k: bad.case.story[k] for k in _parts(story)}


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__)
def test_a_corrupted_answer_twice_is_replaced_by_the_offline_story_with_the_reason(
    chat: ChatServer,
    llm_config: Configure,
    desk: list[DeskCase],
    corrupt: Callable[[list[DeskCase]], Corruption],
) -> None:
    bad = corrupt(desk)
    run, story = _corrupted_run(chat, llm_config, bad, bad.answer)
    assert story.engine == "extractive" and story.id == bad.case.article.id
    assert story.fallback.startswith(bad.reason) and story.flagged
    assert run.errors == (f"LLM {chat.url}: {story.fallback}; used offline engine for 1 story",)


def test_a_missing_eval_set_fails_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"desk\.jsonl is missing: .*shared/eval"):
        read_jsonl(tmp_path / "desk.jsonl")
