"""Where the benchmarks' data is: shared/ beside the checkout, else the test fixtures.

In: nothing (``$FEED_CORPUS`` may name the feed corpus). Out: the feed corpus folder and
the eval set folder (``dev.jsonl`` articles, ``desk.jsonl`` stories). On a plain checkout,
without ``../shared``, the benches run on the fixtures instead and say so: the feed sample
(tests/fixtures/ingest/corpus) and an eval set of the summarize fixtures (their articles,
and the good story written for the first of them), written to a temporary folder.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
FEED_SAMPLE = FIXTURES / "ingest" / "corpus"


def shared_corpus() -> Path:
    """The shared feed corpus as configured (it may be missing)."""
    env = os.environ.get("FEED_CORPUS")
    return Path(env) if env else ROOT.parent / "shared" / "corpus" / "feeds"


def feed_corpus() -> Path:
    """The shared feed corpus, else the fixtures' sample of it."""
    corpus = shared_corpus()
    if corpus.is_dir():
        return corpus
    print(f"no shared corpus at {corpus}: using the fixtures' sample {FEED_SAMPLE}")
    return FEED_SAMPLE


def eval_dir(given: str | None = None) -> Path:
    """``given``, else the shared eval set, else one made of the summarize fixtures."""
    if given:
        return Path(given)
    shared = ROOT.parent / "shared" / "eval"
    if (shared / "dev.jsonl").is_file() and (shared / "desk.jsonl").is_file():
        return shared
    folder = Path(tempfile.mkdtemp(prefix="bench-eval-"))
    articles = (FIXTURES / "summarize" / "articles.jsonl").read_text(encoding="utf-8")
    (folder / "dev.jsonl").write_text(articles, encoding="utf-8")
    first = json.loads(articles.splitlines()[0])
    story = json.loads((FIXTURES / "summarize" / "llm" / "good_story.json").read_text("utf-8"))
    desk = json.dumps({"id": first["id"], "story": story})
    (folder / "desk.jsonl").write_text(desk + "\n", encoding="utf-8")
    print(f"no shared eval set at {shared}: using the summarize fixtures ({folder})")
    return folder
