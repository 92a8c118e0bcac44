"""Web archive: the config and the outbox in, a static site in ``archive.folder`` out.

In: every edition in the outbox that is frozen (:func:`pipeline.edition.frozen`:
approved, being sent or sent), read from its draft as edited, the draft the email is
rendered from. Out, as :class:`ArchiveResult` and these files:

* a page per issue where ``newsletter.web_url`` points (``issues/<date>/index.html``),
  the email's content as a responsive page with Open Graph and canonical tags;
* ``index.html``: every issue, newest first; ``feed.atom``: the latest
  ``archive.feed_issues`` issues; ``style.css``;
* ``signup/index.html``: a form posting to the ``list:`` provider's subscribe endpoint
  (without a ``list:`` section there is none, and pages link ``newsletter.signup_url``).

Static files only. Each file is written atomically and only when its bytes change, issue
pages first and the index and feed last, so a reader never follows a link to a page not
yet written; the page of an issue no longer public (its approval taken back) is removed.
An unreadable draft is reported and its page left as it was. Runs under the
newsletter's lock, like a build.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from pathlib import Path, PurePosixPath

from ..config import Config
from ..draft import parse_draft
from ..edition import Edition, frozen
from ..errors import DraftError, OutboxError
from ..lock import build_lock
from ..models import Issue
from ..outbox import publish, sweep_temporary
from ..render import date_label, http_url, issue_subject, preheader
from ..store import Store, open_state
from ._atom import FeedEntry, FeedHead, atom_feed
from ._pages import (
    Head,
    IndexRow,
    Site,
    issue_body,
    issue_head,
    render_page,
    signup_form,
    stylesheet,
)
from ._site import Layout, layout_for

__all__ = ["ArchiveResult", "publish_archive"]

_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SIGNUP = "signup/"


@dataclass(frozen=True)
class ArchiveResult:
    """What one publish did: the site folder, the issues on it (newest first), the files
    written and removed (relative to the folder) and what it could not publish."""

    folder: Path
    issues: tuple[date, ...]
    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Edition:
    issue: Issue
    updated: datetime  # the draft's last change: the feed entry's <updated>


def _published_at(config: Config, issue: Issue) -> datetime:
    """When the issue came out: when its draft was generated, else its morning."""
    tz = config.newsletter.tz
    if issue.generated_at is not None:
        moment = issue.generated_at
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)
    return datetime.combine(issue.date, time(6, 0), tzinfo=tz)


def _editions(config: Config, store: Store) -> tuple[list[_Edition], set[date], list[str]]:
    """The public editions (newest first), the dates whose drafts cannot be read, warnings."""
    public: list[_Edition] = []
    unreadable: set[date] = set()
    warnings: list[str] = []
    outbox = config.outbox_path
    folders = sorted(outbox.iterdir(), reverse=True) if outbox.is_dir() else []
    for folder in folders:
        if not _DATE_DIR.match(folder.name) or not (folder / "draft.md").is_file():
            continue
        edition = date.fromisoformat(folder.name)
        path = folder / "draft.md"
        try:
            text = path.read_text(encoding="utf-8")
            changed = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(microsecond=0)
            issue = replace(parse_draft(text, file=str(path)), date=edition)
        except (OSError, UnicodeDecodeError, DraftError) as exc:
            unreadable.add(edition)
            warnings.append(f"{path}: not published, its page is left as it was: {exc}")
            continue
        # on the web once frozen: approved, being sent or sent (the edition's one rule)
        if frozen(Edition(config, edition).status(store)):
            published = _published_at(config, issue)
            public.append(_Edition(issue, max(published, changed)))
    return public, unreadable, warnings


def _site(config: Config, layout: Layout) -> Site:
    nl = config.newsletter
    signup = layout.href(SIGNUP) if config.mailing_list.signup else nl.signup_url
    return Site(
        name=nl.name,
        tagline=nl.tagline,
        logo=http_url(nl.brand.logo),
        signup_invitation=nl.signup_invitation,
        postal_address=nl.postal_address,
        home=layout.href(""),
        feed=layout.href("feed.atom"),
        style=layout.href("style.css"),
        signup=signup,
    )


def _site_files(config: Config, layout: Layout, editions: list[_Edition]) -> dict[str, bytes]:
    """Every file of the site, in the order they are written: pages first, index and feed
    last."""
    site = _site(config, layout)
    nl = config.newsletter
    files: dict[str, bytes] = {}
    rows: list[IndexRow] = []
    entries: list[FeedEntry] = []
    for e in editions:
        issue = e.issue
        url = layout.url(layout.page_path(issue.date))
        published = _published_at(config, issue)
        body = issue_body(config, issue)
        head = issue_head(config, issue, url, published)
        files[layout.page_file(issue.date)] = render_page(
            config, "issue.html.j2", site, head, issue=issue, body=body
        )
        rows.append(
            IndexRow(
                href=layout.href(layout.page_path(issue.date)),
                subject=head.og_title,
                date_label=date_label(issue.date),
                iso_date=issue.date.isoformat(),
                description=head.description,
            )
        )
        if len(entries) < config.archive.feed_issues:
            entries.append(
                FeedEntry(
                    url=url,
                    title=issue_subject(issue, config),
                    summary=preheader(issue, config),
                    content_html=body,
                    published=published,
                    updated=e.updated,
                )
            )
    if config.mailing_list.signup:
        head = Head(
            title=f"Sign up | {nl.name}",
            og_title=f"Sign up for {nl.name}",
            description=nl.signup_invitation,
            url=layout.url(SIGNUP),
        )
        form = signup_form(config.mailing_list)
        files[SIGNUP + "index.html"] = render_page(config, "signup.html.j2", site, head, form=form)
    files["style.css"] = stylesheet(config, nl.brand)
    index_head = Head(
        title=nl.name,
        og_title=nl.name,
        description=nl.tagline or nl.signup_invitation,
        url=layout.url(""),
    )
    files["index.html"] = render_page(config, "index.html.j2", site, index_head, rows=rows)
    feed_head = FeedHead(nl.name, nl.tagline, layout.url(""), layout.url("feed.atom"))
    files["feed.atom"] = atom_feed(feed_head, entries)
    return files


def _write(root: Path, files: Mapping[str, bytes]) -> list[str]:
    """Write each file atomically (unchanged ones untouched), folder by folder in order."""
    written: list[str] = []
    swept: set[Path] = set()
    for rel, data in files.items():
        path = PurePosixPath(rel)
        folder = root.joinpath(*path.parent.parts)
        if folder not in swept:  # what a killed publish left behind
            sweep_temporary(folder)
            swept.add(folder)
        if publish(folder, {path.name: data}):
            written.append(rel)
    return written


def _stale_pages(root: Path, layout: Layout, keep: Iterable[date]) -> list[str]:
    """Issue pages on disk whose edition is not in ``keep``."""
    if not root.is_dir():
        return []
    kept = {layout.page_file(d) for d in keep}
    found = (p.relative_to(root).as_posix() for p in root.glob(layout.page_glob()))
    return sorted(rel for rel in found if rel not in kept)


def _remove(root: Path, rels: Iterable[str]) -> list[str]:
    removed = []
    for rel in rels:
        page = root / rel
        try:
            page.unlink()
            # the folder named by the date goes too once empty (issues/<date>/)
            if page.name == "index.html" and not any(page.parent.iterdir()):
                page.parent.rmdir()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise OutboxError(f"cannot remove {page}: {exc.strerror or exc}") from None
        removed.append(rel)
    return removed


def publish_archive(config: Config) -> ArchiveResult:
    """Write (or bring up to date) the static web archive; see the module doc.

    Raises :class:`ConfigError` when the site's address cannot be worked out,
    :class:`RenderError` for a broken web template, :class:`OutboxError` for a file
    that cannot be written and :class:`LockedError` when a build holds the lock too long.
    """
    layout = layout_for(config)
    root = config.archive_path
    with build_lock(config, wait=config.schedule.lock_wait_seconds):
        with open_state(config) as store:
            editions, unreadable, warnings = _editions(config, store)
        files = _site_files(config, layout, editions)
        written = _write(root, files)
        keep = {e.issue.date for e in editions} | unreadable
        removed = _remove(root, _stale_pages(root, layout, keep))
        if not config.mailing_list.signup:
            removed += _remove(root, [SIGNUP + "index.html"])
    return ArchiveResult(
        folder=root,
        issues=tuple(e.issue.date for e in editions),
        written=tuple(written),
        removed=tuple(removed),
        warnings=tuple(warnings),
    )
