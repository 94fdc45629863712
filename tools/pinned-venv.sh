#!/usr/bin/env bash
# Create (or reuse) a side virtualenv with its own pins and print its path, for tools whose dependencies must not
# enter the main venv (tools/venv.sh): moto (pins python-dateutil < 3, the kubernetes client needs >= 3), and
# ansible-builder / ansible-runner (their pins would rebuild the main venv).
# Usage: tools/pinned-venv.sh <name> <constraints file, relative to the repository> <package>...
# The venv is $CLUSTEROPS_CACHE/<name>-<hash of the constraints file>, built with the main venv's Python.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=$1 constraints=$root/$2
shift 2
cache=${CLUSTEROPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clusterops-kops-upgrade}
key=$(sha256sum "$constraints" | cut -c1-12)
venv="$cache/$name-$key"
mkdir -p "$cache"
# One creator at a time: make test runs several sessions at once (tools/parallel.sh) that may all need it.
exec 9>"$cache/.$name.lock"
flock 9
if [ ! -f "$venv/.complete" ]; then
  py="$("$root/tools/venv.sh")/bin/python"
  py=$(readlink -f "$py")
  echo "[$name] creating $venv" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -c "$constraints" "$@" >&2
  touch "$venv/.complete"
fi
echo "$venv"
