#!/usr/bin/env bash
# Validate the execution-environment side of the collection with ansible-builder (no container engine needed):
# 1. build the collection tarball, install it alone, and let `ansible-builder introspect` read its
#    meta/execution-environment.yml (Python and system dependencies, as a build would);
# 2. `ansible-builder create` the example definition (extensions/ee) into a build context, with the tarball in it,
#    and check the context: Containerfile, galaxy requirements, the collection, the kops and kubectl steps.
# Usage: tools/ee-create.sh <main venv> [context dir to keep]; prints that directory last.
set -euo pipefail
venv=$1
root=$(cd "$(dirname "$0")/.." && pwd)
awx=$("$root/tools/awx-venv.sh")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
context=${2:-$work/context}

say() { echo "[ee] $*" >&2; }
fail() { echo "[ee] error: $*" >&2; exit 1; }

say "building the collection tarball"
"$venv/bin/ansible-galaxy" collection build --force --output-path "$work/dist" "$root" >/dev/null
tarball=$(ls "$work"/dist/clusterops-kops_upgrade-*.tar.gz)

say "introspecting the built collection (meta/execution-environment.yml)"
ANSIBLE_COLLECTIONS_PATH="$work/installed" "$venv/bin/ansible-galaxy" collection install --force --no-deps --offline -p "$work/installed" "$tarball" >/dev/null
"$awx/bin/ansible-builder" introspect --sanitize --write-pip "$work/pip.txt" --write-bindep "$work/bindep.txt" \
  "$work/installed" > "$work/introspect.txt"
grep -qx 'kubernetes>=24.2.0  # from collection clusterops.kops_upgrade' "$work/pip.txt" \
  || fail "introspect did not find the kubernetes client: $(cat "$work/introspect.txt")"
grep -qx 'ca-certificates \[platform:rpm platform:dpkg\]  # from collection clusterops.kops_upgrade' \
  "$work/bindep.txt" || fail "introspect did not find the system dependencies: $(cat "$work/introspect.txt")"

say "ansible-builder create (example definition)"
mkdir -p "$work/definition"
cp "$root"/extensions/ee/* "$work/definition/"
cp "$tarball" "$work/definition/clusterops-kops_upgrade.tar.gz"
"$awx/bin/ansible-builder" create -f "$work/definition/execution-environment.yml" -c "$context" --output-filename Containerfile >&2
for file in Containerfile _build/requirements.yml _build/collections/clusterops-kops_upgrade.tar.gz; do
  [ -s "$context/$file" ] || fail "ansible-builder create left no $file"
done
for want in 'EE_BASE_IMAGE="quay.io/centos/centos:stream9"' "kops-linux-\${TARGETARCH}.sha256" 'kubectl.sha256' \
            'ansible-core==2.21.5' 'COPY _build /build' 'collection install'; do
  grep -qF -- "$want" "$context/Containerfile" || fail "Containerfile lacks: $want"
done
cmp -s "$tarball" "$context/_build/collections/clusterops-kops_upgrade.tar.gz" || fail "tarball differs in context"
say "ok: introspection and build context ($(wc -l < "$context/Containerfile") Containerfile lines)"
# Without a context directory of the caller's, the context was temporary and goes with $work.
if [ -n "${2:-}" ]; then echo "$context"; fi
