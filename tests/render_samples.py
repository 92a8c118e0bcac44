"""Fixed inputs for the render, lint, send and screenshot tests (and the golden files).

``fixed_issue()`` is one edition written for the tests: three stories, each with
a nut graf and a context (two paragraphs of context in the first and third), one
with an image and credit, one with an image but no alt text, one with two sources;
feed text that needs escaping, curly quotes, an unsupported-fact finding that
must never reach the email, and quick links. ``render_config()`` loads
``fixtures/render/config.yaml``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipeline.config import Config, load_config
from pipeline.models import Finding, Image, Issue, QuickLink, SourceRef, StorySummary

FIXTURES = Path(__file__).parent / "fixtures" / "render"
GOLDEN = Path(__file__).parent / "golden"
SECRET_FACT = "an unchecked claim of 47 percent"


def render_config(path: Path | None = None) -> Config:
    """The test newsletter's config (from the fixture, or a copy of it at ``path``)."""
    return load_config(path or FIXTURES / "config.yaml")


def fixed_issue(image_base: str = "https://img.morningtape.example") -> Issue:
    """The golden issue; ``image_base`` lets the screenshot test serve images locally."""
    return Issue(
        date=date(2026, 3, 4),
        subject="",
        intro="",
        stories=(
            StorySummary(
                id="freight-rates",
                headline="Container Rates Are Sliding Again. Shippers & <Ports> Feel It.",
                dek="Ocean freight, the pandemic’s favourite bottleneck, is turning into a buyer’s "
                "market as new ships arrive faster than cargo.",
                hook="Remember when a shipping container cost more than a small car? "
                "Those days are "
                "sailing off into the sunset, and the carriers know it.",
                nut_graf="According to a Harbor Ledger report, spot rates on the main Asia to "
                "Europe lanes have now fallen for a second month in a row. If cargo does not "
                "catch up, carriers could be left with fleets they cannot fill at a profit.",
                section="The Capacity Glut",
                context="Carriers ordered ships by the hundred during the pandemic, when scarce "
                "space sent prices and profits to records. Ships take years to build, so that "
                "capacity is arriving now, long after the rush ended."
                "\n\n"
                "The biggest lines have tried to prop up prices by cancelling sailings, with "
                "mixed results so far.",
                lead_in="Here is how the numbers stack up:",
                bullets=(
                    "Per the Harbor Ledger, spot rates on the Shanghai to Rotterdam lane fell to "
                    "$1,840 per box last week, down 22% in a month.",
                    "Sources told the Ledger that carriers will take delivery of 310 new vessels "
                    "this year, a record for the industry.",
                    "For comparison, the same lane cost more than $14,000 per box "
                    "at the 2021 peak.",
                ),
                kicker_label="Rough Seas Ahead:",
                kicker="Cheap freight helps importers, but the carriers that ordered "
                "all those ships "
                "now need a plan to fill them.",
                sources=(SourceRef("Harbor Ledger", "https://harborledger.example/rates?id=881"),),
                image=Image(
                    f"{image_base}/photo.svg",
                    "Cranes over a container terminal",
                    "Photo by R. Osei via Dockside Images",
                ),
                facts=(Finding(rule="number", message="not in source", text=SECRET_FACT),),
            ),
            StorySummary(
                id="grocer-ai",
                headline=(
                    "A Grocery Chain Is Pricing Milk With AI. Its Rivals Are Watching Closely."
                ),
                dek="Fenwick Foods, the regional grocer with 140 stores, is letting software set "
                "shelf prices every morning.",
                hook="Dynamic pricing used to be for airline seats and concert tickets; now it has "
                "reached the dairy aisle.",
                nut_graf="According to a Retail Brief report, Fenwick Foods now lets software "
                "reprice milk, bread and eggs every morning in its test stores. If shoppers "
                "shrug, other grocers are likely to copy it, and the price of a carton could "
                "start to move like an airfare.",
                section="The Algorithm Aisle",
                context="Grocery margins are thin, a few cents on the dollar, so small price "
                "moves add up fast. Electronic shelf labels make changing prices daily cheap "
                "enough to try.",
                lead_in="What the company told investors:",
                bullets=(
                    "According to Fenwick’s filing, the pilot lifted gross margin by 0.8 points "
                    "across 30 test stores.",
                    "Per the Retail Brief, the chain plans to extend the system to all 140 stores "
                    "by the end of the year.",
                ),
                kicker_label="Got Margin?:",
                kicker="Shoppers may not notice a few cents here and there, but regulators in two "
                "states have already asked questions.",
                sources=(
                    SourceRef("Retail Brief", "https://retailbrief.example/fenwick-ai"),
                    SourceRef("Fenwick Foods", "https://investors.fenwick.example/q4"),
                ),
                image=Image(f"{image_base}/photo.svg", "", ""),
            ),
            StorySummary(
                id="chip-tariffs",
                headline="Chipmakers Brace for a New Tariff Round. Buyers Are Stockpiling Now.",
                dek="Semiconductor buyers, the quiet middlemen of every gadget, are front-loading "
                "orders before new duties land in April.",
                hook="Nothing moves inventory like a deadline, and the tariff calendar just "
                "handed purchasing managers one.",
                nut_graf="According to a Tech Desk report, chip buyers are pulling orders forward "
                "to beat new duties due in April. If the rush drains supply, smaller device "
                "makers could face longer waits and higher prices later in the year.",
                section="The Stockpile Rush",
                context="A tariff is paid by the importer, so parts brought in before the "
                "deadline escape the duty. Memory and power chips store well, which makes them "
                "the first things buyers stock up on."
                "\n\n"
                "Earlier tariff rounds followed the same script: imports jumped, then slumped for "
                "a quarter.",
                lead_in="The early signs are already in the data:",
                bullets=(
                    "Per the Tech Desk, distributor orders for memory chips rose 18% in February "
                    "from January.",
                    "One analyst told the Tech Desk that lead times for some parts have stretched "
                    "to 26 weeks.",
                ),
                kicker_label="Buy Now, Pay Later:",
                kicker="Stockpiles smooth the first quarter but tend to leave a hole in the next "
                "one when orders dry up.",
                sources=(SourceRef("Tech Desk", "https://techdesk.example/chips-tariffs"),),
            ),
        ),
        quick_links=(
            QuickLink(
                "Airline loyalty points are now worth less than a year ago",
                "https://travelwire.example/points",
                "Travel Wire",
            ),
            QuickLink(
                "A fintech app adds savings accounts with a 4.1% rate",
                "https://moneydesk.example/savings?ref=rss",
                "Money Desk",
            ),
            QuickLink(
                "Why office landlords are converting towers into flats",
                "https://propertyweek.example/conversions",
                "",
            ),
        ),
    )


def write_outbox(config_file: Path, html_edit: tuple[str, str] | None = None) -> Path:
    """The fixed issue rendered with ``config_file`` into its outbox folder (as a build leaves
    it, for ``send``); ``html_edit`` replaces text in issue.html, to plant a lint finding."""
    from pipeline.render import render

    config = render_config(config_file)
    rendered = render(fixed_issue(), config)
    folder = config.outbox_path / "2026-03-04"
    folder.mkdir(parents=True)
    html = rendered.html if html_edit is None else rendered.html.replace(*html_edit)
    (folder / "issue.html").write_text(html, encoding="utf-8")
    (folder / "issue.txt").write_text(rendered.text, encoding="utf-8")
    (folder / "issue.eml").write_bytes(rendered.eml)
    return folder
