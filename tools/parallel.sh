#!/usr/bin/env bash
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# tools/parallel.sh CHAIN...: run these chains of make targets at the same time (same variables: MAKEFLAGS is
# inherited). A chain is one target or several joined by "+", run one after the other (stopping at the first
# that fails). Each output line is prefixed with its target, so the progress of all stays readable. Fails if any
# chain fails, after all have ended. Used for targets that mostly wait (kops' own pauses, the API server) rather
# than compute.
set -u
make_cmd=${MAKE:-make}
pids=()
run_chain() {
  local target
  for target in ${1//+/ }; do
    ( set -o pipefail; "$make_cmd" --no-print-directory "$target" 2>&1 | sed -u "s/^/[$target] /" ) || return 1
  done
}
for chain in "$@"; do
  run_chain "$chain" &
  pids+=("$!")
done
rc=0
failed=()
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    rc=1
    failed+=("${@:$((i + 1)):1}")
  fi
done
if [ "$rc" -ne 0 ]; then
  echo "tools/parallel.sh: failed: ${failed[*]}" >&2
fi
exit "$rc"
