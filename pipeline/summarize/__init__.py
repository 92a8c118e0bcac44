"""Summarize: selected :class:`Article` objects in, house-style :class:`StorySummary` out.

In: articles (plain text, outlet names), the typed config (``summarizer`` section) and,
optionally, the state store (for the LLM cache). Out: a :class:`SummaryRun` with one story per
article, in order, each with its style findings (house-style rules it breaks) and fact findings
(numbers, names and quotations its source lacks), plus LLM calls, tokens, cache hits and errors.

The default engine is offline and deterministic. With ``summarizer.engine: llm`` an
OpenAI-compatible endpoint writes the stories; a story that fails validation is retried with the
findings and then written by the offline engine, and the reason is recorded. One bad article
never stops the run: an ``api_key_env`` naming an unset or empty variable is treated like a
refused key (no request; the offline engine writes the stories, the fallback naming the variable).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..config import Config, secret
from ..errors import ConfigError
from ..models import Article, Finding, StorySummary, SummaryRun
from ..store import Store
from ._extractive import write_story
from ._facts import check_facts, source_text
from ._gate import Case, check_story, read_cases
from ._llm import summarize_llm
from ._style import DEFAULT_STYLE_PATH, HouseStyle, check_style, load_house_style

__all__ = [
    "Case",
    "HouseStyle",
    "SummaryRun",
    "check_facts",
    "check_story",
    "check_style",
    "house_style_for",
    "load_house_style",
    "read_cases",
    "source_text",
    "summarize",
]


def _offline(article: Article, style: HouseStyle) -> StorySummary:
    """The offline story for one article; an unexpected failure becomes a finding."""
    try:
        return write_story(article, style)  # checked by the gate already
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
    """The house style a newsletter uses: its templates folder's, else the shipped one.

    Read again only when the file changed (its stamp), so an edit is seen on the next run.
    """
    path = config.templates_path / "house-style.yaml"
    if not path.exists():
        path = DEFAULT_STYLE_PATH
    try:
        st = path.stat()
    except OSError:
        return load_house_style(path)  # it names the file and the fault
    return _house_style(str(path), st.st_mtime_ns, st.st_size, st.st_ino)


@functools.lru_cache(maxsize=16)
def _house_style(path: str, mtime_ns: int, size: int, inode: int) -> HouseStyle:
    return load_house_style(Path(path))


def summarize(
    articles: Sequence[Article], config: Config, *, store: Store | None = None
) -> SummaryRun:
    """Write one house-style story per article, in order, with style and fact findings."""
    style = house_style_for(config)
    if config.summarizer.engine == "llm":
        llm = config.summarizer.llm
        key, key_problem = "", ""
        if llm.api_key_env:
            try:
                key = secret(llm.api_key_env, key="summarizer.llm.api_key_env", file=config.file)
            except ConfigError as exc:
                key_problem = exc.detail  # handled as a refused key: the offline engine writes
        return summarize_llm(
            articles,
            llm,
            style,
            store,
            offline=lambda a: _offline(a, style),
            checked=lambda s, a: check_story(s, a, style),
            api_key=key,
            key_problem=key_problem,
        )
    return SummaryRun(stories=tuple(_offline(a, style) for a in articles))
