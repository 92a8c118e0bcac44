"""List providers: a rendered issue in, a campaign on listmonk, Buttondown or Mailchimp out.

``create_campaign`` makes the campaign through the provider's documented API
(``_listmonk``, ``_buttondown``, ``_mailchimp``; HTTP and retries in ``_api``) from
the issue's HTML and plain text: a draft, or scheduled for ``schedule``; never sent
at once. Credentials come from the environment variables ``list:`` names.

``campaign_delivery`` is the :class:`~pipeline.send.Delivery` that ``newsletter send
--via`` hands to :func:`pipeline.send.checked_send` (lint first, at most once: ``sending``
before, ``sent`` after): it refuses when the edition already has a campaign unless
forced, and records each campaign in the state store the moment it exists on the
provider. ``hand_off`` is the same delivery for an email already in hand.

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
from ..send import Delivery, send_edition
from ..store import open_state
from . import _buttondown, _listmonk, _mailchimp
from ._api import Api, Created, Job

__all__ = ["PROVIDERS", "campaign_delivery", "create_campaign", "hand_off", "schedule_time"]


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


def campaign_delivery(
    config: Config, edition: date, *, via: str, schedule: datetime | None
) -> Delivery[Campaign]:
    """The edition's campaign on ``via`` as a delivery (see the module doc); a ``via``
    that is not the configured provider is refused at once."""
    if config.mailing_list.provider != via:
        configured = config.mailing_list.provider or "no provider"
        raise SendError(
            f"--via {via}, but list.provider in {config.file} is {configured};"
            f" set list.provider: {via} and its keys (see the README)"
        )

    def check() -> None:
        with open_state(config) as store:
            made = store.campaigns(edition)
        if made:
            last = made[-1]
            raise SendError(
                f"campaign {last.id} already created on {last.provider} for the {edition} issue"
                f" ({last.status}{': ' + last.url if last.url else ''}); --force to create another"
            )

    def record(campaign: Campaign) -> None:
        with open_state(config) as store:
            store.record_campaign(edition, campaign)

    def send(rendered: RenderedIssue) -> Campaign:
        return create_campaign(config, rendered, edition, schedule=schedule, created=record)

    return Delivery(send, check)


def hand_off(
    config: Config,
    edition: date,
    rendered: RenderedIssue,
    *,
    via: str,
    schedule: datetime | None,
    force: bool = False,
) -> Campaign:
    """Create the edition's campaign from ``rendered`` at most once (see the module doc)."""
    delivery = campaign_delivery(config, edition, via=via, schedule=schedule)
    return send_edition(config, edition, delivery, rendered, force=force)


def _future_utc(when: datetime, config: Config) -> datetime:
    if when.tzinfo is None:
        when = when.replace(tzinfo=config.newsletter.tz)
    when = when.astimezone(UTC)
    if when <= datetime.now(UTC):
        raise SendError(f"the schedule time {when:%Y-%m-%d %H:%M} UTC is not in the future")
    return when
