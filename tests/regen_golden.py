"""Regenerate the golden files of the render tests: ``python -m tests.regen_golden``.

In: the fixed issue and config of ``tests/render_samples.py``. Out:
``tests/golden/issue.html`` and ``tests/golden/issue.txt``. Run it only after a
deliberate change to the templates or the renderer, and review the diff.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from render_samples import GOLDEN, fixed_issue, render_config

from pipeline.render import render


def main() -> None:
    """Render the fixed issue and write the golden HTML and text."""
    rendered = render(fixed_issue(), render_config())
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, content in (("issue.html", rendered.html), ("issue.txt", rendered.text)):
        path = GOLDEN / name
        path.write_text(content, encoding="utf-8", newline="")
        print(f"wrote {path} ({len(content.encode('utf-8'))} bytes)")


if __name__ == "__main__":
    main()
