"""Our FerretDB main (infra/local/ferretdb/main.go) passes its Go tests: its logger formats
nothing for records below the level, its SQLite keeps statement journals in memory, and
its collector settings give way to GOGC and GOMEMLIMIT."""

from __future__ import annotations

import os
import subprocess

import pytest

from boleta.stack.ferretdb import SOURCE_DIR
from boleta.stack.tools import require_tool

pytestmark = pytest.mark.infra


@pytest.mark.timeout(900)
def test_the_ferretdb_main_passes_its_go_tests() -> None:
    go = require_tool("go", "Go 1.24+ to test the FerretDB main")
    result = subprocess.run(
        [go, "test", "-trimpath", "-count=1", "."],
        cwd=SOURCE_DIR,
        env={**os.environ, "CGO_ENABLED": "0"},
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
