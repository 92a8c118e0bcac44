"""The ``newsletter`` command line: the only place errors become exit codes.

Arguments in, one call into the core per command (:func:`pipeline.build.build_issue`,
a desk action, :func:`pipeline.send.checked_send`...), a short summary and an exit
status out. It holds no rule of its own: a thin click layer over the core.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date, datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from .archive import publish_archive
from .build import BuildResult, build_issue, lint_issue, render_draft
from .config import Config, Newsletter, Sender, load_config
from .deployment import DEPLOYMENT_FILE, Deployment, load_deployment
from .desk import DeskResult, Verb, act
from .edition import Edition
from .errors import ConfigError, InputError, NewsletterError
from .fleet import build_all, ingest_all
from .ingest import ingest
from .lists import campaign_delivery, schedule_time
from .lock import build_lock
from .log import print_summary, progress_reporter, setup_logging
from .models import Article, Campaign, Finding, IngestResult
from .preview import serve
from .scaffold import scaffold
from .send import checked_send, smtp_delivery
from .store import open_state, restore_state
from .summarize import check_story, house_style_for, read_cases
from .summarize import summarize as run_summarize

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


_config_file = click.option(
    "--config",
    "config_path",
    default="config.yaml",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file.",
)


# -- several newsletters: --deployment FILE and --newsletter NAME ------------------------------
# Read by get_config from the click context rather than passed to every command: a command
# that takes --config takes these too, and its body stays as it was.


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and param.name is not None:
        ctx.meta[f"pipeline.{param.name}"] = value
    return value


_deployment_file = click.option(
    "--deployment",
    "deployment_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    expose_value=False,
    callback=_remember,
    help=f"Deployment file listing several newsletters (default: ./{DEPLOYMENT_FILE});"
    " read with --newsletter or --all.",
)
_newsletter_key = click.option(
    "--newsletter",
    "newsletter_key",
    default=None,
    metavar="NAME",
    expose_value=False,
    callback=_remember,
    help="The newsletter NAME of the deployment file, in place of --config.",
)
all_option = click.option(
    "--all",
    "all_newsletters",
    is_flag=True,
    help="Every newsletter of the deployment file (feeds they share fetched once).",
)


def config_option(func: F) -> F:
    """--config FILE, or --newsletter NAME of --deployment FILE."""
    return _config_file(_deployment_file(_newsletter_key(func)))


def get_deployment() -> Deployment:
    """The deployment file of --deployment, else ./newsletters.yaml."""
    ctx = click.get_current_context()
    path = ctx.meta.get("pipeline.deployment_path") or Path(DEPLOYMENT_FILE)
    if not Path(path).exists():
        raise ConfigError(
            "file not found (--newsletter and --all read the deployment file named by"
            f" --deployment, ./{DEPLOYMENT_FILE} by default)",
            file=str(path),
        )
    return load_deployment(path)


def _several(all_newsletters: bool) -> bool:
    """Whether a command runs for every newsletter; --all with --newsletter is a usage error."""
    ctx = click.get_current_context()
    if all_newsletters and "pipeline.newsletter_key" in ctx.meta:
        raise click.UsageError("--all or --newsletter NAME: give one")
    if all_newsletters and ctx.get_parameter_source("config_path") is not ParameterSource.DEFAULT:
        raise click.UsageError("--all reads the deployment file, not --config")
    return all_newsletters


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
    return datetime.now(config.newsletter.tz).date()


def get_config(path: Path) -> Config:
    """The newsletter a command acts on: --config's file, or with --newsletter NAME that
    newsletter of the deployment file (its key and any shared state set)."""
    ctx = click.get_current_context(silent=True)
    key = ctx.meta.get("pipeline.newsletter_key") if ctx is not None else None
    if ctx is not None and key is None and "pipeline.deployment_path" in ctx.meta:
        raise click.UsageError("--deployment is read with --newsletter NAME (or --all)")
    if ctx is None or key is None:
        if not path.exists() and Path(DEPLOYMENT_FILE).exists():
            raise ConfigError(
                f"file not found; ./{DEPLOYMENT_FILE} lists several newsletters: name one"
                " with --newsletter NAME (or --all where a command takes it)",
                file=str(path),
            )
        return load_config(path)
    if ctx.get_parameter_source("config_path") is not ParameterSource.DEFAULT:
        raise click.UsageError("--config or --newsletter NAME: give one")
    return get_deployment().newsletter(str(key))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsletter-pipeline")
def cli() -> None:
    """Build a house-style daily business newsletter from feeds and story files."""


def main() -> None:
    """Console-script entry point."""
    cli()


def _print_summary(result: BuildResult) -> None:
    """The one-screen run summary (stories, sources, feeds, warnings, time per stage)."""
    wrote = f" (wrote {', '.join(result.written)})" if result.written else " (no file changed)"
    print_summary(result.report, outbox=f"{result.outbox}{wrote}")


log_format_option = click.option(
    "--log-format",
    type=click.Choice(["auto", "plain", "json"]),
    default="auto",
    show_default=True,
    help="Logs on stderr: auto (progress display on a terminal, plain lines otherwise), "
    "plain, or json (one object per line, for log collectors).",
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
@click.option(
    "--publish",
    "then_publish",
    is_flag=True,
    help="Then bring the web archive up to date (as `newsletter publish`).",
)
@all_option
@log_format_option
@handle_errors
def build(
    config_path: Path,
    edition: Any,
    regenerate: bool,
    force: bool,
    then_publish: bool,
    all_newsletters: bool,
    log_format: str,
) -> None:
    """Ingest, select, summarize, draft and render the day's issue into the outbox.

    Exit status: 0 built (or nothing to change), 2 config error, 3 locked out by
    another build, 4 no issue could be built, 1 any other failure. With --all, every
    newsletter is built even when one fails, and the status is the highest of theirs.
    """
    setup_logging(log_format)  # type: ignore[arg-type]
    if _several(all_newsletters):
        _build_all(edition, regenerate=regenerate, force=force, then_publish=then_publish)
        return
    config = get_config(config_path)
    day = edition_date(config, edition)
    with progress_reporter(f"build {day}") as progress:
        result = build_issue(config, day, regenerate=regenerate, force=force, progress=progress)
    _print_summary(result)
    if then_publish:
        _publish(config)


def _build_all(edition: Any, *, regenerate: bool, force: bool, then_publish: bool) -> None:
    """``build --all``: each newsletter's summary or error, then the tally and worst status."""
    deployment = get_deployment()
    day = edition.date() if edition is not None else None
    run = build_all(deployment, edition=day, regenerate=regenerate, force=force)
    worst = run.exit_code
    for built in run.built:
        click.echo(f"== {built.key} ==")
        if built.result is None:
            click.echo(f"error: {built.key}: {built.error}", err=True)
            continue
        _print_summary(built.result)
        if then_publish:
            try:  # one newsletter's archive failing stops none of the others' either
                _publish(deployment.newsletter(built.key))
            except NewsletterError as exc:
                click.echo(f"error: {built.key}: {exc}", err=True)
                worst = max(worst, exc.exit_code)
    failed = [b.key for b in run.built if b.error is not None]
    click.echo(
        f"{len(run.built)} newsletter(s): {len(run.built) - len(failed)} built"
        + (f", failed: {', '.join(failed)}" if failed else "")
        + f"; {len(run.fetched)} feed(s) fetched once for {run.listings} listing(s)"
    )
    if worst:
        sys.exit(worst)


def _publish(config: Config) -> None:
    """Write the web archive and say what changed."""
    result = publish_archive(config)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    changed = [*result.written, *(f"{rel} (removed)" for rel in result.removed)]
    click.echo(
        f"web archive {result.folder}: {len(result.issues)} issue(s) published"
        + (f"; wrote {', '.join(changed)}" if changed else "; no file changed")
    )


@cli.command()
@config_option
@handle_errors
def publish(config_path: Path) -> None:
    """Write the static web archive: a page per approved or sent issue where
    newsletter.web_url points, an index, an Atom feed and a signup page for the list.

    Only changed files are written, each atomically. Exit status: 0 done, 2 config error,
    3 locked out by a build, 1 any other failure.
    """
    _publish(get_config(config_path))


@cli.command()
@config_option
@date_option()
@handle_errors
def render(config_path: Path, edition: Any) -> None:
    """Re-render the edition's draft, as edited, into HTML, text and .eml."""
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
@click.option(
    "--stories",
    "stories_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Check stories written elsewhere instead of an edition: a JSONL file of "
    '{"article": {"id","source","title","text"}, "story": {<parts>}} lines.',
)
@handle_errors
def lint(config_path: Path, edition: Any, fmt: str, stories_path: Path | None) -> None:
    """Check the edition: house style and facts per story, then the rendered email.

    With --stories, check each story of the file against its article instead (the same gate
    every story passes before an issue). Exits 1 when any blocking finding remains, 2 when
    the input cannot be read.
    """
    if stories_path is not None:
        _lint_stories(stories_path, fmt, config_path)
        return
    config = get_config(config_path)
    day = edition_date(config, edition)
    findings = lint_issue(config, day, Edition(config, day).load_rendered())
    if fmt == "json":
        click.echo(json.dumps([f.as_dict() for f in findings], indent=2, ensure_ascii=False))
    else:
        for f in findings:
            where = f"story {f.story} " if f.story else ""
            click.echo(f"{f.severity}: {where}{f.part}: [{f.rule}] {f.message}")
        blocking = sum(f.severity == "error" for f in findings)
        click.echo(f"{len(findings)} finding(s), {blocking} blocking")
    if any(f.severity == "error" for f in findings):
        sys.exit(1)


def _lint_stories(path: Path, fmt: str, config_path: Path) -> None:
    """``lint --stories``: one verdict a story, as text or one JSON object a line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None
    named = "pipeline.newsletter_key" in click.get_current_context().meta
    config = get_config(config_path) if named or config_path.exists() else _offline_config()
    style = house_style_for(config)
    blocked = 0
    for case in read_cases(text, file=str(path)):
        story = check_story(case.story, case.article, style)
        findings = [*story.style, *story.facts]
        blocked += bool(story.errors)
        if fmt == "json":
            rows = [
                {"rule": f.rule, "severity": f.severity, "part": f.part, "message": f.message}
                for f in findings
            ]
            click.echo(json.dumps({"id": story.id, "findings": rows}, ensure_ascii=False))
        else:
            verdict = "blocked" if story.errors else "ok"
            click.echo(f"{story.id}: {verdict} ({len(findings)} finding(s))")
            for f in findings:
                click.echo(f"  {f.severity}: {f.part}: [{f.rule}] {f.message}")
    if blocked:
        sys.exit(1)


def _offline_config() -> Config:
    """Defaults for `summarize` run outside a newsletter folder (offline engine, no store)."""
    return Config(
        newsletter=Newsletter(
            name="newsletter",
            sender=Sender(name="newsletter", email="news@localhost"),
            signup_url="http://localhost/",
            unsubscribe_url="http://localhost/",
            postal_address="-",
        )
    )


def _read_articles(path: Path) -> tuple[list[Article], list[str]]:
    """Articles from a JSONL file, and one precise error per bad line."""
    articles: list[Article] = []
    errors: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise NewsletterError(f"{path}: cannot read: {exc}") from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{path}:{n}: invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(row, dict):
            errors.append(f"{path}:{n}: expected a JSON object")
            continue
        bad = [k for k in ("id", "title", "text") if not isinstance(row.get(k), str)]
        bad += [k for k in ("url", "source") if k in row and not isinstance(row[k], str)]
        if bad:
            errors.append(f"{path}:{n}: key '{bad[0]}' must be a string (got {row.get(bad[0])!r})")
            continue
        articles.append(
            Article(
                id=row["id"],
                title=row["title"],
                text=row["text"],
                url=row.get("url", ""),
                source=row.get("source", ""),
            )
        )
    return articles, errors


@cli.command()
@click.argument("in_path", metavar="IN.jsonl", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out_path", metavar="OUT.jsonl", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--config",
    "config_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default ./config.yaml if present, else the offline engine).",
)
@handle_errors
def summarize(in_path: Path, out_path: Path, config_path: Path | None) -> None:
    """Summarize articles from IN.jsonl into house-style stories in OUT.jsonl.

    Each input line is {"id","title","text","url"?,"source"?}; each output line has the story
    parts plus "style" and "facts" findings (empty lists when the story passes), "fallback"
    (why the offline engine wrote a story the LLM was asked for, else "") and "flagged"
    (any finding or a fallback: an editor must look).
    """
    if config_path is None and Path("config.yaml").exists():
        config_path = Path("config.yaml")
    config = get_config(config_path) if config_path is not None else _offline_config()
    articles, errors = _read_articles(in_path)
    with ExitStack() as stack:
        store = None
        if config_path is not None and config.summarizer.engine == "llm":
            store = stack.enter_context(open_state(config))
        run = run_summarize(articles, config, store=store)
    lines = []
    for story in run.stories:
        lines.append(
            json.dumps(
                {
                    "id": story.id,
                    "headline": story.headline,
                    "dek": story.dek,
                    "hook": story.hook,
                    "nut_graf": story.nut_graf,
                    "section": story.section,
                    "context": story.context,
                    "lead_in": story.lead_in,
                    "bullets": list(story.bullets),
                    "kicker_label": story.kicker_label,
                    "kicker": story.kicker,
                    "style": [f.as_dict() for f in story.style],
                    "facts": [f.as_dict() for f in story.facts],
                    "engine": story.engine,
                    "fallback": story.fallback,
                    "flagged": story.flagged,
                },
                ensure_ascii=False,
            )
        )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    tmp.replace(out_path)
    for message in [*errors, *run.errors]:
        click.echo(f"error: {message}" if message in errors else f"warning: {message}", err=True)
    flagged = sum(1 for s in run.stories if s.flagged)
    fallbacks = sum(1 for s in run.stories if s.fallback)
    click.echo(
        f"{len(run.stories)} stories written to {out_path}; {flagged} flagged"
        f" ({fallbacks} by the offline fallback);"
        f" {len(errors)} bad input lines; LLM calls {run.calls}, tokens {run.tokens},"
        f" cache hits {run.cache_hits}",
        err=True,
    )
    if errors:
        sys.exit(1)


@cli.command("send")
@config_option
@date_option()
@click.option("--to", "to", multiple=True, help="Recipient address (repeatable); SMTP only.")
@click.option(
    "--via",
    type=click.Choice(["listmonk", "buttondown", "mailchimp"]),
    default=None,
    help="Hand the issue to this list provider (the config's list: block) as a campaign:"
    " a draft, not sent, unless --schedule.",
)
@click.option(
    "--schedule",
    "schedule_at",
    default=None,
    metavar="ISO-DATETIME",
    help="With --via: schedule the campaign for this time (the newsletter's timezone"
    " unless it carries an offset).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Send even when lint finds blocking problems, after an interrupted send, when the"
    " issue was sent before, or (with --via) when a campaign already exists.",
)
@click.option(
    "--test",
    "test_send",
    is_flag=True,
    help="A test send: do not mark the issue as sent (sent issues are frozen).",
)
@handle_errors
def send_command(
    config_path: Path,
    edition: Any,
    to: tuple[str, ...],
    via: str | None,
    schedule_at: str | None,
    force: bool,
    test_send: bool,
) -> None:
    """Send outbox/<date>/issue.eml over SMTP after linting it, or with --via create a
    campaign from it on a list provider; the issue is then marked sent (and frozen)
    unless --test is given."""
    if via is None and schedule_at is not None:
        raise click.UsageError("--schedule is for a list provider: add --via")
    if via is None and not to:
        raise click.UsageError("name a recipient with --to (or hand off to a list with --via)")
    if via is not None and (to or test_send):
        raise click.UsageError(
            "--to and --test are for SMTP sends; a list provider sends to its list"
        )
    config = get_config(config_path)
    day = edition_date(config, edition)

    def show(findings: tuple[Finding, ...]) -> None:
        for f in findings:
            click.echo(f"{f.severity}: {f.part}: {f.rule}: {f.message}", err=True)

    if via is not None:
        schedule = schedule_time(schedule_at, config) if schedule_at is not None else None
        delivery = campaign_delivery(config, day, via=via, schedule=schedule)
        _say_campaign(checked_send(config, day, delivery, force=force, show=show).delivered)
        return
    result = checked_send(
        config, day, smtp_delivery(config, to), force=force, test=test_send, show=show
    )
    click.echo(f"sent {result.eml} ({result.rendered.subject}) to {result.delivered}")


def _say_campaign(campaign: Campaign) -> None:
    """``send --via``: say where the campaign is and what happens next."""
    where = f": {campaign.url}" if campaign.url else ""
    click.echo(f"created campaign {campaign.id} on {campaign.provider}{where}")
    if campaign.send_at is not None:
        click.echo(
            f"scheduled: {campaign.provider} sends it at {campaign.send_at:%Y-%m-%d %H:%M} UTC"
        )
    else:
        click.echo(f"a draft, not sent: review and send it from {campaign.provider}")


@cli.command("ingest")
@config_option
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="PATH_OR_URL",
    help="Ingest this feed, story file or folder instead of the configured ones (repeatable).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object per source, one per line.",
)
@all_option
@handle_errors
def ingest_command(
    config_path: Path, sources: tuple[str, ...], fmt: str, all_newsletters: bool
) -> None:
    """Fetch feeds and read story files into the state store.

    Failing sources are reported and the rest go on; the exit status is 1 only
    when every source failed. With --all, every newsletter's sources, each feed they
    share fetched once; the status is the highest of the newsletters'.
    """
    if _several(all_newsletters):
        if sources:
            raise click.UsageError("--source names sources of one newsletter: leave out --all")
        worst = 0
        for one in ingest_all(get_deployment()):
            if fmt != "json":
                click.echo(f"== {one.key} ==")
            if one.result is None:
                click.echo(f"error: {one.key}: {one.error}", err=True)
                worst = max(worst, one.error.exit_code if one.error is not None else 1)
                continue
            worst = max(worst, _print_ingest(one.result, fmt, newsletter=one.key))
        if worst:
            sys.exit(worst)
        return
    config = get_config(config_path)
    with open_state(config) as store:
        result = ingest(config, store, sources=list(sources) or None, items=False)  # counts only
    code = _print_ingest(result, fmt)
    if code:
        sys.exit(code)


def _print_ingest(result: IngestResult, fmt: str, *, newsletter: str = "") -> int:
    """One line (or JSON object) per source and the tally; 1 when every source failed."""
    named = {"newsletter": newsletter} if newsletter else {}
    for s in result.sources:
        if fmt == "json":
            click.echo(
                json.dumps(
                    {
                        **named,
                        "source": s.source,
                        "status": "error" if s.status == "error" else "ok",
                        "items": s.listed,
                        "new": s.new,
                        "updated": s.updated,
                        "not_modified": s.status == "not-modified",
                        "error": s.error,
                        "warnings": list(s.warnings),
                    },
                    ensure_ascii=False,
                )
            )
        elif s.status == "error":
            click.echo(f"  FAIL {s.error}")
        else:
            what = (
                "not modified"
                if s.status == "not-modified"
                else (f"{s.listed} items, {s.new} new, {s.updated} updated")
            )
            click.echo(f"  ok   {s.source}: {what}")
            for w in s.warnings:
                click.echo(f"       warning: {w}")
    failed = len(result.failed)
    if fmt != "json":
        click.echo(
            f"{len(result.sources)} sources, {failed} failed, {result.new} new items"
            f" in {result.elapsed:.2f} s"
        )
    return 1 if result.sources and failed == len(result.sources) else 0


def _desk_report(result: DeskResult) -> None:
    """Print what a desk action did, and the re-render's one-line outcome."""
    click.echo(f"{result.edition.isoformat()}: {result.message}")
    if result.backup:
        click.echo(f"  previous draft kept as {result.backup}")
    if result.rendered is not None:
        written = ", ".join(result.rendered.written) or "no file changed"
        click.echo(f"  rendered: {written}")


@cli.command()
@config_option
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port on 127.0.0.1 (default: preview.port in the config).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in a browser.")
@handle_errors
def preview(config_path: Path, port: int | None, open_browser: bool) -> None:
    """Serve the editor's desk on 127.0.0.1: issues, live reload, per-story actions."""
    config = get_config(config_path)
    serve(config, host=config.preview.host, port=port, open_browser=open_browser)


@cli.command()
@config_option
@date_option()
@handle_errors
def approve(config_path: Path, edition: Any) -> None:
    """Approve the edition (status: approved in its draft); later builds leave it."""
    config = get_config(config_path)
    _desk_report(act(config, edition_date(config, edition), "approve"))


@cli.group()
def story() -> None:
    """Act on one story of a draft: drop, up, down, regenerate."""


def _story_command(name: Verb, help_text: str) -> None:
    @story.command(name=name, help=help_text)
    @config_option
    @date_option()
    @click.argument("story_id")
    @handle_errors
    def command(config_path: Path, edition: Any, story_id: str) -> None:
        config = get_config(config_path)
        result = act(config, edition_date(config, edition), name, story_id)
        _desk_report(result)
        if result.conflict:
            click.echo("  conflict: both versions are in the draft; drop the one you do not want")


_story_command("drop", "Drop STORY_ID from the draft (the old draft is kept as a backup).")
_story_command("up", "Move STORY_ID one place up.")
_story_command("down", "Move STORY_ID one place down.")
_story_command(
    "regenerate",
    "Write STORY_ID afresh from its source, keeping the other stories and edits.\n\n"
    "A story edited by hand is kept: the new version goes beside it as\n"
    "STORY_ID-regenerated; drop the one you do not want.",
)


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
@all_option
@click.option(
    "--standby-poll",
    type=click.FloatRange(min=0.05),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="With --all: how often a standby scheduler tries to become the leader.",
)
@handle_errors
def schedule(
    config_path: Path,
    log_format: str,
    verbose: bool,
    stop_after: float | None,
    all_newsletters: bool,
    standby_poll: float,
) -> None:
    """Run ingest, the daily build and the optional send on the config's schedule.

    Stays in the foreground (run it under systemd, supervisord or tmux) and logs
    the next run times at start. Ctrl-C or SIGTERM stops it after the running
    job; a second one stops it at once (builds are crash-safe). Exits 3 when
    another scheduler already uses the same job store.

    With --all, one scheduler runs every newsletter of the deployment file (each
    build at its own time, one ingest for all); of several started, one leads and
    the others stand by, taking over when it dies.
    """
    from .schedule import run_fleet_scheduler, run_scheduler  # APScheduler: this command only

    if _several(all_newsletters):
        deployment = get_deployment()
        setup_logging(log_format, verbose=verbose)  # type: ignore[arg-type]
        run_fleet_scheduler(deployment, stop_after=stop_after, poll=standby_poll)
        return
    config = get_config(config_path)
    setup_logging(log_format, verbose=verbose)  # type: ignore[arg-type]
    run_scheduler(config, stop_after=stop_after)


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@handle_errors
def init(folder: Path) -> None:
    """Start a new newsletter in FOLDER: a config.yaml to edit, an inbox/ for story files,
    and the bundled sample feeds, so `newsletter build` works there at once."""
    scaffold(folder)
    click.echo(
        f"created {folder}: edit config.yaml (name, sender, links, postal address, feeds),"
        f" drop story files in inbox/ (the samples there show the formats), then run"
        f" `newsletter build` in {folder}"
    )


@cli.command("prune")
@config_option
@click.option("--dry-run", is_flag=True, help="Say what would go and remove nothing.")
@handle_errors
def prune_command(config_path: Path, dry_run: bool) -> None:
    """Remove what the state store no longer needs, as the config's retention: says
    (each build does this at its end, up to retention.items_per_build items), and
    compact a store made before retention. Items an issue used or an open draft holds
    are always kept; the store is backed up first."""
    from dataclasses import replace
    from datetime import datetime

    from .lock import build_lock
    from .store import PrunePolicy, open_state, prune

    config = get_config(config_path)
    today = datetime.now(config.newsletter.tz).date()
    with (
        build_lock(config, wait=config.schedule.lock_wait_seconds),
        open_state(config, check=not dry_run) as store,
    ):
        policy = replace(PrunePolicy.of(config), limit=0)  # all of it, here
        report = prune(store, policy, today, dry_run=dry_run, compact=True)
    for line in report.lines():
        click.echo(line)


@cli.command("restore-store")
@config_option
@click.option(
    "--from",
    "source",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The backup to restore (default: the newest one that passes an integrity check).",
)
@handle_errors
def restore_store_command(config_path: Path, source: Path | None) -> None:
    """Put the state store back from its backups (builds keep the last seven beside it,
    in backups/); the store it replaces is kept as <name>.broken-<time>."""
    config = get_config(config_path)
    with build_lock(config, wait=config.schedule.lock_wait_seconds):
        used, kept = restore_state(config, source)
    click.echo(f"restored {config.state_path} from {used}")
    if kept:
        click.echo(f"  the store it replaced is kept as {kept}")


@cli.command()
@config_option
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(1, 256),
    default=2,
    show_default=True,
    help="Tasks run at once (pool processes or threads).",
)
@click.option(
    "--pool",
    type=click.Choice(["prefork", "threads", "solo"]),
    default="prefork",
    help="prefork (the default): a process per task slot; a killed one's task runs again.",
)
@click.option("--name", default="", help="The worker's node name (default newsletter-PID@host).")
@log_format_option
@handle_errors
def worker(config_path: Path, concurrency: int, pool: str, name: str, log_format: str) -> None:
    """Run a Celery worker for the config's tasks.broker: it fetches feeds and writes stories
    for the builds of every newsletter using that broker (tasks.engine: celery).

    Stays in the foreground (systemd, supervisord, a container); SIGTERM finishes the running
    tasks first. Workers on one machine share a SQLite store; several machines need a shared one.
    """
    from .tasks import run_worker

    setup_logging(log_format)  # type: ignore[arg-type]
    run_worker(get_config(config_path), concurrency=concurrency, pool=pool, name=name)


if __name__ == "__main__":
    main()
