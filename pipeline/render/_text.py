"""Plain-text part: the render context in, text wrapped at 78 characters out.

The text comes from ``templates/issue.txt.j2`` (no escaping: it is not HTML);
this module supplies the ``wrap`` and ``rule`` filters and tidies blank lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._mjml import TEXT_TEMPLATE, environment, render_template

WIDTH = 78


def wrap(text: str, first: str = "", rest: str = "") -> str:
    """Wrap one paragraph at :data:`WIDTH`; long words (URLs) are never split.

    A plain greedy fill: textwrap does the same work about five times slower.
    """
    lines: list[str] = []
    line = first
    empty = True  # nothing but the indent on the current line yet
    for word in str(text).split():
        if empty:
            line += word
            empty = False
        elif len(line) + 1 + len(word) <= WIDTH:
            line += " " + word
        else:
            lines.append(line)
            line = rest + word
    lines.append(line)
    return "\n".join(lines)


def rule(_: object = "") -> str:
    """A separator line as wide as the text."""
    return "-" * WIDTH


def render_text(templates: Path, context: Mapping[str, Any]) -> str:
    """Render the plain-text part from its template."""
    env = environment(templates, False)
    env.filters.setdefault("wrap", wrap)
    env.filters.setdefault("rule", rule)
    text = render_template(templates, TEXT_TEMPLATE, context, html=False)
    lines = [line.rstrip() for line in text.splitlines()]
    # never more than one blank line in a row, none at the ends
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"
