"""Fixtures of the chaos suite: one private stack per session, one fresh boleta per test
(own topics, tallies hash tag, consumer groups, database; own processes), and the table of
every test's counts, written to ``test-artifacts/chaos.{md,json}`` at the end."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from boleta.settings import REPO_ROOT, Settings
from tests.chaos.checks import Row, check_world, write_report
from tests.chaos.load import Ledger, VoteLoad, make_votes
from tests.chaos.network import Network
from tests.chaos.stack import App, PrivateStack

ARTIFACTS = REPO_ROOT / "test-artifacts"


@dataclass
class Chaos:
    """One test's boleta: its settings, processes, vote load and row of the table."""

    stack: PrivateStack
    world: Settings
    apps: dict[str, App]
    row: Row
    votes: int
    loads: list[VoteLoad] = field(default_factory=list)

    @property
    def network(self) -> Network:
        assert self.stack.network is not None, "the private stack is not up"
        return self.stack.network

    @property
    def target(self) -> str:
        return f"{self.world.command_host}:{self.world.command_port}"

    def load(
        self,
        flow_s: float = 15.0,
        resend_every: int = 0,
        until: threading.Event | None = None,
        make: Callable[[int], list[Any]] = make_votes,
    ) -> VoteLoad:
        """Start casting ``votes`` votes (made by ``make``), spread over about ``flow_s``
        seconds (and more at the same rate until ``until`` is set, when given)."""
        load = VoteLoad(
            self.target,
            self.votes,
            rate=self.votes / flow_s,
            resend_every=resend_every,
            until=until,
            make=make,
        )
        self.loads.append(load)
        return load.start()

    def start_queries(self, logs: Path) -> App:
        """The query service on this world (behind its proxies), stopped with the others."""
        return self.start_app("queries", logs)

    def start_app(self, name: str, logs: Path) -> App:
        """One more of boleta's processes on this world (behind its proxies), stopped with
        the others."""
        app = self.stack.apps(self.world, logs, (name,))[name]
        self.apps[name] = app
        app.start()
        return app

    def check(self, ledger: Ledger, poison: set[tuple[int, int]] | None = None) -> None:
        failures = check_world(self.row, self.world, ledger, poison)
        assert not failures, "\n".join(failures)


@pytest.fixture(scope="session")
def chaos_votes(request: pytest.FixtureRequest) -> int:
    votes = int(request.config.getoption("--chaos-votes"))
    assert votes >= 100, "--chaos-votes must be at least 100"
    return votes


@pytest.fixture(scope="session")
def private_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateStack]:
    stack = PrivateStack(tmp_path_factory.mktemp("chaos") / "home")
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="session")
def chaos_rows(chaos_votes: int) -> Iterator[list[Row]]:
    rows: list[Row] = []
    started = time.time()
    yield rows
    if rows:
        write_report(rows, ARTIFACTS, chaos_votes, started)


@pytest.fixture
def world_settings() -> dict[str, Any]:
    """Settings a test module gives its worlds (override the fixture; none by default)."""
    return {}


@pytest.fixture
def chaos(
    private_stack: PrivateStack,
    chaos_rows: list[Row],
    chaos_votes: int,
    world_settings: dict[str, Any],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> Iterator[Chaos]:
    doc = (request.function.__doc__ or request.node.name).strip().splitlines()[0]
    row = Row(fault=doc.rstrip("."))
    chaos_rows.append(row)
    started = time.monotonic()
    assert private_stack.network is not None
    private_stack.network.api.reset()  # no toxic of a failed test is left behind
    world = private_stack.world().replace(**world_settings)
    apps = private_stack.apps(world, tmp_path / "logs")
    chaos: Chaos | None = None
    try:
        for app in apps.values():
            app.spawn()
        for app in apps.values():
            app.wait_ready()
        chaos = Chaos(private_stack, world, apps, row, chaos_votes)
        yield chaos
    finally:
        for load in chaos.loads if chaos else []:
            load.stop()  # a failed test's load must not reach the next test's service
        for app in apps.values():
            app.stop()
        private_stack.network.api.reset()
        row.seconds = time.monotonic() - started
        if row.result == "not checked":
            row.result = "FAIL: did not reach the checks"
        private_stack.drop(world)
