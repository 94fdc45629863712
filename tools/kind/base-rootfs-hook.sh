#!/usr/bin/env bash
# mmdebstrap customize hook for the kind node's base root filesystem (called by node-image.sh):
#   base-rootfs-hook.sh ROOTFS KIND_BASE_FILES
# Lays out kind's images/base/files (from the sigs.k8s.io/kind module) and does what the RUN steps of kind's
# images/base/Dockerfile do, with Debian's containerd, runc and CNI plugins where kind builds them from source.
set -euo pipefail
rootfs=$1 files=$2
install -m 0755 "$files"/usr/local/bin/* "$rootfs/usr/local/bin/"
mkdir -p "$rootfs/kind" "$rootfs/LICENSES"
cp -r "$files/kind/." "$rootfs/kind/"
chmod -R u=rwX,go=rX "$rootfs/kind" && chmod 0755 "$rootfs"/kind/bin/*
install -m 0644 "$files"/LICENSES/* "$rootfs/LICENSES/"
(cd "$files/etc" && find . -type f) | while read -r f; do install -D -m 0644 "$files/etc/$f" "$rootfs/etc/$f"; done
here=$(cd "$(dirname "$0")" && pwd)
install -m 0755 "$here/containerd-oom-guard" "$rootfs/usr/local/bin/containerd-oom-guard"
mkdir -p "$rootfs/etc/systemd/system/containerd.service.d"
printf '[Service]\nExecStartPre=/usr/local/bin/containerd-oom-guard\n' \
  > "$rootfs/etc/systemd/system/containerd.service.d/10-clusterops-oom-guard.conf"
chroot "$rootfs" sh -eu <<'CHROOT'
find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/*
rm -f /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev*
rm -f /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
echo ReadKMsg=no >> /etc/systemd/journald.conf
ln -sf /usr/lib/systemd/systemd /sbin/init
# kind's containerd.service runs /usr/local/bin/containerd; its containerd config looks for CNI plugins in /opt/cni/bin.
ln -sf /usr/bin/containerd /usr/local/bin/containerd
mkdir -p /opt/cni /etc/kubernetes/manifests
ln -sfn /usr/lib/cni /opt/cni/bin
systemctl enable kubelet.service containerd.service undo-mount-hacks.service
systemctl mask systemd-binfmt.service
ctr oci spec \
  | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
  | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json
apt-get clean
rm -rf /var/lib/apt/lists/*
CHROOT
