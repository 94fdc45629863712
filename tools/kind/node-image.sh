#!/usr/bin/env bash
# Build (or reuse) an offline kind node image for Kubernetes $KUBERNETES_VERSION, with every image a kind cluster
# needs preloaded, all made on this machine (no registry is reachable here; nothing is pulled):
#   base      Debian $DEBIAN_SUITE made by mmdebstrap (systemd, containerd, runc, CNI plugins, iptables...) plus the
#             files of kind's own base image, read from the sigs.k8s.io/kind module (images/base/files), laid out
#             as kind's images/base/Dockerfile does;
#   binaries  kubelet, kubeadm, kubectl (k8s.io/kubernetes), crictl (cri-tools), built by tools/localcluster/build.sh;
#   images    kube-apiserver, kube-controller-manager, kube-scheduler, etcd, CoreDNS, pause: each a static binary in
#             an otherwise empty image (`docker import`); kube-proxy on a small Debian root filesystem (it needs
#             iptables); kind's CNI DaemonSet (kind's own manifest) with a stand-in for kindnetd (standins/kindnet:
#             kindnetd is not published as a Go module). Preloaded into the node's containerd the way
#             `kind build node-image` does (ctr images import), then `docker commit`.
# Also builds the aws-node-termination-handler stand-in images (standins/nth) the kind scenario deploys.
# Everything is cached: binaries in $CLUSTEROPS_CACHE/bin, images in the engine's data root (tools/kind/engine.sh);
# an image is rebuilt only when its inputs change (their hash is in its tag).
# Needs a Docker engine (DOCKER_HOST), Go, gcc, mmdebstrap (installed with apt-get when missing and root).
# The last line printed is KIND_NODE_IMAGE=<image>. `node-image.sh base` builds the base image only;
# `node-image.sh nth` only the NTH stand-in images (needs Go and Docker only; last line NTH_IMAGES=<a>,<b>).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../localcluster/versions.env
. "$root/tools/localcluster/versions.env"
cache=${CLUSTEROPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clusterops-kops-upgrade}
bindir="$cache/bin"
work="$cache/kind"
lock=${CLUSTEROPS_BUILD_LOCK:-/tmp/clusterops-heavy-build.lock}
DEBIAN_SUITE=bookworm   # systemd 252: still boots on cgroup v1 hosts (these VMs); trixie's systemd 257 refuses
# kind's base image packages, less storage test tools (nfs-common, open-iscsi, e2fsprogs) and rootless support
# (fuse-overlayfs); containerd, runc and the CNI plugins from Debian instead of kind's source builds.
BASE_PACKAGES=systemd,containerd,runc,containernetworking-plugins,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,bash,ca-certificates,jq,procps
PAUSE_VERSIONS=(3.10 3.10.1)            # kind's containerd sandbox image, kubeadm v1.34's pause
KUBEADM_ETCD_TAG=3.6.5-0                 # kubeadm v1.34's etcd image tag; it runs etcd $ETCD_VERSION
NTH_VERSIONS=(v1.18.3 v1.22.0)           # what kOps 1.29 and 1.30 deploy (tests/fixtures/manifests)
NTH_STANDIN_REPOSITORY=clusterops.local/aws-node-termination-handler-standin
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -modcacherw"
# Go's module and build caches (and its telemetry and config files) in the project's cache, never under HOME.
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOPATH="$cache/go/path" XDG_CONFIG_HOME="$cache/go/config"
mkdir -p "$bindir" "$work"

# shellcheck source=apt.sh
. "$here/apt.sh"

log() { printf '[kind-image %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
hash_of() { cat "$@" | sha256sum | cut -c1-12; }

preflight() {
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset}); start one with tools/kind/engine.sh up"
  command -v go >/dev/null || die "go is missing (https://go.dev/dl)"
  local need=() tool
  for tool in mmdebstrap gcc; do command -v "$tool" >/dev/null || need+=("$tool"); done
  [ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -f /usr/lib/libc.a ] || need+=(libc6-dev)
  [ ${#need[@]} -eq 0 ] && return
  apt_install mmdebstrap gcc libc6-dev || die "missing ${need[*]}: install them (Debian: apt-get install mmdebstrap gcc libc6-dev)"
}

module_dir() {
  go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'
}

# --- binaries ----------------------------------------------------------------------------------------------------

# standins: the NTH and kindnet stand-ins (standins/), named after the hash of their sources.
build_standins() {
  standins_hash=$(hash_of "$here"/standins/go.mod "$here"/standins/go.sum "$here"/standins/*/main.go)
  local name
  for name in "$@"; do
    [ -x "$bindir/$name-standin-$standins_hash" ] && continue
    log "building the $name stand-in"
    (cd "$here/standins" && locked go build -trimpath -ldflags "-s -w" -o "$bindir/$name-standin-$standins_hash.tmp" "./$name")
    mv "$bindir/$name-standin-$standins_hash.tmp" "$bindir/$name-standin-$standins_hash"
  done
}

# locked COMMAND...: run COMMAND holding the machine's heavy-build lock (unless this process holds it already).
locked() {
  if [ -n "${lock_fd:-}" ]; then "$@"; else flock "$lock" "$@"; fi
}

build_binaries() {
  standins_hash=$(hash_of "$here"/standins/go.mod "$here"/standins/go.sum "$here"/standins/*/main.go)
  local want=("etcd-$ETCD_VERSION" "kind-$KIND_VERSION" "crictl-$CRI_TOOLS_VERSION" "coredns-$COREDNS_VERSION"
              "nth-standin-$standins_hash" "kindnet-standin-$standins_hash" "pause-$KUBERNETES_VERSION") b
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kubeadm kubectl kube-proxy; do
    want+=("$b-$KUBERNETES_VERSION")
  done
  for b in "${want[@]}"; do [ -x "$bindir/$b" ] || break; done
  if [ -x "$bindir/$b" ]; then
    log "binaries cached"
  else
    log "Go binaries (waiting for $lock)"
    exec {lock_fd}>"$lock"
    flock "$lock_fd"
    "$root/tools/localcluster/build.sh" kubernetes etcd kubernetes-node kind crictl coredns
    build_standins nth kindnet
    build_pause
    flock -u "$lock_fd" && exec {lock_fd}>&- && lock_fd=""
  fi
  mkdir -p "$work/path"
  ln -sf "$bindir/kind-$KIND_VERSION" "$work/path/kind"
  ln -sf "$bindir/kubectl-$KUBERNETES_VERSION" "$work/path/kubectl"
}

build_pause() {
  # pause: the C program of the Kubernetes release (build/pause/linux/pause.c), linked statically.
  if [ ! -x "$bindir/pause-$KUBERNETES_VERSION" ]; then
    log "building pause from k8s.io/kubernetes@$KUBERNETES_VERSION/build/pause"
    local src
    src=$(module_dir "k8s.io/kubernetes@$KUBERNETES_VERSION")/build/pause/linux/pause.c
    gcc -Os -static -Wall -Werror -DVERSION="${PAUSE_VERSIONS[-1]}" -o "$bindir/pause-$KUBERNETES_VERSION.tmp" "$src"
    strip "$bindir/pause-$KUBERNETES_VERSION.tmp"
    mv "$bindir/pause-$KUBERNETES_VERSION.tmp" "$bindir/pause-$KUBERNETES_VERSION"
  fi
}

# --- images ------------------------------------------------------------------------------------------------------

# binary_image IMAGE BINARY PATH-IN-IMAGE [docker import --change...]: an image holding one static binary
# (plus /etc/passwd-less, /tmp for programs that want it). Reused when it exists.
binary_image() {
  local image=$1 binary=$2 target=$3; shift 3
  image_exists "$image" && return
  log "image $image"
  local stage
  stage=$(mktemp -d "$work/stage.XXXXXX")
  install -D -m 0755 "$binary" "$stage/$target"
  mkdir -p "$stage/tmp" "$stage/etc" && chmod 1777 "$stage/tmp"
  tar -C "$stage" -c . | docker import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' "$@" - "$image" >/dev/null
  rm -rf "$stage"
}

# debian_rootfs NAME PACKAGES [mmdebstrap options...]: a Debian $DEBIAN_SUITE root filesystem tarball, cached.
debian_rootfs() {
  local name=$1 packages=$2; shift 2
  local tarball="$work/$name.tar"
  [ -f "$tarball" ] && { echo "$tarball"; return; }
  log "mmdebstrap $DEBIAN_SUITE: $name ($packages)"
  mmdebstrap --quiet --variant=minbase --include="$packages" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "$@" "$DEBIAN_SUITE" "$work/$name.partial.tar" >&2
  mv "$work/$name.partial.tar" "$tarball"
  echo "$tarball"
}

# The node's base: kind's images/base/Dockerfile, with Debian packages where kind builds from source.
base_image() {
  local kind_dir=$1 key
  key=$(hash_of "$here/base-rootfs-hook.sh" "$here/containerd-oom-guard" <(echo "$DEBIAN_SUITE $KIND_VERSION $BASE_PACKAGES"))
  base="clusterops.local/kind-base:$KIND_VERSION-$key"
  image_exists "$base" && { log "base image $base cached"; return; }
  local tarball
  tarball=$(debian_rootfs "kind-base-$key" \
    "$BASE_PACKAGES" \
    --customize-hook="'$here/base-rootfs-hook.sh' \"\$1\" '$kind_dir/images/base/files'")
  log "base image $base"
  # The metadata of kind's base image; `docker import` cannot set STOPSIGNAL, a one-line build on top can.
  docker import --change 'ENV container=docker' \
    --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' "$tarball" "$base-rootfs" >/dev/null
  printf 'FROM %s\nSTOPSIGNAL SIGRTMIN+3\n' "$base-rootfs" | docker build -q -t "$base" - >/dev/null
  docker rmi "$base-rootfs" >/dev/null
  rm -f "$tarball"
}

# kube-proxy needs iptables and conntrack: a small Debian root filesystem. iptables-wrapper picks the backend
# (legacy or nft) the node uses, as the iptables-wrapper of the upstream kube-proxy image does.
kube_proxy_image() {
  local image="registry.k8s.io/kube-proxy:$KUBERNETES_VERSION"
  image_exists "$image" && return
  local tarball
  # shellcheck disable=SC2016  # $1 is the hook's argument, expanded by mmdebstrap's shell
  tarball=$(debian_rootfs kube-proxy-rootfs iptables,conntrack,nftables \
    --customize-hook="install -m 0755 '$bindir/kube-proxy-$KUBERNETES_VERSION' \"\$1/usr/local/bin/kube-proxy-binary\"" \
    --customize-hook="install -m 0755 '$here/iptables-wrapper' \"\$1/usr/local/bin/kube-proxy\"" \
    --customize-hook='chroot "$1" sh -c "apt-get clean; rm -rf /var/lib/apt/lists/*"')
  log "image $image"
  docker import "$tarball" "$image" >/dev/null
  rm -f "$tarball"
}

component_images() {
  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler; do
    binary_image "registry.k8s.io/$b:$KUBERNETES_VERSION" "$bindir/$b-$KUBERNETES_VERSION" "/usr/local/bin/$b"
  done
  kube_proxy_image
  binary_image "registry.k8s.io/etcd:$KUBEADM_ETCD_TAG" "$bindir/etcd-$ETCD_VERSION" /usr/local/bin/etcd
  binary_image "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "$bindir/coredns-$COREDNS_VERSION" /coredns \
    --change 'ENTRYPOINT ["/coredns"]'
  local pause=("registry.k8s.io/pause:${PAUSE_VERSIONS[0]}") v
  binary_image "${pause[0]}" "$bindir/pause-$KUBERNETES_VERSION" /pause --change 'ENTRYPOINT ["/pause"]'
  for v in "${PAUSE_VERSIONS[@]:1}"; do docker tag "${pause[0]}" "registry.k8s.io/pause:$v"; pause+=("registry.k8s.io/pause:$v"); done
  binary_image "$kindnetd_image-$standins_hash" "$bindir/kindnet-standin-$standins_hash" /bin/kindnetd \
    --change 'ENTRYPOINT ["/bin/kindnetd"]'
  docker tag "$kindnetd_image-$standins_hash" "$kindnetd_image"
  preload=("${pause[@]}" "$kindnetd_image" "registry.k8s.io/etcd:$KUBEADM_ETCD_TAG"
           "registry.k8s.io/coredns/coredns:$COREDNS_VERSION")
  for b in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
    preload+=("registry.k8s.io/$b:$KUBERNETES_VERSION")
  done
}

nth_images() {
  local v
  nth_images=()
  for v in "${NTH_VERSIONS[@]}"; do
    binary_image "$NTH_STANDIN_REPOSITORY:$v-$standins_hash" "$bindir/nth-standin-$standins_hash" \
      /usr/local/bin/aws-node-termination-handler --change "ENV NTH_VERSION=$v" \
      --change 'ENTRYPOINT ["/usr/local/bin/aws-node-termination-handler"]' --change 'USER 1000'
    docker tag "$NTH_STANDIN_REPOSITORY:$v-$standins_hash" "$NTH_STANDIN_REPOSITORY:$v"
    nth_images+=("$NTH_STANDIN_REPOSITORY:$v")
  done
}

# kind's default CNI manifest (the DaemonSet `kind create cluster` applies), read from the module's
# pkg/build/nodeimage/const_cni.go, and its kindnetd image name.
kind_cni_manifest() {
  python3 - "$1/pkg/build/nodeimage/const_cni.go" "$2" <<'EOF'
import re, sys
source = open(sys.argv[1], encoding="utf-8").read()
image = re.search(r'const kindnetdImage = "([^"]+)"', source).group(1)
if sys.argv[2] == "image":
    print(image)
else:
    source = source.replace("` + kindnetdImage + `", image)
    print(re.search(r"const defaultCNIManifest = `(.*?)`\n", source, re.S).group(1), end="")
EOF
}

node_image() {
  local kind_dir=$1
  local key
  key=$(hash_of "$0" "$root/tools/localcluster/versions.env" "$here/iptables-wrapper" <(printf '%s\n' "$base" "$standins_hash"))
  node="clusterops.local/kind-node:$KUBERNETES_VERSION-$key"
  image_exists "$node" && { log "node image $node cached"; return; }
  log "node image $node: starting a build container from $base"
  local id="clusterops-kind-build-$$"
  docker run -d --name "$id" --entrypoint=sleep --security-opt seccomp=unconfined "$base" infinity >/dev/null
  # shellcheck disable=SC2064
  trap "docker rm -f -v '$id' >/dev/null 2>&1 || true" EXIT
  local b
  for b in kubeadm kubelet kubectl; do docker cp "$bindir/$b-$KUBERNETES_VERSION" "$id:/usr/bin/$b"; done
  docker cp "$bindir/crictl-$CRI_TOOLS_VERSION" "$id:/usr/local/bin/crictl"
  docker exec "$id" sh -c "chown root:root /usr/bin/kube* /usr/local/bin/crictl && chmod 0755 /usr/bin/kube* /usr/local/bin/crictl"
  printf '%s' "$KUBERNETES_VERSION" | docker exec -i "$id" sh -c 'mkdir -p /kind/manifests && cat > /kind/version'
  kind_cni_manifest "$kind_dir" manifest | docker exec -i "$id" sh -c 'cat > /kind/manifests/default-cni.yaml'
  log "preloading ${#preload[@]} images into the node's containerd"
  docker exec "$id" bash -c 'nohup containerd > /var/log/containerd-build.log 2>&1 &
    for i in $(seq 1 30); do ctr version >/dev/null 2>&1 && exit 0; sleep 1; done; cat /var/log/containerd-build.log; exit 1'
  docker save "${preload[@]}" | docker exec -i "$id" ctr --namespace=k8s.io images import \
    --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests - >/dev/null
  # sleep is the container's pid 1 and reaps nothing: containerd stays a zombie once it has exited.
  docker exec "$id" sh -c 'pkill -x containerd; while ps -o stat= -C containerd | grep -qv "^Z"; do sleep 0.2; done
    rm -f /var/log/containerd-build.log'
  log "committing $node"
  docker commit --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' "$id" "$node" >/dev/null
  docker rm -f -v "$id" >/dev/null
  trap - EXIT
}

start=$(date +%s)
case "${1:-node}" in
  nth)  # only the NTH stand-in images (Go and Docker), for the kind scenario's create on any machine
    docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "no Docker engine answers"
    build_standins nth
    nth_images
    echo "NTH_IMAGES=$(IFS=,; echo "${nth_images[*]}")"
    exit ;;
  base|node) ;;
  *) echo "usage: $0 [node|base|nth]" >&2; exit 2 ;;
esac
preflight
kind_dir=$(module_dir "sigs.k8s.io/kind@$KIND_VERSION")
if [ "${1:-}" = base ]; then base_image "$kind_dir"; echo "KIND_BASE_IMAGE=$base"; exit; fi
kindnetd_image=$(kind_cni_manifest "$kind_dir" image)
build_binaries
base_image "$kind_dir"
component_images
nth_images
node_image "$kind_dir"
# Older builds of the base and node images (their inputs changed) only take space in the engine's data root.
for stale in $(docker images --format '{{.Repository}}:{{.Tag}}' --filter reference='clusterops.local/kind-node' \
               --filter reference='clusterops.local/kind-base'); do
  case "$stale" in "$node"|"$base") ;; *) log "removing $stale (superseded)"; docker rmi "$stale" >/dev/null ;; esac
done
log "done in $(( $(date +%s) - start ))s"
echo "KIND_NODE_IMAGE=$node"
