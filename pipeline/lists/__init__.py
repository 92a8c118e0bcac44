"""List providers: a rendered issue in, a campaign on listmonk, Buttondown or Mailchimp out.

``create_campaign`` makes the campaign through the provider's documented API
(``_listmonk``, ``_buttondown``, ``_mailchimp``; HTTP and retries in ``_api``) from
the issue's HTML and plain text: a draft, or scheduled for ``schedule``; never sent
at once. Credentials come from the environment variables ``list:`` names.

``hand_off`` does it at most once per edition, for ``newsletter send --via``: refused
when the edition already has a campaign (or is marked sent) unless forced, run
through :func:`pipeline.send.send_edition` (``sending`` before, ``sent`` after), and
each campaign recorded in the state store the moment it exists on the provider.

``schedule_time`` reads ``--schedule``: ISO 8601, in the newsletter's timezone when
it has no offset; out comes a future UTC time.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime

from ..config import Config, MailingList
from ..errors import SendError
from ..models import Campaign, RenderedIssue
from ..send import send_edition
from ..store import open_store
from . import _buttondown, _listmonk, _mailchimp
from ._api import Api, Created, Job

__all__ = ["PROVIDERS", "create_campaign", "hand_off", "schedule_time"]


@dataclass(frozen=True)
class _Adapter:
    connect: Callable[[MailingList, str], Api]
    refusal: Callable[[Job], str]
    create: Callable[[Api, Job, Created], Campaign]


_ADAPTERS = {
    m.NAME: _Adapter(m.connect, m.refusal, m.create) for m in (_listmonk, _buttondown, _mailchimp)
}
PROVIDERS = tuple(_ADAPTERS)


def schedule_time(text: str, config: Config) -> datetime:
    """``--schedule``'s time in UTC; a time without an offset is the newsletter's local time."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SendError(
            f"--schedule {text!r} is not an ISO 8601 time like 2026-03-05T06:00"
        ) from None
    return _future_utc(when, config)


def create_campaign(
    config: Config,
    rendered: RenderedIssue,
    edition: date,
    *,
    schedule: datetime | None,
    created: Created | None = None,
) -> Campaign:
    """Create the edition's campaign on ``list.provider``: a draft, or scheduled for
    ``schedule`` (the newsletter's local time when naive). ``created`` hears of each
    campaign the moment it exists there. Raises :class:`SendError`
    (:class:`UncertainSendError` when the provider may have made it anyway)."""
    settings = config.mailing_list
    if settings.provider is None:
        raise SendError(f"{config.file} has no list.provider; add a list: block (see the README)")
    adapter = _ADAPTERS[settings.provider]
    sender = config.newsletter.sender
    job = Job(
        settings=settings,
        name=f"{config.newsletter.name} {edition.isoformat()}",
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        from_name=sender.name,
        from_email=sender.email,
        reply_to=config.newsletter.reply_to or sender.email,
        send_at=None if schedule is None else _future_utc(schedule, config),
    )
    refusal = adapter.refusal(job)
    if refusal:
        raise SendError(refusal)
    with closing(adapter.connect(settings, config.file)) as api:
        return adapter.create(api, job, created or (lambda campaign: None))


def hand_off(
    config: Config,
    edition: date,
    rendered: RenderedIssue,
    *,
    via: str,
    schedule: datetime | None,
    force: bool = False,
) -> Campaign:
    """Create the edition's campaign at most once (see the module doc)."""
    if config.mailing_list.provider != via:
        configured = config.mailing_list.provider or "no provider"
        raise SendError(
            f"--via {via}, but list.provider in {config.file} is {configured};"
            f" set list.provider: {via} and its keys (see the README)"
        )
    with open_store(config.state_path) as store:
        made = store.campaigns(edition)
        recorded = store.issue(edition)
    if made and not force:
        last = made[-1]
        raise SendError(
            f"campaign {last.id} already created on {last.provider} for the {edition} issue"
            f" ({last.status}{': ' + last.url if last.url else ''}); --force to create another"
        )
    if recorded is not None and recorded[1] == "sent" and not force:
        raise SendError(
            f"the {edition} issue is already marked sent; --force to create a campaign anyway"
        )

    def record(campaign: Campaign) -> None:
        with open_store(config.state_path) as store:
            store.record_campaign(edition, campaign)

    return send_edition(
        config,
        edition,
        lambda: create_campaign(config, rendered, edition, schedule=schedule, created=record),
        force=force,
    )


def _future_utc(when: datetime, config: Config) -> datetime:
    if when.tzinfo is None:
        when = when.replace(tzinfo=config.newsletter.tz)
    when = when.astimezone(UTC)
    if when <= datetime.now(UTC):
        raise SendError(f"the schedule time {when:%Y-%m-%d %H:%M} UTC is not in the future")
    return when
