"""`newsletter init` from a built wheel: installed in a fresh venv, away from any checkout,
the package starts a newsletter whose first build (and web archive) works offline.

The wheel is built from a copy of the project with this environment's setuptools
(``--no-build-isolation``: nothing is downloaded) and installed with ``--no-index
--no-deps`` into a new venv. The venv reaches the dependencies already installed here
through a ``.pth`` line naming this environment's site-packages: that puts them on
``sys.path`` without running their own ``.pth`` files, so this checkout's editable
install stays out and ``pipeline`` can only come from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DATE = "2026-11-28"
# what a checkout holds that is no part of the project's source
_NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv*",
    "__pycache__",
    "*.egg-info",
    "build",
    "dist",
    "test-artifacts",
    ".*_cache",
    ".hypothesis",
    "state",
    "outbox",
    "site",
)


def _run(*args: str | Path, cwd: Path, venv: bool = True) -> subprocess.CompletedProcess[str]:
    # no PYTHONPATH in the venv's runs: nothing of the checkout may leak into them
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" or not venv}
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env={**env, "NO_COLOR": "1", "PIP_NO_INDEX": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result


def _starter_files() -> set[str]:
    found = {"pipeline/starter/config.yaml"}
    for folder in ("samples/feeds", "inbox"):
        found |= {f"pipeline/starter/{folder}/{p.name}" for p in (ROOT / folder).iterdir()}
    return found


def test_init_from_an_installed_wheel_builds_in_an_empty_folder(tmp_path: Path) -> None:
    import setuptools

    assert int(setuptools.__version__.split(".")[0]) >= 77, (
        f"setuptools {setuptools.__version__} cannot build this project offline;"
        " reinstall the test extras: pip install -e '.[test]'"
    )
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    dist = tmp_path / "dist"
    _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", dist,
        source, cwd=tmp_path, venv=False,
    )  # fmt: skip
    (wheel,) = dist.glob("newsletter_pipeline-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {n for n in names if n.startswith("pipeline/starter/")} == _starter_files()
    assert {"pipeline/templates/web/issue.html.j2", "pipeline/archive/__init__.py"} <= names
    assert all(n.startswith(("pipeline/", "newsletter_pipeline-")) for n in names), names

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    purelib = _run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path
    ).stdout.strip()
    here = sysconfig.get_paths()
    Path(purelib, "dependencies.pth").write_text(
        f"{here['purelib']}\n{here['platlib']}\n", encoding="utf-8"
    )
    _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", wheel,
        cwd=tmp_path,
    )  # fmt: skip
    where = _run(python, "-c", "import pipeline; print(pipeline.__file__)", cwd=tmp_path)
    assert where.stdout.strip().startswith(purelib)

    empty = tmp_path / "empty"
    empty.mkdir()
    newsletter = venv / "bin" / "newsletter"
    _run(newsletter, "init", "paper", cwd=empty)
    paper = empty / "paper"
    assert sorted(p.name for p in (paper / "inbox").iterdir()) == sorted(
        p.name for p in (ROOT / "inbox").iterdir()
    )
    _run(newsletter, "build", "--date", DATE, cwd=paper)
    for name in ("draft.md", "issue.html", "issue.txt", "issue.eml", "report.json"):
        assert (paper / "outbox" / DATE / name).stat().st_size > 0, name

    _run(newsletter, "approve", "--date", DATE, cwd=paper)
    published = _run(newsletter, "publish", cwd=paper)
    assert "1 issue(s) published" in published.stdout
    page = (paper / "site" / "issues" / DATE / "index.html").read_text(encoding="utf-8")
    assert "<title>" in page and "The Daily Ledger" in page
