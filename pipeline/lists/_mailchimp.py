"""Mailchimp: a :class:`Job` in, a regular campaign (draft or scheduled) on Mailchimp out.

Marketing API 3.0 (mailchimp.com/developer/marketing): BasicAuth with any user
name and the API key; the key's suffix is its data center (``...-us21`` ->
``https://us21.api.mailchimp.com/3.0``). ``POST /campaigns`` (type, recipients.list_id,
settings) creates a draft; ``PUT /campaigns/{id}/content`` sets ``html`` and
``plain_text``; ``POST /campaigns/{id}/actions/schedule`` with ``schedule_time``
(UTC, on a quarter-hour) schedules it. Errors are problem documents
(``title``, ``detail``, and for a 400 the ``errors`` per field).
"""

from __future__ import annotations

import re

import httpx

from ..config import MailingList
from ..errors import SendError
from ..models import Campaign
from ._api import Api, Created, Job, after_create, new_id, pick, secret

NAME = "mailchimp"
_DATA_CENTER = re.compile(r"-([a-z]+[0-9]+)")


def connect(settings: MailingList, config_file: str) -> Api:
    """The API of the key's data center (or ``list.base_url``), BasicAuth with the key."""
    key = secret(config_file, "api_key_env", settings.api_key_env)
    # the data center is the key's suffix: a key without one cannot be a Mailchimp key
    match = _DATA_CENTER.search(key)
    if match is None or match.end() != len(key):
        raise SendError(
            f"the Mailchimp API key in ${settings.api_key_env} does not end in its data"
            " center (like -us21); copy the whole key from Mailchimp's API keys page"
        )
    dc = match[1]
    return Api(
        NAME,
        settings.base_url or f"https://{dc}.api.mailchimp.com/3.0",
        settings,
        credentials=f"the API key in ${settings.api_key_env}",
        explain=_explain,
        auth=httpx.BasicAuth("newsletter", key),
        site=f"https://{dc}.admin.mailchimp.com",
    )


def refusal(job: Job) -> str:
    """Mailchimp schedules on the quarter-hour only: say so before creating anything."""
    when = job.send_at
    if when is None or (when.minute % 15 == 0 and when.second == when.microsecond == 0):
        return ""
    return (
        f"Mailchimp schedules on the quarter-hour only (:00, :15, :30, :45);"
        f" {when:%Y-%m-%d %H:%M:%S} UTC is not one"
    )


def create(api: Api, job: Job, created: Created) -> Campaign:
    """Create the draft, set its HTML and plain text, then schedule it if asked."""
    body = {
        "type": "regular",
        "recipients": {"list_id": job.settings.list_id[0]},
        "settings": {
            "subject_line": job.subject,
            "title": job.name,
            "from_name": job.from_name,
            "reply_to": job.reply_to,
        },
    }
    answer = api.call("POST", "/campaigns", body, idempotent=False)
    campaign_id = new_id(NAME, answer, "id")
    web_id = pick(answer, "web_id")
    url = f"{api.site}/campaigns/show/?id={web_id}" if web_id else ""
    draft = Campaign(NAME, campaign_id, url, "draft")
    created(draft)
    content = {"html": job.html, "plain_text": job.text}
    after_create(
        draft,
        lambda: api.call("PUT", f"/campaigns/{campaign_id}/content", content, idempotent=True),
        "it has no content yet; delete it there",
    )
    if job.send_at is None:
        return draft
    when = {"schedule_time": job.send_at.isoformat()}
    after_create(
        draft,
        # scheduling one campaign twice cannot send it twice: safe to repeat
        lambda: api.call(
            "POST", f"/campaigns/{campaign_id}/actions/schedule", when, idempotent=True
        ),
        "schedule or delete it there",
    )
    scheduled = Campaign(NAME, campaign_id, url, "scheduled", job.send_at)
    created(scheduled)
    return scheduled


def _explain(body: object) -> str:
    title, detail, fields = pick(body, "title"), pick(body, "detail"), pick(body, "errors")
    told = ": ".join(str(t) for t in (title, detail) if t)
    if isinstance(fields, list) and fields:
        told += " (" + "; ".join(f"{pick(f, 'field')}: {pick(f, 'message')}" for f in fields) + ")"
    return told
