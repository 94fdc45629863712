# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The main job, for a new user.

Without a cluster given: a kOps cluster on this machine (tools/testbed: moto as AWS, the local control plane as
its API, the node agent for its instances, kOps' channels for its addons), created by the real kops 1.35.0 on
Kubernetes 1.35.2 with kOps' default aws-node-termination-handler (v1.22.0); then the real upgrade,
`ansible-playbook clusterops.kops_upgrade.upgrade` with kops 1.36.2 to Kubernetes 1.36.1, whose default NTH is
v1.25.5 - the kops#16870 deadlock on one control-plane node with nothing pinned: precheck predicts the deadlock,
after `kops upgrade cluster` the role renders kops 1.36.2's addons from the S3 state store (moto's) and predicts
it again (with cilium-operator's) from the templates about to be applied, kops update makes channels roll NTH
out, the addon watch finds it stuck (verdict and why), remediation clears it, kops reconcile replaces every
instance, validate passes. Before and after, timings, everything torn down. The
playbook gets everything as a user gives it: variables (the kubeconfig, kops' AWS profile), nothing through its
process environment. kops 1.35.0 and 1.36.2 are built on first use (about 5 min each).

With --kubeconfig (and optionally --context): runs the precheck and remediate playbooks against that cluster,
reproducing nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time

# The test bed package (tools/testbed: this script's directory is on sys.path when it runs).
from testbed import kops_cloud, kops_world, kube
from testbed.local_cluster import CACHE

# ansible's state (temp files) in the cache, never ~/.ansible (make sets the same).
os.environ.setdefault("ANSIBLE_HOME", os.path.join(CACHE, "home", "ansible"))

NTH = "aws-node-termination-handler"
# (kops release, Kubernetes version) before and after.
FROM, TO = ("v1.35.0", "1.35.2"), ("v1.36.2", "1.36.1")


def say(text):
    print("\n=== %s" % text, flush=True)


def playbook(name, kubeconfig, context=None, extra=None):
    argv = kube.ansible_playbook("clusterops.kops_upgrade.%s" % name, "-e", "k8s_kubeconfig=%s" % kubeconfig)
    if context:
        argv += ["-e", "k8s_context=%s" % context]
    if extra:
        argv += ["-e", json.dumps(extra)]
    print("$ " + " ".join(argv), flush=True)
    started = time.monotonic()
    # The user's path: no AWS, kops or Kubernetes settings in ansible-playbook's environment.
    proc = subprocess.run(argv, check=False, env=kops_world.without_connection_variables(os.environ))
    return proc.returncode, time.monotonic() - started


def show(cloud):
    """Nodes (instance group, role, kubelet) and the NTH pods (image, node, phase), from the cluster's API."""
    from kubernetes import client, config

    core = client.CoreV1Api(config.new_client_from_config(config_file=cloud.admin))
    for node in sorted(core.list_node().items, key=lambda n: n.metadata.labels.get("kops.k8s.io/instancegroup", "")):
        labels = node.metadata.labels
        print("  node %-22s %-26s %-14s kubelet %s" % (
            node.metadata.name, labels.get("kops.k8s.io/instancegroup"),
            "control-plane" if "node-role.kubernetes.io/control-plane" in labels else "node",
            node.status.node_info.kubelet_version))
    for pod in core.list_namespaced_pod("kube-system", label_selector="app.kubernetes.io/name=%s" % NTH).items:
        print("  pod  %-50s %-9s %-22s image %s" % (pod.metadata.name, pod.status.phase, pod.spec.node_name,
                                                    pod.spec.containers[0].image.rsplit("/", 1)[-1]))


def on_local_cluster(keep):
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="clusterops-demo-")
    # kops' state in (moto's) S3, as users keep it: the upgrade renders the new release's addons from there.
    # One worker: the deadlock is on the one control-plane node; each more worker only adds kops' own pauses to
    # the roll (about 30 s each: drain, 15 s after terminating, a second validation 10 s later).
    cloud = kops_cloud.KopsCloud(workdir, "demo", control_planes=1, nodes=1, state_store="s3")
    try:
        say("A simulated AWS (moto) and the kops assets server")
        cloud.start()
        say("kops %s creates the cluster: Kubernetes %s, 1 control-plane node, 1 node, kOps' default NTH"
            % FROM)
        cloud.create(*FROM)
        cloud.timings["nodes joined, cluster valid"] = cloud.wait_valid(FROM[0], timeout=300)
        say("Before")
        show(cloud)
        say("The operator upgrades with kops %s to Kubernetes %s (its default NTH is v1.25.5): the upgrade playbook"
            % TO)
        extra = cloud.upgrade_variables(*TO)
        rc, seconds = playbook("upgrade", cloud.admin, extra=extra)
        cloud.timings["upgrade playbook"] = seconds
        if rc != 0:
            raise SystemExit("the upgrade playbook failed (rc %d)" % rc)
        say("After")
        show(cloud)
    finally:
        if keep:
            cloud.stop_agent()
            print("\nKeeping the cluster's API: KUBECONFIG=%s (stop it with make cluster-down CLUSTER_NAME=demo)"
                  % cloud.admin)
            os.environ["CLUSTEROPS_KEEP_CLUSTER"] = "1"
        else:
            say("Tearing down")
        cloud.stop()
    say("Timings")
    for step, seconds in cloud.timings.items():
        print("  %-48s %6.1fs" % (step, seconds))
    print("  %-48s %6.1fs" % ("total", time.monotonic() - started))


def on_given_cluster(kubeconfig, context):
    for name in ("precheck", "remediate"):
        say("The %s playbook" % name)
        rc, seconds = playbook(name, kubeconfig, context)
        print("(%s: rc %d, %.1fs)" % (name, rc, seconds))
        if rc != 0:
            raise SystemExit(rc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", default=os.environ.get("DEMO_KUBECONFIG") or None)
    parser.add_argument("--context", default=os.environ.get("DEMO_CONTEXT") or None)
    parser.add_argument("--keep", action="store_true", help="leave the local cluster running")
    args = parser.parse_args()
    if args.kubeconfig:
        on_given_cluster(os.path.expanduser(args.kubeconfig), args.context)
    else:
        on_local_cluster(args.keep)


if __name__ == "__main__":
    main()
