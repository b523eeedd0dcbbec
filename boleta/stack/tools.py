"""Helpers for installing the local stack's parts: required tools and logged build steps."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

console = Console(stderr=True)


class MissingToolError(RuntimeError):
    """A program the local stack needs is not installed."""


class StepError(RuntimeError):
    """An install step failed; the message carries the tool's own last lines."""


def require_tool(name: str, what: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise MissingToolError(
            f"'{name}' is not on PATH: boleta's local stack needs {what}. "
            "Run `make deps` (infra/local/bootstrap.sh) to install it."
        )
    return path


def run_step(
    what: str,
    argv: Sequence[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> None:
    """Run one install step, showing what it does, its output kept in ``log`` (default: a
    file named after the step in the temporary directory). On failure the error names the
    step, the command, the log, and the tool's own explanation: the first and the last lines
    of its output (compilers and npm say what went wrong first, Maven and java last)."""
    log = log or Path(tempfile.gettempdir()) / "boleta-steps" / f"{_slug(what)}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with console.status(f"[bold]{what}[/]…"), log.open("ab") as out:
        out.write(f"\n--- {what}: {' '.join(argv)}\n".encode())
        out.flush()
        start = out.tell()
        try:
            code = subprocess.run(
                list(argv), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
            ).returncode
        except OSError as exc:  # the program itself is missing or cannot run
            raise StepError(f"{what} failed: cannot run {argv[0]!r}: {exc.strerror}") from exc
    if code != 0:
        raise StepError(
            f"{what} failed (exit {code}): {' '.join(argv)}\n"
            f"Its output, in full in {log}:\n{_excerpt(log, start)}"
        )
    console.print(f"[green]✓[/] {what}")


def _excerpt(log: Path, start: int, head: int = 8, last: int = 15) -> str:
    """This run's output from ``log``: whole if short, else its first and last lines."""
    with log.open("rb") as f:
        f.seek(start)
        lines = f.read().decode(errors="replace").splitlines()
    if len(lines) > head + last:
        lines = [*lines[:head], f"… ({len(lines) - head - last} lines) …", *lines[-last:]]
    return "\n".join(f"    {line}" for line in lines) or "    (no output)"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


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
    log: Path | None = None,
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
        log=log,
    )
    partial.rename(binary)
    return binary
