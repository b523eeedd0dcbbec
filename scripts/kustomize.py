"""A real Kustomize, built with Go into the cache once per version, and ``build`` with it.

``uv run python scripts/kustomize.py build infra/k8s/overlays/dev`` prints the manifests;
``... scripts/kustomize.py path`` builds it if missing and prints the binary's path. The
infra tests render every overlay with it (tests/infra/conftest.py).

The binary is ``<cache>/kustomize-<version>/kustomize`` (cache: ``BOLETA_CACHE_DIR``,
default ``~/.cache/boleta``). The first build downloads the modules from the Go module
proxy and compiles (about a minute on two cores); later calls reuse it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # boleta/ when run as a script
from boleta.settings import load  # noqa: E402

MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
# v5.8.2 is the newest whose go.mod asks for no newer Go than this machine's 1.26.
VERSION = "v5.8.2"


def binary_path(cache_dir: Path | None = None) -> Path:
    cache = cache_dir if cache_dir is not None else load().cache_dir
    return cache / f"kustomize-{VERSION}" / "kustomize"


def ensure(cache_dir: Path | None = None) -> Path:
    """The kustomize binary, built first when it is not in the cache."""
    binary = binary_path(cache_dir)
    if binary.exists():
        return binary
    go = shutil.which("go")
    if go is None:
        raise SystemExit("kustomize is built with Go: install Go 1.24+ (`go` on PATH)")
    binary.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local"}
    with tempfile.TemporaryDirectory(dir=binary.parent) as tmp:
        env["GOBIN"] = tmp
        print(f"building kustomize {VERSION} with Go (first time: about a minute)", file=sys.stderr)
        subprocess.run(
            [go, "install", "-trimpath", f"{MODULE}@{VERSION}"], cwd=tmp, env=env, check=True
        )
        (Path(tmp) / "kustomize").rename(binary)  # atomic: no half-written binary is cached
    return binary


def build(kustomization: Path, cache_dir: Path | None = None) -> str:
    """``kustomize build`` of a folder: the rendered multi-document YAML."""
    result = subprocess.run(
        [str(ensure(cache_dir)), "build", str(kustomization)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kustomize build {kustomization} failed:\n{result.stderr}")
    return result.stdout


def main(argv: list[str]) -> int:
    if argv[:1] == ["path"]:
        print(ensure())
        return 0
    if len(argv) == 2 and argv[0] == "build":
        sys.stdout.write(build(Path(argv[1])))
        return 0
    print("usage: kustomize.py build DIR | path", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
