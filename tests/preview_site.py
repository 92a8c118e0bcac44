"""A scratch newsletter site for the preview and desk tests.

``make_site(folder)`` copies ``tests/fixtures/preview/config.yaml`` and the
project's templates into ``folder``, stores the items of
``tests/fixtures/preview/issue.yaml`` in a real SQLite state store, writes the
edition's draft with :func:`format_draft` as the pipeline would (its fingerprint
recorded as pipeline-written, its items reserved) and renders it.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from pipeline.build import issue_dir, render_draft
from pipeline.config import Config, load_config
from pipeline.draft import draft_sha, format_draft
from pipeline.models import Issue, Item, QuickLink, SourceRef, StorySummary
from pipeline.outbox import publish
from pipeline.store import open_store

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "preview"
EDITION = date(2026, 11, 28)


def fixture_issue() -> tuple[Issue, list[Item]]:
    """The fixture edition and the source items of its stories."""
    data: dict[str, Any] = yaml.safe_load((FIXTURES / "issue.yaml").read_text(encoding="utf-8"))
    stories, items = [], []
    for s in data["stories"]:
        items.append(
            Item(
                id=s["id"],
                source=s["source"],
                origin=s["source"],
                title=s["title"],
                text=s["text"],
                url=s["url"],
            )
        )
        stories.append(
            StorySummary(
                id=s["id"],
                headline=s["headline"],
                dek=s["dek"],
                hook=s["hook"],
                section=s["section"],
                lead_in=s["lead_in"],
                bullets=tuple(s["bullets"]),
                kicker_label=s["kicker_label"],
                kicker=s["kicker"],
                sources=(SourceRef(s["source"], s["url"]),),
            )
        )
    issue = Issue(
        date=data["date"],
        subject=data["subject"],
        intro=data["intro"],
        stories=tuple(stories),
        quick_links=tuple(QuickLink(**q) for q in data["quick_links"]),
    )
    return issue, items


def make_site(folder: Path) -> Config:
    """Lay out the site in ``folder`` with one pristine, rendered edition; return its config."""
    shutil.copy(FIXTURES / "config.yaml", folder / "config.yaml")
    if (ROOT / "templates").is_dir():
        shutil.copytree(ROOT / "templates", folder / "templates")
    else:
        (folder / "templates").mkdir()
    config = load_config(folder / "config.yaml")
    issue, items = fixture_issue()
    text = format_draft(issue, newsletter=config.newsletter.name)
    with open_store(config.state_path) as store:
        store.upsert_items(items)
        store.commit_draft(EDITION, draft_sha(text), [i.id for i in items])
    publish(issue_dir(config, EDITION), {"draft.md": text.encode("utf-8")})
    render_draft(config, EDITION)
    return config


def draft_path(config: Config, edition: date = EDITION) -> Path:
    """The edition's draft file."""
    return issue_dir(config, edition) / "draft.md"
