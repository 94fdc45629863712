#!/usr/bin/env bash
# Validate the execution-environment side of the collection with ansible-builder (no container engine needed).
# The definition (extensions/ee) is self-contained, so this script prepares nothing: for a checkout and for an
# installed copy of the built tarball (what a user has), it
# 1. runs `ansible-builder create -f <that copy>/extensions/ee/execution-environment.yml` as a user would;
# 2. checks the build context: Containerfile, galaxy requirements, the collection's files, the kops and kubectl steps;
# 3. installs the collection from the context as the image build does (ansible-galaxy, offline, no deps) and lets
#    `ansible-builder introspect` read its meta/execution-environment.yml (Python and system dependencies).
# Usage: tools/ee-create.sh <main venv> [context dir to keep (of the checkout)]; prints that directory last.
set -euo pipefail
venv=$1
# shellcheck source=built-collection.sh
. "$(dirname "$0")/built-collection.sh"
awx=$("$root/tools/awx-venv.sh")
export ANSIBLE_HOME="$work/ansible-home"

say() { echo "[ee] $*" >&2; }
fail() { echo "[ee] error: $*" >&2; exit 1; }

check_context() {  # <label> <definition> <context>
  local label=$1 definition=$2 context=$3
  say "$label: ansible-builder create -f $definition"
  "$awx/bin/ansible-builder" create -f "$definition" -c "$context" --output-filename Containerfile >"$work/create.log" 2>&1 \
    || { cat "$work/create.log" >&2; fail "$label: ansible-builder create failed"; }
  for file in Containerfile _build/requirements.yml _build/collections/kops_upgrade/meta/runtime.yml \
              _build/collections/kops_upgrade/meta/execution-environment.yml \
              _build/collections/kops_upgrade/requirements.txt _build/collections/kops_upgrade/bindep.txt; do
    [ -s "$context/$file" ] || fail "$label: ansible-builder create left no $file"
  done
  for want in 'EE_BASE_IMAGE="quay.io/centos/centos:stream9"' "kops-linux-\${TARGETARCH}.sha256" 'kubectl.sha256' \
              'ansible-core==2.21.5' 'COPY _build /build' 'collection install'; do
    grep -qF -- "$want" "$context/Containerfile" || fail "$label: Containerfile lacks: $want"
  done
  if grep -q -- '--pre' "$context/Containerfile" "$context/_build/requirements.yml"; then
    fail "$label: the build lets pre-releases in (--pre)"
  fi
  for unwanted in tools tests/unit tests/cluster Makefile extensions/molecule; do
    [ ! -e "$context/_build/collections/kops_upgrade/$unwanted" ] || fail "$label: the context holds $unwanted"
  done
  # The image build's collection step, here: /build is the context's _build.
  rm -rf "$work/image"
  "$venv/bin/python" - "$context" "$work/requirements.yml" <<'PY'
import sys, yaml
context, out = sys.argv[1:]
with open(context + "/_build/requirements.yml") as handle:
    wanted = yaml.safe_load(handle)["collections"]
ours = [dict(c, name=c["name"].replace("/build/", context + "/_build/", 1)) for c in wanted if c.get("type") == "dir"]
assert len(ours) == 1, wanted
with open(out, "w") as handle:
    yaml.safe_dump({"collections": ours}, handle)
PY
  ANSIBLE_COLLECTIONS_PATH="$work/image" "$venv/bin/ansible-galaxy" collection install --force --offline --no-deps \
    -r "$work/requirements.yml" -p "$work/image" \
    >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; fail "$label: the context's collection does not install"; }
  "$awx/bin/ansible-builder" introspect --sanitize --write-pip "$work/pip.txt" --write-bindep "$work/bindep.txt" \
    "$work/image" > "$work/introspect.txt"
  grep -qx 'kubernetes>=24.2.0  # from collection clusterops.kops_upgrade' "$work/pip.txt" \
    || fail "$label: introspect did not find the kubernetes client: $(cat "$work/introspect.txt")"
  grep -qx 'ca-certificates \[platform:rpm platform:dpkg\]  # from collection clusterops.kops_upgrade' \
    "$work/bindep.txt" || fail "$label: introspect did not find the system dependencies: $(cat "$work/introspect.txt")"
  say "$label: ok ($(wc -l < "$context/Containerfile") Containerfile lines, the collection installs from the context)"
}

context=${2:-$work/context}
check_context checkout "$root/extensions/ee/execution-environment.yml" "$context"

say "building the collection tarball and installing it, as a user would"
build_and_install
check_context "installed copy" \
  "$work/installed/ansible_collections/clusterops/kops_upgrade/extensions/ee/execution-environment.yml" \
  "$work/context-installed"
# Without a context directory of the caller's, the context was temporary and goes with $work.
if [ -n "${2:-}" ]; then echo "$context"; fi
