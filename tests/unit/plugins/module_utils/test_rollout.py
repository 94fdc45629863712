# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the pure rollout diagnosis and the stale ReplicaSet plan."""

from __future__ import annotations

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout import (
    diagnose_rollout,
    plan_stale_replicaset_removal,
    split_replicasets,
)

from .api_objects import (
    deployment,
    failed_scheduling_event,
    node,
    nth_pod_template,
    replicaset,
    running_pod,
    scheduled_not_ready_pod,
    unschedulable_pod,
)

PORTS_ONE_CP = (
    "0/3 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, "
    "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: "
    "1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
)
PORTS_TWO_CP = (
    "0/4 nodes are available: 2 node(s) didn't have free ports for the requested pod ports, "
    "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/4 nodes are available: "
    "2 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
)


def nth_stuck(control_planes=1, workers=2):
    """The kOps NTH incident: old ReplicaSet's pods Running on every control-plane node, new pod Pending."""
    nodes = [node("cp-%d" % i, control_plane=True) for i in range(control_planes)]
    nodes += [node("worker-%d" % i) for i in range(workers)]
    replicas = 1 if control_planes == 1 else 2
    dep = deployment(replicas=replicas, status={"replicas": replicas + 1, "updatedReplicas": 1,
                                                "readyReplicas": replicas, "availableReplicas": replicas,
                                                "unavailableReplicas": 1})
    old = replicaset(dep, 1, "577f866468", replicas)
    new = replicaset(dep, 2, "6b7f9c8d5", 1, ready=0, available=0)
    pods = [running_pod(old, "abc%d" % i, "cp-%d" % i) for i in range(control_planes)]
    message = PORTS_ONE_CP if control_planes == 1 else PORTS_TWO_CP
    pending = unschedulable_pod(new, "mmlx7", message)
    pods.append(pending)
    events = [failed_scheduling_event(pending, message, count=12)]
    return dep, [old, new], pods, events, nodes


def test_nth_deadlock_on_one_control_plane_node_is_stuck_with_host_ports():
    dep, rss, pods, events, nodes = nth_stuck(1)
    result = diagnose_rollout(dep, rss, pods, events, nodes)
    assert result["verdict"] == "stuck"
    assert result["stuck_since"] == "2026-11-28T08:00:00Z"
    assert result["current_replicaset"]["name"] == "aws-node-termination-handler-6b7f9c8d5"
    assert [rs["name"] for rs in result["old_replicasets"]] == ["aws-node-termination-handler-577f866468"]
    kinds = {b["kind"]: b["nodes"] for b in result["blockers"]}
    assert kinds == {"host_ports": 1, "node_affinity": 2}
    pending = result["current_replicaset"]["pods"][0]
    assert pending["scheduler"]["reason"] == "Unschedulable"
    assert pending["scheduler"]["event"]["count"] == 12
    assert pending["nodes_available"] == 0 and pending["nodes_total"] == 3
    assert result["prediction"]["deadlock"] is True
    assert result["prediction"]["eligible_node_names"] == ["cp-0"]
    assert "aws-node-termination-handler-577f866468" in result["remedy"]


def test_nth_deadlock_with_two_control_plane_nodes_is_stuck():
    dep, rss, pods, events, nodes = nth_stuck(2)
    result = diagnose_rollout(dep, rss, pods, events, nodes)
    assert result["verdict"] == "stuck"
    assert result["strategy"] == {"type": "RollingUpdate", "max_surge": 1, "max_unavailable": 0, "replicas": 2}
    assert result["prediction"]["deadlock"] is True
    assert result["prediction"]["eligible_nodes"] == 2


def test_stuck_wins_over_progress_deadline_exceeded():
    dep, rss, pods, events, nodes = nth_stuck(1)
    dep["status"]["conditions"] = [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]
    assert diagnose_rollout(dep, rss, pods, events, nodes)["verdict"] == "stuck"


def test_deadline_exceeded_without_scheduler_verdict():
    dep, rss, pods, events, nodes = nth_stuck(1)
    new = rss[1]
    pods = [p for p in pods if "mmlx7" not in p["metadata"]["name"]] + [scheduled_not_ready_pod(new, "q", "cp-0")]
    dep["status"]["conditions"] = [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]
    result = diagnose_rollout(dep, rss, pods, [], nodes)
    assert result["verdict"] == "deadline_exceeded"
    assert result["blockers"] == []


def test_merely_slow_rollout_is_progressing():
    dep, rss, pods, events, nodes = nth_stuck(1)
    new = rss[1]
    pods = [p for p in pods if "mmlx7" not in p["metadata"]["name"]]
    pods.append(scheduled_not_ready_pod(new, "slow1", "worker-0"))
    result = diagnose_rollout(dep, rss, pods, [], nodes)
    assert result["verdict"] == "progressing"
    assert result["stuck_since"] is None
    assert plan_stale_replicaset_removal(result)["act"] is False


def test_paused_deployment_is_paused_and_left_alone():
    dep, rss, pods, events, nodes = nth_stuck(1)
    dep["spec"]["paused"] = True
    result = diagnose_rollout(dep, rss, pods, events, nodes)
    assert result["verdict"] == "paused"
    assert "rollout resume" in result["remedy"]
    assert plan_stale_replicaset_removal(result)["act"] is False


def test_complete_rollout():
    nodes = [node("cp-0", control_plane=True), node("cp-1", control_plane=True), node("cp-2", control_plane=True)]
    dep = deployment(replicas=2, status={"replicas": 2, "updatedReplicas": 2, "readyReplicas": 2,
                                         "availableReplicas": 2})
    old = replicaset(dep, 1, "577f866468", 0)
    new = replicaset(dep, 2, "6b7f9c8d5", 2)
    pods = [running_pod(new, "a", "cp-0"), running_pod(new, "b", "cp-1")]
    result = diagnose_rollout(dep, [old, new], pods, [], nodes)
    assert result["verdict"] == "complete"
    assert result["prediction"]["deadlock"] is False
    plan = plan_stale_replicaset_removal(result, force=True)
    assert plan["act"] is False and plan["targets"] == []


def test_unowned_replicaset_with_matching_labels_is_never_old_or_a_target():
    dep, rss, pods, events, nodes = nth_stuck(1)
    stranger = replicaset(dep, 1, "0000000000", 1, owned=False)
    stranger["metadata"]["uid"] = "uid-stranger"
    other_owner = replicaset(dep, 1, "1111111111", 1)
    other_owner["metadata"]["ownerReferences"][0]["uid"] = "uid-of-another-deployment"
    current, old = split_replicasets(dep, rss + [stranger, other_owner])
    assert current["metadata"]["name"].endswith("6b7f9c8d5")
    assert [rs["metadata"]["name"] for rs in old] == ["aws-node-termination-handler-577f866468"]
    result = diagnose_rollout(dep, rss + [stranger, other_owner], pods, events, nodes)
    plan = plan_stale_replicaset_removal(result)
    assert [rs["name"] for rs in plan["targets"]] == ["aws-node-termination-handler-577f866468"]


def test_plan_never_targets_current_or_empty_history():
    dep, rss, pods, events, nodes = nth_stuck(1)
    history = replicaset(dep, 0, "0aaaaaaaaa", 0)
    result = diagnose_rollout(dep, rss + [history], pods, events, nodes)
    plan = plan_stale_replicaset_removal(result)
    assert plan["act"] is True
    names = [rs["name"] for rs in plan["targets"]]
    assert names == ["aws-node-termination-handler-577f866468"]
    assert result["current_replicaset"]["name"] not in names


def test_max_surge_zero_rollout_is_not_stuck_and_not_predicted_to_deadlock():
    dep, rss, pods, events, nodes = nth_stuck(1)
    dep["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    result = diagnose_rollout(dep, rss, pods, events, nodes)
    # The controller may remove the old pod first, so the pending pod is only waiting for it.
    assert result["verdict"] == "progressing"
    assert result["prediction"]["deadlock"] is False
    assert result["strategy"]["max_unavailable"] == 1


def anti_affinity_template():
    template = nth_pod_template(host_network=False)
    template["spec"]["topologySpreadConstraints"] = []
    template["spec"]["affinity"]["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname",
         "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "aws-node-termination-handler"}}}]}
    return template


def test_required_anti_affinity_stuck_on_too_few_nodes():
    nodes = [node("cp-0", control_plane=True), node("cp-1", control_plane=True), node("worker-0")]
    dep = deployment(replicas=2, template=anti_affinity_template(),
                     status={"replicas": 3, "updatedReplicas": 1, "availableReplicas": 2, "readyReplicas": 2})
    old = replicaset(dep, 1, "5555555555", 2)
    new = replicaset(dep, 2, "6666666666", 1, ready=0, available=0)
    message = ("0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) didn't "
               "match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 Preemption is not helpful "
               "for scheduling.")
    pending = unschedulable_pod(new, "p", message)
    pods = [running_pod(old, "a", "cp-0"), running_pod(old, "b", "cp-1"), pending]
    result = diagnose_rollout(dep, [old, new], pods, [failed_scheduling_event(pending, message)], nodes)
    assert result["verdict"] == "stuck"
    assert {"kind": "pod_affinity", "nodes": 2, "reason": "node(s) didn't match pod anti-affinity rules"} in \
        result["blockers"]
    assert result["prediction"]["deadlock"] is True
    assert result["prediction"]["host_ports"] == []
    assert any("anti-affinity" in x for x in result["prediction"]["exclusive_by"])


def resources_case(old_pod_node):
    nodes = [node("worker-0"), node("worker-1")]
    template = nth_pod_template(host_network=False)
    template["spec"]["affinity"] = {}
    template["spec"]["topologySpreadConstraints"] = []
    dep = deployment(name="api", replicas=1, template=template,
                     strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                     status={"replicas": 2, "updatedReplicas": 1, "availableReplicas": 1, "readyReplicas": 1})
    old = replicaset(dep, 1, "7777777777", 1)
    new = replicaset(dep, 2, "8888888888", 1, ready=0, available=0)
    message = "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption " \
              "victims found for incoming pod."
    pending = unschedulable_pod(new, "r", message)
    pods = [running_pod(old, "a", old_pod_node), pending] if old_pod_node else [pending]
    if not old_pod_node:
        old["spec"]["replicas"] = 0
        old["status"].update(replicas=0, readyReplicas=0, availableReplicas=0)
    return diagnose_rollout(dep, [old, new], pods, [failed_scheduling_event(pending, message)], nodes)


def test_pod_pending_for_resources_held_by_old_pod_is_stuck():
    result = resources_case("worker-0")
    assert result["verdict"] == "stuck"
    assert result["blockers"] == [{"kind": "resources", "nodes": 2, "reason": "Insufficient cpu"}]
    assert result["prediction"]["deadlock"] is False  # resources are not part of the prediction


def test_pod_pending_for_resources_without_old_pods_is_not_remediable():
    result = resources_case(None)
    assert result["verdict"] == "progressing"
    assert "removing old pods would not make room" in result["remedy"]
    assert plan_stale_replicaset_removal(result)["act"] is False
    assert plan_stale_replicaset_removal(result, force=True)["act"] is False  # no old pods: nothing to remove


def test_new_generation_not_yet_observed_is_not_stuck():
    dep, rss, pods, events, nodes = nth_stuck(1)
    dep["metadata"]["generation"] = 3
    assert diagnose_rollout(dep, rss, pods, events, nodes)["verdict"] == "progressing"


def test_force_removes_old_replicasets_of_a_progressing_rollout():
    dep, rss, pods, events, nodes = nth_stuck(1)
    dep["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    result = diagnose_rollout(dep, rss, pods, events, nodes)
    assert plan_stale_replicaset_removal(result)["act"] is False
    plan = plan_stale_replicaset_removal(result, force=True)
    assert plan["act"] is True and "forced" in plan["reason"]


def test_three_control_plane_nodes_predict_no_deadlock():
    nodes = [node("cp-%d" % i, control_plane=True) for i in range(3)]
    dep = deployment(replicas=2, status={"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2})
    result = diagnose_rollout(dep, [], [], [], nodes)
    assert result["prediction"]["deadlock"] is False
    assert result["prediction"]["eligible_nodes"] == 3
