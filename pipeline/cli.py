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


def date_option(
    help_text: str = "Edition date (YYYY-MM-DD); today in the newsletter's timezone by default.",
) -> Callable[[F], F]:
    return click.option(
        "--date", "edition", type=click.DateTime(["%Y-%m-%d"]), default=None, help=help_text
    )


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


def _print_summary(result: Any) -> None:
    """A short run summary: status, stories, sources, warnings, timings."""
    report = result.report
    click.echo(f"{report.get('newsletter', '')} {result.edition.isoformat()}: {result.status}")
    for n, story in enumerate(report.get("stories", []), 1):
        flags = len(story.get("findings", []))
        click.echo(f"  {n}. {story['headline']}" + (f"  [{flags} finding(s)]" if flags else ""))
    sources = report.get("sources", [])
    if sources:
        failed = [s for s in sources if s["status"] == "error"]
        click.echo(f"  sources: {len(sources) - len(failed)} ok, {len(failed)} failed")
        for s in failed:
            click.echo(f"    failed: {s['error']}")
    for w in report.get("warnings", []):
        click.echo(f"  warning: {w}")
    if report.get("timings"):
        click.echo("  time: " + ", ".join(f"{k} {v:.2f}s" for k, v in report["timings"].items()))
    click.echo(
        f"  outbox: {result.outbox}"
        + (f" (wrote {', '.join(result.written)})" if result.written else " (no file changed)")
    )


@cli.command()
@config_option
@date_option()
@click.option(
    "--regenerate",
    is_flag=True,
    help="Replace an edited draft (the old one is kept as a numbered backup).",
)
@click.option("--force", is_flag=True, help="Rebuild even an approved or sent issue.")
@handle_errors
def build(config_path: Path, edition: Any, regenerate: bool, force: bool) -> None:
    """Ingest, select, summarize, draft and render the day's issue into the outbox."""
    from .build import build_issue

    config = get_config(config_path)
    result = build_issue(config, edition_date(config, edition), regenerate=regenerate, force=force)
    _print_summary(result)


@cli.command()
@config_option
@date_option()
@handle_errors
def render(config_path: Path, edition: Any) -> None:
    """Re-render the edition's draft, as edited, into HTML, text and .eml."""
    from .build import render_draft

    config = get_config(config_path)
    _print_summary(render_draft(config, edition_date(config, edition)))


@cli.command()
@config_option
@date_option()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@handle_errors
def lint(config_path: Path, edition: Any, fmt: str) -> None:
    """Check the edition: house style and facts per story, then the rendered email.

    Exits 1 when any blocking finding remains.
    """
    import json as _json

    from .build import lint_issue

    config = get_config(config_path)
    findings = lint_issue(config, edition_date(config, edition))
    if fmt == "json":
        click.echo(_json.dumps([f.as_dict() for f in findings], indent=2, ensure_ascii=False))
    else:
        for f in findings:
            where = f"story {f.story} " if f.story else ""
            click.echo(f"{f.severity}: {where}{f.part}: [{f.rule}] {f.message}")
        blocking = sum(f.severity == "error" for f in findings)
        click.echo(f"{len(findings)} finding(s), {blocking} blocking")
    if any(f.severity == "error" for f in findings):
        sys.exit(1)


@cli.command()
@config_option
@click.option(
    "--log-format",
    type=click.Choice(["auto", "plain", "json"]),
    default="auto",
    show_default=True,
    help="auto: colour on a terminal, plain lines otherwise; json: one object per line.",
)
@click.option("--verbose", "-v", is_flag=True, help="Log debug detail too.")
@click.option(
    "--stop-after",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="Stop by itself after this many seconds (a trial run).",
)
@handle_errors
def schedule(config_path: Path, log_format: str, verbose: bool, stop_after: float | None) -> None:
    """Run ingest, the daily build and the optional send on the config's schedule.

    Stays in the foreground (run it under systemd, supervisord or tmux) and logs
    the next run times at start. Ctrl-C or SIGTERM stops it after the running
    job; a second one stops it at once (builds are crash-safe). Exits 3 when
    another scheduler already uses the same job store.
    """
    from .log import setup_logging
    from .schedule import run_scheduler

    config = get_config(config_path)
    setup_logging(log_format, verbose=verbose)  # type: ignore[arg-type]
    run_scheduler(config, stop_after=stop_after)
