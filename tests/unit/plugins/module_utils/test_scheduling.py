# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of scheduler-message parsing, node eligibility, rollout arithmetic and deadlock prediction."""

from __future__ import annotations

import pytest

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.scheduling import (
    classify_reason,
    eligible_nodes,
    host_ports,
    parse_scheduler_message,
    predict_rollout_deadlock,
    rollout_budget,
    scaled_value,
)

from testbed.api_objects import deployment, node, nth_pod_template


@pytest.mark.parametrize("reason, kind", [
    ("node(s) didn't have free ports for the requested pod ports", "host_ports"),
    ("node(s) didn't match pod anti-affinity rules", "pod_anti_affinity"),
    ("node(s) didn't match pod affinity rules", "pod_affinity"),
    ("node(s) didn't satisfy existing pods anti-affinity rules", "pod_anti_affinity"),
    ("node(s) didn't match pod topology spread constraints", "topology_spread"),
    ("node(s) didn't match pod topology spread constraints (missing required label)", "topology_spread_label"),
    ("node(s) had untolerated taint(s)", "taints"),
    ("node(s) didn't satisfy plugin(s) [NodeAffinity]", "node_affinity"),
    ("node(s) didn't match the requested node name", "node_name"),
    ("node(s) didn't find available persistent volumes to bind", "volumes"),
    ("node(s) didn't match Pod's node affinity/selector", "node_affinity"),
    ("node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }", "taints"),
    ("node(s) had taint {node.kubernetes.io/not-ready: }, that the pod didn't tolerate", "taints"),
    ("Insufficient cpu", "resources"),
    ("Insufficient memory", "resources"),
    ("Too many pods", "resources"),
    ("node(s) were unschedulable", "unschedulable_node"),
    ("node(s) had volume node affinity conflict", "volumes"),
    ("pod has unbound immediate PersistentVolumeClaims", "volumes"),
    ("something a future scheduler says", "other"),
])
def test_classify_reason(reason, kind):
    assert classify_reason(reason) == kind


def test_parse_message_with_taint_braces_and_preemption_tail():
    message = ("0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
               "1 node(s) didn't have free ports for the requested pod ports, 2 Insufficient memory. preemption: "
               "0/4 nodes are available: 4 Preemption is not helpful for scheduling.")
    parsed = parse_scheduler_message(message)
    assert parsed["available"] == 0 and parsed["total"] == 4
    assert [(b["kind"], b["nodes"]) for b in parsed["blockers"]] == [("taints", 1), ("host_ports", 1),
                                                                     ("resources", 2)]


def test_parse_message_of_kube_scheduler_1_34():
    # Captured from kube-scheduler v1.34.4 on the local control plane (NTH deadlock, one control-plane node).
    message = ("0/3 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 2 node(s) "
               "didn't match Pod's node affinity/selector. no new claims to deallocate, preemption: 0/3 nodes are "
               "available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for "
               "scheduling.")
    parsed = parse_scheduler_message(message)
    assert parsed["blockers"] == [
        {"kind": "host_ports", "nodes": 1, "reason": "node(s) didn't have free ports for the requested pod ports",
         "removable": True},
        {"kind": "node_affinity", "nodes": 2, "reason": "node(s) didn't match Pod's node affinity/selector",
         "removable": False},
    ]


def test_parse_empty_message():
    assert parse_scheduler_message(None) == {"available": None, "total": None, "blockers": []}
    assert parse_scheduler_message("no nodes available to schedule pods")["blockers"][0]["kind"] == "other"


@pytest.mark.parametrize("value, total, up, expected", [
    ("25%", 1, True, 1), ("25%", 1, False, 0), ("25%", 2, True, 1), ("25%", 2, False, 0),
    ("25%", 4, False, 1), ("50%", 3, True, 2), (0, 5, True, 0), (3, 5, False, 3), ("2", 5, False, 2),
])
def test_scaled_value_rounding(value, total, up, expected):
    assert scaled_value(value, total, up) == expected


def test_budget_defaults_and_fencepost():
    assert rollout_budget(deployment(replicas=1, strategy={})) == {
        "type": "RollingUpdate", "max_surge": 1, "max_unavailable": 0, "replicas": 1}
    zero = deployment(replicas=3, strategy={"type": "RollingUpdate",
                                            "rollingUpdate": {"maxSurge": "0%", "maxUnavailable": "10%"}})
    assert rollout_budget(zero)["max_unavailable"] == 1  # both 0: unavailable becomes 1
    assert rollout_budget(deployment(strategy={"type": "Recreate"}))["max_surge"] == 0


@pytest.mark.parametrize("replicas, unavailable, expected", [
    (0, "25%", 0), (0, 1, 0), (2, "200%", 2), (2, 5, 2), (3, 1, 1), (1, "25%", 0),
])
def test_max_unavailable_is_clamped_to_replicas_as_kubernetes_does(replicas, unavailable, expected):
    dep = deployment(replicas=replicas, strategy={"type": "RollingUpdate",
                                                  "rollingUpdate": {"maxSurge": 1, "maxUnavailable": unavailable}})
    assert rollout_budget(dep)["max_unavailable"] == expected


def test_host_ports_from_host_network():
    spec = nth_pod_template()["spec"]
    for container in spec["containers"]:
        for port in container["ports"]:
            port.pop("hostPort", None)
    assert host_ports(spec) == [(8080, "TCP"), (9092, "TCP")]
    spec["hostNetwork"] = False
    assert host_ports(spec) == []


def test_eligible_nodes_follow_affinity_taints_and_cordon():
    nodes = [node("cp-0", control_plane=True), node("cp-1", control_plane=True, unschedulable=True),
             node("worker-0")]
    spec = nth_pod_template()["spec"]
    assert eligible_nodes(nodes, spec) == ["cp-0"]
    spec["tolerations"] = []
    assert eligible_nodes(nodes, spec) == []
    plain = {"containers": []}
    assert eligible_nodes(nodes, plain) == ["worker-0"]
    legacy = node("master-0")
    legacy["metadata"]["labels"]["node-role.kubernetes.io/master"] = ""
    assert eligible_nodes([legacy], nth_pod_template()["spec"]) == ["master-0"]


def test_toleration_matching_key_and_value():
    tainted = node("n")
    tainted["spec"]["taints"] = [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]
    spec = {"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "other"}]}
    assert eligible_nodes([tainted], spec) == []
    spec = {"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}]}
    assert eligible_nodes([tainted], spec) == ["n"]
    tainted["spec"]["taints"][0]["effect"] = "PreferNoSchedule"
    assert eligible_nodes([tainted], {}) == ["n"]


@pytest.mark.parametrize("control_planes, replicas, deadlock", [(1, 1, True), (2, 2, True), (3, 2, False)])
def test_nth_prediction_by_control_plane_count(control_planes, replicas, deadlock):
    nodes = [node("cp-%d" % i, control_plane=True) for i in range(control_planes)] + [node("w")]
    prediction = predict_rollout_deadlock(deployment(replicas=replicas, strategy={}), nodes)
    assert prediction["deadlock"] is deadlock
    assert prediction["eligible_nodes"] == control_planes
    assert prediction["host_ports"] == [8080, 9092]


def test_prediction_without_host_network_is_safe():
    nodes = [node("cp-0", control_plane=True)]
    dep = deployment(template=nth_pod_template(host_network=False), strategy={})
    prediction = predict_rollout_deadlock(dep, nodes)
    assert prediction["deadlock"] is False
    assert prediction["pods_per_node_limit"] is None


def test_prediction_spread_with_min_domains_caps_nodes():
    nodes = [node("cp-0", control_plane=True)]
    template = nth_pod_template(host_network=False)
    template["spec"]["topologySpreadConstraints"][1]["minDomains"] = 2
    prediction = predict_rollout_deadlock(deployment(template=template, strategy={}), nodes)
    assert prediction["deadlock"] is True
    assert prediction["pods_per_node_limit"] == 1


def test_prediction_with_no_eligible_node():
    dep = deployment(strategy={})
    prediction = predict_rollout_deadlock(dep, [node("worker-0")])
    assert prediction["deadlock"] is True
    assert "no node admits" in prediction["reason"]


def test_prediction_scaled_to_zero():
    assert predict_rollout_deadlock(deployment(replicas=0), [node("cp-0", control_plane=True)])["deadlock"] is False
