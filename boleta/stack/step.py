"""``python -m boleta.stack.step LOG WHAT COMMAND...``: one install step of the Makefile
(npm), run and explained on failure like every other (:func:`boleta.stack.tools.run_step`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from boleta.stack.tools import StepError, run_step


def main(argv: Sequence[str]) -> int:
    if len(argv) < 3:
        print("usage: python -m boleta.stack.step LOG WHAT COMMAND...", file=sys.stderr)
        return 2
    log, what, *command = argv
    try:
        run_step(what, command, log=Path(log))
    except StepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
