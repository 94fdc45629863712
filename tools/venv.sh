#!/usr/bin/env bash
# Create (or reuse) the project's Python virtualenv outside the repository and print its path.
# The venv is keyed by the hash of tests/constraints.txt, so a change of pins makes a new one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${CLUSTEROPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clusterops-kops-upgrade}
key=$(cat "$root/tests/constraints.txt" "$root/test-requirements.txt" "$root/requirements.txt" | sha256sum | cut -c1-12)
venv="$cache/venv-$key"
mkdir -p "$cache"
# One creator at a time (make evaluates this in every sub-make, and make test runs some at once).
exec 9>"$cache/.venv.lock"
flock 9
if [ ! -x "$venv/bin/ansible-test" ] || [ ! -f "$venv/.complete" ]; then
  py=""
  # pyenv's shims look for versions under $HOME/.pyenv; with another HOME, find pyenv's root from its binary.
  pyenv_root=""
  if command -v pyenv >/dev/null 2>&1; then pyenv_root=$(cd "$(dirname "$(readlink -f "$(command -v pyenv)")")/.." && pwd); fi
  for cand in "${PYTHON:-}" python3.13 python3.12 "$pyenv_root"/versions/3.1[23]*/bin/python3 \
      "$HOME"/.pyenv/versions/3.1[23]*/bin/python3; do
    [ -n "$cand" ] || continue
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then py=$cand; break; fi
  done
  if [ -z "$py" ]; then
    echo "error: ansible-core 2.21 needs Python >= 3.12; set PYTHON=/path/to/python3.12" >&2
    exit 1
  fi
  echo "[venv] creating $venv with $py" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -c "$root/tests/constraints.txt" \
    -r "$root/requirements.txt" -r "$root/test-requirements.txt" >&2
  touch "$venv/.complete"
fi
echo "$venv"
