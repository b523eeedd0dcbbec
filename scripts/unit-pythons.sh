#!/usr/bin/env bash
# Runs the unit suite on every newer CPython boleta supports (3.12, 3.13), each in its own
# environment (.venv-3.X) from the same uv.lock. `make test` calls it; an interpreter that is
# not on this machine is reported and skipped, never silently.
set -euo pipefail
cd "$(dirname "$0")/.."
UV="uv"; command -v uv >/dev/null || UV="python3 -m uv"

find_python() {  # $1 = "3.12": uv's own discovery first, then pyenv's versions folder
  local found
  if found=$($UV python find --no-python-downloads "$1" 2>/dev/null) && [[ "$found" == *"$1"* ]]; then
    echo "$found"; return
  fi
  local root="${PYENV_ROOT:-$HOME/.pyenv}"
  for candidate in "$root"/versions/"$1".*/bin/python"$1"; do
    [[ -x "$candidate" ]] && { echo "$candidate"; return; }
  done
  return 1
}

for version in ${BOLETA_EXTRA_PYTHONS:-3.12 3.13}; do
  if ! python=$(find_python "$version"); then
    echo "==> Python $version is not on this machine: unit suite NOT run on $version" >&2
    continue
  fi
  echo "==> unit suite on Python $version ($python)" >&2
  export UV_PROJECT_ENVIRONMENT=".venv-$version"
  $UV sync --frozen --quiet --python "$python"
  $UV run --frozen --python "$python" pytest tests/unit -q -p no:cacheprovider
done
