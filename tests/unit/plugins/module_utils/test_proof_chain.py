# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the proof's whole filter chain on the freed node (issue 17, findings 1-4, 6, 7, 10, 13):
multi-term pod affinity, nominated and higher-priority pending pods, nodes that are not Ready, terminating
pods of any owner, in-place resize, the request > 0 guard, one host-port rule and one DaemonSet budget, and a
stuck that no removal can finish."""

from __future__ import annotations

import copy
import random

import pytest

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.placement import (
    REASON_AFFINITY,
    Cluster,
    evaluate_node,
    pod_requests,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.precheck import predict_daemonset_deadlock
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout import (
    diagnose_pod_sets,
    diagnose_rollout,
    plan_stale_replicaset_removal,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.scheduling import (
    daemonset_budget,
    host_ports,
    predict_rollout_deadlock,
)

from testbed.api_objects import (
    cpu_case,
    CPU_ONE_CP,
    deployment,
    node,
    nth_stuck,
    PORTS_ONE_CP,
    stranger,
    SYSTEM_CLUSTER_CRITICAL,
    two_replicas_one_surge_pending,
    with_priority,
)


def diagnose(case, extra=()):
    dep, rss, pods, events, nodes = case
    with_priority(pods)
    return diagnose_rollout(dep, rss, pods, events, nodes, cluster_pods=pods + list(extra))


# ---------------------------------------------------------------------------------------------------------
# Finding 1: required pod affinity with several terms needs ONE existing pod matching all of them.

def two_term_affinity(template_spec):
    template_spec["affinity"]["podAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"tier": "a"}},
         "namespaces": ["other"]},
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"role": "b"}},
         "namespaces": ["other"]}]}


def test_multi_term_affinity_needs_one_pod_matching_every_term():
    nodes = [node("cp-0", control_plane=True)]
    spec = {"containers": [{"name": "c"}], "affinity": {}, "tolerations": [{"operator": "Exists"}]}
    two_term_affinity(spec)
    new = {"metadata": {"name": "new", "namespace": "kube-system", "uid": "uid-new", "labels": {}}, "spec": spec}
    one_each = [stranger("a", "cp-0", {"tier": "a"}), stranger("b", "cp-0", {"role": "b"})]
    cluster = Cluster(nodes, one_each)
    assert [f["reasons"] for f in evaluate_node(new, nodes[0], cluster)] == [[REASON_AFFINITY]]
    both = Cluster(nodes, [stranger("ab", "cp-0", {"tier": "a", "role": "b"})])
    assert evaluate_node(new, nodes[0], both) == []
    # The first pod of a group: nothing anywhere matches all terms and the pod matches them itself.
    selfish = copy.deepcopy(new)
    selfish["metadata"]["namespace"], selfish["metadata"]["labels"] = "other", {"tier": "a", "role": "b"}
    assert evaluate_node(selfish, nodes[0], Cluster(nodes, [])) == []
    assert evaluate_node(selfish, nodes[0], cluster) == []  # no pod matches all terms: still the first one
    elsewhere = [node("cp-0", control_plane=True), node("cp-1", control_plane=True)]
    apart = Cluster(elsewhere, [stranger("ab", "cp-1", {"tier": "a", "role": "b"})])
    assert evaluate_node(selfish, elsewhere[0], apart)[0]["reasons"] == [REASON_AFFINITY]
    assert evaluate_node(selfish, elsewhere[1], apart) == []


def test_nth_with_one_pod_per_affinity_term_is_blocked_not_stuck():
    """Issue 17 finding 1: NodePorts fails first on cp-0, so the scheduler's message cannot show the affinity;
    the old model judged the terms one by one, said stuck and deleted the only NTH pod."""
    case = nth_stuck(1)
    dep, rss, pods, _events, _nodes = case
    for obj in [dep["spec"]["template"], rss[1]["spec"]["template"]]:
        two_term_affinity(obj["spec"])
    two_term_affinity(pods[1]["spec"])
    result = diagnose(case, [stranger("a", "cp-0", {"tier": "a"}), stranger("b", "cp-0", {"role": "b"})])
    assert result["verdict"] == "blocked", result["why"]
    assert plan_stale_replicaset_removal(result)["act"] is False
    # One pod matching both terms: the removal is proven, and the chain re-run on cp-0 passes every filter.
    result = diagnose(case, [stranger("ab", "cp-0", {"tier": "a", "role": "b"})])
    assert result["verdict"] == "stuck", result["why"]
    assert result["proof"]["chain"]["node"] == "cp-0" and result["proof"]["chain"]["failures"] == []


# ---------------------------------------------------------------------------------------------------------
# Finding 2: nominated pods of equal or higher priority are already on the node; higher-priority pending pods
# could take the freed node.

@pytest.mark.parametrize("priority, verdict", [
    (SYSTEM_CLUSTER_CRITICAL + 1000, "blocked"), (SYSTEM_CLUSTER_CRITICAL, "blocked"), (0, "stuck")])
def test_a_pod_nominated_to_the_node_holds_its_ports(priority, verdict):
    nominated = stranger("preemptor", priority=priority, ports=[8080], nominated="cp-0")
    result = diagnose(nth_stuck(1), [nominated])
    assert result["verdict"] == verdict, result["why"]
    if verdict == "stuck":
        assert result["proof"]["chain"]["nominated_pods"] == []
    else:
        assert plan_stale_replicaset_removal(result)["act"] is False


def test_a_higher_priority_pending_pod_that_could_take_the_freed_node_means_no_action():
    rival = stranger("critical", priority=SYSTEM_CLUSTER_CRITICAL + 1000, ports=[8080])
    result = diagnose(nth_stuck(1), [rival])
    assert result["verdict"] == "blocked", result["why"]
    assert "higher priority" in result["why"] and "other/critical" in result["why"]
    assert result["proof"]["chain"]["rivals"][0]["name"] == "critical"
    # The same pod pinned elsewhere (it cannot take cp-0), or of lower priority, changes nothing.
    elsewhere = stranger("critical", priority=SYSTEM_CLUSTER_CRITICAL + 1000, ports=[8080], tolerate=False)
    assert diagnose(nth_stuck(1), [elsewhere])["verdict"] == "stuck"
    lower = stranger("low", priority=100, ports=[8080])
    assert diagnose(nth_stuck(1), [lower])["verdict"] == "stuck"


# ---------------------------------------------------------------------------------------------------------
# Finding 3: never a pod on a node that is not Ready.

def test_the_only_old_pod_on_a_node_that_is_not_ready_is_never_chosen():
    case = nth_stuck(1)
    case[4][0] = node("cp-0", control_plane=True, ready=False)
    result = diagnose(case)
    assert result["verdict"] == "blocked", result["why"]
    assert "not Ready" in result["why"] and "cp-0" in result["why"]
    assert plan_stale_replicaset_removal(result)["act"] is False


def test_a_ready_node_is_chosen_over_one_that_is_not():
    case = nth_stuck(2)
    dep, rss, pods, events, nodes = case
    nodes[0] = node("cp-0", control_plane=True, ready=False)
    nodes.append(node("cp-2", control_plane=True))
    pods[0]["status"]["conditions"][1]["status"] = "False"  # the kubelet is gone: the pod is not Ready either
    message = ("0/5 nodes are available: 3 node(s) didn't have free ports for the requested pod ports, 2 node(s) "
               "didn't match Pod's node affinity/selector. preemption: 0/5 nodes are available: 3 No preemption "
               "victims found for incoming pod, 2 Preemption is not helpful for scheduling.")
    pods[2]["status"]["conditions"][0]["message"] = message
    events[0]["message"] = message
    holder = stranger("holder", "cp-2", ports=[8080])
    result = diagnose(case, [holder])
    assert result["verdict"] == "stuck", result["why"]
    assert result["proof"]["free_node"] == "cp-1"
    assert [p["node"] for p in result["proof"]["remove_pods"]] == ["cp-1"]
    by_node = dict((n["name"], n) for n in result["proof"]["nodes"])
    assert by_node["cp-0"]["ready"] is False and by_node["cp-0"]["frees_with"] is None


# ---------------------------------------------------------------------------------------------------------
# Finding 4: terminating pods of any owner are leaving.

def test_a_terminating_victim_of_another_owner_frees_the_room_nothing_is_deleted():
    victim = stranger("victim", "cp-0", cpu="3", terminating=True)
    result = diagnose(cpu_case(CPU_ONE_CP), [victim])
    assert result["verdict"] == "progressing", result["why"]
    assert "victim" in result["why"] and "nothing needs removing" in result["why"]
    assert result["plan"] is None
    # Still running, the same pod leaves no room but what the old pod frees: then the removal is proven.
    running = stranger("victim", "cp-0", cpu="3")
    result = diagnose(cpu_case(CPU_ONE_CP), [running])
    assert result["verdict"] == "stuck", result["why"]
    assert result["plan"]["pods"] == ["aws-node-termination-handler-577f866468-abc0"]


def test_room_that_needs_a_termination_and_a_removal_waits_for_the_termination():
    victim = stranger("victim", "cp-0", cpu="500m", terminating=True)
    big = stranger("big", "cp-0", cpu="3")
    result = diagnose(cpu_case(CPU_ONE_CP), [victim, big])
    # 4 CPU: victim 0.5 + big 3 + old 0.5; the new pod (1) fits only once the victim AND the old pod are gone.
    assert result["verdict"] == "progressing", result["why"]
    assert "before any removal can help" in result["why"]
    assert result["plan"] is None


def test_a_pod_terminating_on_a_node_that_is_not_ready_is_not_leaving():
    case = cpu_case(CPU_ONE_CP)
    case[4][0] = node("cp-0", control_plane=True, ready=False)
    result = diagnose(case, [stranger("victim", "cp-0", cpu="3", terminating=True)])
    assert result["verdict"] == "blocked", result["why"]
    assert plan_stale_replicaset_removal(result)["act"] is False


# ---------------------------------------------------------------------------------------------------------
# Findings 6 and 7: in-place resize, and NodeResourcesFit's request > 0 guard.

def test_a_resized_pod_reserves_the_larger_of_spec_and_status():
    resized = stranger("resized", "cp-0", cpu="1", status_requests={"cpu": "3"})
    assert pod_requests(resized["spec"], resized["status"]) == {"cpu": 3000}
    shrinking = stranger("shrinking", "cp-0", cpu="3", status_requests={"cpu": "1"})
    assert pod_requests(shrinking["spec"], shrinking["status"]) == {"cpu": 3000}
    allocated = stranger("allocated", "cp-0", cpu="1")
    allocated["status"]["containerStatuses"] = [{"name": "c", "allocatedResources": {"cpu": "2"}}]
    assert pod_requests(allocated["spec"], allocated["status"]) == {"cpu": 2000}
    nodes = [node("cp-0", control_plane=True)]
    new = stranger("new", cpu="2")  # 4 CPU allocatable
    assert evaluate_node(new, nodes[0], Cluster(nodes, [stranger("plain", "cp-0", cpu="1")])) == []
    assert evaluate_node(new, nodes[0], Cluster(nodes, [resized]))[0]["reasons"] == ["Insufficient cpu"]


def test_a_resource_the_pod_does_not_request_is_never_insufficient():
    nodes = [node("n1")]
    overcommitted = Cluster(nodes, [stranger("hog", "n1", cpu="1", memory="20Gi")])  # 16Gi allocatable
    assert evaluate_node(stranger("new", cpu="100m"), nodes[0], overcommitted) == []
    assert evaluate_node(stranger("new2", cpu="100m", memory="1Mi"), nodes[0], overcommitted)[0]["reasons"] == [
        "Insufficient memory"]


# ---------------------------------------------------------------------------------------------------------
# Finding 13: a stuck that no removal can finish is blocked.

def test_more_replicas_than_nodes_for_a_self_exclusive_template_is_blocked():
    template = deployment()["spec"]["template"]
    template["spec"]["hostNetwork"] = False
    template["spec"]["topologySpreadConstraints"] = []
    for c in template["spec"]["containers"]:
        c["ports"] = []
    old_template = copy.deepcopy(template)
    template["spec"]["affinity"]["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname",
         "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "aws-node-termination-handler"}}}]}
    message = ("0/3 nodes are available: 1 node(s) didn't match pod anti-affinity rules, 2 node(s) didn't match "
               "Pod's node affinity/selector. preemption: 0/3 nodes are available: 1 No preemption victims found "
               "for incoming pod, 2 Preemption is not helpful for scheduling.")
    dep, rss, pods, events = two_replicas_one_surge_pending(template, message, ["cp-0", "cp-0"],
                                                            old_template=old_template)
    for pod in pods[:2]:
        pod["spec"] = copy.deepcopy(old_template["spec"])
        pod["spec"]["nodeName"] = "cp-0"
    nodes = [node("cp-0", control_plane=True), node("worker-0"), node("worker-1")]
    result = diagnose((dep, rss, pods, events, nodes))
    assert result["verdict"] == "blocked", result["why"]
    assert "cannot fit its 2 replica(s)" in result["why"]
    assert result["plan"] is None


# ---------------------------------------------------------------------------------------------------------
# Finding 10: one host-port rule and one DaemonSet budget, prediction and proof agree.

def random_ports(rng):
    ports = []
    for _index in range(rng.randint(0, 2)):
        port = {"containerPort": rng.choice([80, 8080, 9100])}
        if rng.random() < 0.6:
            port["hostPort"] = port["containerPort"]
        if rng.random() < 0.3:
            port["hostIP"] = rng.choice(["0.0.0.0", "10.0.0.1", "127.0.0.1"])
        if rng.random() < 0.2:
            port["protocol"] = "UDP"
        ports.append(port)
    return ports


def random_spec(rng):
    spec = {"hostNetwork": rng.random() < 0.3,
            "containers": [{"name": "c%d" % i, "ports": random_ports(rng)} for i in range(rng.randint(1, 2))],
            "initContainers": []}
    for i in range(rng.randint(0, 2)):
        init = {"name": "i%d" % i, "ports": random_ports(rng)}
        if rng.random() < 0.5:
            init["restartPolicy"] = "Always"
        spec["initContainers"].append(init)
    return spec


@pytest.mark.parametrize("seed", range(200))
def test_prediction_and_proof_agree_on_host_ports_of_generated_pods(seed):
    """The precheck's prediction says a template's pods exclude each other on a node exactly when the proof's
    NodePorts filter refuses a second pod of it beside the first (regular init containers hold no port)."""
    rng = random.Random(seed)
    spec = random_spec(rng)
    nodes = [node("n1")]
    first = {"metadata": {"name": "first", "namespace": "d", "uid": "uid-first"},
             "spec": dict(copy.deepcopy(spec), nodeName="n1"), "status": {"phase": "Running"}}
    second = {"metadata": {"name": "second", "namespace": "d", "uid": "uid-second"}, "spec": copy.deepcopy(spec)}
    refused = any(f["filter"] == "NodePorts" for f in evaluate_node(second, nodes[0], Cluster(nodes, [first])))
    dep = deployment(replicas=1, template={"metadata": {"labels": {"app": "x"}}, "spec": spec},
                     strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    prediction = predict_rollout_deadlock(dep, nodes)
    assert bool(prediction["host_ports"]) == refused, spec
    assert prediction["deadlock"] == refused, spec
    daemonset = {"metadata": {"name": "ds", "namespace": "d"},
                 "spec": {"template": {"spec": spec},
                          "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1,
                                                                                        "maxUnavailable": 0}}},
                 "status": {"desiredNumberScheduled": 1}}
    assert predict_daemonset_deadlock(daemonset, nodes)["deadlock"] == refused, spec
    assert [p for p, _protocol in host_ports(spec)] == prediction["host_ports"]


def test_a_regular_init_container_holds_no_host_port():
    spec = {"initContainers": [{"name": "setup", "ports": [{"containerPort": 9000, "hostPort": 9000}]}],
            "containers": [{"name": "c"}]}
    assert host_ports(spec) == []
    spec["initContainers"][0]["restartPolicy"] = "Always"
    assert host_ports(spec) == [(9000, "TCP")]


@pytest.mark.parametrize("rolling, desired, surge, unavailable", [
    (None, 5, 0, 1),
    ({"maxSurge": 0, "maxUnavailable": 0}, 5, 0, 1),
    ({"maxSurge": "10%", "maxUnavailable": 0}, 5, 1, 0),
    ({"maxSurge": "0%", "maxUnavailable": "10%"}, 5, 0, 1),
    ({"maxSurge": "50%", "maxUnavailable": "25%"}, 3, 2, 1),
    ({"maxSurge": "0%", "maxUnavailable": "0%"}, 3, 0, 1),
])
def test_one_daemonset_budget_for_prediction_and_proof(rolling, desired, surge, unavailable):
    strategy = {"type": "RollingUpdate"}
    if rolling is not None:
        strategy["rollingUpdate"] = rolling
    daemonset = {"metadata": {"name": "ds", "namespace": "d", "uid": "uid-ds", "generation": 1},
                 "spec": {"updateStrategy": strategy, "template": {"spec": {"containers": [{"name": "c"}]}}},
                 "status": {"desiredNumberScheduled": desired, "observedGeneration": 1}}
    budget = daemonset_budget(daemonset)
    assert (budget["max_surge"], budget["max_unavailable"]) == (surge, unavailable)
    nodes = [node("n%d" % i) for i in range(desired)]
    prediction = predict_daemonset_deadlock(daemonset, nodes)
    assert (prediction["max_surge"], prediction["max_unavailable"]) == (surge, unavailable)
    diagnosis = diagnose_pod_sets("DaemonSet", [daemonset], [], [], nodes)[0]
    assert (diagnosis["strategy"]["max_surge"], diagnosis["strategy"]["max_unavailable"]) == (surge, unavailable)
    assert PORTS_ONE_CP  # the shared NTH message stays importable for the cases above
