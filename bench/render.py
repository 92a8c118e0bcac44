"""Render benchmark: time and HTML bytes of an issue of 5, 20 and 40 stories.

In: the shipped config.yaml and a synthetic issue (house-style stories of the
usual length: a nut graf, two paragraphs of context, three bullets, an image on
every other story, two sources each, six quick links). Out: a table, then as
the last line one JSON object. The bar: the 20-story render takes under 10 ms
(median wall time; the CPU time is printed too, since other work on the machine
inflates wall time) and its HTML stays under 102,400 bytes. Run:
``.venv/bin/python bench/render.py``.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import date
from pathlib import Path

from pipeline.config import load_config
from pipeline.models import Image, Issue, QuickLink, SourceRef, StorySummary
from pipeline.render import render

ROOT = Path(__file__).resolve().parent.parent
SIZES = (5, 20, 40)
RUNS = 60


def _story(n: int) -> StorySummary:
    return StorySummary(
        id=f"story-{n}",
        headline=f"Regional Carrier {n} Is Winning the Cargo Race. Its Rivals Are Cutting Prices.",
        dek=f"Carrier {n}, the mid-sized freight operator and perennial takeover target, is "
        "pulling ahead on the busiest routes this quarter.",
        hook="Every logistics boom has a surprise winner, and this one did not even have a "
        "billboard until last year.",
        nut_graf=f"According to a Freight Journal report, carrier {n} has taken the lead on the "
        "busiest routes this quarter. If it keeps winning contracts at this pace, rivals may "
        "have to cut rates to hold on to their biggest customers.",
        section="The Capacity Question",
        context="Container shipping runs on long contracts signed with large retailers, and "
        "on-time delivery is what most of them weigh first when they choose a carrier."
        "\n\n"
        "Mid-sized carriers rarely beat the giants on price, so they compete on reliability "
        "and on the ports they serve.",
        lead_in="What the latest filings and reports show:",
        bullets=(
            f"Per the Freight Journal, carrier {n} moved 1.2 million containers in the third "
            "quarter, up 14% from a year earlier.",
            "Sources told the Journal that two of the largest retailers moved contracts to the "
            "carrier in September, citing on-time rates.",
            "For comparison, the industry average on-time rate was 61% over the same period, "
            "according to the Journal.",
        ),
        kicker_label="Full Steam Ahead:",
        kicker="Growth this fast tends to attract both buyers and regulators; the next two "
        "quarters will show which arrives first.",
        sources=(
            SourceRef("Freight Journal", f"https://freightjournal.example/news/{n}?src=feed"),
            SourceRef("Company filing", f"https://investors.carrier{n}.example/q3"),
        ),
        image=Image(
            f"https://images.freightjournal.example/{n}.jpg",
            "Container ship at a quay",
            "Photo by A. Writer via Harbour Pictures",
        )
        if n % 2
        else None,
    )


def _issue(stories: int) -> Issue:
    return Issue(
        date=date(2026, 11, 28),
        subject="",
        intro="",
        stories=tuple(_story(n) for n in range(1, stories + 1)),
        quick_links=tuple(
            QuickLink(
                f"Another business story worth a look, number {n}",
                f"https://wire.example/item/{n}",
                "Wire",
            )
            for n in range(6)
        ),
    )


def main() -> None:
    """Measure each size and print the table and the JSON line."""
    config = load_config(ROOT / "config.yaml")
    render(_issue(5), config)  # warm the template and CSS caches
    figures: dict[str, float | int | bool] = {}
    print(
        f"{'stories':>7} {'median ms':>10} {'min ms':>8} {'cpu ms':>7} {'HTML bytes':>11} "
        f"{'text bytes':>11} {'eml bytes':>10}  warnings"
    )
    for size in SIZES:
        issue = _issue(size)
        times, cpu = [], []
        for _ in range(RUNS):
            start, start_cpu = time.perf_counter(), time.process_time()
            out = render(issue, config)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        median = statistics.median(times)
        html_bytes = len(out.html.encode("utf-8"))
        print(
            f"{size:>7} {median:>10.2f} {min(times):>8.2f} {statistics.median(cpu):>7.2f} "
            f"{html_bytes:>11} "
            f"{len(out.text.encode('utf-8')):>11} {len(out.eml):>10}  {len(out.warnings)}"
        )
        figures[f"render_ms_{size}"] = round(median, 3)
        figures[f"render_min_ms_{size}"] = round(min(times), 3)
        figures[f"render_cpu_ms_{size}"] = round(statistics.median(cpu), 3)
        figures[f"html_bytes_{size}"] = html_bytes
        figures[f"warnings_{size}"] = len(out.warnings)
    figures["render_20_under_10ms"] = float(figures["render_ms_20"]) < 10.0
    figures["html_20_under_102400"] = int(figures["html_bytes_20"]) < 102_400
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
