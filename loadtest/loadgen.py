"""The Go load generator (``loadtest/loadgen``): built once into the cache, run per phase.

A Python gRPC client spends about a millisecond of CPU per call, as much as the service
does, so on a shared machine it would measure itself. The Go client needs no generated
stubs (protowire and a pass-through codec) and costs a few microseconds per call.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from boleta.settings import REPO_ROOT, Settings
from boleta.stack.tools import go_binary, go_build

SOURCE_DIR = REPO_ROOT / "loadtest" / "loadgen"
SOURCES = ("go.mod", "go.sum", "main.go")


def build(settings: Settings) -> Path:
    """The binary for the current sources, built with Go when it is not in the cache yet."""
    binary = go_binary(settings.cache_dir, SOURCE_DIR, SOURCES, "loadgen")
    return go_build(SOURCE_DIR, binary, "the benchmark's load generator")


def run(binary: Path, mode: str, target: str, votes_file: Path, **flags: Any) -> dict[str, Any]:
    """Run one load phase; returns the generator's JSON summary."""
    argv = [str(binary), "-mode", mode, "-target", target, "-file", str(votes_file)]
    for name, value in flags.items():
        argv += [f"-{name}", str(value)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900)
    if result.returncode != 0:
        raise RuntimeError(f"load generator failed: {' '.join(argv)}\n{result.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads(result.stdout)
    if summary["failed"] and mode != "steady":  # the steady run reports its failures
        raise RuntimeError(
            f"{summary['failed']} calls failed after retries: {summary.get('first_error')}"
        )
    return summary
