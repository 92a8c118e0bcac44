"""Security checks of the preview server: request headers in, allow or refuse out.

The preview is local-only. A page on another site can make the editor's browser
send requests to 127.0.0.1 (and DNS rebinding can make such a site *look* like the
local origin), so every request must name the server's own address in ``Host``,
and every state-changing request must carry the token minted at server start.
"""

from __future__ import annotations

import hmac
import secrets

__all__ = [
    "EMAIL_HEADERS",
    "PAGE_HEADERS",
    "allowed_hosts",
    "host_allowed",
    "new_token",
    "origin_allowed",
    "token_ok",
]

_COMMON = {
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: under no-referrer the browser sends "Origin: null"
    # with our own form posts, which the origin check must refuse
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# The preview page: our own script and style only, no inline code, frames only from us.
PAGE_HEADERS = {
    **_COMMON,
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none';"
        " frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
}
# The email itself: no script at all (the CSP sandbox applies even when it is
# opened outside its sandboxed frame); inline styles and remote images as a mail
# client would show them.
EMAIL_HEADERS = {
    **_COMMON,
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; font-src https:"
        " data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self';"
        " sandbox allow-popups allow-popups-to-escape-sandbox"
    ),
    "X-Frame-Options": "SAMEORIGIN",
}
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def new_token() -> str:
    """A fresh per-session token for state-changing requests."""
    return secrets.token_urlsafe(32)


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` values this server answers to: its loopback names and its bind address."""
    names = {*_LOOPBACK}
    if host not in ("0.0.0.0", "::", ""):
        names.add(f"[{host}]" if ":" in host else host)
    return frozenset(f"{n}:{port}" for n in names)


def host_allowed(host: str | None, allowed: frozenset[str]) -> bool:
    """True when the request's ``Host`` header is one of ours (DNS-rebinding guard)."""
    return (host or "").strip().lower() in allowed


def origin_allowed(origin: str | None, fetch_site: str | None, allowed: frozenset[str]) -> bool:
    """A request that says where it came from (``Origin``, ``Sec-Fetch-Site``) must come
    from our own pages."""
    if origin is not None and origin.removeprefix("http://").lower() not in allowed:
        return False
    return (fetch_site or "same-origin") in ("same-origin", "none")


def token_ok(sent: str | None, token: str) -> bool:
    """Constant-time comparison of the sent token with the session's. As bytes:
    compare_digest raises on a str with non-ASCII characters (``token=é``)."""
    if not sent:
        return False
    return hmac.compare_digest(str(sent).encode("utf-8", "surrogateescape"), token.encode())
