#!/usr/bin/env bash
# Build the collection tarball, install it into a throwaway path, and check that ansible-doc shows every module
# and role from the installed build (not from the working tree).
set -euo pipefail
venv=$1
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$venv/bin/ansible-galaxy" collection build --output-path "$work" "$root" >/dev/null
"$venv/bin/ansible-galaxy" collection install --force --no-deps -p "$work/installed" "$work"/*.tar.gz >/dev/null 2>&1
export ANSIBLE_COLLECTIONS_PATH="$work/installed"
checked=0
for module in "$root"/plugins/modules/*.py; do
  name=$(basename "$module" .py)
  "$venv/bin/ansible-doc" "clusterops.kops_upgrade.$name" 2>&1 | grep -q "^> MODULE .*clusterops.kops_upgrade.$name" \
    || { echo "ansible-doc shows no page for module $name from the installed build" >&2; exit 1; }
  checked=$((checked + 1))
done
for role in "$root"/roles/*/; do
  name=$(basename "$role")
  "$venv/bin/ansible-doc" -t role "clusterops.kops_upgrade.$name" 2>&1 | grep -q "ENTRY POINT: .*main" \
    || { echo "ansible-doc shows no entry point for role $name from the installed build" >&2; exit 1; }
  checked=$((checked + 1))
done
echo "build: $(basename "$work"/*.tar.gz) installs; ansible-doc shows all $checked modules and roles"
