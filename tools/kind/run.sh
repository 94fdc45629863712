#!/usr/bin/env bash
# Run a command (e.g. `molecule test -s kind`) with a kind-ready environment on a machine that has no Docker engine
# running and no registry (these CI VMs):
#   tools/kind/run.sh molecule -c molecule/config.yml test -s kind
# 1. starts our own Docker engine (tools/kind/engine.sh) unless one of ours already runs, and stops it by pid when
#    the command ends (only when this script started it);
# 2. builds (or reuses) the offline node image and the NTH stand-in images (tools/kind/node-image.sh);
# 3. runs the command with DOCKER_HOST, KIND_NODE_IMAGE, and kind and kubectl (built here) first on PATH.
# On a workstation with Docker and kind, none of this is needed: `cd extensions && molecule test -s kind`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${CLUSTEROPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clusterops-kops-upgrade}
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }

log() { printf '[kind-run %s] %s\n' "$(date +%T)" "$*" >&2; }

started=yes
DOCKER_HOST=$("$here/engine.sh" env | cut -d= -f2-) docker version >/dev/null 2>&1 && started=""
engine=$("$here/engine.sh" up | tail -1)
export "${engine?}"
# shellcheck disable=SC2317  # called by the EXIT trap
stop_engine() {
  local rc=$?
  if [ -n "$started" ]; then "$here/engine.sh" down || true; fi
  exit "$rc"
}
trap stop_engine EXIT
build_start=$(date +%s)
node=$("$here/node-image.sh" | tail -1)
export "${node?}"
log "node image ready in $(( $(date +%s) - build_start ))s: $KIND_NODE_IMAGE"
export PATH="$cache/kind/path:$PATH"
command_start=$(date +%s)
# kind writes to ~/.kube/config unless told otherwise: the scenario never lets it, and this checks it did not.
kube_before=""
if [ -e "$HOME/.kube" ]; then kube_before=yes; fi
rc=0
"$@" || rc=$?
log "$* exited $rc after $(( $(date +%s) - command_start ))s"
if [ -z "$kube_before" ] && [ -e "$HOME/.kube" ]; then
  log "FAILED: $HOME/.kube appeared while the command ran (kind without --kubeconfig?)"
  rmdir "$HOME/.kube" 2>/dev/null || true  # only when empty: never a file someone else put there
  [ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
