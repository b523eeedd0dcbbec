"""The off-the-shelf verifier (a Go program in this directory) built for the tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).parent


def find_go() -> str | None:
    found = shutil.which("go")
    if found is None and os.access("/usr/local/go/bin/go", os.X_OK):
        found = "/usr/local/go/bin/go"
    return found


def build_verifier(out_dir: Path) -> Path | None:
    """The verifier built into ``out_dir``; None when Go is not installed."""
    go = find_go()
    if go is None:
        return None
    binary = out_dir / "verifier"
    built = subprocess.run(
        [go, "build", "-trimpath", "-o", str(binary), "."],
        cwd=SOURCE,
        env={**os.environ, "CGO_ENABLED": "0"},
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return binary
