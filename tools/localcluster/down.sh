#!/usr/bin/env bash
# Stop the local control plane by its pid files; fine when nothing runs. CLUSTER_NAME as for up.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/../testbed/local_cluster.py" down "$@"
