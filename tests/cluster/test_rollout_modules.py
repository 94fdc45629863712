# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rollout_status and stale_replicasets against a real control plane: the real scheduler leaves the new NTH pod
Pending, the real deployment controller finishes the rollout once the stale ReplicaSet is gone."""

from __future__ import annotations

import json

from kubernetes import client

from testbed import workloads
from testbed.identities import run_playbook
from testbed.kube import (
    NTH,
    deploy_nth,
    failed_scheduling_events,
    replicaset_versions,
    rollout_complete,
    run_module,
    server_side_apply,
    wait_deployment,
    wait_unschedulable,
)


def stuck_nth(cluster, namespace, ports):
    """The incident: NTH v1.18.3 healthy, then kOps' channels applies v1.22.0."""
    deploy_nth(cluster.api, namespace, "v1.18.3", liveness_port=ports[0], metrics_port=ports[1])
    wait_deployment(cluster.api, namespace, NTH, rollout_complete)
    deploy_nth(cluster.api, namespace, "v1.22.0", liveness_port=ports[0], metrics_port=ports[1])
    pod = wait_unschedulable(cluster.api, namespace)[0]
    # The controller may not have recorded the new generation yet; until it has, "progressing" is the truth.
    wait_deployment(cluster.api, namespace, NTH,
                    lambda d: d.get("status", {}).get("observedGeneration") == d["metadata"]["generation"] == 2)
    return pod


def nth_status(cluster, namespace, kubeconfig=None):
    result = run_module("clusterops.kops_upgrade.rollout_status", {"name": NTH, "namespace": namespace},
                        kubeconfig or cluster.kubeconfig)
    assert result["failed"] is False, result.get("msg")
    return result


def test_prediction_on_the_healthy_old_version(cluster, namespace, host_ports):
    deploy_nth(cluster.api, namespace, "v1.18.3", liveness_port=host_ports[0], metrics_port=host_ports[1])
    wait_deployment(cluster.api, namespace, NTH, rollout_complete)
    result = nth_status(cluster, namespace)
    diagnosis = result["deployments"][0]
    assert diagnosis["verdict"] == "complete"
    assert diagnosis["prediction"]["deadlock"] is True
    assert diagnosis["prediction"]["eligible_node_names"] == ["control-plane-1"]
    assert diagnosis["prediction"]["host_ports"] == sorted(host_ports)
    assert result["predicted_deadlocks"] == ["%s/%s" % (namespace, NTH)]


def test_three_control_planes_predict_no_deadlock_and_the_rollout_completes(
        three_cp_cluster, three_cp_namespace, host_ports):
    api, namespace = three_cp_cluster.api, three_cp_namespace
    deploy_nth(api, namespace, "v1.18.3", replicas=2, liveness_port=host_ports[0], metrics_port=host_ports[1])
    wait_deployment(api, namespace, NTH, rollout_complete)
    result = nth_status(three_cp_cluster, namespace)
    assert result["deployments"][0]["prediction"]["deadlock"] is False
    assert result["deployments"][0]["prediction"]["eligible_nodes"] == 3
    deploy_nth(api, namespace, "v1.22.0", replicas=2, liveness_port=host_ports[0], metrics_port=host_ports[1])
    wait_deployment(api, namespace, NTH, lambda d: d["metadata"]["generation"] == 2 and rollout_complete(d))
    assert nth_status(three_cp_cluster, namespace)["deployments"][0]["verdict"] == "complete"


def test_detects_the_deadlock_from_the_scheduler_verdict(cluster, namespace, host_ports):
    pending = stuck_nth(cluster, namespace, host_ports)
    events = failed_scheduling_events(cluster.api, namespace, pending["metadata"]["name"])
    assert events, "the real scheduler recorded no FailedScheduling event"
    result = nth_status(cluster, namespace)
    diagnosis = result["deployments"][0]
    assert diagnosis["verdict"] == "stuck"
    assert diagnosis["stuck_since"]
    assert "host_ports" in [b["kind"] for b in diagnosis["blockers"]]
    assert result["stuck"] == ["%s/%s" % (namespace, NTH)]
    old_pods = [p for rs in diagnosis["old_replicasets"] for p in rs["pods"]]
    assert [(p["phase"], p["ready"], p["node"]) for p in old_pods] == [("Running", True, "control-plane-1")]
    new_pod = diagnosis["current_replicaset"]["pods"][0]
    assert new_pod["scheduler"]["reason"] == "Unschedulable"
    assert new_pod["scheduler"]["event"]["reason"] == "FailedScheduling"
    # Deployments, ReplicaSets, Pods, Nodes; and because a pod waits: Events, the cluster's pods, PDBs.
    assert result["api_requests"] == 7
    assert diagnosis["proof"]["scheduler_agrees"] is True, diagnosis["proof"]["comparison"]
    assert diagnosis["plan"]["act"] is True and diagnosis["plan"]["node"] == "control-plane-1"


def test_check_mode_changes_nothing(cluster, namespace, host_ports):
    stuck_nth(cluster, namespace, host_ports)
    # ReplicaSet UIDs and replica counts and pod UIDs (resourceVersions move with the controllers' status updates).
    before = workloads.footprint(cluster.api, namespace)
    for action, shown in (("delete", '+    "old_replicasets": []'), ("scale_down", '+            "replicas": 0')):
        result = run_module("clusterops.kops_upgrade.stale_replicasets",
                            {"name": NTH, "namespace": namespace, "action": action}, cluster.kubeconfig, check=True,
                            diff=True)
        assert result["changed"] is True, result
        assert len(result["removed"]) == 1 and len(result["steps"]) == 1
        assert result["steps"][0]["node"] == "control-plane-1"
        assert shown in result["printed_diff"], result["printed_diff"]
    assert workloads.footprint(cluster.api, namespace) == before
    assert nth_status(cluster, namespace)["deployments"][0]["verdict"] == "stuck"


def test_remediation_completes_the_rollout_and_is_idempotent(cluster, namespace, host_ports):
    stuck_nth(cluster, namespace, host_ports)
    before = nth_status(cluster, namespace)["deployments"][0]
    stale = before["old_replicasets"][0]["name"]
    result = run_module("clusterops.kops_upgrade.stale_replicasets",
                        {"name": NTH, "namespace": namespace, "wait": True, "wait_timeout": 120,
                         "action": "delete"}, cluster.kubeconfig)
    assert result["changed"] is True, (result.get("msg"), result.get("verdict"), result.get("reason"),
                                       result.get("conflicts"))
    assert [r["name"] for r in result["removed"]] == [stale]
    assert result["removed"][0]["action"] == "deleted"
    assert result["verdict"] == "stuck"
    assert result["rollout"]["complete"] is True
    assert stale not in replicaset_versions(cluster.api, namespace)
    after = nth_status(cluster, namespace)["deployments"][0]
    assert after["verdict"] == "complete"
    pod = after["current_replicaset"]["pods"][0]
    assert (pod["phase"], pod["ready"], pod["node"]) == ("Running", True, "control-plane-1")
    again = run_module("clusterops.kops_upgrade.stale_replicasets", {"name": NTH, "namespace": namespace},
                       cluster.kubeconfig)
    assert again["changed"] is False and again["removed"] == []


def test_scale_down_keeps_the_replicaset_as_history(cluster, namespace, host_ports):
    stuck_nth(cluster, namespace, host_ports)
    stale = nth_status(cluster, namespace)["deployments"][0]["old_replicasets"][0]["name"]
    result = run_module("clusterops.kops_upgrade.stale_replicasets",
                        {"name": NTH, "namespace": namespace, "wait": True}, cluster.kubeconfig)
    assert result["changed"] is True and result["rollout"]["complete"] is True, result.get("msg")
    # "scaled by the deployment controller": the freed node took the new pod at once and the controller lowered
    # the old ReplicaSet between the module's delete and its patch (a race of a fast cluster, test_never_worse).
    assert result["removed"][0]["action"] in ("scaled", "scaled by the deployment controller"), result["removed"]
    assert replicaset_versions(cluster.api, namespace)[stale][1] == 0  # kept, at 0: the rollback history


def test_a_replicaset_the_deployment_does_not_own_is_left_alone(cluster, namespace, host_ports):
    stuck_nth(cluster, namespace, host_ports)
    core, apps = client.CoreV1Api(cluster.api), client.AppsV1Api(cluster.api)
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "someone-else"}})
    deployment = apps.read_namespaced_deployment(NTH, namespace)
    template = cluster.api.sanitize_for_serialization(deployment.spec.template)
    template["metadata"]["labels"]["pod-template-hash"] = "stranger"
    selector = dict(deployment.spec.selector.match_labels, **{"pod-template-hash": "stranger"})
    apps.create_namespaced_replica_set(namespace, {
        "metadata": {"name": "nth-lookalike", "labels": template["metadata"]["labels"],
                     "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "someone-else",
                                          "uid": owner.metadata.uid, "controller": True}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": selector}, "template": template}})
    result = run_module("clusterops.kops_upgrade.stale_replicasets", {"name": NTH, "namespace": namespace},
                        cluster.kubeconfig)
    assert "nth-lookalike" not in [r["name"] for r in result["removed"]]
    assert "nth-lookalike" in replicaset_versions(cluster.api, namespace)


def test_a_healthy_rollout_is_never_touched(cluster, namespace, host_ports):
    deploy_nth(cluster.api, namespace, "v1.18.3", liveness_port=host_ports[0], metrics_port=host_ports[1])
    wait_deployment(cluster.api, namespace, NTH, rollout_complete)
    before = {name: version[1] for name, version in replicaset_versions(cluster.api, namespace).items()}
    result = run_module("clusterops.kops_upgrade.stale_replicasets", {"name": NTH, "namespace": namespace},
                        cluster.kubeconfig)
    assert result["changed"] is False and result["verdict"] == "complete"
    after = {name: version[1] for name, version in replicaset_versions(cluster.api, namespace).items()}
    assert after == before


def test_limited_identity_gets_a_403_that_names_verb_and_resource(cluster, namespace, host_ports):
    stuck_nth(cluster, namespace, host_ports)
    status = nth_status(cluster, namespace, kubeconfig=cluster.limited_kubeconfig)
    assert status["deployments"][0]["verdict"] == "stuck"
    before = workloads.footprint(cluster.api, namespace)
    result = run_module("clusterops.kops_upgrade.stale_replicasets", {"name": NTH, "namespace": namespace},
                        cluster.limited_kubeconfig)
    assert result.get("failed") is True
    # The ReplicaSet's preconditions are checked (a dry-run patch) before any pod is deleted.
    assert result["msg"].startswith("403 Forbidden: not allowed to patch replicasets"), result["msg"]
    assert workloads.footprint(cluster.api, namespace) == before
    assert "Traceback" not in result.get("module_stderr", "") + result["msg"]


def test_prevention_survives_kops_reapplying_its_manifest(cluster, namespace, host_ports):
    """The remediate role's prevention: strategy set by another field manager; kOps' channels re-applies the addon
    (field manager kops, force) with a new image; the strategy stays ours and the rollout completes by itself."""
    deploy_nth(cluster.api, namespace, "v1.18.3", liveness_port=host_ports[0], metrics_port=host_ports[1])
    wait_deployment(cluster.api, namespace, NTH, rollout_complete)
    server_side_apply(cluster.api, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": NTH, "namespace": namespace},
        "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}}},
        field_manager="clusterops-kops-upgrade", force=False)
    status = nth_status(cluster, namespace)["deployments"][0]
    assert status["prediction"]["deadlock"] is False
    deploy_nth(cluster.api, namespace, "v1.22.0", liveness_port=host_ports[0], metrics_port=host_ports[1])
    dep = wait_deployment(cluster.api, namespace, NTH,
                          lambda d: d["metadata"]["generation"] >= 3 and rollout_complete(d), timeout=60)[0]
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v1.22.0")


def test_constant_number_of_api_requests(cluster, namespace):
    apps = client.AppsV1Api(cluster.api)
    for index in range(25):
        labels = {"app": "app-%d" % index}
        apps.create_namespaced_deployment(namespace, {
            "metadata": {"name": "app-%d" % index, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "registry.invalid/app:1"}]}}}})
    result = run_module("clusterops.kops_upgrade.rollout_status", {"namespace": namespace}, cluster.kubeconfig)
    assert len(result["deployments"]) == 25
    assert result["api_requests"] <= 7


def test_bad_input_gives_one_clear_message(cluster, namespace, tmp_path):
    cases = [
        ({"name": NTH, "namespace": namespace, "kubeconfig": str(tmp_path / "missing")}, None, "kubeconfig file"),
        ({"name": NTH, "namespace": namespace, "context": "nope"}, cluster.kubeconfig, "context 'nope' not found"),
        ({"name": NTH, "namespace": namespace, "host": "https://127.0.0.1:1", "api_key": "x",
          "validate_certs": False}, None,
         "cannot reach the Kubernetes API to list deployments"),
        ({"namespace": namespace, "name": "does-not-exist"}, cluster.kubeconfig, "not found in namespace"),
        ({"name": NTH, "namespace": namespace, "action": "explode"}, cluster.kubeconfig,
         "value of action must be one of"),
        ({"name": "", "namespace": namespace}, cluster.kubeconfig, "name must be a non-empty name"),
        ({"name": None, "namespace": namespace}, cluster.kubeconfig, "name is required"),
        ({"namespace": namespace}, cluster.kubeconfig, "name is required"),
        ({"name": "Not_A_Name", "namespace": namespace}, cluster.kubeconfig, "DNS-1123 subdomain"),
        ({"name": NTH, "namespace": ""}, cluster.kubeconfig, "namespace must be a non-empty name"),
        ({"name": NTH, "all_stuck": True, "namespace": namespace}, cluster.kubeconfig, "mutually exclusive"),
    ]
    for args, kubeconfig, expected in cases:
        result = run_module("clusterops.kops_upgrade.stale_replicasets", args, kubeconfig)
        assert result.get("failed") is True, args
        assert expected in result["msg"], (args, result["msg"])
        assert "Traceback" not in result["msg"] and "module_stderr" not in result, result


REMEDIATE_TWICE = """
- name: The remediate role twice in one play, as the upgrade runs it (after the update, then in its rescue)
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/clusterops.kops_upgrade.k8s:
      kubeconfig: "{{ kubeconfig }}"
  tasks:
    - name: First run, on the stuck rollout
      ansible.builtin.include_role:
        name: clusterops.kops_upgrade.remediate
      vars: {remediate_namespace: "{{ namespace }}", remediate_deployments: [NTH_NAME], remediate_wait: true}
    - name: Second run, nothing stuck any more
      ansible.builtin.include_role:
        name: clusterops.kops_upgrade.remediate
      vars: {remediate_namespace: "{{ namespace }}", remediate_deployments: [NTH_NAME], remediate_wait: true}
    - name: The report of both
      ansible.builtin.copy:
        content: "{{ remediate_report | to_json }}"
        dest: "{{ report_file }}"
        mode: "0600"
""".replace("NTH_NAME", NTH)


def test_the_remediate_role_run_twice_keeps_both_runs_in_its_report(cluster, namespace, host_ports, tmp_path):
    stuck_nth(cluster, namespace, host_ports)
    report_file = tmp_path / "report.json"
    ok, output = run_playbook(REMEDIATE_TWICE, {"kubeconfig": cluster.kubeconfig, "namespace": namespace,
                                                "report_file": str(report_file)}, str(tmp_path))
    assert ok, output[-4000:]
    report = json.loads(report_file.read_text())
    # The second run found nothing stuck; the report still says what the first one did.
    assert report["stuck"] == [NTH], report
    assert len(report["pods_removed"]) == 1 and report["pods_removed"][0].startswith(NTH + "-"), report
    assert list(report["rollout_seconds"]) == [NTH], report
    assert nth_status(cluster, namespace)["deployments"][0]["verdict"] == "complete"
