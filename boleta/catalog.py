"""The contest catalog file named by ``BOLETA_CATALOG_FILE`` (every process that needs the
contests reads it here)."""

from __future__ import annotations

from pathlib import Path

from boleta.settings import Settings
from domain import Catalog, parse_catalog


def load_catalog(settings: Settings) -> Catalog | None:
    """The catalog, or None when none is configured (any contest id is accepted)."""
    if not settings.catalog_file:
        return None
    return parse_catalog(Path(settings.catalog_file).read_bytes())
