#!/usr/bin/env bash
# Start (or reuse) the local control plane. Last line printed: KUBECONFIG=<admin kubeconfig>.
# CLUSTER_NAME (default local), CONTROL_PLANE_NODES (default 1), WORKER_NODES (default 2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/../system-deps.sh"
exec "$("$here/../venv.sh")/bin/python" "$here/../testbed/local_cluster.py" up "$@"
