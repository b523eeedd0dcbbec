"""boleta's command line, run as a user runs it: a subprocess on a world's settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from boleta.board_secrets import board_signer
from boleta.settings import Settings, environment


def boleta(world: Settings, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``boleta ARGS`` on ``world``: its exit code and output, never raised on."""
    return subprocess.run(
        [sys.executable, "-m", "boleta.cli", *args],
        env=environment(world),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def recount(
    world: Settings,
    base: str,
    state: Path,
    *extra: str,
    key: str | None = None,
    timeout: float = 240,
) -> subprocess.CompletedProcess[str]:
    """``boleta recount`` of the board served at ``base``, with the world's verifier key
    unless ``key`` is given."""
    key = key or board_signer(world).verifier_key_text
    argv = ["recount", "--board", base, "--key", key, "--state", str(state), *extra]
    return boleta(world, *argv, timeout=timeout)
