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
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

log() { printf '[build %s] %s\n' "$(date +%T)" "$*" >&2; }

staging_modules() {
  # Every k8s.io staging module that k8s.io/kubernetes replaces with a ./staging path.
  go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" >/dev/null
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod"
}

build_kubernetes() {
  local want=(kube-apiserver kube-controller-manager kube-scheduler)
  local missing=()
  for b in "${want[@]}"; do [ -x "$bindir/$b-$KUBERNETES_VERSION" ] || missing+=("$b"); done
  [ ${#missing[@]} -eq 0 ] && { log "kubernetes $KUBERNETES_VERSION cached"; return; }
  local mod="$cache/src/kubernetes-$KUBERNETES_VERSION"
  mkdir -p "$mod"
  local minor=${KUBERNETES_VERSION#v1.}; local staging_version="v0.$minor"
  if [ ! -f "$mod/go.sum" ]; then
    log "preparing module for kubernetes $KUBERNETES_VERSION"
    {
      echo "module clusterops.local/kubebuild"
      echo "go 1.24"
      echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
      for m in $(staging_modules); do echo "replace $m => $m $staging_version"; done
    } > "$mod/go.mod"
    printf 'package main\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n' > "$mod/tools.go"
    (cd "$mod" && printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler"\n)\n' > tools.go && go mod tidy >&2)
  fi
  local major=1 gminor=${minor%%.*}
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$gminor -X k8s.io/component-base/version.gitTreeState=clean"
  for b in "${missing[@]}"; do
    log "building $b $KUBERNETES_VERSION"
    (cd "$mod" && go build -trimpath -tags selinux,notest -ldflags "$ldflags" -o "$bindir/$b-$KUBERNETES_VERSION.tmp" "k8s.io/kubernetes/cmd/$b")
    mv "$bindir/$b-$KUBERNETES_VERSION.tmp" "$bindir/$b-$KUBERNETES_VERSION"
  done
}

build_etcd() {
  [ -x "$bindir/etcd-$ETCD_VERSION" ] && { log "etcd $ETCD_VERSION cached"; return; }
  local mod="$cache/src/etcd-$ETCD_VERSION"
  mkdir -p "$mod"
  if [ ! -f "$mod/go.sum" ]; then
    log "preparing module for etcd $ETCD_VERSION"
    printf 'module clusterops.local/etcdbuild\ngo 1.24\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$mod/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$mod/tools.go"
    (cd "$mod" && go mod tidy >&2)
  fi
  log "building etcd $ETCD_VERSION"
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$bindir/etcd-$ETCD_VERSION.tmp" go.etcd.io/etcd/server/v3)
  mv "$bindir/etcd-$ETCD_VERSION.tmp" "$bindir/etcd-$ETCD_VERSION"
}

build_kwok() {
  [ -x "$bindir/kwok-$KWOK_VERSION" ] && { log "kwok $KWOK_VERSION cached"; return; }
  log "building kwok $KWOK_VERSION"
  GOBIN="$cache/src/kwok-$KWOK_VERSION-bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$cache/src/kwok-$KWOK_VERSION-bin/kwok" "$bindir/kwok-$KWOK_VERSION"
  # The Stage objects kwok needs live in the module's kustomize/stage folder.
  local moddir
  moddir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  mkdir -p "$cache/kwok-stages-$KWOK_VERSION"
  find "$moddir/kustomize/stage" -name '*.yaml' ! -name kustomization.yaml -exec cp {} "$cache/kwok-stages-$KWOK_VERSION/" \;
  chmod -R u+w "$cache/kwok-stages-$KWOK_VERSION"
}

build_kops() {
  [ -x "$bindir/kops-$KOPS_VERSION" ] && { log "kops $KOPS_VERSION cached"; return; }
  local mod="$cache/src/kops-$KOPS_VERSION"
  mkdir -p "$mod"
  # `go install k8s.io/kops/cmd/kops@v` asks the proxy for k8s.io/kops/cmd/kops first, which it refuses (403),
  # so require k8s.io/kops from a module of our own and build the package from it.
  if [ ! -f "$mod/go.sum" ]; then
    log "preparing module for kops $KOPS_VERSION"
    printf 'module clusterops.local/kopsbuild\ngo 1.22\nrequire k8s.io/kops %s\n' "$KOPS_VERSION" > "$mod/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kops/cmd/kops"\n' > "$mod/tools.go"
    (cd "$mod" && go mod tidy >&2)
  fi
  log "building kops $KOPS_VERSION"
  # kops embeds its release version (kops-version.go), so no -X flag is needed.
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$bindir/kops-$KOPS_VERSION.tmp" k8s.io/kops/cmd/kops)
  mv "$bindir/kops-$KOPS_VERSION.tmp" "$bindir/kops-$KOPS_VERSION"
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(etcd kwok kubernetes)
start=$(date +%s)
for t in "${targets[@]}"; do "build_$t"; done
log "done in $(( $(date +%s) - start ))s; binaries in $bindir"
