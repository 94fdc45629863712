# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kubernetes/kops#16870 from kOps' own manifests: the real kops renders aws-node-termination-handler into the
state store (`kops update cluster --yes`), and kOps' real `channels` tool applies it to the local control plane as
protokube does on a control-plane node (`channels apply channel <state>/<cluster>/addons/... --yes`). First with
NTH v1.18.3 (the image kOps 1.29 ships; `spec.nodeTerminationHandler.version`), then with kops 1.30.2's default
(v1.22.0): the surge pod stays Pending, and kops_validate names its Deployment."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import yaml
from kubernetes import client

from testbed import kops_world, kube
from testbed.kops_world import kops_module

NTH_ADDON = "node-termination-handler.aws"


def channels_binary():
    path = os.path.join(kops_world.CACHE, "bin", "channels-%s" % kops_world.kops_binary()[1])
    if not os.access(path, os.X_OK):
        subprocess.run([os.path.join(kops_world.ROOT, "tools", "localcluster", "build.sh"), "kops"], check=True)
    return path


def set_nth_version(world, version):
    """Edit the cluster spec in the state store (`kops get -o yaml` / `kops replace -f`), then render the addons
    (`kops update cluster --yes`)."""
    cluster = yaml.safe_load(world.run("get", "cluster", "--name", kops_world.CLUSTER, "-o", "yaml").stdout)
    nth = cluster["spec"].setdefault("nodeTerminationHandler", {})
    if version:
        nth["version"] = version
    else:
        nth.pop("version", None)
    path = os.path.join(world.workdir, "cluster.yaml")
    with open(path, "w") as handle:
        yaml.safe_dump(cluster, handle)
    world.run("replace", "-f", path)
    world.run("update", "cluster", "--yes", "--create-kube-config=false", "--name", kops_world.CLUSTER)


def nth_channel(world):
    """The NTH entry of the bootstrap channel kops wrote, as a channel of its own beside it (so its relative
    manifest path resolves the same way). The other addons (CNI, CSI, kops-controller...) need real nodes."""
    addons = os.path.join(world.workdir, "state", kops_world.CLUSTER, "addons")
    with open(os.path.join(addons, "bootstrap-channel.yaml")) as handle:
        channel = yaml.safe_load(handle)
    channel["spec"]["addons"] = [a for a in channel["spec"]["addons"] if a["name"] == NTH_ADDON]
    assert len(channel["spec"]["addons"]) == 1
    path = os.path.join(addons, "nth-channel.yaml")
    with open(path, "w") as handle:
        yaml.safe_dump(channel, handle)
    return "file://" + path, channel["spec"]["addons"][0]


def channels_apply(world, channels, channel, kubeconfig):
    """channels with the world's HOME (kubectl's apply machinery keeps a discovery cache in ~/.kube/cache)."""
    proc = subprocess.run([channels, "apply", "channel", channel, "--yes"], capture_output=True, text=True,
                          env=dict(os.environ, KUBECONFIG=kubeconfig, HOME=world.env["HOME"]), check=False,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def remove_nth(api):
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    for delete in (apps.delete_namespaced_deployment, client.PolicyV1Api(api).delete_namespaced_pod_disruption_budget,
                   core.delete_namespaced_service_account):
        try:
            delete(kube.NTH, "kube-system", propagation_policy="Foreground")
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    deadline = time.monotonic() + 60
    while kube.list_pods(api, "kube-system") or any(
            d.metadata.name == kube.NTH for d in apps.list_namespaced_deployment("kube-system").items):
        assert time.monotonic() < deadline, "aws-node-termination-handler still there after 60 s"
        time.sleep(0.5)


@pytest.fixture
def clean_nth(kops_api_cluster):
    """No aws-node-termination-handler in kube-system before and after (other tests deploy their own)."""
    remove_nth(kops_api_cluster["api"])
    yield kops_api_cluster
    remove_nth(kops_api_cluster["api"])


def test_kops_own_manifests_applied_by_channels_deadlock(world, clean_nth):
    api, kubeconfig = clean_nth["api"], clean_nth["admin"]
    channels = channels_binary()

    set_nth_version(world, "v1.18.3")
    channel, addon = nth_channel(world)
    channels_apply(world, channels, channel, kubeconfig)
    dep = kube.wait_deployment(api, "kube-system", kube.NTH, kube.rollout_complete)[0]
    pod_spec = dep["spec"]["template"]["spec"]
    assert pod_spec["containers"][0]["image"].endswith(":v1.18.3")
    # The shape that deadlocks, as kops renders it: hostNetwork, no strategy (defaults), one replica,
    # system-cluster-critical, SQS mode.
    assert pod_spec["hostNetwork"] is True and dep["spec"]["replicas"] == 1
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    assert pod_spec["priorityClassName"] == "system-cluster-critical"
    assert dep["spec"]["template"]["metadata"]["labels"]["kops.k8s.io/nth-mode"] == "sqs"
    assert any(m["manager"] == "kops" and m["operation"] == "Apply" for m in dep["metadata"]["managedFields"])

    set_nth_version(world, None)
    channel, new_addon = nth_channel(world)
    assert new_addon["manifestHash"] != addon["manifestHash"]
    channels_apply(world, channels, channel, kubeconfig)
    pending = kube.wait_unschedulable(api, "kube-system")[0]
    assert pending["spec"]["containers"][0]["image"].endswith(":v1.22.0")

    result = kops_module("kops_validate", world, kubeconfig=clean_nth["kubeconfig"], fail_on_invalid=False)
    assert result["failed"] is False, result.get("msg")
    pods = [f for f in result["failures"] if f["kind"] == "pod_pending"]
    assert [(f["namespace"], f["pod"], f["deployment"]) for f in pods] == [
        ("kube-system", pending["metadata"]["name"], kube.NTH)]
