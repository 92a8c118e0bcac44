"""The HTTP side of the list providers: a JSON request in, the provider's JSON answer out.

:class:`Api` is one bounded httpx client (timeouts from ``list.timeout``, no
redirects) for one provider. :meth:`Api.call` retries only what cannot send twice:
429 and 503 answers (the provider did not act), after ``Retry-After`` or a backoff
and within ``list.retry_wait_max`` seconds in all; a connection that never opened;
and, for a request that is safe to repeat (``idempotent``), other 5xx answers and
lost answers. A create whose answer is lost or is another 5xx raises
:class:`UncertainSendError`: the campaign may exist. 401 and 403 raise a
:class:`SendError` naming the credential variables (never their values); any
other failure names the provider, method, URL and the provider's own message.

:class:`Job` is what a campaign is made of; an adapter (``_listmonk`` ...) turns it
into requests and a :class:`Campaign`, reporting it through ``created`` as soon as it
exists on the provider.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import httpx

from ..config import MailingList
from ..errors import SendError, UncertainSendError
from ..httpclient import retry_after, tls_context
from ..models import Campaign
from ..send import send_secret

__all__ = ["Api", "Created", "Job", "Json", "after_create", "new_id", "pick", "secret"]

Json = Mapping[str, object]  # a JSON object to send
Created = Callable[[Campaign], None]  # told of each campaign as soon as it exists


@dataclass(frozen=True)
class Job:
    """One edition to hand over: its parts, its sender and when (UTC) it goes out."""

    settings: MailingList
    name: str
    subject: str
    html: str
    text: str
    from_name: str
    from_email: str
    reply_to: str
    send_at: datetime | None


def secret(config_file: str, key: str, name: str) -> str:
    """The value of the environment variable ``name`` (named by ``list.<key>``)."""
    return send_secret(name, key=f"list.{key}", file=config_file)


def pick(answer: object, *path: str) -> object:
    """``answer[path[0]][path[1]]...`` when the JSON has it, else None."""
    for key in path:
        if not isinstance(answer, dict):
            return None
        answer = answer.get(key)
    return answer


def new_id(provider: str, answer: object, *path: str) -> str:
    """The id of the campaign a create made, from its answer at ``path``."""
    value = pick(answer, *path)
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise UncertainSendError(
            f"{provider} answered a create without the campaign's id ({str(answer)[:200]});"
            f" check {provider}'s campaigns, then send again with --force"
        )
    return str(value)


def after_create(campaign: Campaign, step: Callable[[], object], todo: str) -> None:
    """Run a step on a campaign that exists; a failure says what is left on the provider."""
    try:
        step()
    except SendError as exc:
        raise type(exc)(
            f"{exc}; campaign {campaign.id} stays on {campaign.provider} as a draft: {todo}"
        ) from None


class Api:
    """One provider's API at ``base_url``; ``explain`` reads its error bodies,
    ``credentials`` says where the secrets come from (for a refusal's message)."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        settings: MailingList,
        *,
        credentials: str,
        explain: Callable[[object], str],
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        site: str = "",
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.site = site  # where a person opens the provider's pages
        self.settings = settings
        self.credentials = credentials
        self.explain = explain
        self.client = httpx.Client(
            auth=auth,
            headers={"Accept": "application/json", **(headers or {})},
            timeout=httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0)),
            follow_redirects=False,
            verify=tls_context(),
        )

    def close(self) -> None:
        self.client.close()

    def call(self, method: str, path: str, body: Json | None = None, *, idempotent: bool) -> object:
        """Send one request; its JSON answer (None for an empty one) or an error."""
        url = self.base_url + path
        where = f"{self.provider} {method} {url}"
        waited = 0.0
        for attempt in range(self.settings.retries + 1):
            last = attempt == self.settings.retries
            backoff = self.settings.retry_backoff * 2**attempt
            try:
                response = self.client.request(method, url, json=body)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if last:  # it never reached the provider: nothing happened there
                    raise SendError(f"{where}: cannot connect: {_name(exc)}") from None
                wait = backoff
            except httpx.TransportError as exc:
                if not idempotent:
                    raise UncertainSendError(
                        f"{where}: the answer was lost ({_name(exc)}); {self.provider} may"
                        " have created the campaign: check there, then send again with --force"
                    ) from None
                if last:
                    raise SendError(f"{where}: no answer: {_name(exc)}") from None
                wait = backoff
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return self._json(response, where, idempotent)
                told = self._explain(response)
                if status in (401, 403):
                    raise SendError(
                        f"{where} refused the credentials ({status}: {told});"
                        f" check {self.credentials}"
                    )
                if status not in (429, 503) and not (status >= 500 and idempotent):
                    if status >= 500:
                        raise UncertainSendError(
                            f"{where} answered {status}: {told}; {self.provider} may have created"
                            " the campaign anyway: check there, then send again with --force"
                        )
                    raise SendError(f"{where} answered {status}: {told}")
                if last:
                    raise SendError(
                        f"{where} still answered {status} after {attempt + 1} tries: {told}"
                    )
                advised = retry_after(response.headers.get("retry-after"))
                wait = backoff if advised is None else advised
            if waited + wait > self.settings.retry_wait_max:
                raise SendError(
                    f"{where}: waiting {wait:g} s more (after {waited:g} s) is over"
                    f" list.retry_wait_max ({self.settings.retry_wait_max:g} s); try again later"
                )
            time.sleep(wait)
            waited += wait
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _explain(self, response: httpx.Response) -> str:
        try:
            told = self.explain(response.json())
        except ValueError:
            told = ""
        return told or response.text.strip()[:300] or response.reason_phrase

    def _json(self, response: httpx.Response, where: str, idempotent: bool) -> object:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            error = SendError if idempotent else UncertainSendError
            raise error(f"{where} answered {response.status_code} without JSON") from None


def _name(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
