"""Scaffold: a folder name in, a new newsletter there out (``newsletter init``).

The starter is the repository's own ``config.yaml``, ``samples/`` and ``inbox/``: a
source checkout has them beside the package, and a wheel carries the same files as
``pipeline/starter`` (pyproject.toml maps them in), so an installed package can start a
newsletter whose first ``newsletter build`` works offline.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import NewsletterError

__all__ = ["STARTER", "scaffold"]


def _starter() -> Path:
    here = Path(__file__).resolve().parent
    # a wheel carries the starter inside the package; a checkout has it beside the package
    inside = here / "starter"
    return inside if (inside / "config.yaml").is_file() else here.parent


STARTER = _starter()


def scaffold(folder: Path) -> None:
    """Create ``folder`` (or fill an empty one) with config.yaml, samples/, inbox/ and outbox/.

    Raises :class:`NewsletterError` when the folder already has a config.yaml (nothing is
    changed) or when the installed package lacks its starter files.
    """
    parts = (STARTER / "config.yaml", STARTER / "samples", STARTER / "inbox")
    if not all(p.exists() for p in parts):
        raise NewsletterError(
            f"the starter files are missing from {STARTER} (a broken install?);"
            " reinstall the package"
        )
    if (folder / "config.yaml").exists():
        raise NewsletterError(f"{folder / 'config.yaml'} already exists; nothing was changed")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copytree(STARTER / "samples", folder / "samples", dirs_exist_ok=True)
        shutil.copytree(STARTER / "inbox", folder / "inbox", dirs_exist_ok=True)
        (folder / "outbox").mkdir(exist_ok=True)
        # the config last: its presence is what marks the folder as a newsletter
        shutil.copy(STARTER / "config.yaml", folder / "config.yaml")
    except OSError as exc:
        raise NewsletterError(f"cannot create {folder}: {exc.strerror or exc}") from None
