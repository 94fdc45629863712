# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kops modules driving the real kops binary: offline state store, moto as AWS, a real local API."""

from __future__ import annotations

import json

from testbed import kops_world, kube
from testbed.kops_world import kops_module


def kubernetes_version(world):
    return json.loads(world.run("get", "cluster", "--name", kops_world.CLUSTER, "-o", "json").stdout)["spec"][
        "kubernetesVersion"]


def test_upgrade_check_mode_plans_and_changes_nothing(world):
    result = kops_module("kops_upgrade", world, check=True, diff=True)
    assert result["failed"] is False, result.get("msg")
    assert result["changed"] is True
    assert result["changes"] == [
        {"item": "Cluster", "property": "KubernetesVersion", "old": "1.29.3", "new": "1.29.9"}]
    assert "KubernetesVersion: 1.29.9" in result["printed_diff"]
    assert kubernetes_version(world) == "1.29.3"


def test_upgrade_applies_then_reports_nothing_to_do(world):
    first = kops_module("kops_upgrade", world)
    assert first["changed"] is True, first.get("msg")
    assert kubernetes_version(world) == "1.29.9"
    second = kops_module("kops_upgrade", world)
    assert second["failed"] is False and second["changed"] is False and second["changes"] == []


def test_upgrade_to_an_explicit_version(world):
    result = kops_module("kops_upgrade", world, kubernetes_version="1.29.5")
    assert result["changes"][0]["new"] == "1.29.5"
    assert kubernetes_version(world) == "1.29.5"


def instances(world):
    """Instance id -> Auto Scaling group, as kops sees them in moto."""
    listed = json.loads(world.run("get", "instances", "--name", kops_world.CLUSTER, "-o", "json").stdout or "[]")
    return {entry["id"]: entry["instanceGroup"] for entry in listed}


def test_update_check_mode_previews_and_creates_nothing(world):
    result = kops_module("kops_update", world, check=True)
    assert result["failed"] is False, result.get("msg")
    assert result["changed"] is True
    assert "Must specify --yes to apply changes" in result["preview"]
    assert "LaunchTemplate/nodes-eu-west-1a.%s" % kops_world.CLUSTER in result["preview"]
    assert instances(world) == {}


def test_update_applies_to_moto_and_writes_the_admin_kubeconfig(world, tmp_path):
    kubeconfig = tmp_path / "admin.kubeconfig"
    result = kops_module("kops_update", world, admin="1h", kubeconfig=str(kubeconfig))
    assert result["failed"] is False, result.get("msg")
    assert result["changed"] is True
    assert "Cluster is starting" in result["stdout"]
    groups = sorted(instances(world).values())
    assert groups == ["control-plane-eu-west-1a.masters.%s" % kops_world.CLUSTER] + [
        "nodes-eu-west-1a.%s" % kops_world.CLUSTER] * 2
    # --admin exports an admin kubeconfig to the kubeconfig the module was given (KUBECONFIG for kops).
    assert "current-context: %s" % kops_world.CLUSTER in kubeconfig.read_text()


def test_update_after_an_upgrade_needs_a_rolling_update(world):
    assert kops_module("kops_update", world)["changed"] is True
    assert kops_module("kops_upgrade", world)["changed"] is True
    result = kops_module("kops_update", world)
    assert result["failed"] is False, result.get("msg")
    assert result["changed"] is True and result["needs_rolling_update"] is True


def test_update_of_an_unknown_cluster_is_one_clear_message(world):
    result = kops_module("kops_update", world, cluster_name="absent.k8s.local", check=True)
    assert result["failed"] is True
    assert result["msg"].startswith("kops update cluster (preview) failed (rc 1)")
    assert "absent.k8s.local" in result["msg"] and "Traceback" not in result["msg"]


def test_rolling_update_cloudonly_replaces_every_instance(world):
    assert kops_module("kops_update", world)["changed"] is True
    before = instances(world)
    args = dict(cloudonly=True, force=True, control_plane_interval="1s", node_interval="1s")
    planned = kops_module("kops_rolling_update", world, check=True, **args)
    assert planned["failed"] is False, planned.get("msg")
    assert planned["changed"] is True
    assert [(row["name"], row["target"]) for row in planned["plan"]] == [
        ("control-plane-eu-west-1a", 1), ("nodes-eu-west-1a", 2)]
    assert [g["name"] for g in planned["groups"]] == ["control-plane-eu-west-1a", "nodes-eu-west-1a"]
    assert instances(world) == before

    rolled = kops_module("kops_rolling_update", world, **args)
    assert rolled["failed"] is False, rolled.get("msg")
    assert rolled["changed"] is True
    assert [g["name"] for g in rolled["groups"]] == ["control-plane-eu-west-1a", "nodes-eu-west-1a"]
    stopped = [i for g in rolled["groups"] for i in g["instances"]]
    assert sorted(stopped) == sorted(before)
    for group in rolled["groups"]:
        assert all(before[i].startswith(group["name"] + ".") for i in group["instances"])
        assert group["seconds"] >= len(group["instances"]) * 0.9  # 1s interval after each instance
    after = instances(world)
    assert len(after) == 3 and not set(after) & set(before)


def test_rolling_update_without_force_on_moto_has_nothing_to_do(world):
    # moto reports every instance on its group's current launch template, so kops never sees NeedsUpdate.
    assert kops_module("kops_update", world)["changed"] is True
    result = kops_module("kops_rolling_update", world, cloudonly=True)
    assert result["failed"] is False, result.get("msg")
    assert result["changed"] is False and result["groups"] == []
    assert [row["needupdate"] for row in result["plan"]] == [0, 0]


def test_update_instance_group_filters_need_kops_1_31(world):
    result = kops_module("kops_update", world, check=True, instance_groups=["nodes-eu-west-1a"])
    assert result["failed"] is True
    assert "need kops >= 1.31" in result["msg"]


def test_rolling_update_preview_against_moto_and_a_real_api(world, kops_api_cluster):
    result = kops_module("kops_rolling_update", world, check=True, kubeconfig=kops_api_cluster["kubeconfig"])
    assert result["failed"] is False, result.get("msg")
    assert result["changed"] is False and result["groups"] == []
    assert "No rolling-update required." in result["stdout"]


def test_validate_names_the_deployment_behind_a_pending_critical_pod(world, kops_api_cluster):
    api = kops_api_cluster["api"]
    kube.deploy_nth(api, "kube-system", "v1.18.3")
    kube.wait_deployment(api, "kube-system", kube.NTH, kube.rollout_complete)
    kube.deploy_nth(api, "kube-system", "v1.22.0")
    pending = kube.wait_unschedulable(api, "kube-system")[0]
    result = kops_module("kops_validate", world, kubeconfig=kops_api_cluster["kubeconfig"], timeout=0,
                         fail_on_invalid=False)
    assert result["failed"] is False, result.get("msg")
    assert result["valid"] is False
    pods = [f for f in result["failures"] if f["kind"] == "pod_pending"]
    assert [(f["namespace"], f["pod"], f["deployment"]) for f in pods] == [
        ("kube-system", pending["metadata"]["name"], kube.NTH)]
    assert pods[0]["replicaset"] == pending["metadata"]["ownerReferences"][0]["name"]
    assert {f["kind"] for f in result["failures"]} == {"pod_pending", "instancegroup"}
    assert len(result["attempts"]) == 1 and result["attempts"][0]["rc"] == 1


def test_validate_retries_then_fails_with_the_failures(world, kops_api_cluster):
    result = kops_module("kops_validate", world, kubeconfig=kops_api_cluster["kubeconfig"], timeout=3,
                         interval=1)
    assert result["failed"] is True
    assert len(result["attempts"]) >= 2
    assert result["msg"].startswith("cluster %s did not validate after" % kops_world.CLUSTER)
    assert "is missing from the cloud provider" in result["msg"]


def test_missing_kops_and_missing_state_store(world):
    result = kops_module("kops_validate", world, kops_binary="/nonexistent/kops")
    assert result["failed"] is True and result["msg"].startswith("kops not found")
    result = kops_module("kops_upgrade", world, state_store=None)
    assert result["failed"] is True and result["msg"].startswith("no kops state store")


def stuck_nth(api):
    """aws-node-termination-handler in kube-system as kOps 1.29 ships it, then 1.30's image: the surge pod stays
    Pending on the single control-plane node. Returns the pending pod. Re-applying the old image first makes this
    work whatever an earlier test left."""
    kube.deploy_nth(api, "kube-system", "v1.18.3")
    kube.wait_deployment(api, "kube-system", kube.NTH, kube.rollout_complete)
    kube.deploy_nth(api, "kube-system", "v1.22.0")
    return kube.wait_unschedulable(api, "kube-system")[0]


def test_rolling_update_stops_at_the_stuck_nth_as_in_kops_16870(world, kops_api_cluster):
    """kubernetes/kops#16870 with the real kops: the rolling update validates before the control-plane group,
    a system-cluster-critical NTH pod is pending, and kops gives up at the validation timeout."""
    pending = stuck_nth(kops_api_cluster["api"])
    assert kops_module("kops_update", world)["changed"] is True
    before = instances(world)
    result = kops_module("kops_rolling_update", world, kubeconfig=kops_api_cluster["kubeconfig"], force=True,
                         validation_timeout="5s", control_plane_interval="1s", node_interval="1s")
    assert result["failed"] is True
    assert result["msg"].startswith("kops rolling-update cluster failed (rc 1): Error: control-plane node not healthy")
    assert 'cluster did not validate within a duration of \\"5s\\"' in result["msg"]
    assert result["validation_timed_out"] is True
    pods = [f for f in result["validation_failures"] if f["kind"] == "pod_pending"]
    assert [(f["pod"], f["deployment"], f["priority"]) for f in pods] == [
        (pending["metadata"]["name"], kube.NTH, "system-cluster-critical")]
    assert pods[0]["replicaset"] == pending["metadata"]["ownerReferences"][0]["name"]
    assert pending["metadata"]["name"] in result["msg"]
    # Nothing was rolled: kops validates before it touches the first (control-plane) group.
    assert instances(world) == before
    assert all(group["instances"] == [] for group in result["groups"])
