"""Loopback servers speaking the list providers' campaign APIs, for ``test_lists.py``.

Each one checks a request the way its provider documents it (the auth header, a
JSON body, required fields and their values, the scheduling rules) and answers in
the provider's own shapes: listmonk ``{"data": ...}`` and ``{"message": ...}``;
Buttondown the email, ``{"code", "detail"}`` and a 422 listing unknown fields (and,
like the real one, an email without a ``status`` goes out at once); Mailchimp the
campaign, problem documents, 204 for a schedule. A test can queue answers for the
next requests to a path (a 429 with Retry-After, a 500, an answer too slow to wait
for) with :meth:`ProviderServer.queue`, by method and path pattern. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from loopback import start, stop

Answer = tuple[int, Any, dict[str, str]]  # status, JSON body (None: empty), headers


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass(frozen=True)
class Scripted:
    """A queued answer; ``then_act`` does the real work too, after ``delay`` (a slow create)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    then_act: bool = False


class Refused(Exception):
    """A request the provider refuses: its status and its error body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _aware(value: Any) -> datetime | None:
    """An ISO 8601 time with an offset (what the providers parse), else None."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


class ProviderServer:
    """A provider on 127.0.0.1: ``answer`` is its API; ``seen`` what it was sent."""

    create_path = ""  # where a campaign is created

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.scripts: dict[tuple[str, str], list[Scripted]] = {}
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        start(self.httpd)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def queue(self, method: str, pattern: str, *answers: Scripted) -> None:
        """Answer the next requests to ``method`` and a path matching ``pattern`` (a regular
        expression) with these, in order."""
        with self.lock:
            self.scripts.setdefault((method, pattern), []).extend(answers)

    def requests(self, method: str, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.method == method and s.path == path]

    def close(self) -> None:
        stop(self.httpd)

    def answer(self, seen: Seen) -> Answer:  # the provider's API
        raise NotImplementedError

    def _respond(self, seen: Seen) -> tuple[Answer, float]:
        with self.lock:
            self.seen.append(seen)
            scripted = None
            for (method, pattern), pending in self.scripts.items():
                if pending and method == seen.method and re.fullmatch(pattern, seen.path):
                    scripted = pending.pop(0)
                    break
        if scripted is None:
            return self._act(seen), 0.0
        if scripted.then_act:
            time.sleep(scripted.delay)
            return self._act(seen), 0.0
        return (scripted.status, scripted.body, scripted.headers), scripted.delay

    def _act(self, seen: Seen) -> Answer:
        try:
            return self.answer(seen)
        except Refused as exc:
            return exc.status, exc.body, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = {"__not_json__": raw.decode("utf-8", "replace")}
                seen = Seen(self.command, self.path, dict(self.headers.items()), body)
                (status, payload, headers), delay = server._respond(seen)
                time.sleep(delay)
                data = b"" if payload is None else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    kind = "application/problem+json" if status >= 400 else "application/json"
                    if data:
                        self.send_header("Content-Type", kind)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: the point of a slow answer

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        return Handler


def _json_body(seen: Seen, refuse: Any) -> dict[str, Any]:
    """The request's JSON object, sent as ``application/json``, or the provider's 400."""
    if not (seen.header("Content-Type") or "").startswith("application/json"):
        raise Refused(400, refuse("the body must be sent as application/json"))
    if not isinstance(seen.body, dict) or "__not_json__" in seen.body:
        raise Refused(400, refuse("the body must be a JSON object"))
    return seen.body


# --- listmonk ------------------------------------------------------------------------


class ListmonkServer(ProviderServer):
    """listmonk's /api/campaigns: BasicAuth (or ``Authorization: token user:token``)."""

    create_path = "/api/campaigns"

    def __init__(self, user: str, token: str, lists: tuple[int, ...] = (3, 4)) -> None:
        self.user, self.token, self.lists = user, token, lists
        self.campaigns: dict[int, dict[str, Any]] = {}
        super().__init__()

    def answer(self, seen: Seen) -> Answer:
        auth = seen.header("Authorization")
        if auth not in (_basic(self.user, self.token), f"token {self.user}:{self.token}"):
            raise Refused(403, {"message": "invalid API credentials"})
        if seen.method == "POST" and seen.path == "/api/campaigns":
            return 200, {"data": self._create(_json_body(seen, _message))}, {}
        status = re.fullmatch(r"/api/campaigns/(\d+)/status", seen.path)
        if seen.method == "PUT" and status:
            return 200, {"data": self._status(int(status[1]), _json_body(seen, _message))}, {}
        raise Refused(404, {"message": "Request resource was not found"})

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        for key in ("name", "subject"):
            if not isinstance(body.get(key), str) or not 1 <= len(body[key]) <= 2000:
                raise Refused(400, _message(f"invalid length for `{key}`"))
        lists = body.get("lists")
        if not isinstance(lists, list) or not lists or not all(type(i) is int for i in lists):
            raise Refused(400, _message("no lists selected"))
        if any(i not in self.lists for i in lists):
            raise Refused(400, _message("one or more lists not found"))
        if body.get("type") not in ("regular", "optin"):
            raise Refused(400, _message("invalid campaign type"))
        if body.get("content_type") not in ("richtext", "html", "markdown", "plain", "visual"):
            raise Refused(400, _message("invalid content type"))
        if not isinstance(body.get("body"), str):
            raise Refused(400, _message("invalid `body`"))
        sender = body.get("from_email", "")
        if sender and not re.fullmatch(r"[^<>]+<[^@\s<>]+@[^@\s<>]+>|[^@\s<>]+@[^@\s<>]+", sender):
            raise Refused(400, _message("invalid `from_email`"))
        send_at = None
        if body.get("send_at") is not None:
            send_at = _aware(body["send_at"])  # Go's time parsing needs the offset
            if send_at is None:
                raise Refused(400, _message("invalid `send_at`"))
            if send_at <= datetime.now(UTC):
                raise Refused(400, _message("`send_at` date should be in the future"))
        number = len(self.campaigns) + 1
        campaign = {
            **{k: body.get(k) for k in ("name", "subject", "body", "altbody", "content_type")},
            "id": number,
            "uuid": str(uuid.uuid4()),
            "type": body["type"],
            "lists": [{"id": i, "name": f"list {i}"} for i in lists],
            "from_email": sender,
            "send_at": body.get("send_at"),
            "template_id": body.get("template_id", 1),
            "status": "draft",
        }
        self.campaigns[number] = campaign
        return campaign

    def _status(self, number: int, body: dict[str, Any]) -> dict[str, Any]:
        campaign = self.campaigns.get(number)
        if campaign is None:
            raise Refused(404, _message("Campaign not found."))
        if body.get("status") != "scheduled":
            raise Refused(400, _message("this test server only schedules"))
        if campaign["status"] != "draft":
            raise Refused(400, _message("Only draft campaigns can be scheduled."))
        if not campaign["send_at"]:
            raise Refused(400, _message("Campaign needs a `send_at` date to be scheduled."))
        campaign["status"] = "scheduled"
        return campaign


def _message(text: str) -> dict[str, Any]:
    return {"message": text}


# --- Buttondown ----------------------------------------------------------------------

_EMAIL_FIELDS = {
    "subject",
    "body",
    "status",
    "publish_date",
    "email_type",
    "slug",
    "description",
    "metadata",
    "canonical_url",
    "image",
}
_EMAIL_STATUSES = {"draft", "scheduled", "about_to_send", "imported", "private"}


class ButtondownServer(ProviderServer):
    """Buttondown's /v1/emails with ``Authorization: Token <key>``."""

    create_path = "/v1/emails"

    def __init__(self, key: str) -> None:
        self.key = key
        self.emails: dict[str, dict[str, Any]] = {}
        super().__init__()

    def answer(self, seen: Seen) -> Answer:
        if seen.header("Authorization") != f"Token {self.key}":
            raise Refused(401, {"detail": "Invalid token.", "code": "unauthorized"})
        if seen.method == "POST" and seen.path == "/v1/emails":
            return 201, self._create(_json_body(seen, _problem)), {}
        raise Refused(404, {"detail": "Not found.", "code": "not_found"})

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        extra = sorted(set(body) - _EMAIL_FIELDS)
        if extra:
            detail = [
                {
                    "type": "extra_forbidden",
                    "loc": ["body", k],
                    "msg": "Extra inputs are not permitted",
                }
                for k in extra
            ]
            raise Refused(422, {"detail": detail})
        if not isinstance(body.get("subject"), str) or not body["subject"].strip():
            raise Refused(
                400, _problem("The subject provided is invalid or missing.", "subject_invalid")
            )
        # the API's old default: an email created without a status is sent at once
        status = body.get("status", "about_to_send")
        if status not in _EMAIL_STATUSES:
            raise Refused(400, _problem("The status provided is not valid.", "status_invalid"))
        publish = body.get("publish_date")
        if status == "scheduled":
            if publish is None:
                raise Refused(400, _problem("A publish date is required.", "publish_date_missing"))
            when = _aware(publish)
            if when is None or when <= datetime.now(UTC):
                raise Refused(
                    400, _problem("The publish date is not valid.", "publish_date_invalid")
                )
        email_id = str(uuid.uuid4())
        email = {
            "id": email_id,
            "subject": body["subject"],
            "body": body.get("body", ""),
            "status": status,
            "publish_date": publish,
            "absolute_url": f"https://buttondown.com/tape/archive/{email_id[:8]}/",
            "creation_date": datetime.now(UTC).isoformat(),
        }
        self.emails[email_id] = email
        return email


def _problem(detail: str, code: str = "invalid") -> dict[str, Any]:
    return {"code": code, "detail": detail, "metadata": {}}


# --- Mailchimp -----------------------------------------------------------------------


class MailchimpServer(ProviderServer):
    """The Marketing API 3.0 campaign endpoints; BasicAuth with any user and the key."""

    create_path = "/3.0/campaigns"

    def __init__(self, key: str, audience: str = "a1b2c3d4e5") -> None:
        self.key, self.audience = key, audience
        self.campaigns: dict[str, dict[str, Any]] = {}
        super().__init__()

    def answer(self, seen: Seen) -> Answer:
        auth = seen.header("Authorization") or ""
        try:
            _, password = base64.b64decode(auth.removeprefix("Basic ")).decode().split(":", 1)
        except ValueError:
            password = ""
        if not auth.startswith("Basic ") or password != self.key:
            raise Refused(
                401,
                _mc(
                    401,
                    "API Key Invalid",
                    "Your API key may be invalid, or you've attempted to access the wrong"
                    " datacenter.",
                ),
            )
        if seen.method == "POST" and seen.path == "/3.0/campaigns":
            return 200, self._create(_json_body(seen, _mc_bad)), {}
        content = re.fullmatch(r"/3\.0/campaigns/(\w+)/content", seen.path)
        if seen.method == "PUT" and content:
            return 200, self._content(content[1], _json_body(seen, _mc_bad)), {}
        schedule = re.fullmatch(r"/3\.0/campaigns/(\w+)/actions/schedule", seen.path)
        if seen.method == "POST" and schedule:
            self._schedule(schedule[1], _json_body(seen, _mc_bad))
            return 204, None, {}
        raise Refused(
            404, _mc(404, "Resource Not Found", "The requested resource could not be found.")
        )

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        errors = []
        if body.get("type") not in ("regular", "plaintext", "absplit", "rss", "variate"):
            errors.append({"field": "type", "message": "Value is not one of the allowed values"})
        list_id = (body.get("recipients") or {}).get("list_id")
        if list_id != self.audience:
            errors.append(
                {"field": "recipients.list_id", "message": f"Invalid list id {list_id!r}"}
            )
        settings = body.get("settings") or {}
        reply_to = settings.get("reply_to", "")
        if reply_to and "@" not in reply_to:
            errors.append({"field": "settings.reply_to", "message": "Must be an email address"})
        if errors:
            raise Refused(
                400, {**_mc_bad("Your request doesn't match the schema."), "errors": errors}
            )
        campaign_id = uuid.uuid4().hex[:10]
        campaign = {
            "id": campaign_id,
            "web_id": 1000 + len(self.campaigns),
            "type": body["type"],
            "status": "save",
            "recipients": {"list_id": list_id},
            "settings": settings,
            "content": None,
        }
        self.campaigns[campaign_id] = campaign
        return {k: v for k, v in campaign.items() if k != "content"}

    def _campaign(self, campaign_id: str) -> dict[str, Any]:
        campaign = self.campaigns.get(campaign_id)
        if campaign is None:
            raise Refused(
                404, _mc(404, "Resource Not Found", "The requested resource could not be found.")
            )
        return campaign

    def _content(self, campaign_id: str, body: dict[str, Any]) -> dict[str, Any]:
        campaign = self._campaign(campaign_id)
        if not isinstance(body.get("html"), str) and not isinstance(body.get("plain_text"), str):
            raise Refused(
                400, _mc_bad("Campaign content needs html, plain_text, url or a template.")
            )
        campaign["content"] = {"html": body.get("html"), "plain_text": body.get("plain_text")}
        return dict(campaign["content"])

    def _schedule(self, campaign_id: str, body: dict[str, Any]) -> None:
        campaign = self._campaign(campaign_id)
        when = _aware(body.get("schedule_time"))
        if when is None:
            raise Refused(400, _mc_bad("schedule_time must be an ISO 8601 date and time."))
        if when.minute % 15 or when.second or when.microsecond:
            raise Refused(400, _mc_bad("Campaigns may only be scheduled on the quarter-hour."))
        if when <= datetime.now(UTC):
            raise Refused(400, _mc_bad("The schedule time is in the past."))
        if not campaign["content"]:
            raise Refused(400, _mc_bad("Your Campaign is not ready to send."))
        if campaign["status"] != "save":
            raise Refused(400, _mc_bad("This campaign cannot be scheduled in its current state."))
        campaign["status"] = "schedule"
        campaign["schedule_time"] = when.isoformat()


def _mc(status: int, title: str, detail: str) -> dict[str, Any]:
    return {
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": str(uuid.uuid4()),
    }


def _mc_bad(detail: str) -> dict[str, Any]:
    return _mc(400, "Invalid Resource", detail)
