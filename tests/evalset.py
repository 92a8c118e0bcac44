"""Where the shared eval set is (and any other folder of shared/), and its JSON-lines files
read in place.

The set (``../shared/eval``: dev articles, desk stories) is never copied into the repository.
Both the main suite (``conftest.py``) and the opt-in real-model test read it through here; a
test that needs it fails (never skips) with where it looked when it is missing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def shared_dirs(*parts: str) -> list[Path]:
    """Where a folder of shared/ may be: beside this checkout, else beside its main checkout.

    A git worktree (``.git`` is a file naming its gitdir) sits elsewhere, so the main
    checkout's neighbour is tried as well.
    """
    dirs = [ROOT.parent.joinpath("shared", *parts)]
    dotgit = ROOT / ".git"
    if dotgit.is_file() and dotgit.read_text().startswith("gitdir:"):
        gitdir = Path(dotgit.read_text().split(":", 1)[1].strip())
        common = gitdir / "commondir"
        if common.is_file():
            main = (gitdir / common.read_text().strip()).resolve().parent
            dirs.append(main.parent.joinpath("shared", *parts))
    return dirs


def eval_dirs() -> list[Path]:
    """Where the shared eval set may be (see :func:`shared_dirs`)."""
    return shared_dirs("eval")


EVAL = next((d for d in eval_dirs() if d.is_dir()), eval_dirs()[0])


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of one file of the set; the test fails naming where it looked if it is missing."""
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: this test reads the shared eval set (dev.jsonl, desk.jsonl), "
            f"looked for in {', '.join(map(str, eval_dirs()))}; put shared/ beside the repository"
        )
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
