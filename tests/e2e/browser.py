"""What the end-to-end tests share: the whole stack in this process (command service on its
own event loop, both workers, query service with the built webapp), casting votes over
gRPC, Debian's Chromium driven by Playwright, and screenshots in test-artifacts/."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from playwright.sync_api import Browser, Page, sync_playwright

from boleta import serve_commands
from boleta.serve_projections import Model
from boleta.settings import REPO_ROOT, Settings
from proto.boleta.v1 import voting_pb2, voting_pb2_grpc
from tests.integration.http_helpers import serving
from tests.integration.kafka_helpers import free_port
from tests.integration.projection_helpers import running_worker

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class CommandService:
    """The gRPC command service on its own event loop in a thread."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, args=(settings,), daemon=True)

    def _run(self, settings: Settings) -> None:
        asyncio.set_event_loop(self.loop)
        self.stop = asyncio.Event()
        self.loop.run_until_complete(serve_commands.serve(settings, self.stop))

    def close(self) -> None:
        if self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)


@contextmanager
def running_stack(isolated: Settings, **changes: Any) -> Iterator[tuple[Settings, str]]:
    assert (REPO_ROOT / "webapp" / "dist" / "index.html").exists(), "run `make webapp` first"
    settings = isolated.replace(command_port=free_port(), query_port=free_port(), **changes)
    commands = CommandService(settings)
    commands.thread.start()
    try:
        with (
            running_worker(settings, Model.tallies),
            running_worker(settings, Model.audit),
            serving(settings) as base,
        ):
            yield settings, base
    finally:
        commands.close()


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def cast_votes(settings: Settings, votes: list[voting_pb2.Vote]) -> None:
    """Casts ``votes`` in one CastVotes call; every one must be accepted."""
    with grpc.insecure_channel(f"127.0.0.1:{settings.command_port}") as channel:
        reply = voting_pb2_grpc.VotingServiceStub(channel).CastVotes(
            voting_pb2.CastVotesRequest(votes=votes), timeout=30
        )
    assert all(r.HasField("accepted") for r in reply.results), reply


def cast_one(settings: Settings, vote: voting_pb2.Vote) -> voting_pb2.CastVoteResponse:
    """Casts ``vote`` by CastVote; the reply carries its tracking code and signed receipt."""
    with grpc.insecure_channel(f"127.0.0.1:{settings.command_port}") as channel:
        return voting_pb2_grpc.VotingServiceStub(channel).CastVote(
            voting_pb2.CastVoteRequest(vote=vote), timeout=30
        )


def cast(settings: Settings, band: str, count: int, contest: str = "") -> None:
    cast_votes(
        settings,
        [
            voting_pb2.Vote(
                vote_id=str(uuid.uuid4()),
                contest=contest,
                band=band,
                album="En vivo",
                year="2001",
                rank=f"{i % 9 + 1}",
            )
            for i in range(count)
        ],
    )


def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
