# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""API objects as plain dicts, shaped exactly as the API server serves them (camelCase, status blocks,
ownerReferences with controller: true), for the unit tests of the pure rollout logic, the benchmarks and the cluster
tests that judge objects without a cluster."""

from __future__ import annotations

import copy

NTH_LABELS = {
    "k8s-app": "aws-node-termination-handler",
    "app.kubernetes.io/name": "aws-node-termination-handler",
    "app.kubernetes.io/instance": "aws-node-termination-handler",
    "kops.k8s.io/nth-mode": "sqs",
}
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def node(name, control_plane=False, zone="eu-west-1a", unschedulable=False, ready=True):
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "topology.kubernetes.io/zone": zone,
    }
    spec = {}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
        spec["taints"] = [dict(CONTROL_PLANE_TAINT)]
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "metadata": {"name": name, "uid": "uid-node-" + name, "labels": labels,
                     "annotations": {"kwok.x-k8s.io/node": "fake"}},
        "spec": spec,
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False", "reason": "KubeletReady"}],
                   "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                   "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"}},
    }


def nth_pod_template(image_tag="v1.22.0", host_network=True):
    return {
        "metadata": {"labels": dict(NTH_LABELS)},
        "spec": {
            "hostNetwork": host_network,
            "priorityClassName": "system-cluster-critical",
            "serviceAccountName": "aws-node-termination-handler",
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}]},
                {"matchExpressions": [{"key": "node-role.kubernetes.io/master", "operator": "Exists"}]},
            ]}}},
            "tolerations": [{"operator": "Exists"}],
            "topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
                 "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "aws-node-termination-handler"}}},
                {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
                 "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "aws-node-termination-handler"}}},
            ],
            "containers": [{
                "name": "aws-node-termination-handler",
                "image": "public.ecr.aws/aws-ec2/aws-node-termination-handler:" + image_tag,
                "ports": [
                    {"name": "http-metrics", "containerPort": 9092, "hostPort": 9092, "protocol": "TCP"},
                    {"name": "liveness-probe", "containerPort": 8080, "hostPort": 8080, "protocol": "TCP"},
                ] if host_network else [
                    {"name": "http-metrics", "containerPort": 9092, "protocol": "TCP"},
                    {"name": "liveness-probe", "containerPort": 8080, "protocol": "TCP"},
                ],
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
            }],
        },
    }


def deployment(name="aws-node-termination-handler", namespace="kube-system", replicas=1, template=None,
               strategy=None, revision=2, generation=2, observed_generation=None, paused=False, status=None,
               conditions=None):
    template = template or nth_pod_template()
    spec = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app.kubernetes.io/name": template["metadata"]["labels"].get(
            "app.kubernetes.io/name", name), "app.kubernetes.io/instance": template["metadata"]["labels"].get(
            "app.kubernetes.io/instance", name)}},
        "template": template,
        "strategy": strategy if strategy is not None else {
            "type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
    }
    if paused:
        spec["paused"] = True
    return {
        "metadata": {
            "name": name, "namespace": namespace, "uid": "uid-deploy-" + name, "generation": generation,
            "resourceVersion": "1000", "labels": dict(template["metadata"]["labels"]),
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
            "creationTimestamp": "2026-11-27T10:00:00Z",
        },
        "spec": spec,
        "status": dict(
            status or {},
            observedGeneration=generation if observed_generation is None else observed_generation,
            conditions=conditions or [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"},
            ],
        ),
    }


def replicaset(owner, revision, template_hash, replicas, ready=None, available=None, status_replicas=None,
               resource_version="2000", owned=True):
    name = "%s-%s" % (owner["metadata"]["name"], template_hash)
    labels = dict(owner["spec"]["template"]["metadata"]["labels"], **{"pod-template-hash": template_hash})
    metadata = {
        "name": name, "namespace": owner["metadata"]["namespace"], "uid": "uid-rs-" + name,
        "resourceVersion": resource_version, "labels": labels,
        "annotations": {"deployment.kubernetes.io/revision": str(revision),
                        "deployment.kubernetes.io/desired-replicas": str(owner["spec"]["replicas"]),
                        "deployment.kubernetes.io/max-replicas": str(owner["spec"]["replicas"] + 1)},
        "creationTimestamp": "2026-11-27T1%d:00:00Z" % revision,
    }
    if owned:
        metadata["ownerReferences"] = [{
            "apiVersion": "apps/v1", "kind": "Deployment", "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    return {
        "metadata": metadata,
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": copy.deepcopy(owner["spec"]["template"])},
        "status": {"replicas": replicas if status_replicas is None else status_replicas,
                   "readyReplicas": replicas if ready is None else ready,
                   "availableReplicas": replicas if available is None else available,
                   "observedGeneration": 1},
    }


def two_replicas_one_surge_pending(template, message, old_nodes, old_template=None):
    """A Deployment of two replicas rolling out ``template`` one surge pod at a time: revision 1 (of
    ``old_template`` where given) has its two pods Running on ``old_nodes``, the surge pod of revision 2 is Pending,
    refused by the scheduler with ``message``. Returns (deployment, [old, new], pods, events)."""
    dep = deployment(replicas=2, template=template,
                     status={"replicas": 3, "updatedReplicas": 1, "availableReplicas": 2, "readyReplicas": 2})
    old = replicaset(dep, 1, "5555555555", 2)
    if old_template is not None:
        old["spec"]["template"] = old_template
    new = replicaset(dep, 2, "6666666666", 1, ready=0, available=0)
    pending = unschedulable_pod(new, "p", message)
    pods = [running_pod(old, "a", old_nodes[0]), running_pod(old, "b", old_nodes[1]), pending]
    return dep, [old, new], pods, [failed_scheduling_event(pending, message)]


def running_pod(rs, suffix, node_name, ready=True):
    return _scheduled_pod(rs, suffix, node_name, "Running", "2026-11-27T10:00:01Z",
                          {"type": "Ready", "status": "True" if ready else "False",
                           "lastTransitionTime": "2026-11-27T10:00:05Z"},
                          hostIP="10.0.0.1")


def unschedulable_pod(rs, suffix, message, since="2026-11-28T08:00:00Z"):
    pod = _pod(rs, suffix)
    pod["status"] = {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                        "message": message, "lastTransitionTime": since, "lastProbeTime": None}],
        "qosClass": "Burstable",
    }
    return pod


def scheduled_not_ready_pod(rs, suffix, node_name):
    return _scheduled_pod(rs, suffix, node_name, "Pending", "2026-11-28T08:00:00Z",
                          {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
                          containerStatuses=[{"name": "c", "ready": False,
                                              "state": {"waiting": {"reason": "ContainerCreating"}}}])


def _scheduled_pod(rs, suffix, node_name, phase, scheduled_at, ready_condition, **status):
    """A pod of ``rs`` bound to ``node_name``: PodScheduled since ``scheduled_at``, then ``ready_condition``."""
    pod = _pod(rs, suffix)
    pod["spec"]["nodeName"] = node_name
    pod["status"] = dict({
        "phase": phase,
        "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": scheduled_at}, ready_condition],
    }, **status)
    return pod


def _pod(rs, suffix):
    template = copy.deepcopy(rs["spec"]["template"])
    return {
        "metadata": {
            "name": "%s-%s" % (rs["metadata"]["name"], suffix), "namespace": rs["metadata"]["namespace"],
            "uid": "uid-pod-%s-%s" % (rs["metadata"]["name"], suffix),
            "labels": dict(rs["metadata"]["labels"]),
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs["metadata"]["name"],
                                 "uid": rs["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}],
            "creationTimestamp": "2026-11-28T08:00:00Z",
        },
        "spec": template["spec"],
    }


def failed_scheduling_event(pod, message, first="2026-11-28T08:00:00Z", last="2026-11-28T08:05:00Z", count=None):
    """A core/v1 Event as kube-scheduler (events.k8s.io recorder) leaves it: eventTime set, series when repeated."""
    event = {
        "metadata": {"name": pod["metadata"]["name"] + ".18a0", "namespace": pod["metadata"]["namespace"],
                     "creationTimestamp": first},
        "involvedObject": {"kind": "Pod", "namespace": pod["metadata"]["namespace"], "name": pod["metadata"]["name"],
                           "uid": pod["metadata"]["uid"], "apiVersion": "v1"},
        "reason": "FailedScheduling", "message": message, "type": "Warning",
        "source": {}, "firstTimestamp": None, "lastTimestamp": None, "eventTime": first[:-1] + ".000000Z",
        "action": "Scheduling", "reportingComponent": "default-scheduler", "reportingInstance": "default-scheduler-x",
    }
    if count:
        event["series"] = {"count": count, "lastObservedTime": last[:-1] + ".000000Z"}
    return event


# Scenarios built from them, shared by the unit tests of the rollout diagnosis, the proof and the snapshot
# reading.

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


def single_replica_case(template, old_node, message, nodes, extra_pods=(), strategy=None, new_template=None):
    """One replica of ``template`` Running on ``old_node``, its new pod Pending (refused with ``message``); the new
    ReplicaSet and its pod are of ``new_template`` where given."""
    dep = deployment(name="api", replicas=1, template=template,
                     strategy=strategy or {"type": "RollingUpdate",
                                           "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                     status={"replicas": 2, "updatedReplicas": 1, "availableReplicas": 1, "readyReplicas": 1})
    old = replicaset(dep, 1, "7777777777", 1)
    new = replicaset(dep, 2, "8888888888", 1, ready=0, available=0)
    if new_template is not None:
        new["spec"]["template"] = new_template
    pending = unschedulable_pod(new, "r", message)
    pods = [running_pod(old, "a", old_node), pending]
    return dep, [old, new], pods, [failed_scheduling_event(pending, message)], nodes, list(extra_pods)


def plain_template(cpu="50m", ports=None, host_network=False):
    template = nth_pod_template(host_network=host_network)
    template["metadata"]["labels"] = {"app.kubernetes.io/name": "api", "app.kubernetes.io/instance": "api"}
    template["spec"]["affinity"] = {}
    template["spec"]["topologySpreadConstraints"] = []
    template["spec"]["tolerations"] = []
    template["spec"]["containers"][0]["resources"] = {"requests": {"cpu": cpu, "memory": "64Mi"}}
    if ports is not None:
        template["spec"]["containers"][0]["ports"] = ports
    return template


def daemonset_case(max_surge, old_ready=True):
    """A host-port DaemonSet on one node mid-rollout: its old pod Running, the new one Pending for the ports."""
    nodes = [node("n1"), node("n2")]
    template = {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{
        "name": "agent", "ports": [{"containerPort": 9100, "hostPort": 9100, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "10m"}}}]}}
    ds = {"metadata": {"name": "agent", "namespace": "kube-system", "uid": "uid-ds", "generation": 2},
          "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template,
                   "updateStrategy": {"type": "RollingUpdate",
                                      "rollingUpdate": {"maxSurge": max_surge, "maxUnavailable": 0}}},
          "status": {"observedGeneration": 2, "desiredNumberScheduled": 1, "numberAvailable": 1,
                     "updatedNumberScheduled": 0, "numberUnavailable": 0}}

    def ds_pod(name, revision, generation, node_name=None, message=None):
        owner = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "uid-ds", "controller": True}
        spec = copy.deepcopy(template["spec"])
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}}}
        pod = {"metadata": {"name": name, "namespace": "kube-system", "uid": "uid-" + name,
                            "labels": {"app": "agent", "controller-revision-hash": revision,
                                       "pod-template-generation": str(generation)},
                            "ownerReferences": [owner], "creationTimestamp": "2026-11-28T08:00:00Z"},
               "spec": spec}
        if node_name:
            pod["spec"]["nodeName"] = node_name
            pod["status"] = {"phase": "Running", "conditions": [{"type": "Ready",
                                                                 "status": "True" if old_ready else "False"}]}
        else:
            pod["status"] = {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                                                                 "reason": "Unschedulable", "message": message}]}
        return pod

    message = ("0/2 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 1 node(s) "
               "didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/2 nodes are available: 2 ...")
    pods = [ds_pod("agent-old", "aaa", 1, node_name="n1"), ds_pod("agent-new", "bbb", 2, message=message)]
    return ds, pods, nodes


SYSTEM_CLUSTER_CRITICAL = 2000000000


def with_priority(pods, priority=SYSTEM_CLUSTER_CRITICAL):
    for pod in pods:
        pod["spec"]["priority"] = priority
    return pods


def stranger(name, node_name=None, labels=None, priority=0, cpu=None, memory=None, ports=None, nominated=None,
             terminating=False, namespace="other", tolerate=True, status_requests=None):
    """A pod of another owner (or none), placed on ``node_name`` or pending (nominated to ``nominated``)."""
    container = {"name": "c", "image": "registry.k8s.io/pause:3.10",
                 "resources": {"requests": dict((k, v) for k, v in (("cpu", cpu), ("memory", memory)) if v)}}
    if ports:
        container["ports"] = [{"containerPort": p, "hostPort": p, "protocol": "TCP"} for p in ports]
    spec = {"containers": [container], "priority": priority}
    if tolerate:
        spec["tolerations"] = [{"operator": "Exists"}]
    status = {"phase": "Pending"}
    if node_name:
        spec["nodeName"] = node_name
        status = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
        if status_requests:
            status["containerStatuses"] = [{"name": "c", "ready": True,
                                            "resources": {"requests": status_requests}}]
    elif nominated:
        status["nominatedNodeName"] = nominated
    metadata = {"name": name, "namespace": namespace, "uid": "uid-" + name, "labels": labels or {}}
    if terminating:
        metadata["deletionTimestamp"] = "2026-11-28T08:10:00Z"
        metadata["finalizers"] = ["example.com/hold"]
    return {"metadata": metadata, "spec": spec, "status": status}


def cpu_case(message):
    template = deployment(name="api").get("spec")["template"]
    template["spec"]["hostNetwork"] = False
    template["spec"]["topologySpreadConstraints"] = []
    for c in template["spec"]["containers"]:
        c["ports"] = []
        c["resources"] = {"requests": {"cpu": "1"}}
    dep = deployment(template=template, status={"replicas": 2, "updatedReplicas": 1, "readyReplicas": 1,
                                                "availableReplicas": 1, "unavailableReplicas": 1})
    old = replicaset(dep, 1, "577f866468", 1)
    old["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "500m"}}
    new = replicaset(dep, 2, "6b7f9c8d5", 1, ready=0, available=0)
    nodes = [node("cp-0", control_plane=True), node("worker-0"), node("worker-1")]
    pending = unschedulable_pod(new, "mmlx7", message)
    return dep, [old, new], [running_pod(old, "abc0", "cp-0"), pending], [
        failed_scheduling_event(pending, message)], nodes


CPU_ONE_CP = ("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector. "
              "preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption "
              "is not helpful for scheduling.")
