"""A watch: a daemon thread that observes the world while a ``with`` block runs (the
checkpoints served, the tallies' positions, an SSE stream)."""

from __future__ import annotations

import threading
from typing import Self


class Watch:
    """Subclasses give ``_run``, which loops while ``watching()``."""

    def __init__(self, name: str, join_s: float = 10.0) -> None:
        self._join_s = join_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(self._join_s)

    def watching(self, pause_s: float = 0.0) -> bool:
        """Wait ``pause_s`` (less once the block ends); False once it has ended."""
        return not self._stop.wait(pause_s)

    def _run(self) -> None:
        raise NotImplementedError
