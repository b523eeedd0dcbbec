#!/usr/bin/env bash
# Installs what boleta needs and is missing on this machine, then the Python environment.
# Idempotent and quiet when everything is there. Called by `make deps` (and so by `make up`
# and `make test`). Kafka's jars and the FerretDB binary are fetched/built by
# `boleta infra install`, cached under ~/.cache/boleta.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }

# Debian packages: redis-server for the tallies, chromium for the browser tests.
APT_PACKAGES=(redis-server chromium)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  say "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Toolchains the machine must already have (this project's machine kind ships them).
for tool in java mvn go python3 node npm; do
  command -v "$tool" >/dev/null || { echo "error: '$tool' is not installed; boleta needs Java 17+, Maven, Go 1.24+, Python 3.11 and Node 20 with npm" >&2; exit 1; }
done

# uv manages the Python environment from uv.lock.
if ! command -v uv >/dev/null && ! python3 -m uv --version >/dev/null 2>&1; then
  say "installing uv"
  python3 -m pip install --quiet --disable-pip-version-check uv
fi
UV="uv"; command -v uv >/dev/null || UV="python3 -m uv"
$UV sync --frozen --quiet
