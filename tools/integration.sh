#!/usr/bin/env bash
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# tools/integration.sh VENV COLLECTION_ROOT [ansible-test options...]: ansible-test integration for the collection
# installed under COLLECTION_ROOT (make collection), on a local control plane of its own: CLUSTER_NAME
# ${CLUSTEROPS_TEST_CLUSTER_PREFIX:-pytest}-integ, 1 control-plane node + 2 kwok workers, stopped by its pid files
# (down.sh) when this script ends, whatever the outcome.
#
# The targets (tests/integration/targets/*) read the cluster's admin kubeconfig from the variable k8s_kubeconfig
# in tests/integration/integration_config.yml (with ansible_remote_tmp, below), which this script writes into the installed copy only (and removes
# at the end), never into the repository: ansible-test hands ansible-playbook a filtered environment (no
# K8S_AUTH_*), but loads that file as vars_files of every target's play.
#
# The modules run on Python 3.11, a target Python beside the controller's 3.12 (ansible-test's split controller
# and target): a venv of its own, with requirements.txt pinned by tests/constraints.txt, cached under
# $CLUSTEROPS_CACHE.
set -euo pipefail
venv=$1 collection_root=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$collection_root/ansible_collections/clusterops/kops_upgrade"
cache=${CLUSTEROPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clusterops-kops-upgrade}
python_version=3.11
cluster=${CLUSTEROPS_TEST_CLUSTER_PREFIX:-pytest}-integ
[ -f "$dest/galaxy.yml" ] || { echo "error: no collection at $dest (run make collection)" >&2; exit 1; }

# The target Python: a venv keyed by the pins, created once (one creator at a time).
key=$(cat "$root/tests/constraints.txt" "$root/requirements.txt" | sha256sum | cut -c1-12)
target_venv="$cache/integration-py${python_version}-$key"
mkdir -p "$cache"
exec 9>"$cache/.integration-py$python_version.lock"
flock 9
if [ ! -f "$target_venv/.complete" ]; then
  py=""
  pyenv_root=""
  if command -v pyenv >/dev/null 2>&1; then pyenv_root=$(cd "$(dirname "$(readlink -f "$(command -v pyenv)")")/.." && pwd); fi
  for cand in "python$python_version" "$pyenv_root"/versions/"$python_version".*/bin/python3; do
    if command -v "$cand" >/dev/null 2>&1 \
        && [ "$("$cand" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$python_version" ]; then
      py=$cand
      break
    fi
  done
  [ -n "$py" ] || { echo "error: the integration targets run the modules on Python $python_version; none found" >&2; exit 1; }
  echo "[integration] creating $target_venv with $py" >&2
  rm -rf "$target_venv"
  "$py" -m venv "$target_venv"
  "$target_venv/bin/pip" install -q --disable-pip-version-check -c "$root/tests/constraints.txt" \
    -r "$root/requirements.txt" >&2
  touch "$target_venv/.complete"
fi
exec 9>&-

config="$dest/tests/integration/integration_config.yml"
stop() {
  rm -f "$config"
  CLUSTER_NAME=$cluster "$root/tools/localcluster/down.sh" >&2 || true
}
trap stop EXIT
# A cluster of this name left by an interrupted run is stopped first: the targets start from a fresh etcd.
stop
out=$(CLUSTER_NAME=$cluster CONTROL_PLANE_NODES=1 WORKER_NODES=2 "$root/tools/localcluster/up.sh")
kubeconfig=$(tail -n 1 <<<"$out" | sed -n 's/^KUBECONFIG=//p')
[ -f "$kubeconfig" ] || { echo "error: up.sh printed no KUBECONFIG line: $out" >&2; exit 1; }
# ansible-test and the ansible-playbook it runs keep their files under ~/.ansible (ansible-test passes HOME on, not
# ANSIBLE_HOME or ANSIBLE_REMOTE_TEMP): a HOME of this collection root's own, and the modules' temporary files
# (remote_tmp, which the local connection puts under the user's home from the password database, ~root) in it too,
# so the user's home is never written.
test_home="$collection_root-home/ansible-test"
mkdir -p "$test_home/.ansible/tmp"
cat >"$config" <<EOF
---
# Written by tools/integration.sh for this run only (cluster $cluster).
k8s_kubeconfig: "$kubeconfig"
ansible_remote_tmp: "$test_home/.ansible/tmp"
EOF
cd "$dest"
HOME=$test_home PATH="$venv/bin:$PATH" "$venv/bin/ansible-test" integration --local --python "$python_version" \
  --python-interpreter "$target_venv/bin/python" --color no -v "$@"
