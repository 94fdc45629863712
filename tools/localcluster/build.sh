#!/usr/bin/env bash
# Build (or reuse) the binaries of the local control plane from Go modules.
# Output: $CLUSTEROPS_CACHE/bin/<component>-<version>; nothing is written into the repository.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${CLUSTEROPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clusterops-kops-upgrade}
bindir="$cache/bin"
mkdir -p "$bindir"
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -modcacherw"
# Go's module and build caches (and its telemetry and config files) in the project's cache, never under HOME.
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOPATH="$cache/go/path" XDG_CONFIG_HOME="$cache/go/config"

log() { printf '[build %s] %s\n' "$(date +%T)" "$*" >&2; }

# with_progress LABEL COMMAND...: run COMMAND, saying every minute that LABEL is still building (a cold Kubernetes
# build is several minutes of `go build` printing nothing), and how long it took.
with_progress() {
  local label=$1 started=$SECONDS ticker rc=0; shift
  ( while sleep 60; do log "still building $label ($(( SECONDS - started ))s)"; done ) &
  ticker=$!
  "$@" || rc=$?
  kill "$ticker" 2>/dev/null; wait "$ticker" 2>/dev/null || true
  [ "$rc" -eq 0 ] && log "built $label in $(( SECONDS - started ))s"
  return "$rc"
}

staging_modules() {
  # Every k8s.io staging module that k8s.io/kubernetes replaces with a ./staging path.
  go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" >/dev/null
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod"
}

# prepare_module DIR REQUIREMENTS PACKAGE...: a go.mod of our own in DIR (module clusterops.local/<dir>) with the
# given require/replace lines, a tools.go importing the packages so `go mod tidy` keeps them; once per DIR.
prepare_module() {
  local mod=$1 requirements=$2; shift 2
  mkdir -p "$mod"
  [ -f "$mod/go.sum" ] && return
  log "preparing module $(basename "$mod")"
  printf 'module clusterops.local/%s\ngo 1.24\n%s\n' "$(basename "$mod")" "$requirements" > "$mod/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for package in "$@"; do printf '\t_ "%s"\n' "$package"; done
    printf ')\n'
  } > "$mod/tools.go"
  (cd "$mod" && go mod tidy >&2)
}

# build_package DIR PACKAGE OUTPUT [go build flags...]: build into OUTPUT.tmp, then move, so a broken build
# never leaves a binary that looks cached.
build_package() {
  local mod=$1 package=$2 output=$3; shift 3
  log "building $(basename "$output")"
  (cd "$mod" && with_progress "$(basename "$output")" go build -trimpath "$@" -o "$output.tmp" "$package")
  mv "$output.tmp" "$output"
}

# kubernetes_commands MODULE COMMAND...: build (or reuse) k8s.io/kubernetes/cmd/COMMAND at $KUBERNETES_VERSION into
# $bindir/COMMAND-$KUBERNETES_VERSION, from a module of our own named MODULE (one per set of commands, so adding a
# set never rewrites another set's go.sum while it builds).
kubernetes_commands() {
  local name=$1; shift
  local missing=() b
  for b in "$@"; do [ -x "$bindir/$b-$KUBERNETES_VERSION" ] || missing+=("$b"); done
  [ ${#missing[@]} -eq 0 ] && { log "$* $KUBERNETES_VERSION cached"; return; }
  local mod="$cache/src/$name-$KUBERNETES_VERSION"
  local minor=${KUBERNETES_VERSION#v1.}
  local requirements="require k8s.io/kubernetes $KUBERNETES_VERSION" packages=()
  if [ ! -f "$mod/go.sum" ]; then
    for m in $(staging_modules); do requirements+=$'\n'"replace $m => $m v0.$minor"; done
  fi
  for b in "$@"; do packages+=("k8s.io/kubernetes/cmd/$b"); done
  prepare_module "$mod" "$requirements" "${packages[@]}"
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*}"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  for b in "${missing[@]}"; do
    build_package "$mod" "k8s.io/kubernetes/cmd/$b" "$bindir/$b-$KUBERNETES_VERSION" -tags selinux,notest -ldflags "$ldflags"
  done
}

build_kubernetes() {
  kubernetes_commands kubernetes kube-apiserver kube-controller-manager kube-scheduler
}

# What a kind node runs besides the control plane (tools/kind/node-image.sh).
build_kubernetes_node() {
  kubernetes_commands kubernetes-node kubelet kubeadm kubectl kube-proxy
}

# go_install NAME VERSION PACKAGE [ldflags]: `go install PACKAGE@VERSION` into $bindir/NAME-VERSION.
go_install() {
  local name=$1 version=$2 package=$3 ldflags=${4:-}
  [ -x "$bindir/$name-$version" ] && { log "$name $version cached"; return; }
  log "building $name $version"
  GOBIN="$cache/src/$name-$version-bin" with_progress "$name $version" \
    go install -trimpath -ldflags "-s -w $ldflags" "$package@$version"
  mv "$cache/src/$name-$version-bin/$(basename "${package%%/v[0-9]*}")" "$bindir/$name-$version"
}

build_kind() {
  go_install kind "$KIND_VERSION" sigs.k8s.io/kind
}

build_crictl() {
  go_install crictl "$CRI_TOOLS_VERSION" sigs.k8s.io/cri-tools/cmd/crictl \
    "-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRI_TOOLS_VERSION"
}

# CoreDNS with the plugins kubeadm's Corefile uses, not the ~60 of a full build (a third of the build time).
build_coredns() {
  [ -x "$bindir/coredns-$COREDNS_VERSION" ] && { log "coredns $COREDNS_VERSION cached"; return; }
  local mod="$cache/src/coredns-$COREDNS_VERSION" plugin
  if [ ! -f "$mod/go.sum" ]; then
    mkdir -p "$mod"
    printf 'module clusterops.local/coredns\ngo 1.24\nrequire github.com/coredns/coredns %s\n' "$COREDNS_VERSION" > "$mod/go.mod"
    {
      printf '// CoreDNS with the plugins of kubeadm'"'"'s Corefile.\npackage main\n\nimport (\n'
      printf '\t"github.com/coredns/coredns/coremain"\n\t_ "github.com/coredns/coredns/core/dnsserver"\n'
      for plugin in errors health ready kubernetes metrics forward cache loop reload loadbalance log whoami; do
        printf '\t_ "github.com/coredns/coredns/plugin/%s"\n' "$plugin"
      done
      printf ')\n\nfunc main() { coremain.Run() }\n'
    } > "$mod/main.go"
    log "preparing module coredns-$COREDNS_VERSION"
    (cd "$mod" && go mod tidy >&2)
  fi
  build_package "$mod" . "$bindir/coredns-$COREDNS_VERSION" \
    -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION"
}

build_etcd() {
  [ -x "$bindir/etcd-$ETCD_VERSION" ] && { log "etcd $ETCD_VERSION cached"; return; }
  local mod="$cache/src/etcd-$ETCD_VERSION"
  prepare_module "$mod" "require go.etcd.io/etcd/server/v3 $ETCD_VERSION" go.etcd.io/etcd/server/v3
  build_package "$mod" go.etcd.io/etcd/server/v3 "$bindir/etcd-$ETCD_VERSION" -ldflags "-s -w"
}

build_kwok() {
  [ -x "$bindir/kwok-$KWOK_VERSION" ] && { log "kwok $KWOK_VERSION cached"; return; }
  log "building kwok $KWOK_VERSION"
  GOBIN="$cache/src/kwok-$KWOK_VERSION-bin" with_progress "kwok $KWOK_VERSION" \
    go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$cache/src/kwok-$KWOK_VERSION-bin/kwok" "$bindir/kwok-$KWOK_VERSION"
  # The Stage objects kwok needs live in the module's kustomize/stage folder.
  local moddir
  moddir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  mkdir -p "$cache/kwok-stages-$KWOK_VERSION"
  find "$moddir/kustomize/stage" -name '*.yaml' ! -name kustomization.yaml -exec cp {} "$cache/kwok-stages-$KWOK_VERSION/" \;
  chmod -R u+w "$cache/kwok-stages-$KWOK_VERSION"
}

build_kops() {
  # kops, and kOps' channels tool (what protokube runs on control-plane nodes to apply the addon manifests) from
  # the same module version. Argument: the version (default KOPS_VERSION, the one the module tests drive).
  local version=${1:-$KOPS_VERSION}
  if [ -x "$bindir/kops-$version" ] && [ -x "$bindir/channels-$version" ]; then
    log "kops and channels $version cached"; return
  fi
  # `go install k8s.io/kops/cmd/kops@v` asks the proxy for k8s.io/kops/cmd/kops first, which it refuses (403),
  # so require k8s.io/kops from a module of our own. kops embeds its release version (kops-version.go).
  local mod="$cache/src/kops-$version" started
  started=$(date +%s)
  prepare_module "$mod" "require k8s.io/kops $version" k8s.io/kops/cmd/kops k8s.io/kops/channels/cmd/channels
  [ -x "$bindir/kops-$version" ] || build_package "$mod" k8s.io/kops/cmd/kops "$bindir/kops-$version" -ldflags "-s -w"
  [ -x "$bindir/channels-$version" ] || build_package "$mod" k8s.io/kops/channels/cmd/channels "$bindir/channels-$version" -ldflags "-s -w"
  log "kops and channels $version built in $(( $(date +%s) - started ))s"
}

# Every kOps release the end-to-end upgrade runs (KOPS_RELEASES, comma-separated), oldest first.
build_kops_releases() {
  local version
  for version in ${KOPS_RELEASES//,/ }; do build_kops "$version"; done
}

# trim: drop what only a rebuild needs - Go's build cache and module cache (most of a cold cache: about 17 and
# 7 GB after a cold make test) and the build scratch directories; the binaries, the module directories' go.mod and
# go.sum (which pin what a rebuild downloads again) and everything else stay. make test runs it at its end.
build_trim() {
  local before after
  before=$(du -sm "$cache" 2>/dev/null | cut -f1)
  go clean -cache -modcache
  rm -rf "$cache"/src/*-bin
  after=$(du -sm "$cache" 2>/dev/null | cut -f1)
  log "trimmed $cache: ${before} MiB -> ${after} MiB (Go's build and module caches dropped; binaries kept)"
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(etcd kwok kubernetes)
start=$(date +%s)
for t in "${targets[@]}"; do
  case $t in
    kops-v*) build_kops "${t#kops-}" ;;  # one kOps release: kops-v1.31.0
    kops-releases) build_kops_releases ;;
    kubernetes-v*) (KUBERNETES_VERSION=${t#kubernetes-}; build_kubernetes) ;;  # another control plane: kubernetes-v1.36.1
    kubernetes-releases) for v in ${KUBERNETES_RELEASES//,/ }; do (KUBERNETES_VERSION=$v; build_kubernetes); done ;;
    *) "build_${t//-/_}" ;;
  esac
done
log "done in $(( $(date +%s) - start ))s; binaries in $bindir"
