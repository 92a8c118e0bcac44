"""Summarize: selected :class:`Article` objects in, house-style :class:`StorySummary` out.

In: articles (plain text, outlet names), the typed config (``summarizer`` section) and,
optionally, the state store (for the LLM cache). Out: a :class:`SummaryRun` with one story per
article, in order, each with its style findings (house-style rules it breaks) and fact findings
(numbers, names and quotations its source lacks), plus LLM calls, tokens, cache hits and errors.

The default engine is offline and deterministic. With ``summarizer.engine: llm`` an
OpenAI-compatible endpoint writes the stories; a story that fails validation is retried with the
findings and then written by the offline engine, and the reason is recorded. One bad article
never stops the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..config import Config
from ..models import Article, Finding, StorySummary
from ..store import Store
from ._extractive import write_story
from ._facts import check_facts
from ._style import HouseStyle, check_style, load_house_style

__all__ = [
    "HouseStyle",
    "SummaryRun",
    "check_facts",
    "check_style",
    "house_style_for",
    "load_house_style",
    "source_text",
    "summarize",
]


@dataclass(frozen=True)
class SummaryRun:
    """What one summarize run produced: the stories and the LLM bookkeeping."""

    stories: tuple[StorySummary, ...]
    calls: int = 0
    tokens: int = 0
    cache_hits: int = 0
    errors: tuple[str, ...] = ()


def source_text(article: Article) -> str:
    """What a story may draw its facts from: title, text and every outlet's name."""
    names = [article.source, *(s.name for s in article.sources)]
    return "\n".join([article.title, article.text, *[n for n in names if n]])


def _checked(story: StorySummary, article: Article, style: HouseStyle) -> StorySummary:
    return replace(
        story,
        style=check_style(story, style),
        facts=check_facts(story, source_text(article), style),
    )


def _offline(article: Article, style: HouseStyle) -> StorySummary:
    """The offline story for one article; an unexpected failure becomes a finding."""
    try:
        return _checked(write_story(article, style), article, style)
    except Exception as exc:  # one bad article must never stop the run
        story = StorySummary(
            id=article.id,
            headline=article.title,
            dek="",
            hook="",
            nut_graf="",
            section="",
            context="",
            lead_in="",
            bullets=(),
            kicker_label="",
            kicker="",
        )
        failure = Finding(
            rule="summarizer-error",
            part="",
            story=article.id,
            message=f"the offline engine failed on this article: {exc!r}",
        )
        return replace(story, style=(failure, *check_style(story, style)))


def house_style_for(config: Config) -> HouseStyle:
    """The house style a newsletter uses: its templates folder's, else the shipped one."""
    path = config.templates_path / "house-style.yaml"
    return load_house_style(path if path.exists() else None)


def summarize(
    articles: Sequence[Article], config: Config, *, store: Store | None = None
) -> SummaryRun:
    """Write one house-style story per article, in order, with style and fact findings."""
    style = house_style_for(config)
    if config.summarizer.engine == "llm":
        from ._llm import summarize_llm

        return summarize_llm(
            articles,
            config.summarizer.llm,
            style,
            store,
            offline=lambda a: _offline(a, style),
            checked=lambda s, a: _checked(s, a, style),
        )
    return SummaryRun(stories=tuple(_offline(a, style) for a in articles))
