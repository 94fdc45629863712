#!/usr/bin/env bash
# Create (or reuse) the virtualenv of the AWX tooling (ansible-builder, ansible-runner) and print its path.
# Separate from tools/venv.sh so that its pins do not rebuild the main venv; ansible-runner runs the main venv's
# ansible-playbook (put that venv's bin/ after this one's on PATH).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${CLUSTEROPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clusterops-kops-upgrade}
key=$(sha256sum "$root/tests/awx-constraints.txt" | cut -c1-12)
venv="$cache/awx-venv-$key"
if [ ! -f "$venv/.complete" ]; then
  py="$("$root/tools/venv.sh")/bin/python"
  py=$(readlink -f "$py")
  echo "[awx-venv] creating $venv" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -c "$root/tests/awx-constraints.txt" \
    ansible-builder ansible-runner >&2
  touch "$venv/.complete"
fi
echo "$venv"
