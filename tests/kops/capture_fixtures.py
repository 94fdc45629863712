# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record real kops output for the parser unit tests: runs a real kops release against a file:// state store, moto
on 127.0.0.1 and a local control plane, and writes each command's output to tests/unit/fixtures/kops/<name>.txt,
with the command, the release, rc and stream in index.json (merged: entries of other releases stay).

    PYTHONPATH=tools:$PYTHONPATH python tests/kops/capture_fixtures.py [--kops v1.32.0]
                        (from the installed collection root, with the project venv; tools/ holds the test bed)

--kops is the release to record (default: KOPS_VERSION of tools/localcluster/versions.env). The default release's
files keep their plain names (upgrade_plan.txt, ...); another release's are prefixed with it (v1_32_0_upgrade_plan.txt).

- The default release (1.30.2) runs against a local control plane with a stuck aws-node-termination-handler
  (kubernetes/kops#16870) and moto without instances joining (the kops <= 1.30 recording).
- kops >= 1.31 reaches the cluster only through the API load balancer's name, with credentials it makes from the
  state store: those releases run on tools/testbed's KopsCloud (the local API with kOps' CA, the node agent
  turning moto's instances into Nodes), and also record `kops reconcile cluster` (preview, then --yes: stdout and
  its klog stderr) after the nodes group's machine type changed.

The local control plane is named <CLUSTEROPS_TEST_CLUSTER_PREFIX>-capture (default prefix: capture) and is stopped
at the end, as are moto, the assets server and the node agent.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import yaml

from testbed import kops_cloud, kops_world, kube
from testbed.local_cluster import SCRIPT as LOCALCLUSTER

OUT = os.path.join(kops_world.ROOT, "tests", "unit", "fixtures", "kops")
NAME = ("--name", kops_world.CLUSTER)
# The Kubernetes version each release's cluster is created with: `kops upgrade cluster` proposes the channel's
# recommendation for the current minor (kops_world.CHANNEL: 1.30.5, 1.31.3), whose binaries' hashes the release knows
# (pkg/assets/assetdata), so `kops update cluster` works offline.
START_KUBERNETES = {"v1.31.0": "1.30.2", "v1.32.0": "1.31.0", "v1.33.1": "1.32.0", "v1.35.0": "1.34.4",
                    "v1.36.2": "1.35.2"}
NODES_GROUP = "nodes-eu-west-1a"


def release_tuple(version):
    return tuple(int(part) for part in version.lstrip("v").split("-")[0].split("."))


def prefix_of(version, default):
    """'' for the default release (the v1.30.2 files keep their names), else 'v1_32_0_'."""
    return "" if version == default else "v" + version.lstrip("v").replace(".", "_").replace("-", "_") + "_"


def control_plane_name():
    return "%s-capture" % (os.environ.get("CLUSTEROPS_TEST_CLUSTER_PREFIX") or "capture")


class Recorder(object):
    """Runs kops and writes what one stream printed to <OUT>/<prefix><name>.txt, with index.json's entry."""

    def __init__(self, run, version, prefix):
        self.run, self.version, self.prefix = run, version, prefix
        self.index = {}

    def __call__(self, name, stream, *args, note="", timeout=600):
        # KopsWorld.run reruns kops once on the AWS SDK's transport error, so a fixture is never that accident.
        proc = self.run(*args, timeout=timeout)
        self.write(name, stream, proc, args, note)
        return proc

    def write(self, name, stream, proc, args, note=""):
        name = self.prefix + name
        text = proc.stdout if stream == "stdout" else proc.stderr
        with open(os.path.join(OUT, name + ".txt"), "w") as handle:
            handle.write(text)
        self.index[name] = {"command": "kops " + " ".join(args) + (" (%s)" % note if note else ""),
                            "stream": stream, "rc": proc.returncode, "kops": self.version}
        if proc.returncode and stream == "stdout":
            self.index[name]["stderr_tail"] = proc.stderr.strip().splitlines()[-1:]
        print("recorded %s (rc %d)" % (name, proc.returncode), flush=True)

    def version_and_upgrade(self):
        """`kops version`, then `kops upgrade cluster`: its plan, the plan applied, and the plan once applied."""
        self("version", "stdout", "version")
        self("upgrade_plan", "stdout", "upgrade", "cluster", *NAME)
        self("upgrade_apply", "stdout", "upgrade", "cluster", "--yes", *NAME)
        self("upgrade_nothing", "stderr", "upgrade", "cluster", *NAME)


def record_default(work, version, prefix):
    """kops <= 1.30 (the default release): the local control plane as the cluster's context, NTH stuck."""
    name = control_plane_name()
    up = subprocess.run([sys.executable, LOCALCLUSTER, "up", "--name", name], capture_output=True, text=True,
                        check=True)
    admin = up.stdout.strip().splitlines()[-1].split("=", 1)[1]
    with open(admin) as handle:
        config = json.load(handle)
    config["contexts"][0]["name"] = config["current-context"] = kops_world.CLUSTER
    with open(os.path.join(work, "kubeconfig"), "w") as handle:
        json.dump(config, handle)
    moto = kops_world.MotoServer(work)
    assets = kops_world.AssetsServer(work)
    try:
        world = kops_world.KopsWorld(work, moto.url, assets.url, kubeconfig=os.path.join(work, "kubeconfig"))
        binary = kops_world.kops_binary(version)[0]
        world.create_cluster(binary=binary)
        api = kube.api(admin)
        kube.deploy_nth(api, "kube-system", "v1.18.3")
        kube.wait_deployment(api, "kube-system", kube.NTH, kube.rollout_complete)
        kube.deploy_nth(api, "kube-system", "v1.22.0")
        kube.wait_unschedulable(api, "kube-system")
        record = Recorder(lambda *a, **k: world.run(*a, check=False, binary=binary, **k), version, prefix)

        record.version_and_upgrade()
        record("rolling_update_preview", "stdout", "rolling-update", "cluster", *NAME)
        record("validate_json", "stdout", "validate", "cluster", "-o", "json", *NAME)
        record("validate_wait_json", "stdout", "validate", "cluster", "-o", "json", "--wait", "12s",
               "--interval", "5s", *NAME)
        record("validate_wait_stderr", "stderr", "validate", "cluster", "-o", "json", "--wait", "6s",
               "--interval", "5s", *NAME)
        # update and rolling-update against moto (after the upgrade above: Kubernetes 1.29.3 -> 1.29.9). No
        # --admin here: it implies writing the kubeconfig, which would replace the local API context.
        record("update_preview", "stdout", "update", "cluster", *NAME)
        record("update_apply", "stdout", "update", "cluster", "--yes", "--create-kube-config=false", *NAME)
        record("update_again", "stdout", "update", "cluster", *NAME)
        record("rolling_update_preview_after_update", "stdout", "rolling-update", "cluster", *NAME)
        # kubernetes/kops#16870: validation before the control-plane group fails on the pending NTH pod.
        record("rolling_update_validation_fails", "stderr", "rolling-update", "cluster", "--yes", "--force",
               "--validation-timeout=5s", *NAME)
        record("rolling_update_cloudonly_force_preview", "stdout", "rolling-update", "cluster", "--cloudonly",
               "--force", *NAME)
        record("get_instances_before", "stdout", "get", "instances", *NAME)
        record("rolling_update_cloudonly_force_apply", "stderr", "rolling-update", "cluster", "--cloudonly",
               "--force", "--yes", "--control-plane-interval=1s", "--node-interval=1s", *NAME)
        record("get_instances_after", "stdout", "get", "instances", *NAME)
        return record.index
    finally:
        assets.stop()
        moto.stop()
        subprocess.run([sys.executable, LOCALCLUSTER, "down", "--name", name], check=False)


def record_cloud(work, version, prefix):
    """kops >= 1.31 (or any release other than the default) on KopsCloud: the spec is created at the Kubernetes
    version before the release's own, upgraded and applied to moto; then the cluster's API and the node agent
    start (the instances join), and the nodes group's machine type changes for `kops reconcile cluster`."""
    cloud = kops_cloud.KopsCloud(work, control_plane_name())
    cloud.start()
    try:
        binary = kops_world.kops_binary(version)[0]
        record = Recorder(lambda *a, **k: cloud.world.run(*a, check=False, binary=binary, **k), version,
                          prefix)
        cloud.world.create_cluster(START_KUBERNETES.get(version, "1.30.5"), binary=binary)

        record.version_and_upgrade()
        record("update_preview", "stdout", "update", "cluster", *NAME)
        record("update_apply", "stdout", "update", "cluster", "--yes", "--create-kube-config=false", *NAME)
        # The cluster's API (kOps' CA from the state store, named by moto's API load balancer); no Nodes yet.
        cloud.start_api()
        record("validate_json", "stdout", "validate", "cluster", "-o", "json", *NAME,
               note="API up, before any instance joined")
        cloud.start_agent()
        cloud.wait_valid(version)
        record("validate_valid_json", "stdout", "validate", "cluster", "-o", "json", *NAME,
               note="after the cluster validated")
        record("rolling_update_preview", "stdout", "rolling-update", "cluster", *NAME)
        if release_tuple(version) >= (1, 31):
            note = "after the nodes group's machine type changed"
            group = yaml.safe_load(cloud.world.run("get", "instancegroup", NODES_GROUP, *NAME, "-o", "yaml",
                                                   binary=binary).stdout)
            group["spec"]["machineType"] = "t3.large"
            path = os.path.join(work, "nodes-group.yaml")
            with open(path, "w") as handle:
                yaml.safe_dump(group, handle)
            cloud.world.run("replace", "-f", path, binary=binary)
            record("reconcile_preview", "stdout", "reconcile", "cluster", *NAME, note=note)
            args = ("reconcile", "cluster", *NAME, "--yes")
            proc = cloud.world.run(*args, check=False, binary=binary, timeout=1200)
            record.write("reconcile_apply", "stdout", proc, args, note)
            record.write("reconcile_apply_log", "stderr", proc, args, note)
        return record.index
    finally:
        cloud.stop()
        # KopsCloud.stop leaves the control plane up when CLUSTEROPS_KEEP_CLUSTER is set; a capture never keeps it.
        subprocess.run([sys.executable, LOCALCLUSTER, "down", "--name", control_plane_name()], check=False,
                       capture_output=True)


def main(argv=None):
    default = kops_world.versions()["KOPS_VERSION"]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--kops", default=default, help="the kops release to record (default %(default)s)")
    options = parser.parse_args(argv)
    version = "v" + options.kops.lstrip("v")
    prefix = prefix_of(version, default)
    os.makedirs(OUT, exist_ok=True)
    work = tempfile.mkdtemp(prefix="kops-capture-")
    if version == default:
        recorded = record_default(work, version, prefix)
    else:
        recorded = record_cloud(work, version, prefix)
    index_path = os.path.join(OUT, "index.json")
    index = {}
    if os.path.exists(index_path):
        with open(index_path) as handle:
            index = json.load(handle)
    index.update(recorded)
    with open(index_path, "w") as handle:
        json.dump(index, handle, indent=1, sort_keys=True)
        handle.write("\n")
    print("recorded %d outputs of kops %s in %s" % (len(recorded), version, OUT))


if __name__ == "__main__":
    main()
