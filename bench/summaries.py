"""Benchmark: the offline summarizer against a Lead-3 baseline on the same articles.

In: a JSONL file of ``{"id","source","title","text","reference_bullets":[...]}`` lines (for
example ``../shared/eval/dev.jsonl``, read in place; ``source`` is the outlet the story
credits). Out: a table of ROUGE-1/2/L F1 of the story's summary against the reference bullets
(rouge-score, stemming), where the summary is the dek and the bullets together (the bullets
never repeat the dek) with a leading "Per <outlet>, " removed (house style, not content); the
gate's verdict (stories with any error, errors and warnings per story, by rule); articles per
second for the engine and the gate together; where a ``desk.jsonl`` lies beside the input, the
same ROUGE against the desk editor's own dek and bullets (a second reference); then one JSON
object of the figures as the last line.

Usage: ``python bench/summaries.py [IN.jsonl]`` (default ``../shared/eval/dev.jsonl``; without
it, the summarize fixtures, which have no reference bullets: ROUGE is then 0).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

from benchdata import eval_dir
from rouge_score import rouge_scorer

from pipeline.models import Article
from pipeline.summarize import load_house_style
from pipeline.summarize._extractive import write_story
from pipeline.summarize._text import clean_text, split_sentences, strip_attribution

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


def _summary(dek: str, bullets: tuple[str, ...]) -> list[str]:
    """What is scored: the dek and the bullets, each without a leading "Per <outlet>, "."""
    return [strip_attribution(p)[1] for p in (dek, *bullets) if p]


# A made-up article that reaches every lazily loaded table (lexicon, rules, common words).
_WARM_UP = (
    "Fernhill Robotics opened its first factory in Sheffield on Tuesday, chief executive Nadia "
    "Okonjo said. Workers stand on the new line in Sheffield The plant will build 3,000 robots a "
    'year. "It is a good day for the city," she told reporters. But rivals were not impressed.'
)


def _desk_references(path: Path) -> dict[str, list[str]]:
    """Article id -> the desk story's dek and bullets (its summary, scored as ours is)."""
    if not path.is_file():
        return {}
    out: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            story = row["story"]
            out[str(row["id"])] = _summary(str(story["dek"]), tuple(story["bullets"]))
    return out


def main(path: str) -> dict[str, object]:
    rows = [
        json.loads(line)
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    articles = [
        Article(
            id=str(r["id"]),
            title=str(r.get("title", "")),
            text=str(r["text"]),
            source=str(r.get("source", "")),
        )
        for r in rows
    ]
    refs = [list(r.get("reference_bullets", [])) for r in rows]
    style = load_house_style()
    # load the tagger's lexicon and rules once, as any long-running process has them loaded
    write_story(Article(id="warm", title="Robots", text=_WARM_UP, source="Ledger"), style)

    # CPU time of this process, so other work on the machine does not skew the rate;
    # wall time is reported beside it
    wall, cpu = time.perf_counter(), time.process_time()
    stories = [write_story(a, style) for a in articles]  # the engine runs the gate itself
    elapsed_cpu = time.process_time() - cpu
    elapsed_wall = time.perf_counter() - wall

    offline = _rouge(
        [(_summary(s.dek, s.bullets), ref) for s, ref in zip(stories, refs, strict=True)]
    )
    lead = _rouge([(_lead3(a.text), ref) for a, ref in zip(articles, refs, strict=True)])
    desk = _desk_references(Path(path).with_name("desk.jsonl"))
    by_id = {a.id: (a, s) for a, s in zip(articles, stories, strict=True)}
    covered = [(by_id[i], ref) for i, ref in desk.items() if i in by_id]
    n = max(len(stories), 1)
    errors = [f for s in stories for f in s.errors]
    warnings = [f for s in stories for f in (*s.style, *s.facts) if f.severity == "warning"]
    by_rule = Counter(f.rule for f in errors)
    failing = [s.id for s in stories if s.errors]
    figures: dict[str, object] = {
        "articles": len(stories),
        "offline": {
            **offline,
            "gate_pass_rate": round(100 * (n - len(failing)) / n, 1),
            "errors_per_story": round(len(errors) / n, 3),
            "warnings_per_story": round(len(warnings) / n, 3),
            "errors_by_rule": dict(by_rule.most_common()),
            "articles_per_second": round(len(stories) / elapsed_cpu, 1),
            "articles_per_second_wall": round(len(stories) / elapsed_wall, 1),
        },
        "lead3": lead,
        # a second reference: the desk editor's own dek and bullets, where desk.jsonl has them
        "desk_reference": {
            "articles": len(covered),
            "offline": _rouge([(_summary(s.dek, s.bullets), ref) for (_, s), ref in covered]),
            "lead3": _rouge([(_lead3(a.text), ref) for (a, _), ref in covered]),
        },
    }
    print(
        f"{'system':<10} {'R-1':>6} {'R-2':>6} {'R-L':>6} {'R-Lsum':>7} {'gate%':>6} "
        f"{'err/story':>10} {'warn/story':>11} {'art/s cpu':>10} {'art/s wall':>11}"
    )
    o = figures["offline"]
    assert isinstance(o, dict)
    print(
        f"{'offline':<10} {o['rouge1']:>6} {o['rouge2']:>6} {o['rougeL']:>6} {o['rougeLsum']:>7} "
        f"{o['gate_pass_rate']:>6} {o['errors_per_story']:>10} {o['warnings_per_story']:>11} "
        f"{o['articles_per_second']:>10} {o['articles_per_second_wall']:>11}"
    )
    print(
        f"{'lead-3':<10} {lead['rouge1']:>6} {lead['rouge2']:>6} {lead['rougeL']:>6} "
        f"{lead['rougeLsum']:>7}"
    )
    for story_id in failing:
        story = next(s for s in stories if s.id == story_id)
        print(f"  {story_id}: {story.errors[0].message[:120]}")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.exit("usage: python bench/summaries.py [IN.jsonl]")
    main(sys.argv[1] if len(sys.argv) == 2 else str(eval_dir() / "dev.jsonl"))
