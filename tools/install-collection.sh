#!/usr/bin/env bash
# Copy this working tree (tracked and untracked-but-not-ignored files) to
# <root>/ansible_collections/clusterops/kops_upgrade, where ansible-test and ansible-doc expect it,
# and install kubernetes.core beside it from the pinned `ansible` wheel on PyPI (Galaxy is not reachable here).
set -euo pipefail
venv=$1 root=$2
src=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/ansible_collections/clusterops/kops_upgrade"
mkdir -p "$dest"
cd "$src"
rm -rf "$dest" && mkdir -p "$dest"
if git rev-parse --git-dir >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$dest"
else
  tar --exclude=./tests/output --exclude=./.git -cf - . | tar -xf - -C "$dest"
fi
kc="$root/ansible_collections/kubernetes/core"
want=$(sed -n 's/^ansible==//p' "$src/tests/ansible-wheel.txt")
if [ ! -f "$kc/.from-ansible-$want" ]; then
  tmp=$(mktemp -d)
  "$venv/bin/pip" download -q --disable-pip-version-check --no-deps -d "$tmp" "ansible==$want"
  rm -rf "$kc"
  "$venv/bin/python" - "$tmp" "$root" <<'PY'
import glob, sys, zipfile
whl = glob.glob(sys.argv[1] + "/ansible-*.whl")[0]
with zipfile.ZipFile(whl) as z:
    names = [n for n in z.namelist() if n.startswith("ansible_collections/kubernetes/core/")]
    z.extractall(sys.argv[2], names)
PY
  touch "$kc/.from-ansible-$want"
  rm -rf "$tmp"
fi
