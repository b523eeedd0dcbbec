"""The event loop boleta's asyncio servers run on: uvloop where it is installed (a
dependency on Linux and macOS), asyncio's own loop elsewhere.

grpc.aio runs on any asyncio loop. On uvloop a unary call cost the command service about
10% less CPU, and the no-op echo anchor as much (docs/performance.md), so the bench's echo
runs on it too. The query service gets it from uvicorn, which picks uvloop when installed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on uvloop when it is available."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop has no Windows build
        return asyncio.run(main)
    return uvloop.run(main)
