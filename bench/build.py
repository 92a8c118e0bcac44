"""Full-build benchmark: N candidate items (10,000 unless ``--items N``) to a 20-story issue.

In: N / 500 RSS feeds of 500 items each, written to a scratch folder from a vocabulary
of invented companies, places and figures (every item a distinct event of
150-250 words), and a config asking for 20 stories. Out: a table, then as the
last line one JSON object. The build runs in a child process so its peak memory
(max RSS) is its own. The bar (docs/DESIGN): under 10 s, peak memory under 400 MB.
Run: ``.venv/bin/python bench/build.py [--items 100000] [--again] [--state URL]``
(``--again``: then the issue regenerated from the same feeds, what a re-run costs;
``--state``: the state store elsewhere, e.g. an empty PostgreSQL database).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

PER_FEED = 500
STORIES = 20
EDITION = "2026-11-28"

_PREFIX = (
    "Quill",
    "Harbor",
    "Lumen",
    "Stack",
    "Bright",
    "Marl",
    "Oak",
    "Fen",
    "Corr",
    "Sun",
    "Tarr",
    "Ash",
    "Kind",
    "Verd",
    "Mer",
    "Hal",
    "Pem",
    "Call",
    "Ard",
    "Norr",
)
_SUFFIX = ("on", "well", "field", "ridge", "haven", "loop", "way", "gate", "more", "stone")
_KIND = (
    "Foods",
    "Robotics",
    "Airlines",
    "Bank",
    "Freight",
    "Energy",
    "Pharma",
    "Retail",
    "Semiconductor",
    "Insurance",
    "Media",
    "Motors",
)
_VERB = ("raises", "cuts", "buys", "sells", "opens", "closes", "delays", "expands")
_OBJ = ("plant", "stake", "division", "prices", "forecast", "dividend", "workforce", "network")
_CITY = ("Denver", "Lyon", "Osaka", "Leeds", "Austin", "Porto", "Gdansk", "Tucson", "Perth")
_FIRST = ("Maria", "Daniel", "Priya", "Samuel", "Ruth", "Wen", "Ines", "Kwame", "Elena")
_LAST = ("Okafor", "Hargrove", "Ramaswamy", "Adeyemi", "Abernathy", "Li", "Vasquez", "Lind")


def _company(rng: random.Random) -> str:
    return f"{rng.choice(_PREFIX)}{rng.choice(_SUFFIX)} {rng.choice(_KIND)}"


def _article(rng: random.Random, n: int) -> tuple[str, str]:
    co, other = _company(rng), _company(rng)
    verb, obj, city = rng.choice(_VERB), rng.choice(_OBJ), rng.choice(_CITY)
    who = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    amount = f"${rng.randint(2, 900)} million"
    pct = f"{rng.randint(2, 60)}%"
    title = f"{co} {verb.capitalize()} Its {obj.capitalize()} in {city} (case {n})"
    paras = [
        f"{co} said on Tuesday that it {verb} its {obj} in {city}, a move worth about {amount}"
        f" that analysts had not expected before the end of the year.",
        f"The company's shares moved {pct} in early trading, according to exchange data, as"
        f" investors weighed what the decision means for rivals such as {other}.",
        f'"We are making this change because the market in {city} has shifted," chief executive'
        f" {who} said in a statement, adding that customers would see the effect next year.",
        f"{co} employs about {rng.randint(200, 9000):,} people and reported revenue of"
        f" {amount} in its latest quarter, according to its filings.",
        f"Analysts at a {city} research firm said the decision could put pressure on {other},"
        f" which has its own plans for the region, and expect more details in the spring.",
    ]
    return title, "".join(f"<p>{escape(p)}</p>" for p in paras)


def _write_site(root: Path, feeds_n: int) -> None:
    rng = random.Random(7)
    start = datetime(2026, 11, 28, 5, tzinfo=UTC)
    feeds = []
    n = 0
    for f in range(feeds_n):
        items = []
        for _k in range(PER_FEED):
            n += 1
            title, body = _article(rng, n)
            when = format_datetime(start - timedelta(minutes=7 * n))
            link = f"https://wire{f}.example/story/{n}?utm_source=rss"
            items.append(
                f"<item><title>{escape(title)}</title><link>{link}</link>"
                f"<guid>{link}</guid><pubDate>{when}</pubDate>"
                f"<description>{escape(body)}</description></item>"
            )
        path = root / f"wire{f}.xml"
        path.write_text(
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Wire {f}</title><link>https://wire{f}.example/</link>"
            + "".join(items)
            + "</channel></rss>",
            encoding="utf-8",
        )
        feeds.append(f"    - {{url: {path.name}, name: Wire {f}}}")
    (root / "config.yaml").write_text(
        "newsletter:\n  name: Bench Ledger\n  sender: {name: Bench, email: b@example.com}\n"
        "  signup_url: https://b.example/s\n  unsubscribe_url: https://b.example/u\n"
        "  postal_address: 1 Bench Road\n  timezone: UTC\n"
        "sources:\n  feeds:\n" + "\n".join(feeds) + "\n"
        f"issue: {{stories: {STORIES}, quick_links: 8, max_age_hours: 2400}}\n",
        encoding="utf-8",
    )


def _child(root: str, regenerate: bool) -> None:
    from datetime import date

    from pipeline.build import build_issue
    from pipeline.config import load_config

    config = load_config(Path(root) / "config.yaml")
    start = time.perf_counter()
    result = build_issue(config, date.fromisoformat(EDITION), regenerate=regenerate)
    elapsed = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = usage.ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": round(elapsed, 3),
                # CPU time of the whole child (start-up included): on a shared machine
                # the wall time also counts the other processes' turns
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                "peak_mb": round(peak_mb, 1),
                "stories": len(result.report.stories),
                "story_errors": sum(
                    f.severity == "error" for st in result.report.stories for f in st.findings
                ),
                "timings": dict(result.report.timings),
                "html_bytes": result.report.email.html_bytes,
            }
        )
    )


def _build(root: str, *flags: str) -> dict[str, Any]:
    """One build in a fresh process (its peak memory its own)."""
    proc = subprocess.run(
        [sys.executable, __file__, "--child", root, *flags],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        _child(sys.argv[2], regenerate="--regenerate" in sys.argv)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--items", type=int, default=10_000, help="items in all (500 a feed)")
    parser.add_argument(
        "--again", action="store_true", help="then build again, nothing changed at the feeds"
    )
    parser.add_argument(
        "--state", default="", help="paths.state, e.g. an empty database's postgresql:// URL"
    )
    args = parser.parse_args()
    feeds_n = max(1, args.items // PER_FEED)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write_site(root, feeds_n)
        if args.state:  # the default is a SQLite file in the site
            with (root / "config.yaml").open("a", encoding="utf-8") as config:
                config.write(f'paths: {{state: "{args.state}"}}\n')
        size = sum(p.stat().st_size for p in root.glob("*.xml"))
        figures = _build(tmp)
        if args.again:  # the issue regenerated from the same feeds: what a re-run costs
            again = _build(tmp, "--regenerate")
            figures["again"] = {k: again[k] for k in ("seconds", "cpu_s", "peak_mb", "timings")}
    figures.update(
        items=feeds_n * PER_FEED,
        feed_bytes=size,
        under_10s=figures["seconds"] < 10,
        under_400mb=figures["peak_mb"] < 400,
    )
    print(f"{'items':>8} {'feeds MB':>9} {'stories':>8} {'seconds':>8} {'CPU s':>6} {'peak MB':>8}")
    print(
        f"{figures['items']:>8} {size / 1e6:>9.1f} {figures['stories']:>8} "
        f"{figures['seconds']:>8.2f} {figures['cpu_s']:>6.2f} {figures['peak_mb']:>8.1f}"
    )
    print("stage times: " + ", ".join(f"{k} {v:.2f}s" for k, v in figures["timings"].items()))
    if args.again:
        again = figures["again"]
        print(
            f"again: {again['seconds']:.2f} s, CPU {again['cpu_s']:.2f} s,"
            f" {again['peak_mb']:.1f} MB; "
            + ", ".join(f"{k} {v:.2f}s" for k, v in again["timings"].items())
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
