"""Running the query service inside a test: uvicorn in a thread, on the settings' port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from boleta.serve_queries import build_app
from boleta.settings import Settings
from tests.integration.projection_helpers import wait_for


def http_up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The query service for ``settings``; yields its base URL once /healthz answers."""
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(settings), host="127.0.0.1", port=settings.query_port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{settings.query_port}"
    try:
        wait_for(lambda: http_up(f"{base}/healthz"), 20, "the query service")
        yield base
    finally:
        server.should_exit = True
        thread.join(10)
