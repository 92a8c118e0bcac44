"""Benchmark: the size of what the LLM writer sends and receives, and what an issue costs.

In: the shared eval set (``dev.jsonl`` articles, ``desk.jsonl`` stories in the house style, read
in place from ../shared/eval; without it, the summarize fixtures: see bench/benchdata.py). Out:
a table of characters and estimated tokens per story (the system prompt with the shipped house
style, the JSON schema, a dev article as the user prompt, a desk story as the answer, a retry),
the tokens and cost per issue for the prices given, then one JSON object of the figures as the
last line. No tokenizer is needed (none is installed): tokens are estimated at CHARS_PER_TOKEN
characters each, the usual rule of thumb for English.

Usage: ``python bench/llm_cost.py [EVAL_DIR] [--stories N] [--retries N]
[--price-in USD_PER_MILLION] [--price-out USD_PER_MILLION]``
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from benchdata import eval_dir

from pipeline.models import Article, Finding
from pipeline.summarize import load_house_style
from pipeline.summarize._llm import (
    _feedback,
    parse,
    response_format,
    system_prompt,
    user_prompt,
)

CHARS_PER_TOKEN = 4
ROOT = Path(__file__).resolve().parent.parent


def _tokens(chars: float) -> int:
    return round(chars / CHARS_PER_TOKEN)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("eval_dir", nargs="?", default=None, help="default: ../shared/eval")
    ap.add_argument("--stories", type=int, default=4, help="stories per issue (shipped config)")
    ap.add_argument("--retries", type=int, default=1, help="summarizer.llm.retries")
    ap.add_argument("--price-in", type=float, default=0.15, help="USD per million input tokens")
    ap.add_argument("--price-out", type=float, default=0.60, help="USD per million output tokens")
    args = ap.parse_args()
    folder = eval_dir(args.eval_dir)
    if not (folder / "dev.jsonl").is_file() or not (folder / "desk.jsonl").is_file():
        raise SystemExit(f"{folder}: needs dev.jsonl and desk.jsonl (the shared eval set)")
    dev = [json.loads(x) for x in (folder / "dev.jsonl").read_text("utf-8").splitlines()]
    desk = [json.loads(x) for x in (folder / "desk.jsonl").read_text("utf-8").splitlines()]

    system = len(system_prompt(load_house_style()))
    schema = len(json.dumps(response_format("json_schema")))
    users = [
        len(
            user_prompt(
                Article(
                    id=a["id"], title=a.get("title", ""), text=a["text"], source=a.get("source", "")
                )
            )
        )
        for a in dev
    ]
    user = statistics.mean(users)
    answer = statistics.mean(len(parse(json.dumps(d["story"])).as_json()) for d in desk)
    # a typical retry note: two findings, as the gate words them
    note = len(
        _feedback(
            [
                Finding("fact-number", "bullets[1]: number '7,319' is not in the source"),
                Finding("dek-length", "dek has 196 chars; the house style wants 80-180"),
            ]
        )
    )
    first_in = system + schema + user
    retry_in = first_in + answer + note
    rows = [
        ("system prompt (house style + example)", system),
        ("JSON schema (response_format)", schema),
        ("user prompt: dev article, mean", user),
        (f"user prompt: dev article, max of {len(users)}", max(users)),
        ("answer: desk story as JSON, mean", answer),
        ("retry note (two findings)", note),
        ("first try, input", first_in),
        ("a retry, input", retry_in),
    ]
    print(f"{'what':44} {'chars':>8} {'~tokens':>8}")
    for name, chars in rows:
        print(f"{name:44} {chars:8.0f} {_tokens(chars):8d}")

    def cost(tok_in: int, tok_out: int) -> float:
        return (tok_in * args.price_in + tok_out * args.price_out) / 1e6

    best_in, best_out = args.stories * _tokens(first_in), args.stories * _tokens(answer)
    worst_in = best_in + args.stories * args.retries * _tokens(retry_in)
    worst_out = best_out * (1 + args.retries)
    print(
        f"\nissue of {args.stories} stories at ${args.price_in}/${args.price_out} per million "
        "input/output tokens:"
    )
    print(
        f"  no retry:        {best_in:7d} in + {best_out:6d} out = ${cost(best_in, best_out):.4f}"
    )
    print(
        f"  every story retried {args.retries}x: {worst_in:7d} in + {worst_out:6d} out = "
        f"${cost(worst_in, worst_out):.4f}"
    )
    figures = {
        "chars_per_token": CHARS_PER_TOKEN,
        "system_chars": system,
        "schema_chars": schema,
        "user_chars_mean": round(user),
        "answer_chars_mean": round(answer),
        "first_try_tokens_in": _tokens(first_in),
        "answer_tokens": _tokens(answer),
        "retry_tokens_in": _tokens(retry_in),
        "issue_tokens_in": [best_in, worst_in],
        "issue_tokens_out": [best_out, worst_out],
        "issue_usd": [round(cost(best_in, best_out), 5), round(cost(worst_in, worst_out), 5)],
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
