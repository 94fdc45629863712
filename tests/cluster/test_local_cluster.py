# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local control plane is real: the API server admits and defaults, RBAC denies, the scheduler decides and the
controllers roll out. Reproduces the kOps NTH rollout deadlock (kubernetes/kops#16870) and its manual fix."""

from __future__ import annotations

import os
import subprocess

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from testbed.kube import (NTH, deploy_nth, list_pods, remediate_by_deleting_old_replicaset, replicasets_by_revision,
                          reproduce_deadlock, rollout_complete, running_and_ready, unschedulable, wait_deployment,
                          wait_nodes_ready)

CONTROL_PLANE = "node-role.kubernetes.io/control-plane"


def host_ports_of(pod):
    return sorted(port.get("hostPort") for container in pod["spec"]["containers"] for port in container["ports"])


def test_nodes_are_ready_with_their_roles(cluster, three_cp_cluster):
    for each in (cluster, three_cp_cluster):
        ready = wait_nodes_ready(each.api, each.control_plane_nodes + each.workers, timeout=30)[0]
        nodes = {n.metadata.name: n for n in client.CoreV1Api(each.api).list_node().items}
        assert sorted(nodes) == ready
        control_planes = [n for n in nodes.values() if CONTROL_PLANE in (n.metadata.labels or {})]
        assert len(control_planes) == each.control_plane_nodes
        for node in nodes.values():
            labels = node.metadata.labels
            assert labels["kubernetes.io/hostname"] == node.metadata.name
            assert labels["kubernetes.io/os"] == "linux"
            taints = [(t.key, t.effect) for t in node.spec.taints or []]
            if node in control_planes:
                assert labels[CONTROL_PLANE] == ""
                assert labels["topology.kubernetes.io/zone"]
                assert taints == [(CONTROL_PLANE, "NoSchedule")]
            else:
                assert taints == []
        for namespace in ("default", "kube-system"):
            sa = client.CoreV1Api(each.api).read_namespaced_service_account("default", namespace)
            assert sa.metadata.name == "default"


def test_kwok_renews_the_node_leases(cluster):
    """The node lifecycle controller judges node health by the Leases in kube-node-lease: each must be renewed
    (else every node goes NotReady after the grace period and its pods flap NotReady)."""
    coordination = client.CoordinationV1Api(cluster.api)
    first = {lease.metadata.name: lease.spec.renew_time
             for lease in coordination.list_namespaced_lease("kube-node-lease").items}
    assert sorted(first) == sorted(n.metadata.name for n in client.CoreV1Api(cluster.api).list_node().items)
    renewed = set()
    for event in watch.Watch().stream(coordination.list_namespaced_lease, "kube-node-lease", timeout_seconds=40):
        lease = event["object"]
        if lease.spec.renew_time and lease.spec.renew_time > first[lease.metadata.name]:
            assert lease.spec.lease_duration_seconds == 40
            renewed.add(lease.metadata.name)
            if renewed == set(first):
                break
    assert renewed == set(first)


def test_up_twice_reuses_the_running_cluster(cluster):
    tools = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "localcluster")
    pid_file = os.path.join(cluster.state_dir, "run", "kube-apiserver.pid")
    with open(pid_file) as handle:
        before = handle.read()
    env = dict(os.environ, CLUSTER_NAME=cluster.name, CONTROL_PLANE_NODES="1", WORKER_NODES="2")
    up = subprocess.run(["bash", os.path.join(tools, "up.sh")], env=env, capture_output=True, text=True, check=True)
    assert up.stdout.strip().splitlines()[-1] == "KUBECONFIG=" + cluster.kubeconfig
    with open(pid_file) as handle:
        assert handle.read() == before


def test_nth_deadlocks_on_one_control_plane_node(cluster, namespace, host_ports):
    result = reproduce_deadlock(cluster.api, namespace, replicas=1, ports=host_ports)
    pending = result["pending_pod"]
    # The scheduler's verdict, not a guess: PodScheduled=False/Unschedulable, not bound, a FailedScheduling event.
    assert unschedulable(pending)
    assert not pending["spec"].get("nodeName")
    assert result["event"]["reason"] == "FailedScheduling"
    assert result["event"]["involvedObject"]["uid"] == pending["metadata"]["uid"]
    assert result["event"]["type"] == "Warning"
    # API defaulting turned the containerPorts of a hostNetwork pod into hostPorts: that is the collision.
    assert host_ports_of(pending) == sorted(host_ports)
    pods = {p["metadata"]["name"]: p for p in list_pods(cluster.api, namespace)}
    old = [pods[name] for name in result["old_pods"]]
    assert len(old) == 1 and running_and_ready(old[0])
    assert old[0]["spec"]["nodeName"] == "control-plane-1"
    assert host_ports_of(old[0]) == sorted(host_ports)
    # Two ReplicaSets: the old one still serves, the new one waits; the Deployment cannot progress.
    old_rs, new_rs = replicasets_by_revision(cluster.api, namespace)
    assert (old_rs["status"].get("readyReplicas"), new_rs["status"].get("readyReplicas")) == (1, None)
    deployment = client.AppsV1Api(cluster.api).read_namespaced_deployment(NTH, namespace)
    assert deployment.spec.strategy.rolling_update.max_surge == "25%"
    assert deployment.spec.strategy.rolling_update.max_unavailable == "25%"

    # The deployment controller writes its status after the pods it counts exist (on a loaded machine the pending
    # pod and its event can be seen first): wait until it counts the new pod, then the rollout must stand at one
    # updated, one available, one unavailable.
    def counts(dep):
        status = dep.get("status") or {}
        return status.get("updatedReplicas"), status.get("availableReplicas"), status.get("unavailableReplicas")

    try:
        wait_deployment(cluster.api, namespace, NTH, lambda dep: counts(dep) == (1, 1, 1), timeout=60)
    except TimeoutError:
        pass
    now = cluster.api.sanitize_for_serialization(client.AppsV1Api(cluster.api).read_namespaced_deployment(
        NTH, namespace))
    assert counts(now) == (1, 1, 1), now.get("status")


def test_nth_deadlocks_on_two_control_plane_nodes(two_cp_cluster, two_cp_namespace, host_ports):
    result = reproduce_deadlock(two_cp_cluster.api, two_cp_namespace, replicas=2, ports=host_ports)
    assert unschedulable(result["pending_pod"])
    assert result["event"]["reason"] == "FailedScheduling"
    old = [p for p in list_pods(two_cp_cluster.api, two_cp_namespace) if p["metadata"]["name"] in result["old_pods"]]
    assert sorted(p["spec"]["nodeName"] for p in old) == ["control-plane-1", "control-plane-2"]
    assert all(running_and_ready(p) for p in old)


def test_the_same_rollout_completes_on_three_control_plane_nodes(three_cp_cluster, three_cp_namespace, host_ports):
    api, namespace = three_cp_cluster.api, three_cp_namespace
    deploy_nth(api, namespace, "v1.18.3", replicas=2, liveness_port=host_ports[0], metrics_port=host_ports[1])
    wait_deployment(api, namespace, NTH, rollout_complete)
    deploy_nth(api, namespace, "v1.22.0", replicas=2, liveness_port=host_ports[0], metrics_port=host_ports[1])
    deployment = wait_deployment(api, namespace, NTH, rollout_complete, timeout=120)[0]
    assert deployment["status"]["updatedReplicas"] == 2
    pods = [p for p in list_pods(api, namespace) if not p["metadata"].get("deletionTimestamp")]
    assert {p["spec"]["containers"][0]["image"].rsplit(":", 1)[1] for p in pods} == {"v1.22.0"}
    assert all(running_and_ready(p) and p["spec"]["nodeName"].startswith("control-plane-") for p in pods)
    # The hostname spread (DoNotSchedule) keeps them on two different control-plane nodes.
    assert len({p["spec"]["nodeName"] for p in pods}) == 2


def test_deleting_the_old_replicaset_by_hand_completes_the_rollout(cluster, namespace, host_ports):
    result = reproduce_deadlock(cluster.api, namespace, replicas=1, ports=host_ports)
    old_rs, new_rs = replicasets_by_revision(cluster.api, namespace)
    fixed = remediate_by_deleting_old_replicaset(cluster.api, namespace)
    assert fixed["deleted"] == [old_rs["metadata"]["name"]]
    assert rollout_complete(fixed["deployment"])
    assert [rs["metadata"]["name"] for rs in replicasets_by_revision(cluster.api, namespace)] == \
        [new_rs["metadata"]["name"]]
    live = [p for p in list_pods(cluster.api, namespace) if not p["metadata"].get("deletionTimestamp")]
    assert [p["metadata"]["name"] for p in live] == [result["pending_pod"]["metadata"]["name"]]
    assert running_and_ready(live[0]) and live[0]["spec"]["nodeName"] == "control-plane-1"


def test_deleting_with_a_stale_uid_is_refused(cluster, namespace, host_ports):
    deploy_nth(cluster.api, namespace, "v1.18.3", liveness_port=host_ports[0], metrics_port=host_ports[1])
    wait_deployment(cluster.api, namespace, NTH, rollout_complete)
    (rs,) = replicasets_by_revision(cluster.api, namespace)
    apps = client.AppsV1Api(cluster.api)
    with pytest.raises(ApiException) as raised:
        apps.delete_namespaced_replica_set(
            rs["metadata"]["name"], namespace,
            body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="00000000-0000-0000-0000-000000000000")))
    assert raised.value.status == 409
    assert apps.read_namespaced_replica_set(rs["metadata"]["name"], namespace).metadata.uid == rs["metadata"]["uid"]


def test_limited_identity_reads_but_gets_403_on_replicaset_delete_and_patch(cluster, namespace, host_ports):
    deploy_nth(cluster.api, namespace, "v1.18.3", liveness_port=host_ports[0], metrics_port=host_ports[1])
    wait_deployment(cluster.api, namespace, NTH, rollout_complete)
    limited = client.AppsV1Api(cluster.limited_api)
    (rs,) = limited.list_namespaced_replica_set(namespace).items
    assert limited.read_namespaced_deployment(NTH, namespace).metadata.name == NTH
    assert client.CoreV1Api(cluster.limited_api).list_node().items
    for attempt in (lambda: limited.delete_namespaced_replica_set(rs.metadata.name, namespace),
                    lambda: limited.patch_namespaced_replica_set(rs.metadata.name, namespace,
                                                                 {"spec": {"replicas": 0}})):
        with pytest.raises(ApiException) as raised:
            attempt()
        assert raised.value.status == 403
        assert raised.value.reason == "Forbidden"
    after = client.AppsV1Api(cluster.api).read_namespaced_replica_set(rs.metadata.name, namespace)
    assert (after.metadata.uid, after.spec.replicas) == (rs.metadata.uid, 1)


def test_without_the_port_collision_the_surge_pod_schedules_beside_the_old_one(cluster, namespace, host_ports):
    """Control experiment: the same rollout on one control-plane node, but the new version also moves its ports.
    The surge pod then schedules on the same node and the rollout completes, so the host ports are the blocker."""
    deploy_nth(cluster.api, namespace, "v1.18.3", liveness_port=host_ports[0], metrics_port=host_ports[1])
    wait_deployment(cluster.api, namespace, NTH, rollout_complete)
    moved = (host_ports[0] + 10000, host_ports[1] + 10000)
    deploy_nth(cluster.api, namespace, "v1.22.0", liveness_port=moved[0], metrics_port=moved[1])
    deployment = wait_deployment(cluster.api, namespace, NTH, rollout_complete, timeout=60)[0]
    assert deployment["status"]["updatedReplicas"] == 1
    live = [p for p in list_pods(cluster.api, namespace) if not p["metadata"].get("deletionTimestamp")]
    assert len(live) == 1 and running_and_ready(live[0])
    assert live[0]["spec"]["nodeName"] == "control-plane-1"
    assert host_ports_of(live[0]) == sorted(moved)
