"""The live-reload watcher: file changes in, calls to :meth:`PreviewState.changed` out.

Two watchfiles loops run in daemon threads: one recursive over the outbox and the
templates folder, one flat over the config file's folder (so the site's state
store and virtual environment are not watched file by file). Atomic saves (write
a temporary file, rename it over) are seen as changes of the target's path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from watchfiles import Change, watch

__all__ = ["Watcher"]

_DEBOUNCE_MS = 120  # small, so a save reaches an open page well within 2 s


class Watcher:
    """Watch the outbox, the templates and the config file until :meth:`stop`."""

    def __init__(
        self,
        *,
        outbox: Path,
        templates: Path,
        config_file: Path,
        on_change: Callable[[set[Path]], None],
    ) -> None:
        self._stop = threading.Event()
        self._on_change = on_change
        self._config_file = config_file
        deep = [p for p in (outbox, templates) if p.is_dir()]
        self._threads = [
            threading.Thread(
                target=self._loop,
                args=([config_file.parent], False),
                daemon=True,
                name="preview-watch-config",
            )
        ]
        if deep:
            self._threads.append(
                threading.Thread(
                    target=self._loop, args=(deep, True), daemon=True, name="preview-watch-tree"
                )
            )

    def _wanted(self, change: Change, path: str) -> bool:
        p = Path(path)
        if p.name.startswith((".tmp-", ".")) or p.suffix in (".tmp", ".swp", ".swx"):
            return False
        if p.parent == self._config_file.parent:
            return p == self._config_file
        return True

    def _loop(self, paths: list[Path], recursive: bool) -> None:
        try:
            for changes in watch(
                *paths,
                watch_filter=self._wanted,
                debounce=_DEBOUNCE_MS,
                step=30,
                stop_event=self._stop,
                recursive=recursive,
                raise_interrupt=False,
                rust_timeout=500,
            ):
                try:
                    self._on_change({Path(p).resolve() for _, p in changes})
                except Exception:  # a failed reaction must not end live reload
                    continue
        except Exception:  # the folder vanished, or the OS refused a watch: give up quietly
            return

    def start(self) -> None:
        """Start watching in the background."""
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        """Stop watching and wait briefly for the threads to end."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)
