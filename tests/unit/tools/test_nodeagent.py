# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node agent's pure part (tools/testbed/node_agent.py): which Nodes kOps instances register, and with what."""

from __future__ import annotations

from testbed import node_agent

# Tags as kops 1.30.2 puts them on its Auto Scaling groups, and the instances carry (read from moto).
CONTROL_PLANE_TAGS = {
    "KubernetesCluster": "x.k8s.local", "kops.k8s.io/instancegroup": "control-plane-eu-west-1a",
    "k8s.io/role/control-plane": "1", "k8s.io/role/master": "1",
    "k8s.io/cluster-autoscaler/node-template/label/kops.k8s.io/kops-controller-pki": "",
    "k8s.io/cluster-autoscaler/node-template/label/node-role.kubernetes.io/control-plane": "",
    "k8s.io/cluster-autoscaler/node-template/label/node.kubernetes.io/exclude-from-external-load-balancers": ""}
NODE_TAGS = {
    "KubernetesCluster": "x.k8s.local", "kops.k8s.io/instancegroup": "nodes-eu-west-1a", "k8s.io/role/node": "1",
    "k8s.io/cluster-autoscaler/node-template/label/node-role.kubernetes.io/node": "",
    "k8s.io/cluster-autoscaler/node-template/taint/dedicated": "batch:NoSchedule"}


def instance(instance_id, tags, state="running"):
    return {"id": instance_id, "state": state, "zone": "eu-west-1a", "private_ip": "172.20.1.%d" % len(instance_id),
            "type": "t3.medium", "tags": tags}


def test_control_plane_node_has_what_kops_validate_matches_on():
    node = node_agent.node_for(instance("i-cp1", CONTROL_PLANE_TAGS), "1.30.5", "1.30.2")
    assert node["spec"]["providerID"] == "aws:///eu-west-1a/i-cp1"
    labels = node["metadata"]["labels"]
    assert labels["kops.k8s.io/instancegroup"] == "control-plane-eu-west-1a"
    assert "node-role.kubernetes.io/control-plane" in labels and "node-role.kubernetes.io/node" not in labels
    assert labels["kops.k8s.io/kops-controller-pki"] == ""
    assert labels["topology.kubernetes.io/zone"] == "eu-west-1a" and labels["topology.kubernetes.io/region"] == "eu-west-1"
    assert node["spec"]["taints"] == [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.30.5"
    assert {"type": "InternalIP", "address": "172.20.1.5"} in node["status"]["addresses"]
    assert node["metadata"]["annotations"][node_agent.KOPS_VERSION_ANNOTATION] == "1.30.2"


def test_worker_node_gets_the_group_taints_and_no_control_plane_taint():
    node = node_agent.node_for(instance("i-n1", NODE_TAGS), "v1.31.3", "1.31.0")
    assert "node-role.kubernetes.io/node" in node["metadata"]["labels"]
    assert node["spec"]["taints"] == [{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.31.3"


def test_static_pods_sit_on_the_node_and_go_with_it():
    node = node_agent.node_for(instance("i-cp1", CONTROL_PLANE_TAGS), "1.30.5", "1.30.2")
    node["metadata"]["uid"] = "uid-1"
    pods = node_agent.static_pods(node)
    assert sorted(p["metadata"]["labels"]["k8s-app"] for p in pods) == [
        "kube-apiserver", "kube-controller-manager", "kube-scheduler"]
    for pod in pods:
        assert pod["metadata"]["namespace"] == "kube-system" and pod["spec"]["nodeName"] == "i-cp1"
        assert "kubernetes.io/config.mirror" in pod["metadata"]["annotations"]  # kops' drain leaves it alone
        assert pod["metadata"]["ownerReferences"][0] == {"apiVersion": "v1", "kind": "Node", "name": "i-cp1",
                                                         "uid": "uid-1", "controller": True}


def test_plan_joins_running_instances_and_removes_nodes_of_gone_ones():
    detached = dict(NODE_TAGS, **{"kops.k8s.io/detached-from-asg": "true"})
    instances = [instance("i-cp1", CONTROL_PLANE_TAGS), instance("i-n1", NODE_TAGS), instance("i-n2", detached),
                 instance("i-gone", NODE_TAGS, "terminated"), instance("i-b", {"k8s.io/role/bastion": "1"})]
    wanted = node_agent.wanted_instances(instances)
    assert sorted(wanted) == ["i-cp1", "i-n1", "i-n2"]  # a detached instance runs until kops terminates it
    assert node_agent.plan(wanted, {"i-n1": object(), "i-old": object()}) == (["i-cp1", "i-n2"], ["i-old"])
