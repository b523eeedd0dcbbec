"""``--contest`` of ``boleta results`` and ``boleta verify`` is checked like a vote's
contest before any service is asked: a bad id is a clear error and exit 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from boleta.cli import app


@pytest.mark.parametrize("command", ["results", "verify"])
@pytest.mark.parametrize("contest", ["Best_Album", "-x", "a" * 65, "$ne"])
def test_a_malformed_contest_id_is_refused(command: str, contest: str) -> None:
    result = CliRunner().invoke(app, [command, "--contest", contest])
    assert result.exit_code == 2
    assert "--contest" in result.output
    assert "is not a contest id" in " ".join(result.output.split())
