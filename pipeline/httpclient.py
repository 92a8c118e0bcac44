"""What every HTTP client of the pipeline shares (feeds, the LLM writer, list providers,
alerts): one TLS context, and ``Retry-After`` read as seconds.

The header holds either delta seconds or an HTTP date (RFC 9110 10.2.3); a value
that is neither reads as no advice (None), a date in the past as 0.
"""

from __future__ import annotations

import email.utils
import functools
import ssl
from datetime import UTC, datetime

__all__ = ["retry_after", "tls_context"]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client: loading the CA store takes about 20 ms a time."""
    return ssl.create_default_context()


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
