#!/usr/bin/env bash
# Run nox (noxfile.py: the tests on the lowest and newest ansible-core and kubernetes client declared) from a
# virtualenv of its own, keyed by tests/nox-constraints.txt; its session venvs live under $CLUSTEROPS_CACHE/nox.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${CLUSTEROPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clusterops-kops-upgrade}
key=$(sha256sum "$root/tests/nox-constraints.txt" | cut -c1-12)
venv="$cache/nox-venv-$key"
if [ ! -f "$venv/.complete" ]; then
  py=$(readlink -f "$("$root/tools/venv.sh")/bin/python")
  echo "[nox-venv] creating $venv" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -c "$root/tests/nox-constraints.txt" nox >&2
  touch "$venv/.complete"
fi
cd "$root"
exec "$venv/bin/nox" --envdir "$cache/nox" "$@"
