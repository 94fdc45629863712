#!/usr/bin/env bash
# A Docker engine of our own for kind, started and stopped by pid; nothing else on the machine is touched.
#   engine.sh up     start it (reuse it when it already runs); the last line printed is DOCKER_HOST=<url>
#   engine.sh down   stop it by its pid file (fine when nothing runs)
#   engine.sh env    print DOCKER_HOST=<url> of our engine
# State: socket, pid file and exec root under $CLUSTEROPS_KIND_RUN (default /run/clusterops-docker); images and
# containers under $CLUSTEROPS_CACHE/docker, so the node image built by node-image.sh survives between runs.
# dockerd comes from Debian's docker.io package, installed with apt-get when missing and running as root.
# When this host's capability bounding set lacks capabilities (these CI VMs lack CAP_SYS_RESOURCE), privileged
# containers (kind's nodes) cannot start with plain runc; the engine is then started with oci-runtime-wrapper as its
# default runtime, which drops exactly the missing capabilities. Elsewhere plain runc is used.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${CLUSTEROPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clusterops-kops-upgrade}
run=${CLUSTEROPS_KIND_RUN:-/run/clusterops-docker}
sock="$run/docker.sock"
pidfile="$run/dockerd.pid"
export DOCKER_HOST="unix://$sock"

# shellcheck source=apt.sh
. "$here/apt.sh"

log() { printf '[engine %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
responding() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

ensure_dockerd() {
  command -v dockerd >/dev/null && command -v docker >/dev/null && return
  apt_install docker.io ||
    die "dockerd (or the docker client) is missing: install Docker Engine (Debian: apt-get install docker.io), or run this as root on Debian so it installs it"
}

missing_capabilities() {
  local bounding
  bounding=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
  # CAP_SYS_RESOURCE is bit 24; the wrapper works out the full list itself.
  (( (16#$bounding >> 24) & 1 )) || echo CAP_SYS_RESOURCE
}

up() {
  if running && responding; then
    log "engine already running (pid $(cat "$pidfile"))"
    echo "DOCKER_HOST=$DOCKER_HOST"; return
  fi
  [ "$(id -u)" -eq 0 ] || die "starting dockerd needs root (or run kind against your own Docker engine: unset CLUSTEROPS_KIND_ENGINE)"
  ensure_dockerd
  command -v runc >/dev/null || die "runc is missing (Debian: apt-get install runc)"
  mkdir -p "$run" "$cache/docker"
  local args=(--host "$DOCKER_HOST" --pidfile "$pidfile" --exec-root "$run/exec" --data-root "$cache/docker"
              --log-level warn)
  local missing
  missing=$(missing_capabilities)
  if [ -n "$missing" ]; then
    log "this host cannot grant $missing: privileged containers run through $here/oci-runtime-wrapper"
    args+=(--add-runtime "clusterops-runc=$here/oci-runtime-wrapper" --default-runtime clusterops-runc)
  fi
  log "starting dockerd (data root $cache/docker, socket $sock, log $run/dockerd.log)"
  setsid dockerd "${args[@]}" >"$run/dockerd.log" 2>&1 < /dev/null &

  for _ in $(seq 1 60); do
    responding && break
    kill -0 $! 2>/dev/null || { tail -20 "$run/dockerd.log" >&2; die "dockerd exited; see $run/dockerd.log"; }
    sleep 1
  done
  responding || { tail -20 "$run/dockerd.log" >&2; die "dockerd did not answer within 60 s; see $run/dockerd.log"; }
  log "engine up: $(docker version --format 'Docker {{.Server.Version}}') (pid $(cat "$pidfile"))"
  echo "DOCKER_HOST=$DOCKER_HOST"
}

down() {
  if ! running; then log "nothing running"; return; fi
  local pid
  pid=$(cat "$pidfile")
  log "stopping dockerd (pid $pid)"
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then log "dockerd still running after 60 s; killing it"; kill -9 "$pid"; fi
  rm -f "$pidfile"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) echo "DOCKER_HOST=$DOCKER_HOST" ;;
  *) echo "usage: $0 up|down|env" >&2; exit 2 ;;
esac
