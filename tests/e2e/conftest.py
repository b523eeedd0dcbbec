"""The end-to-end suite: the whole stack in this process (command service, both workers,
query service with the built webapp) on the real Kafka, Redis and FerretDB, and Debian's
Chromium driven by Playwright."""

from __future__ import annotations

from tests.integration.conftest import isolated, settings, topic, unique  # noqa: F401 - fixtures
