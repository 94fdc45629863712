# shellcheck shell=bash
# Sourced (after `venv=<main venv>`) by the tools that check what a user installs - tools/check-build.sh and
# tools/ee-create.sh: sets root (the checkout) and work (a scratch directory, removed when the script exits), and
# defines build_and_install: the collection tarball built from the checkout into $work/dist and installed from it
# into $work/installed as a user would (offline, no dependencies); it sets tarball to the tarball's path.
: "${venv:?set venv to the main virtualenv before sourcing built-collection.sh}"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build_and_install() {
  "$venv/bin/ansible-galaxy" collection build --force --output-path "$work/dist" "$root" >/dev/null
  tarball=$(ls "$work"/dist/*.tar.gz)
  ANSIBLE_COLLECTIONS_PATH="$work/installed" "$venv/bin/ansible-galaxy" collection install --force --no-deps \
    --offline -p "$work/installed" "$tarball" >"$work/install.log" 2>&1 \
    || { cat "$work/install.log" >&2; echo "the built tarball does not install" >&2; return 1; }
}
