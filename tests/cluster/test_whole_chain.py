# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proof's whole filter chain on the freed node, on the real control plane (issue 17, findings 1-4): the
real scheduler judges each verdict. Where the old proof said ``stuck`` and deleted a pod that could not help,
the rollout is now ``blocked`` (or ``progressing``) and nothing is touched; where the scheduler can show it, the
test then makes the room by hand and watches what the scheduler does with it."""

from __future__ import annotations

import pytest
from kubernetes import client

from testbed import workloads
from testbed.kube import rollout_complete, running_and_ready, wait_deployment, wait_pod, wait_unschedulable
from testbed.workloads import APP, remediate, single_app, status_of


@pytest.fixture
def pool(local_cluster, namespace):
    yield from workloads.private_pool(local_cluster.api, "w")


def peer_pod(api_client, namespace, pool, name, labels, cpu="10m", finalizers=None, priority_class=None):
    """A pod of no owner on the pool (with a PriorityClass, admission sets its priority and preemption policy)."""
    spec = workloads.pod_spec(pool, cpu=cpu)
    if priority_class:
        spec["priorityClassName"] = priority_class
    metadata = {"name": name, "labels": labels}
    if finalizers:
        metadata["finalizers"] = finalizers
    client.CoreV1Api(api_client).create_namespaced_pod(namespace, {"metadata": metadata, "spec": spec})


def wait_running(api_client, namespace, name):
    wait_pod(api_client, namespace, running_and_ready, selector="peer=%s" % name)


def blocked_untouched(cluster, namespace, words):
    before = workloads.footprint(cluster.api, namespace)
    diagnosis = status_of(cluster, namespace)
    assert diagnosis["verdict"] == "blocked", (diagnosis["verdict"], diagnosis["why"])
    assert words in diagnosis["why"], diagnosis["why"]
    result = remediate(cluster, namespace)
    assert result["failed"] is False and result["changed"] is False and result["removed"] == [], result
    assert workloads.footprint(cluster.api, namespace) == before
    return diagnosis


def progressing_untouched(cluster, namespace):
    """The rollout waits for the victim to go: ``progressing``, no plan, and the remediation touches nothing.
    Returns the footprint before and the diagnosis."""
    before = workloads.footprint(cluster.api, namespace)
    diagnosis = status_of(cluster, namespace)
    assert diagnosis["verdict"] == "progressing", (diagnosis["verdict"], diagnosis["why"])
    assert "victim" in diagnosis["why"] and diagnosis["plan"] is None
    result = remediate(cluster, namespace)
    assert result["changed"] is False and result["removed"] == [], result
    assert workloads.footprint(cluster.api, namespace) == before
    return before, diagnosis


def scale_old_to_zero(api_client, namespace):
    """Make the room by hand, as the old proof's step did: the revision-1 ReplicaSet to 0 replicas."""
    apps = client.AppsV1Api(api_client)
    old = [rs for rs in apps.list_namespaced_replica_set(namespace, label_selector="app=%s" % APP).items
           if rs.metadata.annotations.get("deployment.kubernetes.io/revision") == "1"]
    assert len(old) == 1
    apps.patch_namespaced_replica_set(old[0].metadata.name, namespace, {"spec": {"replicas": 0}})


def new_pod_message(api_client, namespace, words, timeout=90):
    """Wait until the new pod's PodScheduled message names ``words`` (the scheduler re-tried it after the room
    was made) and it is still not scheduled."""
    def judged(pod):
        condition = [c for c in (pod.get("status") or {}).get("conditions") or [] if c["type"] == "PodScheduled"]
        return bool(condition) and condition[0]["status"] == "False" and words in (condition[0].get("message") or "")
    return wait_pod(api_client, namespace, judged, selector="app=%s" % APP, timeout=timeout)[0]


@pytest.mark.parametrize("peers", [[{"tier": "a"}, {"role": "b"}], [{"tier": "a", "role": "b"}]],
                         ids=["one-peer-per-term", "one-peer-for-all-terms"])
def test_pod_affinity_terms_need_one_pod_matching_them_all(local_cluster, namespace, pool, peers):
    """Finding 1: two required pod-affinity terms, and the CPU the old pod holds (NodeResourcesFit fails first,
    so the scheduler's message cannot show the affinity). One peer per term: InterPodAffinity still fails once
    the old pod is gone, so nothing is removed (the old proof said stuck and deleted the only serving pod); one
    peer matching both terms: the removal is proven and completes the rollout."""
    api = local_cluster.api
    pool.add(workloads.pool_node(pool.name, 1, cpu="4"))
    single_app(local_cluster, namespace, pool, workloads.pod_spec(pool.name, cpu="3"))
    for index, labels in enumerate(peers):
        peer_pod(api, namespace, pool.name, "peer-%d" % index, dict(labels, peer="peer-%d" % index))
        wait_running(api, namespace, "peer-%d" % index)
    affinity = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"tier": "a"}}},
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"role": "b"}}}]}}
    workloads.roll_out(api, namespace, APP, workloads.pod_spec(pool.name, cpu="3", memory="65Mi",
                                                               extra={"affinity": affinity}))
    workloads.wait_new_pod_unschedulable(api, namespace, APP)
    if len(peers) == 1:
        diagnosis = status_of(local_cluster, namespace)
        assert diagnosis["verdict"] == "stuck", diagnosis["why"]
        assert diagnosis["proof"]["chain"]["failures"] == []
        result = remediate(local_cluster, namespace, wait=True, wait_timeout=60)
        assert result["failed"] is False, result.get("msg")
        assert result["rollout"]["complete"] is True, result
        return
    blocked_untouched(local_cluster, namespace, "would not let")
    # The real scheduler confirms: with the old pod gone by hand, the new pod still does not schedule.
    scale_old_to_zero(api, namespace)
    new_pod_message(api, namespace, "didn't match pod affinity rules")


def test_room_a_terminating_pod_of_another_owner_frees_needs_no_removal(local_cluster, namespace, pool):
    """Finding 4: a pod of another owner is terminating (held by a finalizer) on the node; once it is gone the new
    pod fits beside the old one. Nothing is removed (the old proof deleted the old pod); releasing the finalizer
    lets the scheduler place the new pod with the old pod untouched."""
    api = local_cluster.api
    pool.add(workloads.pool_node(pool.name, 1, cpu="4"))
    single_app(local_cluster, namespace, pool, workloads.pod_spec(pool.name, cpu="500m"))
    peer_pod(api, namespace, pool.name, "victim", {"peer": "victim"}, cpu="3", finalizers=["clusterops.test/hold"])
    wait_running(api, namespace, "victim")
    core = client.CoreV1Api(api)
    core.delete_namespaced_pod("victim", namespace)
    wait_pod(api, namespace, lambda p: bool(p["metadata"].get("deletionTimestamp")), selector="peer=victim")
    workloads.roll_out(api, namespace, APP, workloads.pod_spec(pool.name, cpu="1", memory="65Mi"))
    workloads.wait_new_pod_unschedulable(api, namespace, APP)
    progressing_untouched(local_cluster, namespace)
    # The scheduler and the deployment controller finish the rollout by themselves once the victim is gone.
    core.patch_namespaced_pod("victim", namespace, {"metadata": {"finalizers": None}})
    wait_deployment(api, namespace, APP, rollout_complete, timeout=120)


def test_a_higher_priority_pending_pod_that_could_take_the_freed_node_means_no_action(local_cluster, namespace,
                                                                                      pool):
    """Finding 2: a pod of higher priority (preemptionPolicy Never, so it waits instead of preempting) is pending
    for the same room. The freed node could go to it first: nothing is removed."""
    api = local_cluster.api
    scheduling = client.SchedulingV1Api(api)
    name = "clusterops-test-%s" % pool.name
    scheduling.create_priority_class({"metadata": {"name": name}, "value": 1000, "preemptionPolicy": "Never"})
    try:
        pool.add(workloads.pool_node(pool.name, 1, cpu="4"))
        single_app(local_cluster, namespace, pool, workloads.pod_spec(pool.name, cpu="3"))
        peer_pod(api, namespace, pool.name, "rival", {"peer": "rival"}, cpu="2", priority_class=name)
        wait_unschedulable(api, namespace, selector="peer=rival")
        workloads.roll_out(api, namespace, APP, workloads.pod_spec(pool.name, cpu="3", memory="65Mi"))
        workloads.wait_new_pod_unschedulable(api, namespace, APP)
        diagnosis = blocked_untouched(local_cluster, namespace, "higher priority")
        assert diagnosis["proof"]["chain"]["rivals"][0]["name"] == "rival"
    finally:
        scheduling.delete_priority_class(name)


def test_an_old_pod_on_a_node_whose_kubelet_is_gone_is_never_removed(local_cluster, namespace, pool):
    """Finding 3: the node's kubelet stops reporting (workloads.lose_node: Ready Unknown; the node lifecycle
    controller then taints it unreachable). A graceful delete there never completes and a
    pod placed there never runs: the only candidate is there, so nothing is removed and the verdict says why."""
    api = local_cluster.api
    pool.add(workloads.pool_node(pool.name, 1, cpu="4"))
    single_app(local_cluster, namespace, pool, workloads.pod_spec(pool.name, cpu="3"))
    anywhere = {"tolerations": [{"operator": "Exists"}]}
    workloads.roll_out(api, namespace, APP, workloads.pod_spec(pool.name, cpu="3", memory="65Mi", extra=anywhere))
    workloads.wait_new_pod_unschedulable(api, namespace, APP)
    node_name = "%s-n1" % pool.name
    workloads.lose_node(api, node_name)
    blocked_untouched(local_cluster, namespace, "not Ready")


def test_a_preemptor_nominated_to_the_node_and_its_victim_held_by_a_finalizer(local_cluster, namespace, pool):
    """Findings 2 and 4 as the scheduler makes them: a higher-priority pod preempts a pod of another owner whose
    deletion a finalizer holds; the preemptor waits, nominated to the node (status.nominatedNodeName). The new
    pod of the Deployment then finds no room: the nominated pod counts as already there, the victim as leaving.
    Nothing may be removed while the victim terminates (the old proof deleted the old pod then, and the new pod
    still could not run). Once the victim is gone and the preemptor runs, the removal is proven and completes the
    rollout."""
    api = local_cluster.api
    core = client.CoreV1Api(api)
    scheduling = client.SchedulingV1Api(api)
    name = "clusterops-test-%s" % pool.name
    scheduling.create_priority_class({"metadata": {"name": name}, "value": 1000})
    try:
        pool.add(workloads.pool_node(pool.name, 1, cpu="4"))
        single_app(local_cluster, namespace, pool, workloads.pod_spec(pool.name, cpu="1"))
        peer_pod(api, namespace, pool.name, "victim", {"peer": "victim"}, cpu="2500m",
                 finalizers=["clusterops.test/hold"])
        wait_running(api, namespace, "victim")
        peer_pod(api, namespace, pool.name, "preemptor", {"peer": "preemptor"}, cpu="2500m", priority_class=name)
        wait_pod(api, namespace, lambda p: (p.get("status") or {}).get("nominatedNodeName") == "%s-n1" % pool.name,
                 selector="peer=preemptor")
        wait_pod(api, namespace, lambda p: bool(p["metadata"].get("deletionTimestamp")), selector="peer=victim")
        workloads.roll_out(api, namespace, APP, workloads.pod_spec(pool.name, cpu="1", memory="65Mi"))
        workloads.wait_new_pod_unschedulable(api, namespace, APP)
        before, diagnosis = progressing_untouched(local_cluster, namespace)
        core.patch_namespaced_pod("victim", namespace, {"metadata": {"finalizers": None}})
        wait_pod(api, namespace, running_and_ready, selector="peer=preemptor", timeout=90)
        result = remediate(local_cluster, namespace, wait=True, wait_timeout=90)
        assert result["failed"] is False, result.get("msg")
        assert result["rollout"]["complete"] is True, result
        old_pod = [n for n, _uid in before["pods"] if n.startswith(APP + "-%s-" % diagnosis["old_replicasets"][0][
            "pod_template_hash"])]
        assert [p for step in result["steps"] for p in step["pods"]] == old_pod, result["steps"]
    finally:
        scheduling.delete_priority_class(name)
