"""Markers shared by every suite: integration tests need the real local stack; chaos tests
run their own private stack. ``--chaos-votes`` sizes the chaos suite (raise it to soak)."""

from __future__ import annotations

import pytest
from hypothesis import settings

# No deadline on a property's examples: it is a timed assertion, and a loaded CI machine (the
# unit suites of three Pythons at once on 2 cores) makes it fail by chance. Speed is the
# bench's to judge. A failure prints the blob that replays it (@reproduce_failure).
settings.register_profile("boleta", deadline=None, print_blob=True)
settings.load_profile("boleta")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--chaos-votes",
        type=int,
        default=3000,
        help="votes each chaos test casts while its fault strikes (raise it for a soak)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.path)
        if "/tests/integration/" in path:
            item.add_marker(pytest.mark.integration)
        elif "/tests/chaos/" in path:
            item.add_marker(pytest.mark.chaos)
