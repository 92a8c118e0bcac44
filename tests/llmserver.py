"""A loopback server speaking the OpenAI chat-completions API, for the LLM writer's tests.

It checks each request the way the documented API does (model, messages, temperature,
``response_format`` with a strict JSON schema, the word JSON in JSON mode) and answers with a
chat completion or an OpenAI-style error body. What it answers comes from a responder the test
sets; ``formats`` says which ``response_format`` types it accepts, so one server can refuse
structured output the way older local servers do. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from loopback import running

ALL_FORMATS = frozenset({"text", "json_object", "json_schema"})


@dataclass(frozen=True)
class Reply:
    """One answer: the message content, or an error status with its message."""

    content: str = ""
    status: int = 200
    error: str = ""
    delay: float = 0.0
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    path: str
    body: dict[str, Any]
    auth: str | None

    @property
    def messages(self) -> list[dict[str, str]]:
        return list(self.body["messages"])

    @property
    def format(self) -> str:
        """The response_format type sent ('none' without one)."""
        fmt = self.body.get("response_format")
        return str(fmt["type"]) if isinstance(fmt, dict) else "none"


Responder = Callable[[Seen], Reply]


def attempt(seen: Seen) -> int:
    """Which try at its story a request is: 0 first, 1 the first retry (answers so far)."""
    return sum(1 for m in seen.messages if m["role"] == "assistant")


def script(*answers: Reply | str | dict[str, Any]) -> Responder:
    """A responder that answers each story's tries in order (the last answer repeats)."""
    replies = [
        a
        if isinstance(a, Reply)
        else Reply(content=a if isinstance(a, str) else json.dumps(a, ensure_ascii=False))
        for a in answers
    ]
    return lambda seen: replies[min(attempt(seen), len(replies) - 1)]


@dataclass
class ChatServer:
    """The server's state: what it accepts, what it answers, what it saw."""

    responder: Responder = field(default=lambda seen: Reply(status=500, error="no responder"))
    formats: frozenset[str] = ALL_FORMATS
    refuse_status: int = 400  # how a refused response_format is answered (400 or 422)
    url: str = ""
    requests: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def formats_sent(self) -> list[str]:
        return [r.format for r in self.requests]


class _BadRequest(Exception):
    def __init__(self, message: str, param: str, status: int = 400) -> None:
        super().__init__(message)
        self.param = param
        self.status = status


def _strict_schema_problem(schema: Any, where: str = "schema") -> str:
    """What strict structured output refuses in a schema ('' when it is acceptable)."""
    if not isinstance(schema, dict) or "type" not in schema:
        return f"{where} must be an object with a type"
    if schema["type"] == "object":
        props = schema.get("properties")
        if not isinstance(props, dict):
            return f"{where}: an object needs properties"
        if schema.get("additionalProperties") is not False:
            return f"{where}: additionalProperties must be false in strict mode"
        if sorted(schema.get("required", [])) != sorted(props):
            return f"{where}: strict mode requires every property in 'required'"
        for name, sub in props.items():
            problem = _strict_schema_problem(sub, f"{where}.{name}")
            if problem:
                return problem
    elif schema["type"] == "array":
        return _strict_schema_problem(schema.get("items"), f"{where}.items")
    elif schema["type"] not in ("string", "number", "integer", "boolean", "null"):
        return f"{where}: unknown type {schema['type']!r}"
    return ""


def _check(server: ChatServer, body: Any) -> None:
    """The documented request checks of /chat/completions."""
    if not isinstance(body, dict):
        raise _BadRequest("the body must be a JSON object", "")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise _BadRequest("you must provide a model parameter", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _BadRequest("messages must be a non-empty array", "messages")
    for i, m in enumerate(messages):
        if (
            not isinstance(m, dict)
            or m.get("role") not in ("system", "user", "assistant")
            or not isinstance(m.get("content"), str)
        ):
            raise _BadRequest(f"messages[{i}] needs a role and string content", f"messages[{i}]")
    temperature = body.get("temperature", 1)
    if not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
        raise _BadRequest("temperature must be between 0 and 2", "temperature")
    fmt = body.get("response_format")
    if fmt is None:
        return
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind not in ALL_FORMATS:
        raise _BadRequest(f"invalid response_format type {kind!r}", "response_format")
    if kind not in server.formats:
        raise _BadRequest(
            f"response_format type {kind!r} is not supported by this server",
            "response_format",
            server.refuse_status,
        )
    if kind == "json_object" and not any("json" in m["content"].lower() for m in messages):
        raise _BadRequest(
            "'messages' must contain the word 'json' to use response_format json_object",
            "messages",
        )
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not re.fullmatch(
            r"[A-Za-z0-9_-]{1,64}", str(spec.get("name", ""))
        ):
            raise _BadRequest("json_schema needs a name of 1-64 [A-Za-z0-9_-]", "response_format")
        problem = _strict_schema_problem(spec.get("schema")) if spec.get("strict") else ""
        if problem:
            raise _BadRequest(f"Invalid schema for response_format: {problem}", "response_format")


def _handler(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, param: str = "") -> None:
            error = {"message": message, "type": "invalid_request_error", "param": param or None}
            self._send(status, {"error": {**error, "code": None}})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path != "/v1/chat/completions":
                self._error(404, f"unknown path {self.path}")
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._error(400, "the body is not JSON")
                return
            seen = Seen(self.path, body, self.headers.get("Authorization"))
            with server.lock:
                server.requests.append(seen)
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                try:
                    _check(server, body)
                except _BadRequest as exc:
                    self._error(exc.status, str(exc), exc.param)
                    return
                reply = server.responder(seen)
                time.sleep(reply.delay)
                if reply.status != 200:
                    self._error(reply.status, reply.error or f"error {reply.status}")
                    return
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{len(server.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": reply.content},
                                "finish_reason": reply.finish_reason,
                            }
                        ],
                        "usage": {
                            "prompt_tokens": 70,
                            "completion_tokens": 30,
                            "total_tokens": 100,
                        },
                    },
                )
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)
            finally:
                with server.lock:
                    server.in_flight -= 1

    return Handler


@contextmanager
def serve(server: ChatServer | None = None) -> Iterator[ChatServer]:
    """Run a chat server on 127.0.0.1 for the length of the block; ``.url`` is its base URL."""
    state = server or ChatServer()
    with running(ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))) as base:
        state.url = f"{base}/v1"
        yield state
