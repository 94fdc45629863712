# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the pure rollout diagnosis and the stale ReplicaSet plan."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout import (
    controller_scale_down,
    diagnose_pod_sets,
    diagnose_rollout,
    diagnose_rollouts,
    plan_stale_replicaset_removal,
    reported,
    split_replicasets,
)

from testbed.api_objects import (
    daemonset_case,
    deployment,
    node,
    nth_pod_template,
    nth_stuck,
    plain_template,
    PORTS_TWO_CP,
    replicaset,
    running_pod,
    scheduled_not_ready_pod,
    single_replica_case,
    two_replicas_one_surge_pending,
    unschedulable_pod,
)


def test_nth_deadlock_on_one_control_plane_node_is_stuck_with_proof_and_minimal_plan():
    dep, rss, pods, events, nodes = nth_stuck(1)
    result = diagnose_rollout(dep, rss, pods, events, nodes)
    assert result["verdict"] == "stuck", result["why"]
    assert result["stuck_since"] == "2026-11-28T08:00:00Z"
    assert result["current_replicaset"]["name"] == "aws-node-termination-handler-6b7f9c8d5"
    assert [rs["name"] for rs in result["old_replicasets"]] == ["aws-node-termination-handler-577f866468"]
    kinds = {b["kind"]: b["nodes"] for b in result["blockers"]}
    assert kinds == {"host_ports": 1, "node_affinity": 2}
    proof = result["proof"]
    assert proof["scheduler_agrees"] is True, proof["comparison"]
    assert proof["free_node"] == "cp-0"
    assert [p["name"] for p in proof["remove_pods"]] == ["aws-node-termination-handler-577f866468-abc0"]
    by_node = {n["name"]: n for n in proof["nodes"]}
    assert by_node["worker-0"]["removal_can_help"] is False
    assert by_node["cp-0"]["frees_with"] == ["aws-node-termination-handler-577f866468-abc0"]
    plan = result["plan"]
    assert plan["act"] is True
    assert plan["replicasets"] == [{"name": "aws-node-termination-handler-577f866468",
                                    "uid": "uid-rs-aws-node-termination-handler-577f866468", "revision": 1,
                                    "replicas_before": 1, "replicas_after": 0,
                                    "pods": ["aws-node-termination-handler-577f866468-abc0"]}]
    assert plan["min_available"] == 0
    assert result["prediction"]["deadlock"] is True
    assert "Remove exactly 1 old pod(s)" in result["remedy"]


def test_nth_on_two_control_planes_removes_one_pod_at_a_time():
    dep, rss, pods, events, nodes = nth_stuck(2, workers=2)
    result = diagnose_rollout(dep, rss, pods, events, nodes)
    assert result["verdict"] == "stuck", result["why"]
    assert result["strategy"] == {"type": "RollingUpdate", "max_surge": 1, "max_unavailable": 0, "replicas": 2}
    plan = result["plan"]
    assert plan["act"] is True
    assert len(plan["pods"]) == 1
    assert plan["replicasets"][0]["replicas_before"] == 2 and plan["replicasets"][0]["replicas_after"] == 1
    assert plan["available"] == 2 and plan["available_after"] == 1 and plan["min_available"] == 1


def nth_two_cp_second_stage(new_ready):
    """After the first step: one new pod on cp-0 (Ready or not), the last old pod on cp-1, one new pod pending."""
    nodes = [node("cp-0", control_plane=True), node("cp-1", control_plane=True), node("worker-0"),
             node("worker-1")]
    dep = deployment(replicas=2, status={"replicas": 3, "updatedReplicas": 2, "readyReplicas": 1 + new_ready,
                                         "availableReplicas": 1 + new_ready, "unavailableReplicas": 2 - new_ready})
    old = replicaset(dep, 1, "577f866468", 1)
    new = replicaset(dep, 2, "6b7f9c8d5", 2, ready=new_ready, available=new_ready)
    placed = running_pod(new, "x", "cp-0", ready=bool(new_ready))
    pending = unschedulable_pod(new, "y", PORTS_TWO_CP)
    pods = [running_pod(old, "b", "cp-1"), placed, pending]
    return diagnose_rollout(dep, [old, new], pods, [], nodes)


def test_second_step_waits_until_the_first_new_pod_is_available():
    result = nth_two_cp_second_stage(new_ready=0)
    assert result["verdict"] == "stuck", result["why"]
    assert result["plan"]["act"] is False
    assert "below the 1 the Deployment promises" in result["plan"]["reason"]
    assert plan_stale_replicaset_removal(result)["act"] is False


def test_second_step_goes_once_the_first_new_pod_is_available():
    result = nth_two_cp_second_stage(new_ready=1)
    assert result["verdict"] == "stuck", result["why"]
    assert result["plan"]["act"] is True
    assert result["plan"]["pods"] == ["aws-node-termination-handler-577f866468-b"]
    assert result["plan"]["available_after"] == 1


def test_pdb_with_no_disruption_left_holds_the_step():
    dep, rss, pods, events, nodes = nth_stuck(1)
    pdb = {"metadata": {"name": "nth", "namespace": "kube-system", "generation": 1},
           "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "aws-node-termination-handler"}},
                    "maxUnavailable": 0},
           "status": {"observedGeneration": 1, "disruptionsAllowed": 0}}
    result = diagnose_rollout(dep, rss, pods, events, nodes, pdbs=[pdb])
    assert result["verdict"] == "stuck"
    assert result["plan"]["act"] is False and "PodDisruptionBudget nth" in result["plan"]["reason"]
    pdb["status"]["disruptionsAllowed"] = 1
    assert diagnose_rollout(dep, rss, pods, events, nodes, pdbs=[pdb])["plan"]["act"] is True


def assert_blocked(result, kind):
    assert result["verdict"] == "blocked", (result["verdict"], result["why"])
    assert result["plan"] is None
    assert plan_stale_replicaset_removal(result)["act"] is False
    assert kind in [b["kind"] for b in result["blockers"]]
    remedy = result["remedy"].lower()
    assert "do not delete anything" in remedy
    assert "stale_replicasets" not in remedy


def diagnose_case(case):
    dep, rss, pods, events, nodes, extra = case
    return diagnose_rollout(dep, rss, pods, events, nodes, cluster_pods=pods + extra)


def test_cpu_beyond_any_node_is_blocked_not_stuck():
    old_template, new_template = plain_template("100m"), plain_template("8")
    nodes = [node("worker-0"), node("worker-1")]
    case = single_replica_case(old_template, "worker-0", "0/2 nodes are available: 2 Insufficient cpu. "
                               "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming "
                               "pod.", nodes, new_template=new_template)
    result = diagnose_case(case)
    assert_blocked(result, "resources")
    assert result["proof"]["scheduler_agrees"] is True
    assert all(n["frees_with"] is None for n in result["proof"]["nodes"])


def test_cpu_held_by_the_old_pod_is_stuck_and_frees_the_fullest_node_with_one_pod():
    template = plain_template("3")
    nodes = [node("worker-0"), node("worker-1")]
    filler = running_pod(replicaset(deployment(name="other", template=plain_template("2")), 1, "f0f0f0f0f0", 1),
                         "f", "worker-1")
    case = single_replica_case(template, "worker-0", "0/2 nodes are available: 2 Insufficient cpu. preemption: "
                               "0/2 nodes are available: 2 No preemption victims found for incoming pod.", nodes,
                               extra_pods=[filler])
    result = diagnose_case(case)
    assert result["verdict"] == "stuck", result["why"]
    assert result["proof"]["free_node"] == "worker-0"
    assert result["plan"]["pods"] == ["api-7777777777-a"]
    assert result["prediction"]["deadlock"] is False  # resources are not part of the prediction


def test_host_port_held_by_a_daemonset_everywhere_is_blocked():
    port = [{"containerPort": 9100, "hostPort": 9100, "protocol": "TCP"}]
    nodes = [node("worker-0"), node("worker-1")]
    old_template, new_template = plain_template(ports=[]), plain_template(ports=port)
    daemon_template = plain_template(ports=port)
    daemon_template["metadata"]["labels"] = {"app.kubernetes.io/name": "exporter"}
    daemon = {"metadata": {"name": "exporter", "namespace": "monitoring", "uid": "uid-ds",
                           "labels": {"app.kubernetes.io/name": "exporter"}},
              "spec": {"replicas": 2, "template": daemon_template}}
    daemon_pods = []
    for name in ("worker-0", "worker-1"):
        pod = running_pod(replicaset(dict(daemon, metadata=dict(daemon["metadata"], name="exporter-" + name)), 1,
                                     "d", 1), "x", name)
        pod["metadata"]["ownerReferences"][0].update(kind="DaemonSet", uid="uid-ds")
        daemon_pods.append(pod)
    case = single_replica_case(old_template, "worker-0", "0/2 nodes are available: 2 node(s) didn't have free "
                               "ports for the requested pod ports. preemption: 0/2 nodes are available: 2 No "
                               "preemption victims found for incoming pod.", nodes, extra_pods=daemon_pods,
                               new_template=new_template)
    result = diagnose_case(case)
    assert_blocked(result, "host_ports")
    assert result["proof"]["scheduler_agrees"] is True


@pytest.mark.parametrize("spec, message, kind", [
    ({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "cache"}}}]}}},
     "0/2 nodes are available: 2 node(s) didn't match pod affinity rules. preemption: 0/2 nodes are available: 2 "
     "Preemption is not helpful for scheduling.", "pod_affinity"),
    ({"topologySpreadConstraints": [{
        "maxSkew": 1, "topologyKey": "example.com/rack", "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "api"}}}]},
     "0/2 nodes are available: 2 node(s) didn't match pod topology spread constraints (missing required label). "
     "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.", "topology_spread_label"),
], ids=["required-pod-affinity-to-a-peer-that-runs-nowhere", "spread-on-a-node-without-the-topology-label"])
def test_a_new_template_that_no_node_can_take_is_blocked(spec, message, kind):
    template = plain_template()
    template["spec"].update(spec)
    nodes = [node("worker-0"), node("worker-1")]
    case = single_replica_case(plain_template(), "worker-0", message, nodes, new_template=template)
    assert_blocked(diagnose_case(case), kind)


def test_persistent_volume_claims_are_never_proven():
    template = plain_template()
    template["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
    template["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 80, "protocol": "TCP"}]
    nodes = [node("worker-0")]
    case = single_replica_case(template, "worker-0", "0/1 nodes are available: 1 node(s) didn't have free ports "
                               "for the requested pod ports. preemption: 0/1 nodes are available: 1 No preemption "
                               "victims found for incoming pod.", nodes)
    result = diagnose_case(case)
    assert result["verdict"] == "blocked"
    assert "not proven" in result["why"] and "data" in result["why"]
    assert plan_stale_replicaset_removal(result)["act"] is False


def test_model_that_disagrees_with_the_scheduler_proves_nothing():
    dep, rss, pods, events, nodes = nth_stuck(1)
    nodes.append(node("worker-9"))  # the scheduler saw 3 nodes, the snapshot has 4
    result = diagnose_rollout(dep, rss, pods, events, nodes)
    assert result["verdict"] == "blocked"
    assert result["why"].startswith("not proven: the scheduler looked at 3 node(s)")


def test_failed_and_evicted_old_pods_hold_nothing():
    dep, rss, pods, events, nodes = nth_stuck(1)
    old_pod = pods[0]
    old_pod["status"] = {"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory."}
    result = diagnose_rollout(dep, rss, pods, events, nodes)
    assert result["verdict"] == "progressing"
    assert "fits on cp-0 now" in result["why"]
    assert plan_stale_replicaset_removal(result)["act"] is False


def test_terminating_old_pod_means_progressing():
    dep, rss, pods, events, nodes = nth_stuck(1)
    pods[0]["metadata"]["deletionTimestamp"] = "2026-11-28T08:10:00Z"
    rss[0]["spec"]["replicas"] = 0
    result = diagnose_rollout(dep, rss, pods, events, nodes)
    assert result["verdict"] == "progressing"
    assert "terminating" in result["why"]


def test_new_pod_bound_between_the_two_pod_lists_is_progressing_not_blocked():
    """The namespace's pods were listed with the new pod Unschedulable; by the cluster-wide list it was bound
    (the old pod gone, seen on the real control plane right after a remediation step). Judged against that
    snapshot it would hold its own host ports: it is progressing, never blocked."""
    dep, rss, pods, events, nodes = nth_stuck(1)
    bound = copy.deepcopy(pods[-1])
    bound["spec"]["nodeName"] = "cp-0"
    bound["status"] = {"phase": "Running"}
    result = diagnose_rollout(dep, rss, pods, events, nodes, cluster_pods=[bound])
    assert result["verdict"] == "progressing", result["why"]
    assert "was placed on cp-0 since it was listed" in result["why"]
    assert plan_stale_replicaset_removal(result)["act"] is False


def test_old_replicaset_at_zero_replicas_is_never_a_target():
    dep, rss, pods, events, nodes = nth_stuck(1)
    history = replicaset(dep, 0, "0aaaaaaaaa", 0)
    result = diagnose_rollout(dep, rss + [history], pods, events, nodes)
    assert result["verdict"] == "stuck"
    assert [s["name"] for s in result["plan"]["replicasets"]] == ["aws-node-termination-handler-577f866468"]
    assert result["current_replicaset"]["name"] not in result["plan"]["replicasets"][0]["name"]


def test_recreate_deployment_is_never_stuck():
    dep, rss, pods, events, nodes = nth_stuck(1)
    dep["spec"]["strategy"] = {"type": "Recreate"}
    result = diagnose_rollout(dep, rss, pods, events, nodes)
    assert result["verdict"] == "progressing"
    rss[0]["spec"]["replicas"] = 0
    result = diagnose_rollout(dep, rss, [p for p in pods if "abc" not in p["metadata"]["name"]], events, nodes)
    assert result["verdict"] == "blocked"
    assert plan_stale_replicaset_removal(result)["act"] is False


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
    assert [s["name"] for s in result["plan"]["replicasets"]] == ["aws-node-termination-handler-577f866468"]


def test_stranger_pod_holding_the_ports_is_not_ours_to_remove():
    """The only pod holding the ports carries the Deployment's labels but another owner: blocked, not stuck."""
    dep, rss, pods, events, nodes = nth_stuck(1)
    stranger_rs = replicaset(dep, 1, "0000000000", 1)
    stranger_rs["metadata"]["uid"] = "uid-stranger"
    stranger_rs["metadata"]["ownerReferences"][0]["uid"] = "uid-of-another-deployment"
    stranger = running_pod(stranger_rs, "s", "cp-0")
    ours = [p for p in pods if "abc" not in p["metadata"]["name"]]
    rss[0]["spec"]["replicas"] = 0
    result = diagnose_rollout(dep, rss + [stranger_rs], ours + [stranger], events, nodes)
    assert result["verdict"] == "blocked", result["why"]
    assert plan_stale_replicaset_removal(result)["act"] is False


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
    assert plan_stale_replicaset_removal(result)["act"] is False


def anti_affinity_template():
    template = nth_pod_template(host_network=False)
    template["spec"]["topologySpreadConstraints"] = []
    template["spec"]["affinity"]["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname",
         "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "aws-node-termination-handler"}}}]}
    return template


def test_required_anti_affinity_stuck_on_too_few_nodes():
    nodes = [node("cp-0", control_plane=True), node("cp-1", control_plane=True), node("worker-0")]
    message = ("0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) didn't "
               "match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 Preemption is not helpful "
               "for scheduling.")
    dep, rss, pods, events = two_replicas_one_surge_pending(anti_affinity_template(), message, ["cp-0", "cp-1"])
    result = diagnose_rollout(dep, rss, pods, events, nodes)
    assert result["verdict"] == "stuck", result["why"]
    assert {"kind": "pod_anti_affinity", "nodes": 2, "reason": "node(s) didn't match pod anti-affinity rules",
            "removable": True} in result["blockers"]
    assert len(result["plan"]["pods"]) == 1
    assert result["prediction"]["deadlock"] is True
    assert any("anti-affinity" in x for x in result["prediction"]["exclusive_by"])


def test_new_generation_not_yet_observed_is_not_stuck():
    dep, rss, pods, events, nodes = nth_stuck(1)
    dep["metadata"]["generation"] = 3
    assert diagnose_rollout(dep, rss, pods, events, nodes)["verdict"] == "progressing"


def test_max_surge_zero_rollout_is_progressing_the_controller_makes_room():
    dep, rss, pods, events, nodes = nth_stuck(1)
    dep["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    result = diagnose_rollout(dep, rss, pods, events, nodes)
    assert result["verdict"] == "progressing"
    assert "may remove 1 old pod(s) itself" in result["why"]
    assert result["prediction"]["deadlock"] is False


def test_controller_scale_down_counts_spec_replicas_and_unhealthy_pods_first():
    dep, rss, pods, events, nodes = nth_stuck(1)
    old, new = rss
    assert controller_scale_down(dep, new, [old]) == 0
    # status.replicas lags behind spec (the controller counts spec): still nothing to scale down.
    old["status"]["replicas"] = 3
    assert controller_scale_down(dep, new, [old]) == 0
    # replicas 2 (surge 1, unavailable 0): 2 old + 1 new pods, the new one unavailable: 3 - 2 - 1 = 0.
    dep["spec"]["replicas"] = 2
    old["spec"]["replicas"], old["status"]["availableReplicas"] = 2, 1
    assert controller_scale_down(dep, new, [old]) == 0
    # Once the new pod is available there is room for one: the unavailable old pod goes first.
    new["status"]["availableReplicas"] = 1
    assert controller_scale_down(dep, new, [old]) == 1


def test_three_control_plane_nodes_predict_no_deadlock():
    nodes = [node("cp-%d" % i, control_plane=True) for i in range(3)]
    dep = deployment(replicas=2, status={"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2})
    result = diagnose_rollout(dep, [], [], [], nodes)
    assert result["prediction"]["deadlock"] is False
    assert result["prediction"]["eligible_nodes"] == 3


def test_surge_daemonset_held_by_its_own_old_pod_is_stuck_with_words_only():
    ds, pods, nodes = daemonset_case(max_surge=1)
    result = diagnose_pod_sets("DaemonSet", [ds], pods, [], nodes)[0]
    assert result["verdict"] == "stuck", result["why"]
    assert result["proof"]["free_node"] == "n1"
    assert [p["name"] for p in result["proof"]["remove_pods"]] == ["agent-old"]
    assert "does not delete DaemonSet pods itself" in result["remedy"]


def test_surge_daemonset_with_an_unavailable_old_pod_is_progressing():
    ds, pods, nodes = daemonset_case(max_surge=1, old_ready=False)
    assert diagnose_pod_sets("DaemonSet", [ds], pods, [], nodes)[0]["verdict"] == "progressing"


def test_daemonset_without_surge_is_never_stuck_by_its_own_pods():
    ds, pods, nodes = daemonset_case(max_surge=0)
    result = diagnose_pod_sets("DaemonSet", [ds], pods, [], nodes)[0]
    assert result["verdict"] == "progressing", result["why"]  # the controller deletes the old pod itself
    pods[0]["spec"]["nodeName"] = "n2"  # the port on n1 is held by something else: nothing of ours to remove
    pods.append({"metadata": {"name": "other", "namespace": "x", "uid": "uid-other"},
                 "spec": dict(pods[1]["spec"], nodeName="n1", affinity={}), "status": {"phase": "Running"}})
    result = diagnose_pod_sets("DaemonSet", [ds], pods, [], nodes)[0]
    assert result["verdict"] == "blocked", result["why"]
    assert "Do not delete anything" in result["remedy"]


def test_reported_diagnoses_name_ten_eligible_nodes_and_count_them_all():
    """A returned prediction names the first 10 eligible nodes; the rules decided on all of them, and the list the
    Deployments share through the eligible-nodes cache is left whole."""
    template = {"metadata": {"labels": {"app.kubernetes.io/name": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]}}
    nodes = [node("worker-%02d" % i) for i in range(30)]
    first, second = diagnose_rollouts([deployment("web-a", template=template), deployment("web-b", template=template)],
                                      [], [], [], nodes)
    whole = sorted("worker-%02d" % i for i in range(30))
    assert first["prediction"]["eligible_node_names"] == whole
    assert reported([first]) == [first]
    assert first["prediction"]["eligible_nodes"] == 30
    assert first["prediction"]["eligible_node_names"] == whole[:10]
    assert second["prediction"]["eligible_node_names"] == whole
    few = diagnose_rollout(deployment("web-c", template=template), [], [], [], nodes[:3])
    assert reported([few])[0]["prediction"]["eligible_node_names"] == ["worker-00", "worker-01", "worker-02"]
