"""The gate: every story passes it before an issue, whoever wrote it.

In: a :class:`StorySummary`, the :class:`Article` it was written from and the house style.
Out: the story with ``style`` (house-style findings, ``_style``) and ``facts`` (numbers, names
and quotations against the source, ``_facts``) filled in. A story with an error finding is
blocked until an editor acts; warnings are for the editor to read.

``read_cases`` reads stories written elsewhere (one JSON object a line, ``{"article": {...},
"story": {...}}``) for ``newsletter lint --stories``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from ..errors import InputError
from ..models import Article, SourceRef, StorySummary
from ._facts import check_facts
from ._source import read_source
from ._style import HouseStyle, check_style


def check_story(story: StorySummary, article: Article, style: HouseStyle) -> StorySummary:
    """The story with its house-style and fact findings filled in."""
    names = read_source(article.title, article.text).names
    return replace(
        story,
        style=check_style(story, style, names),
        facts=check_facts(story, article, style),
    )


@dataclass(frozen=True)
class Case:
    """One story to check against its article, and the input line it came from."""

    line: int
    article: Article
    story: StorySummary


_STORY_TEXT = ("headline", "dek", "hook", "nut_graf", "section", "context", "lead_in")  # + bullets


def _text(obj: dict[str, object], key: str, where: str, *, required: bool = True) -> str:
    value = obj.get(key, None if required else "")
    if not isinstance(value, str):
        raise ValueError(f"{where}.{key} must be a string (got {value!r})")
    return value


def read_cases(text: str, *, file: str) -> list[Case]:
    """Stories to check, one JSON object a line; blank lines are skipped.

    A missing ``story`` part reads as empty (the gate reports it); a line that is not JSON,
    or a key of the wrong type, raises :class:`InputError` naming the file and line.
    """
    cases: list[Case] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("a line must be a JSON object")
            art, raw = row.get("article"), row.get("story")
            if not isinstance(art, dict) or not isinstance(raw, dict):
                raise ValueError('a line needs an "article" object and a "story" object')
            bullets = raw.get("bullets", [])
            if not isinstance(bullets, list) or not all(isinstance(b, str) for b in bullets):
                raise ValueError("story.bullets must be a list of strings")
            source = _text(art, "source", "article", required=False)
            article = Article(
                id=_text(art, "id", "article"),
                title=_text(art, "title", "article", required=False),
                text=_text(art, "text", "article"),
                source=source,
            )
            part = {k: _text(raw, k, "story", required=False) for k in _STORY_TEXT}
            story = StorySummary(
                id=article.id,
                headline=part["headline"],
                dek=part["dek"],
                hook=part["hook"],
                nut_graf=part["nut_graf"],
                section=part["section"],
                context=part["context"],
                lead_in=part["lead_in"],
                bullets=tuple(bullets),
                kicker_label=_text(raw, "kicker_label", "story", required=False),
                kicker=_text(raw, "kicker", "story", required=False),
                sources=(SourceRef(source),) if source else (),
                engine="input",
            )
        except json.JSONDecodeError as exc:
            raise InputError(
                f"invalid JSON: {exc.msg} (column {exc.colno})", file=file, line=n
            ) from None
        except ValueError as exc:
            raise InputError(str(exc), file=file, line=n) from None
        cases.append(Case(n, article, story))
    return cases
