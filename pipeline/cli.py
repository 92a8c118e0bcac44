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
