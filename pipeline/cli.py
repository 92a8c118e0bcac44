"""The ``newsletter`` command line: the only place errors become exit codes.

Every command parses the config once, calls one stage's public function (or
:func:`pipeline.build.build_issue`) and prints a short summary.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from .config import Config, load_config
from .errors import NewsletterError

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Turn a :class:`NewsletterError` into a one-line message and its exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NewsletterError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


config_option = click.option(
    "--config",
    "config_path",
    default="config.yaml",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file.",
)


def date_option(help_text: str = "Edition date (YYYY-MM-DD); today in the newsletter's timezone by default.") -> Callable[[F], F]:
    return click.option("--date", "edition", type=click.DateTime(["%Y-%m-%d"]), default=None, help=help_text)


def edition_date(config: Config, edition: Any) -> date:
    """The edition date from ``--date``, else today in the newsletter's timezone."""
    if edition is not None:
        return edition.date()  # type: ignore[no-any-return]
    from datetime import datetime

    return datetime.now(config.newsletter.tz).date()


def get_config(path: Path) -> Config:
    return load_config(path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsletter-pipeline")
def cli() -> None:
    """Build a house-style daily business newsletter from feeds and story files."""


def main() -> None:
    """Console-script entry point."""
    cli()


@cli.command("ingest")
@config_option
@click.option(
    "--source", "sources", multiple=True, metavar="PATH_OR_URL",
    help="Ingest this feed, story file or folder instead of the configured ones (repeatable).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one object per source, one per line.")
@handle_errors
def ingest_command(config_path: Path, sources: tuple[str, ...], fmt: str) -> None:
    """Fetch feeds and read story files into the state store.

    Failing sources are reported and the rest go on; the exit status is 1 only
    when every source failed.
    """
    import json

    from .ingest import ingest
    from .store import open_store

    config = get_config(config_path)
    with open_store(config.state_path) as store:
        result = ingest(config, store, sources=list(sources) or None)
    for s in result.sources:
        if fmt == "json":
            click.echo(json.dumps({
                "source": s.source, "status": "error" if s.status == "error" else "ok",
                "items": len(s.items), "new": s.new, "updated": s.updated,
                "not_modified": s.status == "not-modified", "error": s.error,
                "warnings": list(s.warnings),
            }, ensure_ascii=False))
        elif s.status == "error":
            click.echo(f"  FAIL {s.error}")
        else:
            what = "not modified" if s.status == "not-modified" else (
                f"{len(s.items)} items, {s.new} new, {s.updated} updated")
            click.echo(f"  ok   {s.source}: {what}")
            for w in s.warnings:
                click.echo(f"       warning: {w}")
    failed = len(result.failed)
    if fmt != "json":
        click.echo(
            f"{len(result.sources)} sources, {failed} failed, {result.new} new items"
            f" in {result.elapsed:.2f} s"
        )
    if result.sources and failed == len(result.sources):
        sys.exit(1)
