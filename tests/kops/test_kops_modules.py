# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kops modules driving the real kops binary: offline state store, moto as AWS, a real local API."""

from __future__ import annotations

import json

import kopsenv
import nthrepro
from conftest import kops_module


def kubernetes_version(world):
    return json.loads(world.run("get", "cluster", "--name", kopsenv.CLUSTER, "-o", "json").stdout)["spec"][
        "kubernetesVersion"]


def test_upgrade_check_mode_plans_and_changes_nothing(kops_world):
    result = kops_module("kops_upgrade", kops_world, check=True, diff=True)
    assert result["failed"] is False, result.get("msg")
    assert result["changed"] is True
    assert result["changes"] == [
        {"item": "Cluster", "property": "KubernetesVersion", "old": "1.29.3", "new": "1.29.9"}]
    assert "KubernetesVersion: 1.29.9" in result["printed_diff"]
    assert kubernetes_version(kops_world) == "1.29.3"


def test_upgrade_applies_then_reports_nothing_to_do(kops_world):
    first = kops_module("kops_upgrade", kops_world)
    assert first["changed"] is True, first.get("msg")
    assert kubernetes_version(kops_world) == "1.29.9"
    second = kops_module("kops_upgrade", kops_world)
    assert second["failed"] is False and second["changed"] is False and second["changes"] == []


def test_upgrade_to_an_explicit_version(kops_world):
    result = kops_module("kops_upgrade", kops_world, kubernetes_version="1.29.5")
    assert result["changes"][0]["new"] == "1.29.5"
    assert kubernetes_version(kops_world) == "1.29.5"


def test_update_preview_failure_is_one_clear_message(kops_world):
    # Offline, kops cannot hash the containerd release it would install (it downloads the hash from GitHub):
    # the module must say so in one message, not crash.
    result = kops_module("kops_update", kops_world, check=True)
    assert result["failed"] is True
    assert result["msg"].startswith("kops update cluster (preview) failed (rc 1)")
    assert "cannot determine hash" in result["msg"]


def test_update_instance_group_filters_need_kops_1_31(kops_world):
    result = kops_module("kops_update", kops_world, check=True, instance_groups=["nodes-eu-west-1a"])
    assert result["failed"] is True
    assert "need kops >= 1.31" in result["msg"]


def test_rolling_update_preview_against_moto_and_a_real_api(kops_world, kops_api_cluster):
    result = kops_module("kops_rolling_update", kops_world, check=True, kubeconfig=kops_api_cluster["kubeconfig"])
    assert result["failed"] is False, result.get("msg")
    assert result["changed"] is False and result["groups"] == []
    assert "No rolling-update required." in result["stdout"]


def test_validate_names_the_deployment_behind_a_pending_critical_pod(kops_world, kops_api_cluster):
    api = kops_api_cluster["api"]
    nthrepro.deploy_nth(api, "kube-system", "v1.18.3")
    nthrepro.wait_deployment(api, "kube-system", nthrepro.NTH, nthrepro.rollout_complete)
    nthrepro.deploy_nth(api, "kube-system", "v1.22.0")
    pending = nthrepro.wait_unschedulable(api, "kube-system")[0]
    result = kops_module("kops_validate", kops_world, kubeconfig=kops_api_cluster["kubeconfig"], timeout=0,
                         fail_on_invalid=False)
    assert result["failed"] is False, result.get("msg")
    assert result["valid"] is False
    pods = [f for f in result["failures"] if f["kind"] == "pod_pending"]
    assert [(f["namespace"], f["pod"], f["deployment"]) for f in pods] == [
        ("kube-system", pending["metadata"]["name"], nthrepro.NTH)]
    assert pods[0]["replicaset"] == pending["metadata"]["ownerReferences"][0]["name"]
    assert {f["kind"] for f in result["failures"]} == {"pod_pending", "instancegroup"}
    assert len(result["attempts"]) == 1 and result["attempts"][0]["rc"] == 1


def test_validate_retries_then_fails_with_the_failures(kops_world, kops_api_cluster):
    result = kops_module("kops_validate", kops_world, kubeconfig=kops_api_cluster["kubeconfig"], timeout=3,
                         interval=1)
    assert result["failed"] is True
    assert len(result["attempts"]) >= 2
    assert result["msg"].startswith("cluster %s did not validate after" % kopsenv.CLUSTER)
    assert "is missing from the cloud provider" in result["msg"]


def test_missing_kops_and_missing_state_store(kops_world):
    result = kops_module("kops_validate", kops_world, kops_binary="/nonexistent/kops")
    assert result["failed"] is True and result["msg"].startswith("kops not found")
    result = kops_module("kops_upgrade", kops_world, state_store=None)
    assert result["failed"] is True and result["msg"].startswith("no kops state store")


def test_credentials_are_not_logged(kops_world):
    world = kops_world
    world.env["AWS_SECRET_ACCESS_KEY"] = "s3cr3t-value-that-must-not-leak"
    result = kops_module("kops_upgrade", world, check=True)
    assert "s3cr3t-value-that-must-not-leak" not in json.dumps(result)
