"""Pages of the preview: the live state in, HTML out (Jinja2, every value escaped).

Feed text reaches these pages only as Jinja2 variables with autoescape on, so a
``<script>`` or ``onerror=`` in a headline is shown as text. The email itself is
served on its own (with a script-free CSP) into sandboxed frames.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import jinja2

from ..draft import draft_sha, parse_draft
from ..edition import Edition, sent
from ..errors import NewsletterError
from ..models import Finding, Issue, paragraphs
from ._state import PreviewState

__all__ = ["email_page", "index_page", "issue_page"]

_HERE = Path(__file__).resolve().parent
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(_HERE / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_VIEWS = (
    ("desktop", "Desktop · 600 px", 600, ""),
    ("phone", "Phone · 375 px", 375, ""),
    ("dark", "Dark mode · 375 px", 375, "dark"),
)
# Dark view: make the email's own dark-mode rules apply, as a dark-mode client would.
_DARK = re.compile(r"\(\s*prefers-color-scheme\s*:\s*dark\s*\)", re.I)
_LIGHT = re.compile(r"\(\s*prefers-color-scheme\s*:\s*light\s*\)", re.I)
_HEAD = re.compile(r"<head[^>]*>", re.I)
_NOT_RENDERED = (
    '<!doctype html><html lang="en"><body><p>Not rendered yet: fix the error'
    " shown above and save.</p></body></html>"
)


def _base(state: PreviewState, flash: str, *, version: str, query: str) -> dict[str, Any]:
    return {
        "name": state.config.newsletter.name,
        "version": version,
        "version_url": f"/api/version{query}",
        "config_error": state.config_error,
        "flash": flash,
    }


def index_page(state: PreviewState, *, page: int = 1, flash: str = "") -> str:
    """A page of the list of issues by date with their state, newest first."""
    index = state.index(page)
    return _ENV.get_template("index.html.j2").render(
        **_base(
            state,
            flash,
            version=index.version,
            query=f"?page={index.page}" if index.page > 1 else "",
        ),
        index=index,
        outbox=str(state.config.outbox_path),
    )


def _groups(issue: Issue | None, findings: tuple[Finding, ...]) -> list[dict[str, Any]]:
    stories = {s.id: (n, s.headline) for n, s in enumerate(issue.stories, 1)} if issue else {}
    groups: dict[str, dict[str, Any]] = {}
    for f in findings:
        key = f.story if f.story in stories else ""
        if key not in groups:
            number, headline = stories.get(key, (0, ""))
            groups[key] = {"story": key, "number": number, "headline": headline, "findings": []}
        groups[key]["findings"].append(f)
    # stories in issue order, then the email-wide findings
    return sorted(groups.values(), key=lambda g: (not g["story"], g["number"]))


def issue_page(state: PreviewState, edition: date, *, token: str, flash: str = "") -> str:
    """One issue: the email at 600 and 375 px and dark, findings, stories with actions, text."""
    live = state.edition(edition)  # renders first when the draft changed
    ed = Edition(state.config, edition)
    folder, path = ed.folder, ed.draft_path
    issue: Issue | None = None
    sha = ""
    error = live.error
    try:
        text = path.read_text(encoding="utf-8")
        sha = draft_sha(text)
        issue = parse_draft(text, file=str(path))
    except (OSError, UnicodeDecodeError) as exc:
        error = error or f"{path}: {exc}"
    except NewsletterError as exc:
        error = error or str(exc)
    status = ed.status() if sha else None
    counts: dict[str, int] = {}
    for f in live.findings:
        counts[f.story] = counts.get(f.story, 0) + 1
    stories = [
        {
            "id": s.id,
            "section": s.section,
            "headline": s.headline,
            "dek": s.dek,
            "nut_graf": paragraphs(s.nut_graf),
            "context": paragraphs(s.context),
            "fallback": s.fallback,
            "engine": s.engine,
            "findings": counts.get(s.id, 0),
        }
        for s in (issue.stories if issue else ())
    ]
    try:
        plain = (folder / "issue.txt").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        plain = ""
    day = edition.isoformat()
    views = [
        {
            "key": key,
            "label": label,
            "width": width,
            "src": f"/issue/{day}/email.html" + (f"?view={view}" if view else ""),
        }
        for key, label, width, view in _VIEWS
    ]
    return _ENV.get_template("issue.html.j2").render(
        **_base(state, flash, version=state.version(edition), query=f"?date={day}"),
        date=day,
        state=status or "broken",
        issue=issue,
        sha=sha,
        token=token,
        error=error,
        views=views,
        stories=stories,
        editable=issue is not None and status is not None and not sent(status),
        findings=_groups(issue, live.findings),
        findings_total=len(live.findings),
        text=plain,
    )


def email_page(state: PreviewState, edition: date, *, dark: bool = False) -> str:
    """The rendered email as written to the outbox; the dark view forces its dark rules."""
    try:
        html = (Edition(state.config, edition).folder / "issue.html").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return _NOT_RENDERED
    if dark:
        html = _LIGHT.sub("(max-width: 0px)", _DARK.sub("(min-width: 0px)", html))
        html = _HEAD.sub(
            lambda m: m.group(0) + '<meta name="color-scheme" content="dark">', html, count=1
        )
    return html
