"""Select: the state store's fresh items in, the edition's :class:`Selection` out.

Candidates are items from the newsletter's own sources (feeds, inbox) that it has not used in
another issue, seen within ``issue.max_age_hours``.
Items covering the same event are clustered into one candidate citing its outlets
(:func:`article_from`, the rule the desk and the build's fact check use too).
Candidates are ranked by recency (against the end of the edition day, so a rebuild
on the same date ranks the same way), source weight and coverage; the top
``issue.stories`` become stories, the next ``issue.quick_links`` quick links.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from .cluster import cluster_items
from .config import Config
from .models import Article, Item, Selection, SourceRef, StorySummary
from .store import Sources, Store

__all__ = ["article_from", "select"]

_HALF_LIFE_HOURS = 24.0
_MIN_STORY_WORDS = 40  # a story needs enough text for bullets; shorter items become links
_MAX_SOURCES = 5  # outlets cited per story
_POOL_PER_SLOT = 10  # candidates clustered per story or link slot: bounds the work on big days


def _weights(config: Config) -> dict[str, float]:
    weights: dict[str, float] = {}
    for feed in config.sources.feeds:
        weights[feed.url] = feed.weight
        if not feed.url.startswith(("http://", "https://")):
            weights[str(config.path(feed.url))] = feed.weight
    return weights


def _edition_end(config: Config, edition: date) -> datetime:
    local_end = datetime.combine(edition, time(23, 59, 59), tzinfo=config.newsletter.tz)
    return local_end.astimezone(UTC)


def _score(
    group: Sequence[tuple[Item, str]],
    ref: datetime,
    weights: dict[str, float],
    inbox: str,
    inbox_weight: float,
) -> float:
    best = 0.0
    for item, first_seen in group:
        when = item.published or datetime.fromisoformat(first_seen)
        age_h = max(0.0, (ref - when).total_seconds() / 3600)
        recency = math.pow(0.5, age_h / _HALF_LIFE_HOURS)
        from_inbox = bool(inbox) and item.origin.startswith(inbox)
        weight = weights.get(item.origin, inbox_weight if from_inbox else 1.0)
        best = max(best, weight * (0.25 + recency))
    coverage = 1.0 + 0.25 * (len({i.source for i, _ in group}) - 1)
    return best * coverage


def article_from(items: Sequence[Item], *, story: StorySummary | None = None) -> Article:
    """The one rule turning items about one event into the article a story is written
    from and checked against: the item with the longest text leads (its facts are what
    the story is checked against), up to five outlets are cited, and the image is the
    first any item offers. A story already written (a desk regenerate, the build's fact
    check) keeps the outlets and image its draft gives, when it gives them."""
    lead = max(items, key=lambda i: (len(i.text.split()), i.id))
    refs: list[SourceRef] = []
    for item in (lead, *[i for i in items if i is not lead]):
        ref = SourceRef(item.source, item.url)
        if ref not in refs and len(refs) < _MAX_SOURCES:
            refs.append(ref)
    image = next((i.image for i in items if i.image), None)
    return Article(
        id=lead.id,
        title=lead.title,
        text=lead.text,
        url=lead.url,
        source=lead.source,
        sources=(story.sources if story else ()) or tuple(refs),
        published=lead.published,
        image=(story.image if story else None) or image,
        item_ids=tuple(i.id for i in items),
    )


def sources_of(config: Config) -> Sources:
    """Where the newsletter's items come from: its feeds and its inbox folder (in a store
    several newsletters share, another's feeds are not its own)."""
    inbox = str(config.path(config.sources.inbox)) if config.sources.inbox else ""
    return Sources(frozenset(_weights(config)), (inbox,) if inbox else ())


def select(config: Config, store: Store, edition: date) -> Selection:
    """Choose the stories and quick links for ``edition`` from the state store."""
    ref = _edition_end(config, edition)
    since = ref - timedelta(hours=config.issue.max_age_hours)
    weights = _weights(config)
    sources = sources_of(config)
    inbox = next(iter(sources.folders), "")

    def score(group: Sequence[tuple[Item, str]]) -> float:
        return _score(group, ref, weights, inbox, config.sources.inbox_weight)

    # only this newsletter's own sources: another's feeds in a shared store are not its
    rows = store.candidates(edition, since, sources)
    # Rank items alone first and cluster only the best of them: a group's score is
    # its best member's times a coverage bonus, so an item past the pool could only
    # have added a source to a chosen story, never made the issue on its own.
    rows.sort(key=lambda r: (-score([r]), r[0].id))
    pool = max(200, _POOL_PER_SLOT * (config.issue.stories + config.issue.quick_links))
    rows = sorted(
        rows[:pool],
        key=lambda r: (r[0].published or datetime.min.replace(tzinfo=UTC), r[0].id),
        reverse=True,
    )
    seen_at = {item.id: first_seen for item, first_seen in rows}
    groups = cluster_items([item for item, _ in rows])
    ranked = sorted(groups, key=lambda g: (-score([(i, seen_at[i.id]) for i in g]), g[0].id))
    stories: list[Article] = []
    links: list[Article] = []
    for group in ranked:
        if len(stories) == config.issue.stories and len(links) == config.issue.quick_links:
            break
        article = article_from(group)
        if len(stories) < config.issue.stories and len(article.text.split()) >= _MIN_STORY_WORDS:
            stories.append(article)
        elif len(links) < config.issue.quick_links and article.url:
            links.append(article)
    return Selection(date=edition, stories=tuple(stories), quick_links=tuple(links))
