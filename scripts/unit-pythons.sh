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

# The interpreters' suites run side by side (the machine has 2 cores and each suite is one
# process): about half the wall time of one after the other. Each one's output is shown
# whole when it ends, and the script fails if any of them failed. Arguments, if any, go to
# pytest instead of tests/unit.
logs=$(mktemp -d)
declare -A pids=()
for version in ${BOLETA_EXTRA_PYTHONS:-3.12 3.13}; do
  if ! python=$(find_python "$version"); then
    echo "==> Python $version is not on this machine: unit suite NOT run on $version" >&2
    continue
  fi
  echo "==> unit suite on Python $version ($python)" >&2
  (
    export UV_PROJECT_ENVIRONMENT=".venv-$version"
    $UV sync --frozen --quiet --python "$python"
    $UV run --frozen --python "$python" pytest "${@:-tests/unit}" -q -p no:cacheprovider
  ) >"$logs/$version.log" 2>&1 &
  pids[$version]=$!
done
failed=0
for version in "${!pids[@]}"; do
  if wait "${pids[$version]}"; then status="passed"; else status="FAILED"; failed=1; fi
  echo "==> unit suite on Python $version: $status" >&2
  cat "$logs/$version.log"
done
rm -rf "$logs"
exit "$failed"
