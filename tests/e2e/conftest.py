"""The end-to-end suite: the whole stack in this process (command service, both workers,
query service with the built webapp) on the real Kafka, Redis and FerretDB, and Debian's
Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from boleta.settings import Settings
from tests.e2e.browser import running_stack
from tests.integration.conftest import isolated, settings, topic, unique  # noqa: F401 - fixtures


@pytest.fixture
def stack(isolated: Settings) -> Iterator[tuple[Settings, str]]:  # noqa: F811 - the fixture
    """The whole stack on private topics, tallies and database: its settings and base URL."""
    with running_stack(isolated) as running:
        yield running
