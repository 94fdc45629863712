#!/usr/bin/env bash
# Measure the local control plane (see measure.py): start time, deadlock verdict time, remediation time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}" exec "$("$here/../venv.sh")/bin/python" "$here/measure.py" "$@"
