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
