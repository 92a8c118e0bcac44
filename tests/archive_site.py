"""A scratch newsletter for the web archive tests (``loopback.serving`` hosts its site).

``newsletter(folder, ...)`` writes a config.yaml (the render fixture's newsletter, with
the given ``web_url``, ``archive:`` and ``list:`` sections) and loads it;
``edition(config, day, ...)`` writes the golden issue (``render_samples.fixed_issue``) as
that day's draft, the way the pipeline writes one, and records it as sent when asked
(``hostile_issue()`` is that issue with markup, scripts and bad links in its text).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from render_samples import FIXTURES, fixed_issue

from pipeline.config import Config, load_config
from pipeline.draft import format_draft
from pipeline.models import Image, Issue, QuickLink, SourceRef
from pipeline.outbox import publish
from pipeline.store import open_store

WEB_URL = "https://morningtape.example/issues/{date}"
LISTMONK = {
    "provider": "listmonk",
    "subscribe_url": "https://lists.morningtape.example/subscription/form",
    "subscribe_lists": ["6f1c1e6a-8f0e-4a55-9b59-4a1e0e0c3a21"],
}

HOSTILE = '<script>window.pwned = 1</script> Rates <b>Fall</b> & "Rise"'


def hostile_issue() -> Issue:
    """The golden issue with markup, scripts, bad links and control characters in it."""
    issue = fixed_issue()
    first = replace(
        issue.stories[0],
        headline=HOSTILE,
        dek='"><img src=x onerror="window.pwned = 2"> A dek\x0b with a control character',
        sources=(
            SourceRef("Evil", "javascript:window.pwned = 3"),
            SourceRef("Good", "https://good.example/a b"),
        ),
        image=Image("javascript:alert(1)", "x"),
    )
    quick = (QuickLink("</ul><script>window.pwned = 4</script>", "data:text/html,<b>x</b>"),)
    return replace(issue, stories=(first, *issue.stories[1:]), quick_links=quick)


def newsletter(
    folder: Path,
    *,
    web_url: str = WEB_URL,
    archive: dict[str, Any] | None = None,
    mailing_list: dict[str, Any] | None = None,
) -> Config:
    """Write ``folder/config.yaml`` and load it."""
    with open(FIXTURES / "config.yaml", encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    data["newsletter"]["web_url"] = web_url
    data["paths"] = {"state": "state/newsletter.sqlite3", "outbox": "outbox"}
    if archive is not None:
        data["archive"] = archive
    if mailing_list is not None:
        data["list"] = mailing_list
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_config(path)


def edition(
    config: Config,
    day: date,
    status: str = "approved",
    *,
    sent: bool = False,
    issue: Issue | None = None,
) -> Issue:
    """Write ``day``'s draft (the golden issue unless ``issue``) with ``status`` in its
    front matter; ``sent`` records the edition as sent in the state store, as send does."""
    base = issue or fixed_issue()
    written = replace(base, date=day, status=status, subject=base.subject or f"The Tape for {day}")
    text = format_draft(written, newsletter=config.newsletter.name)
    publish(config.outbox_path / day.isoformat(), {"draft.md": text.encode("utf-8")})
    if sent:
        with open_store(config.state_path) as store:
            store.record_issue(day, status="sent")
    return written
