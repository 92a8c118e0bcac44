"""Benchmark: the offline summarizer against a Lead-3 baseline on the same articles.

In: a JSONL file of ``{"id","title","text","reference_bullets":[...]}`` lines (for example
``../shared/eval/dev.jsonl``, read in place). Out: a table of ROUGE-1/2/L F1 of the bullets
against the reference bullets (rouge-score, stemming), style pass rate, unsupported facts per
story and articles per second, then one JSON object of the figures as the last line.

Usage: ``python bench/summaries.py IN.jsonl``
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from rouge_score import rouge_scorer

from pipeline.models import Article
from pipeline.summarize import check_facts, check_style, load_house_style, source_text
from pipeline.summarize._extractive import write_story
from pipeline.summarize._text import clean_text, split_sentences

_METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum")


def _lead3(text: str) -> list[str]:
    """The first three sentences (pysbd when installed, as the field's usual baseline)."""
    try:
        import pysbd

        seg = pysbd.Segmenter(language="en", clean=False)
        return [s.strip() for s in seg.segment(" ".join(text.split()))][:3]
    except ImportError:
        return split_sentences(clean_text(text)[0])[:3]


def _rouge(pairs: list[tuple[list[str], list[str]]]) -> dict[str, float]:
    scorer = rouge_scorer.RougeScorer(list(_METRICS), use_stemmer=True)
    sums = dict.fromkeys(_METRICS, 0.0)
    for pred, ref in pairs:
        scores = scorer.score("\n".join(ref), "\n".join(pred))
        for m in _METRICS:
            sums[m] += scores[m].fmeasure
    return {m: round(100 * v / max(len(pairs), 1), 2) for m, v in sums.items()}


def main(path: str) -> dict[str, object]:
    rows = [
        json.loads(line)
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    articles = [
        Article(id=str(r["id"]), title=str(r.get("title", "")), text=str(r["text"])) for r in rows
    ]
    refs = [list(r.get("reference_bullets", [])) for r in rows]
    style = load_house_style()

    # CPU time of this process, so other work on the machine does not skew the rate;
    # wall time is reported beside it
    wall, cpu = time.perf_counter(), time.process_time()
    stories = []
    for a in articles:
        story = write_story(a, style)
        stories.append(
            (story, check_style(story, style), check_facts(story, source_text(a), style))
        )
    elapsed_cpu = time.process_time() - cpu
    elapsed_wall = time.perf_counter() - wall

    offline = _rouge([(list(s.bullets), ref) for (s, _, _), ref in zip(stories, refs, strict=True)])
    lead = _rouge([(_lead3(a.text), ref) for a, ref in zip(articles, refs, strict=True)])
    n = max(len(stories), 1)
    passed = sum(1 for _, st, _ in stories if not st)
    unsupported = sum(len(f) for _, _, f in stories)
    figures: dict[str, object] = {
        "articles": len(stories),
        "offline": {
            **offline,
            "style_pass_rate": round(100 * passed / n, 1),
            "unsupported_facts_per_story": round(unsupported / n, 3),
            "articles_per_second": round(len(stories) / elapsed_cpu, 1),
            "articles_per_second_wall": round(len(stories) / elapsed_wall, 1),
        },
        "lead3": lead,
    }
    print(
        f"{'system':<10} {'R-1':>6} {'R-2':>6} {'R-L':>6} {'R-Lsum':>7} {'style%':>7} "
        f"{'facts/story':>12} {'art/s cpu':>10} {'art/s wall':>11}"
    )
    o = figures["offline"]
    assert isinstance(o, dict)
    print(
        f"{'offline':<10} {o['rouge1']:>6} {o['rouge2']:>6} {o['rougeL']:>6} {o['rougeLsum']:>7} "
        f"{o['style_pass_rate']:>7} {o['unsupported_facts_per_story']:>12} "
        f"{o['articles_per_second']:>10} {o['articles_per_second_wall']:>11}"
    )
    print(
        f"{'lead-3':<10} {lead['rouge1']:>6} {lead['rouge2']:>6} {lead['rougeL']:>6} "
        f"{lead['rougeLsum']:>7} {'-':>7} {'-':>12} {'-':>8}"
    )
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/summaries.py IN.jsonl")
    main(sys.argv[1])
