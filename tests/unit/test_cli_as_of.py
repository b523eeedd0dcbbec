"""``boleta results --as-of`` reads its moment as the query API reads ``as_of``
(queries.inputs): a moment outside the range is a clear error naming the option and the
range, exit 2, before the log is asked (it was a KafkaException traceback from
offsets-for-times for a moment before the epoch)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from boleta.cli import app

RANGE = "from 1970-01-01T00:00:00Z to the year 9999"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1900-01-01T00:00:00Z", "is before 1970-01-01T00:00:00Z"),
        ("0346-08-03T14:10:25Z", "is before 1970-01-01T00:00:00Z"),
        ("0001-01-01T00:00:00Z", "is before 1970-01-01T00:00:00Z"),
        ("2026-11-30T20:00:00", "has no time zone"),
        ("0.5", "is not an RFC 3339 date-time"),
        ("2999-01-01T00:00:00Z", "is in the future"),
    ],
)
def test_a_moment_out_of_range_is_refused_naming_the_option_and_the_range(
    value: str, reason: str
) -> None:
    result = CliRunner().invoke(app, ["results", "--as-of", value])
    output = " ".join(result.output.split())
    assert result.exit_code == 2, output
    assert "error: --as-of: " in output
    assert reason in output
    assert RANGE in output


def test_the_process_prints_the_error_and_no_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "boleta.cli", "results", "--as-of", "1900-01-01T00:00:00Z"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    assert "--as-of" in done.stderr
    assert RANGE in " ".join(done.stderr.split())
