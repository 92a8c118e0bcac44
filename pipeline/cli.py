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
from .models import RenderedIssue

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


def rendered_from_outbox(config: Config, day: date) -> RenderedIssue:
    """Rebuild the :class:`RenderedIssue` of one edition from its outbox files.

    Used by ``send`` (and meant for ``lint``) so both check the files as they are
    on disk. Raises :class:`SendError` naming the missing file.
    """
    from email import message_from_bytes, policy

    from .errors import SendError

    folder = config.outbox_path / day.isoformat()
    files: dict[str, bytes] = {}
    for name in ("issue.html", "issue.txt", "issue.eml"):
        try:
            files[name] = (folder / name).read_bytes()
        except OSError as exc:
            raise SendError(
                f"cannot read {folder / name}: {exc.strerror or exc}; "
                f"run `newsletter build --date {day}` first"
            ) from None
    subject = message_from_bytes(files["issue.eml"], policy=policy.default).get("Subject", "")
    return RenderedIssue(
        html=files["issue.html"].decode("utf-8", "replace"),
        text=files["issue.txt"].decode("utf-8", "replace"),
        eml=files["issue.eml"],
        subject=str(subject),
    )


@cli.command("send")
@config_option
@date_option()
@click.option("--to", "to", multiple=True, required=True, help="Recipient address (repeatable).")
@click.option("--force", is_flag=True, help="Send even when lint finds blocking problems.")
@handle_errors
def send_command(config_path: Path, edition: Any, to: tuple[str, ...], force: bool) -> None:
    """Send outbox/<date>/issue.eml over SMTP (a test send), after linting it."""
    from .errors import SendError
    from .render import lint_email
    from .send import send_issue

    config = get_config(config_path)
    day = edition_date(config, edition)
    rendered = rendered_from_outbox(config, day)
    findings = lint_email(rendered, config)
    for f in findings:
        click.echo(f"{f.severity}: {f.part}: {f.rule}: {f.message}", err=True)
    blocking = [f for f in findings if f.severity == "error"]
    folder = config.outbox_path / day.isoformat()
    if blocking and not force:
        raise SendError(
            f"{len(blocking)} blocking lint finding(s) in {folder}; fix them or use --force"
        )
    send_issue(rendered.eml, to, config)
    click.echo(
        f"sent {folder / 'issue.eml'} ({rendered.subject}) to {', '.join(to)} "
        f"via {config.smtp.host}:{config.smtp.port}"
    )
