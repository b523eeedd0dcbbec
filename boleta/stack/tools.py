"""Helpers for installing the local stack's parts: required tools and logged build steps."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
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


def go_binary(cache_dir: Path, source_dir: Path, sources: Sequence[str], name: str) -> Path:
    """Where the build of ``source_dir`` goes: keyed by a hash of its sources."""
    digest = hashlib.sha256()
    for source in sources:
        digest.update((source_dir / source).read_bytes())
    return cache_dir / f"{name}-{digest.hexdigest()[:12]}" / f"boleta-{name}"


def go_build(
    source_dir: Path,
    binary: Path,
    what: str,
    prepare: Callable[[str], Path] | None = None,
) -> Path:
    """Build the Go program in ``source_dir`` into ``binary`` unless it is there already.
    ``prepare(go)`` may return another directory to build instead, with vendored and
    patched dependencies (built with ``-mod=vendor``)."""
    if binary.exists():
        return binary
    go = require_tool("go", f"Go 1.24+ to build {what}")
    binary.parent.mkdir(parents=True, exist_ok=True)
    partial = binary.with_suffix(".partial")
    if prepare is not None:
        source_dir = prepare(go)
    run_step(
        f"building {what} with Go (first time: up to a few minutes)",
        [
            go,
            "build",
            "-trimpath",
            *(["-mod=vendor"] if prepare is not None else []),
            "-o",
            str(partial),
            ".",
        ],
        cwd=source_dir,
        env={**os.environ, "CGO_ENABLED": "0"},
    )
    partial.rename(binary)
    return binary
