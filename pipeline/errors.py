"""The exception tree of the pipeline.

Every error the pipeline raises on purpose derives from :class:`NewsletterError`.
Stages catch per-source errors and record them in their results; only the CLI
turns an escaping error into an exit code and a one-line message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class NewsletterError(Exception):
    """Root of every error the pipeline raises on purpose."""

    exit_code = 1


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a config file: what, and where (line and dotted key) when known."""

    detail: str
    line: int | None = None
    key: str | None = None

    def describe(self, file: str) -> str:
        where = file if self.line is None else f"{file}:{self.line}"
        return f"{where}: " + (f"key '{self.key}': " if self.key else "") + self.detail


class ConfigError(NewsletterError):
    """A config file could not be read or holds bad values.

    The message names the file, the line, the key and the bad value of every problem found,
    one line each (``more`` after the first); ``line``, ``key`` and ``detail`` are the first
    problem's, ``problems`` holds them all.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str,
        line: int | None = None,
        key: str | None = None,
        more: Sequence[ConfigProblem] = (),
    ) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.detail = message
        self.problems = (ConfigProblem(message, line, key), *more)
        lines = [p.describe(file) for p in self.problems]
        if len(lines) == 1:
            super().__init__(lines[0])
        else:
            super().__init__(
                f"{file}: {len(lines)} problems\n" + "\n".join(f"  {x}" for x in lines)
            )


class SourceError(NewsletterError):
    """One feed or story file could not be read. Recorded per source, never fatal."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.detail = message
        super().__init__(f"{source}: {message}")

    def __reduce__(self) -> tuple[type[SourceError], tuple[str, str]]:
        # pickled as made: a feed read in a worker process fails with its own error
        return type(self), (self.source, self.detail)


class FetchError(SourceError):
    """An HTTP fetch failed (timeout, status, size cap, redirect loop...)."""


class StoreError(NewsletterError):
    """The state store (or its lock) cannot be used: lost, corrupt, unwritable or not
    a file. The message names the file and, where a backup helps, the recovery step."""


class OutboxError(NewsletterError):
    """A file of the outbox cannot be written (read-only folder, a folder in the way)."""


class FileError(NewsletterError):
    """Something wrong inside a file a person wrote; the message names the file and line."""

    def __init__(self, message: str, *, file: str, line: int | None = None) -> None:
        self.file = file
        self.line = line
        self.detail = message
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {message}")


class DraftError(FileError):
    """A draft file is malformed; names the file and the line."""


class RenderError(NewsletterError):
    """A template or the generated MJML failed to render or validate."""

    def __init__(self, message: str, *, template: str | None = None, line: int | None = None):
        self.template = template
        self.line = line
        self.detail = message
        where = ""
        if template:
            where = template if line is None else f"{template}:{line}"
            where += ": "
        super().__init__(where + message)


class SummarizeError(NewsletterError):
    """A summarizer backend failed (for example a dead LLM endpoint)."""


class InputError(FileError):
    """An input file the user handed over (stories to lint) cannot be read; names file and line."""

    exit_code = 2


class LockedError(NewsletterError):
    """Another build of the same newsletter holds the lock."""

    exit_code = 3


class NoIssueError(NewsletterError):
    """A build ran but produced no issue (no stories to send)."""

    exit_code = 4


class StaleIssueError(NoIssueError):
    """The rendered email is older than its draft: lint and send would miss an edit."""


class SendError(NewsletterError):
    """Sending the issue (over SMTP or to a list provider) failed or was refused by a
    blocking lint finding."""

    exit_code = 5


class ReportError(FileError):
    """A run report (``report.json``) is not one: not JSON, or a value of the wrong kind.
    Names the file and the key."""


class UncertainSendError(SendError):
    """A send whose outcome is unknown: the request went out and no answer came back (a
    timeout, a dropped connection, a server error on a create). The issue stays
    ``sending``, so nothing sends it again until a person has checked."""


class TaskError(NewsletterError):
    """The task engine (Celery on Redis) could not run a stage: the broker unreachable, or
    tasks not finished within ``tasks.task_timeout``; the message names what did not finish."""
