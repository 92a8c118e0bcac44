"""Buttondown: a :class:`Job` in, an email (draft or scheduled) on Buttondown out.

API (docs.buttondown.com): ``Authorization: Token <key>``; ``POST /v1/emails``
with subject, body and a ``status`` always given (left out, Buttondown has sent
at once), ``draft``, or ``scheduled`` with ``publish_date``; it answers 201 with
the email. Errors answer ``{"code": ..., "detail": ...}`` (a 422 lists its
fields in ``detail``). Buttondown takes one body: the HTML, marked as such; it
makes its own plain text. The newsletter is the key's, so there is no list id.
"""

from __future__ import annotations

from typing import Literal

from ..config import MailingList
from ..errors import UncertainSendError
from ..models import Campaign
from ._api import Api, Created, Job, new_id, pick, secret

NAME = "buttondown"
API_ROOT = "https://api.buttondown.com/v1"
_HTML_MODE = "<!-- buttondown-editor-mode: fancy -->\n"  # read the body as HTML, not Markdown


def connect(settings: MailingList, config_file: str) -> Api:
    """The API with the newsletter's key (``Authorization: Token <key>``)."""
    key = secret(config_file, "api_key_env", settings.api_key_env)
    return Api(
        NAME,
        settings.base_url or API_ROOT,
        settings,
        credentials=f"the API key in ${settings.api_key_env}",
        explain=_explain,
        headers={"Authorization": f"Token {key}"},
    )


def refusal(job: Job) -> str:
    """Buttondown takes any future time: nothing to refuse before asking."""
    return ""


def create(api: Api, job: Job, created: Created) -> Campaign:
    """One request: the email as a draft, or scheduled for ``job.send_at``."""
    status: Literal["draft", "scheduled"] = "draft" if job.send_at is None else "scheduled"
    body: dict[str, object] = {
        "subject": job.subject,
        "body": _HTML_MODE + job.html,
        "status": status,
    }
    if job.send_at is not None:
        body["publish_date"] = job.send_at.isoformat()
    answer = api.call("POST", "/emails", body, idempotent=False)
    email_id = new_id(NAME, answer, "id")
    url = pick(answer, "absolute_url")
    campaign = Campaign(NAME, email_id, url if isinstance(url, str) else "", status, job.send_at)
    created(campaign)
    told = pick(answer, "status")
    if told is not None and told != status:
        raise UncertainSendError(
            f"buttondown made email {email_id} with status {told!r}, not {status!r};"
            " check it in Buttondown now"
        )
    return campaign


def _explain(body: object) -> str:
    detail = pick(body, "detail")
    if isinstance(detail, list):  # a 422: one entry per field
        detail = "; ".join(
            f"{'.'.join(str(p) for p in loc) if isinstance(loc, list) else loc}: {pick(e, 'msg')}"
            for e in detail
            for loc in [pick(e, "loc")]
        )
    code = pick(body, "code")
    return f"{detail} ({code})" if code and detail else str(detail or code or "")
