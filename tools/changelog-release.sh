#!/usr/bin/env bash
# Cut (or update) a release in changelogs/changelog.yaml and CHANGELOG.rst from the fragments, with the pinned
# antsibull-changelog of the main venv. antsibull-changelog reads the plugins through ansible-doc, so the working
# tree is installed first (tools/install-collection.sh). Usage: tools/changelog-release.sh <version> [date]
# An existing release takes the fragments added since (--update-existing): merge every branch, then run it.
set -euo pipefail
version=$1 date=${2:-$(date -u +%Y-%m-%d)}
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$("$root/tools/venv.sh")
cache=${CLUSTEROPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clusterops-kops-upgrade}
collections=${COLLECTION_ROOT:-$cache/collections}
"$root/tools/install-collection.sh" "$venv" "$collections"
cd "$root"
PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$collections" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false \
  ANSIBLE_HOME="$collections-home/ansible" "$venv/bin/antsibull-changelog" release --version "$version" --date "$date" \
  --update-existing
"$venv/bin/antsibull-changelog" lint
echo "released $version ($date): CHANGELOG.rst, changelogs/changelog.yaml"
