"""The LLM writer against a real small model on this machine; opt in, run by ``.ci/real-llm``.

``realmodel_server.py`` serves SmolLM2-135M-Instruct (CPU torch, greedy, JSON-schema constrained)
on 127.0.0.1; the project's own LLM path (``summarize`` with ``summarizer.engine: llm``) writes
stories for the first articles of the shared eval set through it. What this proves: the real
HTTP exchange, the structured-output negotiation (the server must see ``json_schema``, the
client's first choice), a real model's answer that is exactly the story object, the client's
checks on it and the offline fallback with their reason, within a time bound. What it does not:
that the stories are good. A 135M model is far too small for the house style, so the gate (or
the validator's rule against parts that repeat each other) is expected to refuse its stories;
an accepted story passes too.

Knobs (environment): REAL_LLM_ARTICLES (2), REAL_LLM_THREADS (1; 2 is faster on an idle machine
and far slower on a busy one), REAL_LLM_MAX_S_PER_STORY (300: a degenerate answer fills
every string to the cap, about 1,700 tokens, 200 s at 9 tok/s). The figures are printed and saved
with the answers in test-artifacts/real-llm.json.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.config import Config
from pipeline.models import Article, StorySummary
from pipeline.summarize import summarize
from pipeline.summarize._llm import PARTS, STORY_SCHEMA, _check_type, _Invalid
from tests.configs import llm_config  # run from the repository root, as .ci/real-llm does
from tests.evalset import EVAL, read_jsonl

ROOT = Path(__file__).resolve().parents[1]
SERVER = Path(__file__).with_name("realmodel_server.py")
ARTIFACT = ROOT / "test-artifacts" / "real-llm.json"
MODEL = "SmolLM2-135M-Instruct"

ARTICLES = int(os.environ.get("REAL_LLM_ARTICLES", "2"))
THREADS = int(os.environ.get("REAL_LLM_THREADS", "1"))
MAX_S_PER_STORY = float(os.environ.get("REAL_LLM_MAX_S_PER_STORY", "300"))
READY_WITHIN_S = 300.0  # process start to /health OK: torch import, GGUF dequantize, tokenizer
CLIENT_TIMEOUT_S = 300.0
MAX_STRING_CHARS = 300  # a model looping inside a string is cut off there, not at the token cap

# Why the client may refuse a well-formed answer. The gate (_verdict): "unsupported facts (...)",
# "house-style failures (...)", or both joined by "; ". The validator: two parts word for word
# alike, which a model this small does when it copies its prompt.
_GATE = r"(unsupported facts|house-style failures) \([\w, -]+\)"
_REPEAT = r"[\w\[\]]+ and [\w\[\]]+ say the same words; each part says its own"
CONTENT_REASON = re.compile(rf"{_GATE}(; {_GATE})?|{_REPEAT}")


def _dev_articles(n: int) -> list[Article]:
    """The first ``n`` articles of dev.jsonl, read in place (never copied into the project)."""
    rows = read_jsonl(EVAL / "dev.jsonl")[:n]
    return [Article(id=r["id"], title=r["title"], text=r["text"], source=r["source"]) for r in rows]


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    """Read before the server starts, so a missing eval set fails at once."""
    return _dev_articles(ARTICLES)


@dataclass(frozen=True)
class RealServer:
    url: str  # base URL, ending in /v1
    ready_s: float  # process start to /health OK
    load_s: float  # the model load as the server timed it
    log: Path

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealServer]:
    """realmodel_server.py on a free loopback port, ready; stopped after the module."""
    tmp = tmp_path_factory.mktemp("realmodel")
    port_file, log = tmp / "port", tmp / "server.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env["OMP_NUM_THREADS"] = str(THREADS)
    command = [sys.executable, str(SERVER), "--model", "smollm2", "--port", "0"]
    command += ["--port-file", str(port_file), "--threads", str(THREADS)]
    command += ["--max-string-chars", str(MAX_STRING_CHARS)]
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        health = _wait_ready(proc, port_file, log, started)
        url = f"http://127.0.0.1:{port_file.read_text()}/v1"
        yield RealServer(url, time.perf_counter() - started, float(health["load_s"]), log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(
    proc: subprocess.Popen[bytes], port_file: Path, log: Path, started: float
) -> dict[str, Any]:
    """/health's body once the model is loaded; a clear failure if it dies or takes too long."""
    while time.perf_counter() - started < READY_WITHIN_S:
        if proc.poll() is not None:
            pytest.fail(f"the model server exited with {proc.returncode}:\n{log.read_text()}")
        if port_file.is_file():
            try:
                resp = httpx.get(f"http://127.0.0.1:{port_file.read_text()}/health", timeout=5)
                if resp.status_code == 200:
                    return dict(resp.json())
            except httpx.HTTPError:
                pass
        time.sleep(0.5)
    pytest.fail(f"the model server was not ready within {READY_WITHIN_S:g}s:\n{log.read_text()}")


def _config(base_url: str) -> Config:
    """The LLM engine on the real server: one story at a time, one try, a CPU-sized timeout."""
    return llm_config(base_url, model=MODEL, timeout=CLIENT_TIMEOUT_S, concurrency=1, retries=0)


def test_the_server_speaks_the_chat_completions_api(real_server: RealServer) -> None:
    base = real_server.url
    models = httpx.get(f"{base}/models", timeout=10).json()
    assert models["object"] == "list" and models["data"][0]["object"] == "model"
    message = [{"role": "user", "content": "hi"}]
    bad = httpx.post(
        f"{base}/chat/completions",
        json={"messages": message, "response_format": {"type": "xml"}},
        timeout=10,
    )
    assert bad.status_code == 400 and "response_format" in bad.json()["error"]["message"]
    assert httpx.post(f"{base}/completions", json={}, timeout=10).status_code == 404


def test_the_llm_writer_gets_a_parsed_story_from_a_real_model(
    articles: list[Article], real_server: RealServer, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.perf_counter()
    run = summarize(articles, _config(real_server.url))
    wall_s = time.perf_counter() - started
    asked = httpx.get(real_server.url.removesuffix("/v1") + "/stats", timeout=10).json()
    requests: list[dict[str, Any]] = asked["requests"]
    figures, lines = _report(real_server, run.stories, requests, wall_s)
    with capsys.disabled():  # the figures are the point of the run: show them under -q too
        print("\n".join(lines), flush=True)

    # one request a story: the first choice, json_schema with the story schema, was taken
    assert run.calls == len(requests) == len(articles), figures
    assert [r["response_format"] for r in requests] == ["json_schema"] * len(articles)
    assert all(r["schema_keys"] == list(PARTS) for r in requests)
    # every answer is the story object itself: closed, bare JSON of the schema's exact shape
    for i, r in enumerate(requests):
        assert r["finish_reason"] == "stop", f"answer {i} hit the token cap: {r['content']}"
        problem = _shape_problem(r["content"])
        assert not problem, f"answer {i} is not the story object: {problem}\n{r['content']}"
    # each story is the model's, accepted, or the offline one with a reason about its content:
    # the gate's rules, or the validator's rule against parts that repeat each other
    for story in run.stories:
        if story.fallback:
            assert story.engine == "extractive", story
            assert CONTENT_REASON.fullmatch(story.fallback), story.fallback
        else:
            assert story.engine == f"llm:{MODEL}" and story.errors == (), story
    assert [s.id for s in run.stories] == [a.id for a in articles]
    # time: one story after another, so the wall time per story is what a reader waits
    assert wall_s / len(articles) < MAX_S_PER_STORY, figures
    assert all(r["total_s"] < MAX_S_PER_STORY for r in requests), figures


def _shape_problem(content: str) -> str:
    """What keeps ``content`` from being exactly a story object ('' when nothing does)."""
    try:
        data = json.loads(content)  # constrained output: no fence, no chatter around it
    except json.JSONDecodeError as exc:
        return f"invalid JSON ({exc})"
    if not isinstance(data, dict) or list(data) != list(PARTS):
        return f"not an object with the keys {', '.join(PARTS)} in order"
    try:
        for part, schema in STORY_SCHEMA["properties"].items():
            _check_type(data[part], schema, part)
    except _Invalid as exc:
        return str(exc)
    return ""


def _report(
    server: RealServer,
    stories: Sequence[StorySummary],
    requests: list[dict[str, Any]],
    wall_s: float,
) -> tuple[dict[str, Any], list[str]]:
    """The run's figures (saved as a test artifact) and their lines for the terminal."""
    figures = {
        "model": MODEL,
        "threads": THREADS,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "server_ready_s": round(server.ready_s, 1),
        "model_load_s": round(server.load_s, 1),
        "stories": len(stories),
        "wall_s": round(wall_s, 1),
        "s_per_story": round(wall_s / max(len(stories), 1), 1),
        "bound_s_per_story": MAX_S_PER_STORY,
        "requests": [{k: v for k, v in r.items() if k != "content"} for r in requests],
        "outcomes": [{"id": s.id, "engine": s.engine, "fallback": s.fallback} for s in stories],
        "answers": [r["content"] for r in requests],
    }
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    lines = [
        f"\nreal LLM: {MODEL}, {THREADS} threads, load average {figures['load_avg_1m']}",
        f"  server ready in {figures['server_ready_s']}s (model load {figures['model_load_s']}s)",
        f"  {len(stories)} stories in {figures['wall_s']}s: {figures['s_per_story']}s a story "
        f"(bound {MAX_S_PER_STORY:g}s)",
    ]
    for r in requests:
        lines.append(
            f"  {r['response_format']}: prompt {r['prompt_tokens']} tok in {r['prefill_s']}s "
            f"({r['prefill_tok_s']} tok/s), answer {r['completion_tokens']} tok in "
            f"{r['decode_s']}s ({r['decode_tok_s']} tok/s), {r['finish_reason']}"
        )
    for s in stories:
        lines.append(f"  {s.id}: {s.engine}" + (f", fallback: {s.fallback}" if s.fallback else ""))
    lines.append(f"  figures and answers: {ARTIFACT.relative_to(ROOT)}")
    return figures, lines
