"""The query API against its own OpenAPI schema, with Schemathesis' own runner (``st run``)
on the real service over a counted log: the coverage, fuzzing and stateful phases, every
check (no 5xx, status codes, content types, headers and bodies as the schema states them,
schema-invalid requests refused, schema-valid ones accepted). The seed is printed (and
taken from ``FUZZ_SEED`` when set) so a failure can be replayed; the run is bounded
to about a minute.

Schemathesis holds the auditor's token (``Authorization: Bearer``, sent with every request;
the public routes ignore it), so the auditor routes are fuzzed like the others, and its
``ignored_auth`` check sends their requests again without the token and with a wrong one,
which must be refused (401). Left out, they would only ever be answered 401."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

from boleta.board_secrets import auditor_token
from boleta.settings import Settings
from tests.integration.test_queries import counted, served  # noqa: F401 - fixtures

MAX_EXAMPLES = 25  # per operation and phase
MAX_TIME_S = 55


def test_the_api_never_fails_and_conforms_to_its_schema(
    counted: tuple[Settings, str, list],  # noqa: F811
    tmp_path: Path,
) -> None:
    settings, base, _ = counted
    seed = int(os.environ.get("FUZZ_SEED") or random.randrange(2**32))
    print(f"schemathesis seed {seed} (replay: FUZZ_SEED={seed})")
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{base}/schema/openapi.json",
        "--phases=coverage,fuzzing,stateful",
        "--checks=all",
        f"--seed={seed}",
        f"--max-examples={MAX_EXAMPLES}",
        f"--max-time={MAX_TIME_S}",
        "--request-timeout=20",
        "--exclude-path-regex=/stream$",  # endless; covered in test_queries
        "--generation-database=none",
        "--workers=1",
        f"--header=Authorization: Bearer {auditor_token(settings)}",
        "--no-color",
    ]
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=MAX_TIME_S + 60, check=False
    )
    print(done.stdout[-20_000:], done.stderr[-5_000:])
    assert done.returncode == 0, f"schemathesis failed with seed {seed}: see the output above"
