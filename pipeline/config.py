"""Config: ``config.yaml`` in, one frozen, typed :class:`Config` out.

The file is parsed once. Unknown keys and bad values raise one :class:`ConfigError`
listing every problem, each with the file, the line, the dotted key and the bad
value. Relative paths are resolved against the config file's folder. Secrets never
live here: the file names environment variables and :func:`secret` reads them,
refusing an unset or empty one by name.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from ._sql import is_url
from .errors import ConfigError, ConfigProblem
from .safe_yaml import load_yaml_nodes

__all__ = [
    "KEY_PATTERN",
    "Config",
    "YamlMapping",
    "load_config",
    "parse_days",
    "read_yaml_mapping",
    "secret",
    "validation_problems",
]


def _bundled_templates() -> Path:
    here = Path(__file__).resolve().parent
    # a wheel carries templates/ inside the package; a checkout has it beside the package
    inside = here / "templates"
    return inside if (inside / "issue.mjml.j2").is_file() else here.parent / "templates"


BUNDLED_TEMPLATES = _bundled_templates()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Sender(_Model):
    name: str
    email: str

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        if "@" not in v or " " in v:
            raise ValueError("must be an email address like news@example.com")
        return v


class Brand(_Model):
    color: str = "#1a1a2e"
    accent: str = "#c0392b"
    background: str = "#f4f1ea"
    font: str = "Georgia, 'Times New Roman', serif"
    logo: str = ""

    @field_validator("color", "accent", "background")
    @classmethod
    def _hex(cls, v: str) -> str:
        s = v.lstrip("#")
        if len(s) not in (3, 6) or any(c not in "0123456789abcdefABCDEF" for c in s):
            raise ValueError("must be a hex colour like #1a1a2e")
        return "#" + s.lower()


class Newsletter(_Model):
    name: str
    tagline: str = ""
    sender: Sender
    reply_to: str = ""
    signup_url: str
    unsubscribe_url: str
    unsubscribe_mailto: str = ""
    postal_address: str
    web_url: str = Field(default="", description="view-in-browser URL; {date} is replaced")
    timezone: str = "UTC"
    subject: str = "{lead_headline}"
    intro: str = ""
    signup_invitation: str = "Get smart, fast news on the biggest business stories of the day."
    brand: Brand = Brand()
    utm_campaign: str = ""

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown timezone {v!r} (use an IANA name like Europe/London)"
            ) from exc
        return v

    @field_validator("signup_url", "unsubscribe_url")
    @classmethod
    def _https(cls, v: str) -> str:
        if not v.startswith(("https://", "http://")):
            raise ValueError("must be an absolute http(s) URL")
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Feed(_Model):
    url: str
    name: str = ""
    weight: float = Field(default=1.0, ge=0.0, le=10.0)
    # Fetches never reach loopback, private or link-local addresses unless the feed's
    # own entry says so: then its URL's host and port (and only those) may be internal.
    allow_internal: bool = False

    @field_validator("allow_internal")
    @classmethod
    def _internal(cls, v: bool, info: ValidationInfo) -> bool:
        url = str(info.data.get("url", ""))
        if v and not url.startswith(("http://", "https://")):
            raise ValueError("only an http(s) feed URL can be allowed an internal address")
        return v


class Sources(_Model):
    feeds: tuple[Feed, ...] = ()
    inbox: str = ""
    inbox_weight: float = Field(default=1.5, ge=0.0, le=10.0)


class IssueSpec(_Model):
    stories: int = Field(default=5, ge=1, le=40)
    quick_links: int = Field(default=6, ge=0, le=40)
    min_stories: int = Field(default=1, ge=0, le=40)
    max_age_hours: float = Field(default=72.0, gt=0)


class Paths(_Model):
    state: str = "state/newsletter.sqlite3"  # a SQLite file, or a postgresql:// URL
    outbox: str = "outbox"
    templates: str = ""

    @field_validator("state")
    @classmethod
    def _state(cls, v: str) -> str:
        if not is_url(v):
            return v
        parts = urlsplit(v)
        # secrets come only from the environment: a URL is logged, copied, committed
        if parts.password is not None or "password=" in parts.query:
            raise ValueError(
                "a password in the PostgreSQL URL is refused: give it in the environment"
                " (PGPASSWORD, or a PGPASSFILE / ~/.pgpass file, which libpq reads)"
            )
        try:
            parts.port  # noqa: B018 (a bad port raises here)
        except ValueError:
            raise ValueError("the PostgreSQL URL's port is not a number") from None
        if not parts.hostname or not parts.path.strip("/"):
            raise ValueError("a PostgreSQL state is postgresql://user@host:port/dbname")
        return v


class Fetch(_Model):
    timeout: float = Field(default=20.0, gt=0, le=600)
    max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    concurrency: int = Field(default=16, ge=1, le=256)
    per_host: int = Field(default=4, ge=1, le=256)
    retries: int = Field(default=2, ge=0, le=10)
    user_agent: str = "newsletter-pipeline/0.1 (+https://github.com/)"
    alert_after_failures: int = Field(default=3, ge=1, le=100)
    # ``timeout`` above is the hard deadline for one source, retries included,
    # counted from when its connection slots are free.
    connect_timeout: float = Field(default=10.0, gt=0, le=600)
    read_timeout: float = Field(default=15.0, gt=0, le=600)
    max_redirects: int = Field(default=5, ge=0, le=5)
    retry_backoff: float = Field(default=0.5, ge=0, le=60)
    retry_after_max: float = Field(default=30.0, ge=0, le=3600)
    max_compression_ratio: int = Field(default=100, ge=2, le=100_000)
    stale_after_days: float = Field(default=7.0, gt=0)
    full_text: bool = False
    teaser_chars: int = Field(default=300, ge=0, le=100_000)


class LLM(_Model):
    base_url: str = "http://127.0.0.1:11434/v1"
    model: str = "llama3.1"
    api_key_env: str = ""
    timeout: float = Field(default=60.0, gt=0)
    concurrency: int = Field(default=2, ge=1, le=64)
    temperature: float = Field(default=0.2, ge=0, le=2)
    retries: int = Field(default=1, ge=0, le=5)


class Summarizer(_Model):
    engine: Literal["extractive", "llm"] = "extractive"
    llm: LLM = LLM()


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_days(value: str) -> frozenset[int]:
    """Weekday numbers (0 = Monday) from day names: ``*``, ``mon-fri``, ``sat,sun``, ``fri-mon``.

    Numbers are refused on purpose: cron counts 0 as Sunday and APScheduler as Monday.
    """
    text = value.strip().lower()
    if text in ("*", "daily", "every day"):
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        ends = [e.strip() for e in part.split("-")]
        ends = [e[:3] if e in _FULL_DAY_NAMES else e for e in ends]
        if not part or len(ends) > 2 or any(e not in _DAY_NAMES for e in ends):
            raise ValueError(
                f"{part!r} is not a day name; use names like mon-fri, sat,sun or * "
                "(numbers are ambiguous: cron's 0 is Sunday, APScheduler's 0 is Monday)"
            )
        first, last = _DAY_NAMES.index(ends[0]), _DAY_NAMES.index(ends[-1])
        # a range may wrap past Sunday, as in fri-mon
        days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
    return frozenset(days)


class Schedule(_Model):
    """When ``newsletter schedule`` ingests, builds and sends (wall-clock times in the
    newsletter's timezone), and how long any build waits for the per-newsletter lock."""

    ingest_every_minutes: int = Field(default=60, ge=0, le=1440, description="0 turns it off")
    build_at: str = "06:00"
    days: str = "*"
    send: bool = False
    send_to: tuple[str, ...] = Field(default=(), validate_default=True)
    misfire_grace_seconds: int = Field(default=3600, ge=1, le=86400)
    jobstore: str = Field(default="", description="SQLite job store; default next to the state")
    lock_wait_seconds: float = Field(default=120.0, ge=0, le=86400)

    @field_validator("build_at")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", v)
        if m is None:
            raise ValueError("must be a 24-hour wall-clock time like 06:30")
        return f"{int(m[1]):02d}:{m[2]}"

    @field_validator("days")
    @classmethod
    def _days(cls, v: str) -> str:
        parse_days(v)
        return v

    @field_validator("send_to", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v

    @field_validator("send_to")
    @classmethod
    def _send_to(cls, v: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        for address in v:
            if "@" not in address or " " in address.strip():
                raise ValueError(f"{address!r} is not an email address")
        if info.data.get("send") and not v:
            raise ValueError("send is true, so name at least one address to send to")
        return v

    @property
    def at(self) -> time:
        hour, minute = self.build_at.split(":")
        return time(int(hour), int(minute))

    @property
    def weekdays(self) -> frozenset[int]:
        return parse_days(self.days)


class Alerts(_Model):
    """Where a failed or thin build is reported: a command (run without a shell, the
    event as JSON on stdin) and/or a URL that receives the event as a JSON POST."""

    command: str | tuple[str, ...] = ""
    url: str = ""
    timeout: float = Field(default=10.0, gt=0, le=300)
    min_stories: int = Field(default=1, ge=0, le=40)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not v.startswith(("https://", "http://")):
            raise ValueError("must be an absolute http(s) URL")
        return v

    @field_validator("command", mode="before")
    @classmethod
    def _command_form(cls, v: Any) -> Any:
        # one problem in the user's terms, not one per member of the union
        if isinstance(v, str) or (
            isinstance(v, list | tuple) and all(isinstance(a, str) for a in v)
        ):
            return v
        raise ValueError("must be a command line or a list of its arguments, as strings")

    @field_validator("command")
    @classmethod
    def _command(cls, v: str | tuple[str, ...]) -> str | tuple[str, ...]:
        try:
            argv = shlex.split(v) if isinstance(v, str) else list(v)
        except ValueError as exc:
            raise ValueError(f"cannot split the command: {exc}") from None
        if not isinstance(v, str) and not argv:
            raise ValueError("an empty command list; leave the key out instead")
        return v

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.command) if isinstance(self.command, str) else list(self.command)


class Smtp(_Model):
    """SMTP server for ``newsletter send``; credentials are read from the named env vars."""

    host: str = "127.0.0.1"
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username_env: str = ""
    password_env: str = ""
    timeout: float = Field(default=30.0, gt=0, le=600)
    ca_file: str = Field(default="", description="extra CA bundle to trust (a private relay)")


# --- list: the list provider `newsletter send --via` hands an issue to (campaigns) ---------

ListProvider = Literal["listmonk", "buttondown", "mailchimp"]


class MailingList(_Model):
    """``list:``: the list provider readers subscribe through and ``newsletter send --via``
    creates campaigns on.

    The signup page of the web archive posts to ``subscribe_url`` (the ``action`` of the
    embedded form the provider offers; for listmonk, with ``subscribe_lists``, the UUIDs of
    the public lists a signup joins). A block with only those is a signup form: the campaign
    keys below are checked once any of them is set, or when no ``subscribe_url`` is.

    Credentials are named, never written: ``api_key_env`` (and for listmonk
    ``username_env``, its API user) name environment variables. ``base_url`` is the
    listmonk instance (where its admin opens) or, for Buttondown and Mailchimp, an
    override of the API root (``https://api.buttondown.com/v1``; Mailchimp's comes from
    the key's data-center suffix, ``...-us21`` -> ``https://us21.api.mailchimp.com/3.0``).
    """

    provider: ListProvider | None = None
    base_url: str = ""
    list_id: tuple[str, ...] = Field(
        default=(), description="listmonk list ids, Mailchimp audience"
    )
    api_key_env: str = ""
    username_env: str = ""
    template_id: int | None = Field(default=None, ge=1, description="listmonk template")
    timeout: float = Field(default=30.0, gt=0, le=600)
    retries: int = Field(default=3, ge=0, le=10)
    retry_backoff: float = Field(default=1.0, ge=0, le=60)
    retry_wait_max: float = Field(default=120.0, ge=0, le=3600)
    subscribe_url: str = ""
    subscribe_lists: tuple[str, ...] = ()

    @field_validator("subscribe_url")
    @classmethod
    def _endpoint(cls, v: str, info: ValidationInfo) -> str:
        if not v:
            return v
        _http_url(v)
        query = dict(parse_qsl(urlsplit(v).query))
        if info.data.get("provider") == "mailchimp" and not (query.get("u") and query.get("id")):
            raise ValueError(
                "a Mailchimp form action carries ?u=...&id=... (copy it from the embedded form)"
            )
        return v

    @property
    def signup(self) -> bool:
        """Readers subscribe through this provider's form (the archive's signup page)."""
        return self.provider is not None and bool(self.subscribe_url)

    @property
    def campaigns(self) -> bool:
        """The block configures campaigns (``send --via``), not only a signup form."""
        campaign_keys = (self.base_url, self.list_id, self.api_key_env, self.username_env)
        return self.provider is not None and (any(campaign_keys) or not self.subscribe_url)

    @field_validator("list_id", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        items = v if isinstance(v, list | tuple) else (v,)
        return tuple(str(i) if isinstance(i, int) and not isinstance(i, bool) else i for i in items)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not v.startswith(("https://", "http://")):
            raise ValueError("must be an absolute http(s) URL")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _complete(self) -> MailingList:
        if self.subscribe_url and self.provider is None:
            raise ValueError("subscribe_url needs the provider it belongs to")
        if self.signup and self.provider == "listmonk" and not self.subscribe_lists:
            raise ValueError(
                "listmonk's signup form needs subscribe_lists: the UUID of at least one list"
            )
        if not self.campaigns:
            return self
        need: list[str] = []
        if not self.api_key_env:
            need.append("api_key_env (the variable holding the API key)")
        if self.provider == "listmonk":
            need += [] if self.base_url else ["base_url (the listmonk address)"]
            need += [] if self.username_env else ["username_env (the variable with the API user)"]
            if not self.list_id or not all(i.isdigit() for i in self.list_id):
                need.append("list_id (one or more listmonk list numbers)")
        if self.provider == "mailchimp" and len(self.list_id) != 1:
            need.append("list_id (the one audience id)")
        if self.provider == "buttondown" and self.list_id:
            raise ValueError("buttondown has one list per API key; leave list_id out")
        if need:
            raise ValueError(f"provider {self.provider} needs " + ", ".join(need))
        return self


# --- end of list: ---------------------------------------------------------------------------


class Email(_Model):
    """Render options for the HTML email."""

    utm: bool = True
    utm_source: str = "newsletter"
    utm_medium: str = "email"
    max_html_bytes: int = Field(default=102_400, ge=10_000)
    minify: bool = True


class Preview(_Model):
    """The local preview server: loopback by default; port 0 picks a free one."""

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)


# -- The web archive -------------------------------------------------------------------------
# `newsletter publish` reads `archive:`; the signup page's form posts to `list:`, the
# section list-provider sending shares (its secrets, like every secret, come from the
# environment, never from this file).

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?")


def _http_url(v: str) -> str:
    parts = urlsplit(v)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    if not _ORIGIN.fullmatch(f"{parts.scheme}://{parts.netloc}"):
        raise ValueError("the host must be a plain name or address (no user, no spaces)")
    return v


class Archive(_Model):
    """Where ``newsletter publish`` writes the static web archive, and where it is served."""

    folder: str = "site"
    base_url: str = Field(
        default="", description="the site's root URL; default: the host of newsletter.web_url"
    )
    feed_issues: int = Field(default=30, ge=1, le=1000)

    @field_validator("base_url")
    @classmethod
    def _base(cls, v: str) -> str:
        if not v:
            return v
        _http_url(v)
        if urlsplit(v).query or urlsplit(v).fragment:
            raise ValueError("must be a plain URL, without a query or fragment")
        return v if v.endswith("/") else v + "/"


# -- end of the web archive block ----------------------------------------------------------


class Retention(_Model):
    """How long the state store keeps what it no longer needs; 0 keeps that kind forever.

    Builds apply it at their end, removing at most ``items_per_build`` items so a
    backlog never makes one build slow (``newsletter prune`` removes all, at will,
    and compacts a store made before retention). Items an issue used,
    or an open edition's draft holds, are never removed, nor any item a build could
    still select (``issue.max_age_hours``), nor the feed ledger and its ETag and
    Last-Modified; a removed item still listed by its feed leaves a tombstone so it
    never comes back as new.
    """

    unused_item_days: int = Field(default=30, ge=0, description="unused items older than this")
    run_days: int = Field(default=90, ge=0, description="run reports of editions older than this")
    draft_version_keep: int = Field(
        default=10, ge=0, description="pipeline draft fingerprints kept per edition (newest)"
    )
    extract_days: int = Field(default=30, ge=0, description="article full texts fetched before")
    items_per_build: int = Field(
        default=10_000, ge=0, description="unused items a build removes at most, oldest first"
    )


# a newsletter's key: a slug, as a deployment file's newsletters are named
KEY_PATTERN = r"[a-z0-9][a-z0-9_-]{0,62}"


# -- tasks: where fetching and summarizing run ----------------------------------------------
# `local` (the default) runs them in the build's own process; `celery` sends one task per
# feed and per story to Celery workers (`newsletter worker`) through a Redis broker.


class Tasks(_Model):
    """``tasks:``: the engine fetching and summarizing run on, and its Redis broker.

    The broker URL carries no password: ``broker_password_env`` names the environment
    variable holding it. ``task_timeout`` bounds how long a build waits for each stage's
    tasks; ``visibility_timeout`` is how long a task a dead worker held waits before it runs
    again elsewhere (longer than any one task takes, or a slow task runs twice).
    """

    engine: Literal["local", "celery"] = "local"
    broker: str = "redis://127.0.0.1:6379/0"
    broker_password_env: str = ""
    task_timeout: float = Field(default=1800.0, gt=0, le=86400)
    visibility_timeout: float = Field(default=600.0, ge=1, le=86400)
    retries: int = Field(default=3, ge=0, le=20)
    # feeds one fetch task reads at once: 1 is a task per feed; more saves a worker the wait
    # of each feed's latency in turn (bench/scale.py measures both)
    feeds_per_task: int = Field(default=1, ge=1, le=10_000)

    @field_validator("broker")
    @classmethod
    def _broker(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ValueError("must be a Redis URL like redis://127.0.0.1:6379/0")
        if parts.password:
            raise ValueError("a password never goes in this file: name it with broker_password_env")
        return v


# -- end of tasks: --------------------------------------------------------------------------


class Config(_Model):
    """The whole configuration, typed. ``root`` is the config file's folder."""

    newsletter: Newsletter
    sources: Sources = Sources()
    issue: IssueSpec = IssueSpec()
    paths: Paths = Paths()
    fetch: Fetch = Fetch()
    summarizer: Summarizer = Summarizer()
    schedule: Schedule = Schedule()
    alerts: Alerts = Alerts()
    smtp: Smtp = Smtp()
    email: Email = Email()
    preview: Preview = Preview()
    # the web archive and mailing list block (above)
    archive: Archive = Archive()
    # the file's key is `list` (so is the constructor's); a field named list would shadow
    # the builtin in this class
    mailing_list: MailingList = Field(default=MailingList(), alias="list")
    retention: Retention = Retention()
    tasks: Tasks = Tasks()
    root: str = Field(default=".", exclude=True)
    file: str = Field(default="config.yaml", exclude=True)
    # the newsletter's name in a deployment (`newsletters.yaml`); what tells its rows apart
    # in a state store that several newsletters share
    key: str = Field(default="default", exclude=True, pattern=f"^{KEY_PATTERN}$")

    def path(self, value: str) -> Path:
        """Resolve a config path (relative to the config file's folder)."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else Path(self.root) / p

    @property
    def state_path(self) -> Path:
        return self.path(self.paths.state)

    @property
    def state_in_database(self) -> bool:
        """Whether ``paths.state`` is a PostgreSQL URL rather than a SQLite file."""
        return is_url(self.paths.state)

    @property
    def outbox_path(self) -> Path:
        return self.path(self.paths.outbox)

    @property
    def jobstore_path(self) -> Path:
        """The scheduler's SQLite job store (one per newsletter, never shared)."""
        if self.schedule.jobstore:
            return self.path(self.schedule.jobstore)
        # a PostgreSQL state has no folder: the job store is this machine's, under state/
        state = self.path("state/newsletter.sqlite3") if self.state_in_database else self.state_path
        # newsletters sharing one state store (a deployment's) keep a job store each
        stem = state.stem if self.key == "default" else f"{state.stem}.{self.key}"
        return state.with_name(stem + ".schedule.sqlite3")

    @property
    def archive_path(self) -> Path:
        """The folder ``newsletter publish`` writes the web archive into."""
        return self.path(self.archive.folder)

    @property
    def templates_path(self) -> Path:
        """The newsletter's own templates folder if configured, else the bundled one."""
        if self.paths.templates:
            return self.path(self.paths.templates)
        return BUNDLED_TEMPLATES


def _line_map(
    node: yaml.Node, prefix: tuple[str | int, ...], out: dict[tuple[str | int, ...], int]
) -> None:
    out[prefix] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*prefix, key)] = key_node.start_mark.line + 1
            _line_map(value_node, (*prefix, key), out)
            # the key's own line is the better pointer for scalars and blocks alike
            out[(*prefix, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _line_map(child, (*prefix, i), out)


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unsecret(value: object) -> object:
    """A bad value as an error may show it: a URL's password replaced by ``***``."""
    try:
        parts = urlsplit(value) if isinstance(value, str) else None
        password = parts.password if parts is not None else None
    except ValueError:  # not a URL after all ("http://[::1" and the like)
        return value
    if parts is None or not password:
        return value
    return parts._replace(netloc=parts.netloc.replace(f":{password}@", ":***@", 1)).geturl()


def secret(env_name: str, *, key: str, file: str) -> str:
    """The value of the environment variable ``env_name``, which config ``key`` names.

    Unset or empty raises :class:`ConfigError` naming the variable, the key and the file: a
    credential someone configured never silently turns into no credential.
    """
    value = os.environ.get(env_name, "")
    if not value:
        state = "is empty" if env_name in os.environ else "is not set"
        raise ConfigError(f"environment variable {env_name} (named by {key}) {state}", file=file)
    return value


def load_config(
    path: str | os.PathLike[str], *, key: str = "default", state: str | None = None
) -> Config:
    """Read and validate a config file; raise :class:`ConfigError` on any problem.

    ``key`` names the newsletter in a store several share; ``state``, when given (by a
    deployment file), replaces the file's ``paths.state``.
    """
    file = Path(path)
    name = str(path)
    mapping = read_yaml_mapping(path)
    lines = mapping.lines
    problems = [
        ConfigProblem("unknown key", lines.get((reserved,)), reserved)
        for reserved in ("root", "file", "key")
        if reserved in mapping.data
    ]
    data = {**mapping.data, "root": str(file.resolve().parent), "file": name, "key": key}
    if state is not None:
        paths = data.get("paths")
        data["paths"] = {**(paths if isinstance(paths, dict) else {}), "state": state}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems += validation_problems(exc, lines)
    if problems:
        # every problem at once, in the file's order, so one edit can fix them all
        first, *more = sorted(problems, key=lambda p: p.line or 0)
        raise ConfigError(first.detail, file=name, line=first.line, key=first.key, more=more)
    return config


def _problem(err: ErrorDetails, lines: Mapping[tuple[str | int, ...], int]) -> ConfigProblem:
    """One pydantic error as a problem with its line, dotted key and offending value."""
    loc = tuple(err["loc"])
    # point at the deepest location the YAML actually has
    line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), None)
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "missing":
        msg = "required key is missing"
    else:
        msg = f"{err['msg'].removeprefix('Value error, ')} (got {_unsecret(err.get('input'))!r})"
    return ConfigProblem(msg, line, _dotted(loc))


# -- YAML files read like this one (a deployment's `newsletters.yaml` too) -------------------


@dataclass(frozen=True)
class YamlMapping:
    """A YAML file's top-level mapping as parsed, and the line of every key in it (by its
    path of keys and list indexes), for problems that name their line."""

    file: str
    data: Mapping[str, object]
    lines: Mapping[tuple[str | int, ...], int]


def read_yaml_mapping(path: str | os.PathLike[str]) -> YamlMapping:
    """Read a YAML file whose top level is a mapping; :class:`ConfigError` (with the
    line) when it is missing, unreadable, not YAML or not a mapping."""
    file = Path(path)
    name = str(path)
    try:
        source = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=name) from None
    try:
        data, node = load_yaml_nodes(source)  # no aliases, no duplicate keys
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"invalid YAML: {problem}", file=name, line=line) from None
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of keys", file=name, line=1)
    lines: dict[tuple[str | int, ...], int] = {}
    if node is not None:
        _line_map(node, (), lines)
    return YamlMapping(name, data, lines)


def validation_problems(
    exc: ValidationError, lines: Mapping[tuple[str | int, ...], int]
) -> list[ConfigProblem]:
    """Each of pydantic's errors as a problem with its line, dotted key and offending value."""
    return [_problem(err, lines) for err in exc.errors()]
