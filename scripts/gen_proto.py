"""Generate the Python stubs (and .pyi) from proto/; ``--check`` fails when they are stale.

Run as ``uv run python scripts/gen_proto.py [--check]`` from anywhere.
"""

from __future__ import annotations

import filecmp
import shutil
import sys
import tempfile
from importlib.resources import files
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = sorted((ROOT / "proto").rglob("*.proto"))
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def generate(out: Path) -> list[Path]:
    include = str(files("grpc_tools") / "_proto")
    args = [
        "grpc_tools.protoc",
        f"-I{ROOT}",
        f"-I{include}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *(str(p.relative_to(ROOT)) for p in PROTOS),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    return sorted(p for p in out.rglob("*") if p.name.endswith(SUFFIXES))


def main() -> int:
    check = "--check" in sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        generated = generate(Path(tmp))
        stale = []
        for path in generated:
            target = ROOT / path.relative_to(tmp)
            if not target.exists() or not filecmp.cmp(path, target, shallow=False):
                stale.append(target.relative_to(ROOT))
                if not check:
                    shutil.copyfile(path, target)
    if check and stale:
        names = ", ".join(map(str, stale))
        print(f"stale generated code: {names}; run `make proto`", file=sys.stderr)
        return 1
    print("generated code is up to date" if check else f"generated {len(generated)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
