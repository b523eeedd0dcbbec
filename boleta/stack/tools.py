"""Helpers for installing the local stack's parts: required tools and logged build steps."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

console = Console(stderr=True)


class MissingToolError(RuntimeError):
    """A program the local stack needs is not installed."""


def require_tool(name: str, what: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise MissingToolError(
            f"'{name}' is not on PATH: boleta's local stack needs {what}. "
            "Run `make deps` (infra/local/bootstrap.sh) to install it."
        )
    return path


def run_step(
    what: str, argv: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> None:
    """Run one install step, showing what it does; on failure show its output."""
    with console.status(f"[bold]{what}[/]…"):
        result = subprocess.run(
            list(argv), cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {result.returncode}): {' '.join(argv)}\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    console.print(f"[green]✓[/] {what}")
