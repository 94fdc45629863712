# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the scheduler-filter model: quantities, requests, host ports, spread, (anti-)affinity."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.placement import (
    REASON_EXISTING_ANTI_AFFINITY,
    REASON_PORTS,
    REASON_SPREAD,
    Cluster,
    QuantityError,
    compare_with_scheduler,
    evaluate_node,
    host_port_claims,
    parse_quantity,
    pod_requests,
    ports_conflict,
    scheduler_view,
    smallest_freeing_set,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.scheduling import parse_scheduler_message

from testbed.api_objects import node


@pytest.mark.parametrize("text, value", [
    ("100m", Fraction(1, 10)), ("1", 1), ("1.5", Fraction(3, 2)), ("128Mi", 128 * 2 ** 20), ("1G", 10 ** 9),
    ("1e3", 1000), ("2k", 2000), (2, 2), ("500u", Fraction(1, 2000)), ("1Ki", 1024),
])
def test_parse_quantity(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "Mi", True])
def test_bad_quantities_are_errors(text):
    with pytest.raises(QuantityError):
        parse_quantity(text)


def container(cpu=None, memory=None, ports=None, restart=None):
    c = {"name": "c", "resources": {"requests": dict((k, v) for k, v in (("cpu", cpu), ("memory", memory)) if v)}}
    if ports:
        c["ports"] = ports
    if restart:
        c["restartPolicy"] = restart
    return c


def test_pod_requests_take_the_larger_of_containers_and_init_with_sidecars():
    spec = {"containers": [container("100m", "64Mi"), container("200m")],
            "initContainers": [container("1", "1Gi"), container("50m", restart="Always")]}
    # sidecar adds to the sum (350m); the regular init container (1 CPU) ran before the sidecar started.
    assert pod_requests(spec) == {"cpu": 1000, "memory": 2 ** 30}
    spec["initContainers"].reverse()  # sidecar first: the init container runs beside it (1050m)
    assert pod_requests(spec)["cpu"] == 1050
    spec["overhead"] = {"cpu": "10m"}
    assert pod_requests(spec)["cpu"] == 1060


def test_host_ports_with_host_network_protocol_and_ip():
    spec = {"hostNetwork": True, "containers": [container(ports=[{"containerPort": 8080},
                                                                 {"containerPort": 53, "protocol": "UDP"}])]}
    assert host_port_claims(spec) == [("0.0.0.0", "TCP", 8080), ("0.0.0.0", "UDP", 53)]
    assert ports_conflict(("0.0.0.0", "TCP", 8080), [("10.0.0.1", "TCP", 8080)])
    assert ports_conflict(("10.0.0.1", "TCP", 8080), [("0.0.0.0", "TCP", 8080)])
    assert not ports_conflict(("10.0.0.1", "TCP", 8080), [("10.0.0.2", "TCP", 8080)])
    assert not ports_conflict(("0.0.0.0", "UDP", 8080), [("0.0.0.0", "TCP", 8080)])


def pod(name, node_name=None, labels=None, spec=None, namespace="default", uid=None, terminating=False):
    spec = dict(spec or {"containers": [container("100m")]})
    if node_name:
        spec["nodeName"] = node_name
    metadata = {"name": name, "namespace": namespace, "uid": uid or "uid-" + name, "labels": labels or {}}
    if terminating:
        metadata["deletionTimestamp"] = "2026-11-28T00:00:00Z"
    return {"metadata": metadata, "spec": spec, "status": {"phase": "Running" if node_name else "Pending"}}


def test_ports_freed_only_by_removing_the_holder():
    ports = [{"containerPort": 9000, "hostPort": 9000}]
    holder = pod("old", "n1", spec={"containers": [container(ports=ports)]})
    other = pod("other", "n1")
    new = pod("new", spec={"containers": [container(ports=ports)]})
    cluster = Cluster([node("n1")], [holder, other])
    assert [f["reasons"] for f in evaluate_node(new, cluster.nodes[0], cluster)] == [[REASON_PORTS]]
    assert evaluate_node(new, cluster.nodes[0], cluster, frozenset(["uid-old"])) == []
    assert smallest_freeing_set(new, cluster.nodes[0], cluster, [other, holder]) == [holder]


def test_spread_counts_without_terminating_pods_and_with_min_domains():
    labels = {"app": "a"}
    constraint = {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
                  "labelSelector": {"matchLabels": labels}}
    spec = {"containers": [container("10m")], "topologySpreadConstraints": [constraint]}
    nodes = [node("n1"), node("n2")]
    existing = [pod("a1", "n1", labels, spec), pod("a2", "n1", labels, spec, terminating=True)]
    new = pod("new", labels=labels, spec=spec)
    cluster = Cluster(nodes, existing)
    # n1 has one counted pod (the terminating one does not count), n2 none: n1 skew 1+1-0 = 2 > 1.
    assert [f["reasons"] for f in evaluate_node(new, nodes[0], cluster)] == [[REASON_SPREAD]]
    assert evaluate_node(new, nodes[1], cluster) == []
    constraint["minDomains"] = 3  # fewer domains than minDomains: the global minimum is 0
    assert evaluate_node(new, nodes[1], cluster) == []


def test_existing_pod_anti_affinity_blocks_and_its_removal_frees():
    guard_spec = {"containers": [container("10m")], "affinity": {"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "topology.kubernetes.io/zone", "labelSelector": {"matchLabels": {"app": "a"}}}]}}}
    nodes = [node("n1", zone="z1"), node("n2", zone="z1"), node("n3", zone="z2")]
    guard = pod("guard", "n1", {"app": "guard"}, guard_spec)
    new = pod("new", labels={"app": "a"})
    cluster = Cluster(nodes, [guard])
    assert evaluate_node(new, nodes[1], cluster)[0]["reasons"] == [REASON_EXISTING_ANTI_AFFINITY]
    assert evaluate_node(new, nodes[2], cluster) == []
    assert evaluate_node(new, nodes[1], cluster, frozenset(["uid-guard"])) == []


def test_match_label_keys_narrow_anti_affinity_to_the_same_revision():
    term = {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "a"}},
            "matchLabelKeys": ["pod-template-hash"]}
    spec = {"containers": [container("10m")],
            "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}}
    nodes = [node("n1")]
    old = pod("old", "n1", {"app": "a", "pod-template-hash": "1"}, spec)
    new = pod("new", labels={"app": "a", "pod-template-hash": "2"}, spec=spec)
    cluster = Cluster(nodes, [old])
    assert evaluate_node(new, nodes[0], cluster) == []  # different revision: no conflict


def test_the_scheduler_view_matches_its_message_or_proves_nothing():
    ports = [{"containerPort": 9000, "hostPort": 9000}]
    nodes = [node("cp", control_plane=True), node("w1"), node("w2")]
    spec = {"containers": [container(ports=ports)], "tolerations": [{"operator": "Exists"}],
            "nodeSelector": {"node-role.kubernetes.io/control-plane": ""}}
    cluster = Cluster(nodes, [pod("old", "cp", spec=spec)])
    _per_node, counts = scheduler_view(pod("new", spec=spec), cluster)
    message = ("0/3 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, "
               "2 node(s) didn't match Pod's node affinity/selector. preemption: ...")
    agrees, words = compare_with_scheduler(counts, parse_scheduler_message(message), 3)
    assert agrees, words
    wrong = message.replace("1 node(s) didn't have free ports", "1 Insufficient cpu, 1 node(s) had taints")
    assert not compare_with_scheduler(counts, parse_scheduler_message(wrong), 3)[0]
    assert not compare_with_scheduler(counts, parse_scheduler_message("no nodes available"), 3)[0]
