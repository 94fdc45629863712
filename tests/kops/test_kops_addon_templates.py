# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kops_addon_templates with the real kops releases: a cluster created and applied by kops 1.35.0 in an S3 state
store (moto's), its spec upgraded by kops 1.36.2 to Kubernetes 1.36; the module renders kops 1.36.2's addons -
NTH v1.25.5 and cilium-operator with its control-plane affinity - and the state store is byte for byte what it
was (every object's ETag), with no kubeconfig written. With a file:// store it renders nothing and says why."""

from __future__ import annotations

import os

import pytest

from testbed.kops_world import kops_module
from testbed import kops_world

NEWEST_FROM, NEWEST_TO = ("v1.35.0", "1.35.2"), ("v1.36.2", "1.36.1")


@pytest.fixture
def s3_world(moto, assets, tmp_path):
    moto.reset()
    world = kops_world.KopsWorld(str(tmp_path), moto.url, assets.url, state_store="s3")
    old = kops_world.kops_binary(NEWEST_FROM[0])[0]
    world.create_cluster(NEWEST_FROM[1], binary=old)
    world.run("update", "cluster", "--name", kops_world.CLUSTER, "--yes", "--create-kube-config=false", binary=old)
    world.run("upgrade", "cluster", "--name", kops_world.CLUSTER, "--kubernetes-version", NEWEST_TO[1], "--yes",
              binary=kops_world.kops_binary(NEWEST_TO[0])[0])
    return world


def workloads(result):
    return dict(("%s/%s" % (w["kind"], w["metadata"]["name"]), (a["name"], w))
                for a in result["addons"] for w in a["workloads"] or [])


@pytest.mark.parametrize("check", [False, True], ids=["run", "check-mode"])
def test_renders_the_new_release_addons_and_writes_nothing(s3_world, moto, check):
    bucket, prefix = s3_world.state[len("s3://"):].split("/", 1)
    before = kops_world.s3_objects(moto.url, bucket, prefix)
    kubeconfig = s3_world.env["KUBECONFIG"]
    with open(kubeconfig, "rb") as handle:
        kubeconfig_before = handle.read()
    result = kops_module("kops_addon_templates", s3_world, check=check,
                         kops_binary=kops_world.kops_binary(NEWEST_TO[0])[0])
    assert not result.get("failed") and result["rendered"] is True, result.get("msg") or result.get("reason")
    assert result["changed"] is False and result["kops_version"] == NEWEST_TO[0].lstrip("v")
    found = workloads(result)
    addon, nth = found["Deployment/aws-node-termination-handler"]
    assert addon == "node-termination-handler.aws"
    assert nth["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v1.25.5")
    addon, operator = found["Deployment/cilium-operator"]
    assert addon == "networking.cilium.io"
    terms = operator["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert any(e["key"] == "node-role.kubernetes.io/control-plane" for t in terms for e in t["matchExpressions"])
    # Nothing written: the state store's objects, and the kubeconfig, are what they were.
    assert kops_world.s3_objects(moto.url, bucket, prefix) == before
    with open(kubeconfig, "rb") as handle:
        assert handle.read() == kubeconfig_before
    assert not [name for name in os.listdir(s3_world.workdir) if name.startswith("kops-render-")]


def test_a_file_store_renders_nothing_and_says_why(world):
    result = kops_module("kops_addon_templates", world)
    assert not result.get("failed"), result.get("msg")
    assert result["rendered"] is False and result["addons"] == []
    assert "only from an S3 or GCS state store, not file://" in result["reason"]
