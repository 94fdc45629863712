# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a step removes its pods: lowering the ReplicaSet first (no old-template replacement) only where no
PodDisruptionBudget promises a healthy pod and the ReplicaSet controller's choice of pods is certain; evicting
first everywhere else (rollout.removal_by_scale_down)."""

from __future__ import annotations

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout import (
    DELETION_COST,
    LOWEST_DELETION_COST,
    diagnose_rollout,
    removal_by_scale_down,
)

from testbed.api_objects import deployment, node, replicaset, running_pod, scheduled_not_ready_pod, unschedulable_pod


def old_replicaset_of(replicas):
    return replicaset(deployment(replicas=replicas), 1, "577f866468", replicas)


def step_of(rs, removed):
    return {"name": rs["metadata"]["name"], "uid": rs["metadata"]["uid"], "replicas_before": rs["spec"]["replicas"],
            "replicas_after": rs["spec"]["replicas"] - removed}


def target(pod):
    return {"name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}


def budget(desired_healthy, name="nth"):
    return {"metadata": {"name": name, "namespace": "kube-system", "generation": 1},
            "spec": {"maxUnavailable": 1},
            "status": {"desiredHealthy": desired_healthy, "disruptionsAllowed": 1, "observedGeneration": 1}}


def by_uid(*pods):
    return dict((p["metadata"]["uid"], p) for p in pods)


def test_the_only_pod_of_a_replicaset_lowered_to_zero_goes_by_scale_down_without_a_mark():
    rs = old_replicaset_of(1)
    pod = running_pod(rs, "a", "cp-0")
    how, why, marked = removal_by_scale_down([step_of(rs, 1)], by_uid(pod), [target(pod)], [budget(0)])
    assert (how, marked) == ("scale-down", []), why


def test_a_budget_that_promises_a_healthy_pod_keeps_the_eviction():
    rs = old_replicaset_of(1)
    pod = running_pod(rs, "a", "cp-0")
    how, why = removal_by_scale_down([step_of(rs, 1)], by_uid(pod), [target(pod)], [budget(1, name="web")])[:2]
    assert how == "eviction"
    assert "PodDisruptionBudget web promises 1 healthy pod(s)" in why


def test_a_budget_not_yet_counted_by_the_disruption_controller_keeps_the_eviction():
    rs = old_replicaset_of(1)
    pod = running_pod(rs, "a", "cp-0")
    unknown = budget(0)
    del unknown["status"]["desiredHealthy"]
    assert removal_by_scale_down([step_of(rs, 1)], by_uid(pod), [target(pod)], [unknown])[0] == "eviction"


def test_one_of_two_ready_pods_is_marked_with_the_lowest_cost():
    rs = old_replicaset_of(2)
    gone, stays = running_pod(rs, "a", "node-1"), running_pod(rs, "b", "node-2")
    how, why, marked = removal_by_scale_down([step_of(rs, 1)], by_uid(gone, stays), [target(gone)], [])
    assert (how, marked) == ("scale-down", [gone["metadata"]["name"]]), why


def test_another_pod_the_controller_ranks_first_keeps_the_eviction():
    # A not-ready (or pending, or unassigned) pod of the same ReplicaSet is deleted first whatever the cost says.
    rs = old_replicaset_of(2)
    gone, first = running_pod(rs, "a", "node-1"), running_pod(rs, "b", "node-2", ready=False)
    how, why = removal_by_scale_down([step_of(rs, 1)], by_uid(gone, first), [target(gone)], [])[:2]
    assert how == "eviction" and first["metadata"]["name"] in why
    pending = scheduled_not_ready_pod(rs, "c", "node-2")
    assert removal_by_scale_down([step_of(rs, 1)], by_uid(gone, pending), [target(gone)], [])[0] == "eviction"


def test_a_target_the_controller_ranks_first_anyway_needs_the_mark_all_the_same():
    rs = old_replicaset_of(2)
    gone, stays = running_pod(rs, "a", "node-1", ready=False), running_pod(rs, "b", "node-2")
    how, why, marked = removal_by_scale_down([step_of(rs, 1)], by_uid(gone, stays), [target(gone)], [])
    assert (how, marked) == ("scale-down", [gone["metadata"]["name"]]), why


def test_another_pod_already_at_the_lowest_cost_or_with_a_cost_that_is_no_number_keeps_the_eviction():
    for value in (str(LOWEST_DELETION_COST), "cheap", "4294967296"):
        rs = old_replicaset_of(2)
        gone, other = running_pod(rs, "a", "node-1"), running_pod(rs, "b", "node-2")
        other["metadata"]["annotations"] = {DELETION_COST: value}
        assert removal_by_scale_down([step_of(rs, 1)], by_uid(gone, other), [target(gone)], [])[0] == "eviction", \
            value


def test_a_replicaset_with_more_or_fewer_active_pods_than_it_wants_keeps_the_eviction():
    rs = old_replicaset_of(2)
    gone = running_pod(rs, "a", "node-1")
    how, why = removal_by_scale_down([step_of(rs, 1)], by_uid(gone), [target(gone)], [])[:2]
    assert how == "eviction" and "1 active pod(s) for 2 replica(s)" in why
    other = running_pod(rs, "b", "node-2")
    terminating = running_pod(rs, "c", "node-3")
    terminating["metadata"]["deletionTimestamp"] = "2026-11-28T08:00:00Z"
    # A terminating pod is not active: two active pods for two replicas.
    assert removal_by_scale_down([step_of(rs, 1)], by_uid(gone, other, terminating), [target(gone)],
                                 [])[0] == "scale-down"


PORTS = ("0/3 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, "
         "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: "
         "1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.")


def test_the_nth_deadlock_plan_removes_by_scale_down_under_kops_own_budget():
    nodes = [node("cp-0", control_plane=True), node("worker-0"), node("worker-1")]
    dep = deployment(replicas=1, status={"replicas": 2, "updatedReplicas": 1, "readyReplicas": 1,
                                         "availableReplicas": 1, "unavailableReplicas": 1})
    old = replicaset(dep, 1, "577f866468", 1)
    new = replicaset(dep, 2, "6b7f9c8d5", 1, ready=0, available=0)
    pods = [running_pod(old, "abc0", "cp-0"), unschedulable_pod(new, "x", PORTS)]
    nth_budget = budget(0)
    nth_budget["spec"]["selector"] = {"matchLabels": {"app.kubernetes.io/name": "aws-node-termination-handler"}}
    plan = diagnose_rollout(dep, [old, new], pods, [], nodes, pdbs=[nth_budget])["plan"]
    assert plan["act"] is True, plan["reason"]
    assert plan["removal"]["how"] == "scale-down", plan["removal"]["why"]
    assert plan["removal"]["mark"] == []
    assert plan["pod_details"][0]["labels"]["pod-template-hash"] == "577f866468"
