"""Preview: a config in, a local web page of the issues out (the editor's desk).

``serve`` runs it on 127.0.0.1 (port from ``preview.port`` or the caller): an
index of issues by date with their state, and for one issue the email at 600 px
and 375 px and in dark mode, the plain-text part, the findings (style, facts,
email lint) linked to their stories, and per-story actions that go through the
draft file (:mod:`pipeline.desk`). Saving the draft, a template, the house style
or the config re-renders and refreshes the open page; a broken file shows its
error over the last good render. Requests with a foreign ``Host`` are refused,
POSTs need the session token, and feed text is escaped everywhere.
"""

from __future__ import annotations

import sys
import webbrowser

from ..config import Config
from ..errors import NewsletterError
from ._http import PreviewServer
from ._state import PreviewState

__all__ = ["PreviewServer", "make_app", "serve"]


def make_app(
    config: Config, *, host: str | None = None, port: int | None = None, watch: bool = True
) -> PreviewServer:
    """A bound, not yet serving preview server (``port=0`` picks a free port).

    Call ``.start()`` to serve in the background (tests) or ``.serve_forever()``.
    Raises :class:`NewsletterError` when the address cannot be bound (port in use).
    """
    bind_host = host or config.preview.host
    bind_port = config.preview.port if port is None else port
    try:
        return PreviewServer(PreviewState(config), bind_host, bind_port, watch=watch)
    except OSError as exc:
        raise NewsletterError(
            f"cannot serve the preview on {bind_host}:{bind_port}: {exc.strerror or exc};"
            f" choose another port with --port or preview.port in {config.file}"
        ) from None


def serve(
    config: Config, *, host: str = "127.0.0.1", port: int | None = None, open_browser: bool = False
) -> None:
    """Serve the preview until interrupted; open a browser tab only when asked."""
    server = make_app(config, host=host, port=port)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: serving on {host}: the preview is meant for this machine only",
            file=sys.stderr,
        )
    print(f"preview: {server.url} (Ctrl-C to stop)", flush=True)
    if server.watcher:
        server.watcher.start()
    if open_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        if server.watcher:
            server.watcher.stop()
        server.server_close()
