"""Shared fixtures: the loopback chat-completions server, LLM configs, the preview's scratch
site and server (``preview_site.py``), the shared eval set (dev articles and desk stories)
read in place through ``evalset.py``, the linear-time check, and a real PostgreSQL server
(``pgserver.py``) with the ``any_state`` fixture that gives each store test both backends.

Tests marked ``slow`` (the marker's meaning is in pyproject.toml) are left out by
``pytest -m "not slow"``, the quick loop; ``test_code_quality`` fails a test that starts a
process or a browser without the mark."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import configs
import pgserver
import pytest
from evalset import EVAL, read_jsonl
from llmserver import ChatServer, serve
from preview_site import make_site, serving

from pipeline.config import Config, load_config
from pipeline.models import Article
from pipeline.preview import PreviewServer


@dataclass(frozen=True)
class DeskCase:
    """One dev article and the story a desk editor wrote for it in the house style."""

    article: Article
    story: dict[str, Any]


@pytest.fixture(scope="session")
def dev() -> list[Article]:
    """The 100 dev articles (CNN or Daily Mail as the outlet), in file order."""
    rows = read_jsonl(EVAL / "dev.jsonl")
    articles = [
        Article(id=r["id"], title=r.get("title", ""), text=r["text"], source=r.get("source", ""))
        for r in rows
    ]
    assert len(articles) == 100, f"expected 100 dev articles in {EVAL}, found {len(articles)}"
    return articles


@pytest.fixture(scope="session")
def desk(dev: list[Article]) -> list[DeskCase]:
    """The 30 desk-written stories with their articles (joined on id with dev.jsonl)."""
    by_id = {a.id: a for a in dev}
    cases = []
    for row in read_jsonl(EVAL / "desk.jsonl"):
        if row["id"] not in by_id:
            pytest.fail(f"desk story {row['id']} has no article in {EVAL / 'dev.jsonl'}")
        cases.append(DeskCase(by_id[row["id"]], row["story"]))
    assert len(cases) == 30, f"expected 30 desk stories in {EVAL}, found {len(cases)}"
    return cases


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    """A chat-completions server on 127.0.0.1 that accepts every response_format."""
    with serve() as server:
        yield server


@pytest.fixture(scope="session")
def _pristine_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The preview's site laid out and rendered once a run; tests get copies of it."""
    folder = tmp_path_factory.mktemp("pristine-site")
    make_site(folder)
    return folder


@pytest.fixture
def site(tmp_path: Path, _pristine_site: Path) -> Config:
    """The preview's scratch newsletter site with one rendered edition (``preview_site.py``),
    copied from the one laid out for the run (a render costs more than a copy)."""
    shutil.copytree(_pristine_site, tmp_path, dirs_exist_ok=True)
    return load_config(tmp_path / "config.yaml")


@pytest.fixture
def server(site: Config) -> Iterator[PreviewServer]:
    """The preview of ``site``, serving and watching on a free 127.0.0.1 port."""
    with serving(site) as srv:
        yield srv


@pytest.fixture
def llm_config() -> Callable[..., Config]:
    """``llm_config(base_url, **llm)``: see :func:`configs.llm_config`."""
    return configs.llm_config


# -- linear time -------------------------------------------------------------------------
# Time is compared between an input and one four times its size (a linear path takes about
# 4x, a quadratic one about 16x; a 2x step would leave a quadratic path, slowed by its linear
# parts, at about 3x, too near a linear one's 2x to tell on a busy machine), never against a
# fixed number of seconds.


def _repeated(pattern: str, size: int, salt: int) -> str:
    """``size`` characters of the pattern, with a salt so no cache answers for an earlier run."""
    body = pattern * (size // len(pattern) + 1)
    return f"Q{salt} {body}"[:size]


def _best_seconds(run: Callable[[str], object], pattern: str, size: int) -> float:
    """The best of up to three runs on fresh inputs (fewer when one run is already slow), in
    this process's CPU seconds: other processes on a busy machine do not count."""
    best = float("inf")
    spent = 0.0
    for salt in range(3):
        text = _repeated(pattern, size, salt + 10 * size)
        start = time.process_time()
        run(text)
        took = time.process_time() - start
        best, spent = min(best, took), spent + took
        if spent > 2.0:
            break
    return best


def check_linear(run: Callable[[str], object], pattern: str, size: int) -> None:
    """Fail unless ``run`` on ``pattern`` repeated to 4 * ``size`` characters takes at most
    8x its time on ``size`` characters (linear: about 4x; quadratic: about 16x)."""
    run(_repeated(pattern, 200, 0))  # warm up: lexicon, tagger, compiled patterns
    small = _best_seconds(run, pattern, size)
    large = _best_seconds(run, pattern, 4 * size)
    # Below 50 ms a run is too quick to time.
    assert large < 0.05 or large <= 8.0 * small, (
        f"{4 * size} characters took {large:.3f} s, {large / small:.1f}x the {small:.3f} s of "
        f"{size}: not linear"
    )


@pytest.fixture
def assert_linear() -> Callable[[Callable[[str], object], str, int], None]:
    """``assert_linear(run, pattern, size)``: see :func:`check_linear`."""
    return check_linear


# -- the state store's two backends ------------------------------------------------------
@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.PgServer]:
    """Debian's PostgreSQL in a temporary data directory for the session (fails, naming
    the package, when it is not installed)."""
    server = pgserver.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: pgserver.PgServer) -> str:
    """A fresh, empty PostgreSQL database's URL."""
    return pg_server.database()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_state(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh state store's ``paths.state`` on each backend: a SQLite file, then a
    PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "state" / "s.sqlite3")
    server: pgserver.PgServer = request.getfixturevalue("pg_server")
    return server.database()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed TLS certificate for 127.0.0.1 and its key (openssl)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key
