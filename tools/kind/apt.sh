# shellcheck shell=bash
# Sourced by engine.sh and node-image.sh: apt_install PACKAGE... installs Debian packages when running as root
# with apt-get (refreshing the package lists once if the install fails on stale or missing lists); returns 1
# otherwise, so the caller can say what is missing.
apt_install() {
  [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null || return 1
  printf '[apt %s] installing %s\n' "$(date +%T)" "$*" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2 ||
    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2; }
}
