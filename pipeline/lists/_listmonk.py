"""listmonk: a :class:`Job` in, a campaign on a self-hosted listmonk out.

API (listmonk.app/docs/apis): BasicAuth with an API user and its token;
``POST /api/campaigns`` (name, subject, lists, from_email, type, content_type,
body, altbody, send_at) creates a draft and answers ``{"data": {...}}``;
``PUT /api/campaigns/{id}/status`` with ``{"status": "scheduled"}`` schedules a
draft that has ``send_at``. Errors answer ``{"message": "..."}``. The HTML goes
in as the body of ``list.template_id`` (listmonk's default template otherwise).
"""

from __future__ import annotations

import httpx

from ..config import MailingList
from ..models import Campaign
from ._api import Api, Created, Job, after_create, new_id, pick, secret

NAME = "listmonk"


def connect(settings: MailingList, config_file: str) -> Api:
    """The instance's API, logged in as the API user (BasicAuth user:token)."""
    user = secret(config_file, "username_env", settings.username_env)
    token = secret(config_file, "api_key_env", settings.api_key_env)
    return Api(
        NAME,
        settings.base_url,
        settings,
        credentials=f"the API user and token in ${settings.username_env} and"
        f" ${settings.api_key_env}",
        explain=lambda body: str(pick(body, "message") or ""),
        auth=httpx.BasicAuth(user, token),
    )


def refusal(job: Job) -> str:
    """listmonk takes any future time: nothing to refuse before asking."""
    return ""


def create(api: Api, job: Job, created: Created) -> Campaign:
    """Create the campaign (a draft), then schedule it when ``job.send_at`` is set."""
    body: dict[str, object] = {
        "name": job.name,
        "subject": job.subject,
        "lists": [int(i) for i in job.settings.list_id],
        "from_email": f"{job.from_name} <{job.from_email}>",
        "type": "regular",
        "content_type": "html",
        "body": job.html,
        "altbody": job.text,
        "messenger": "email",
    }
    if job.settings.template_id is not None:
        body["template_id"] = job.settings.template_id
    if job.send_at is not None:
        body["send_at"] = job.send_at.isoformat()
    number = new_id(NAME, api.call("POST", "/api/campaigns", body, idempotent=False), "data", "id")
    draft = Campaign(NAME, number, f"{api.base_url}/admin/campaigns/{number}", "draft")
    created(draft)
    if job.send_at is None:
        return draft
    after_create(
        draft,
        lambda: api.call(
            "PUT", f"/api/campaigns/{number}/status", {"status": "scheduled"}, idempotent=True
        ),
        "schedule or delete it there",
    )
    scheduled = Campaign(NAME, number, draft.url, "scheduled", job.send_at)
    created(scheduled)
    return scheduled
