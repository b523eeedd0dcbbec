"""A projection worker loads only the client library of its own read model: the tallies
worker neither gRPC nor pymongo, the audit worker not redis-py. Each is checked in a fresh
interpreter, started the way `boleta project MODEL` starts (the CLI module, then the sink)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, sys
import boleta.cli
from boleta import serve_projections, settings
try:  # the audit sink reads its pointer at once: no server listens there, so it fails
    serve_projections.build_sink(settings.load(), serve_projections.Model({model!r}))
except Exception:
    pass
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""

HEAVY = ("grpc", "pymongo", "redis", "litestar", "boleta.stack")


@pytest.mark.parametrize(
    ("model", "needs"),
    [("tallies", {"redis"}), ("audit", {"pymongo"})],
)
def test_worker_imports_only_its_own_store_client(model: str, needs: set[str]) -> None:
    nowhere = {
        "BOLETA_MONGO_URL": "mongodb://127.0.0.1:9/",
        "BOLETA_REDIS_URL": "redis://127.0.0.1:9/0",
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(model=model, heavy=HEAVY)],
        env={**os.environ, **nowhere},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert set(json.loads(out.stdout.splitlines()[-1])) == needs
