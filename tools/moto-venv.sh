#!/usr/bin/env bash
# Create (or reuse) the virtualenv of the moto server (the AWS endpoint for the kops tests) and print its path.
# Separate from tools/venv.sh: moto pins python-dateutil < 3 while the kubernetes client needs >= 3.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${CLUSTEROPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clusterops-kops-upgrade}
key=$(sha256sum "$root/tests/moto-constraints.txt" | cut -c1-12)
venv="$cache/moto-venv-$key"
if [ ! -f "$venv/.complete" ]; then
  py="$("$root/tools/venv.sh")/bin/python"
  py=$(readlink -f "$py")
  echo "[moto-venv] creating $venv" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -c "$root/tests/moto-constraints.txt" "moto[server]" waitress >&2
  touch "$venv/.complete"
fi
echo "$venv"
