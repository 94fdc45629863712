# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Building blocks for the safety tests on the real control plane: private pools of kwok nodes (tainted so that
no other test's pod lands there), Deployments and DaemonSets placed on them, snapshots proving nothing was
touched, and a watch that records how many pods of a Deployment are Ready at every moment."""

from __future__ import annotations

import copy
import threading
import time
import uuid

from kubernetes import client, watch

from testbed import kube

POOL_KEY = "clusterops.test/pool"


def pool_node(pool, index, cpu="4", memory="16Gi", pods="110", labels=None, taints=None, zone=None):
    name = "%s-n%d" % (pool, index)
    node_labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "type": "kwok", POOL_KEY: pool}
    if zone:
        node_labels["topology.kubernetes.io/zone"] = zone
    node_labels.update(labels or {})
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": node_labels,
                     "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {"taints": [{"key": POOL_KEY, "value": pool, "effect": "NoSchedule"}] + list(taints or [])},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
                   "capacity": {"cpu": cpu, "memory": memory, "pods": pods}},
    }


class Pool(object):
    """Nodes of one test: created Ready, deleted (with their pods) at the end."""

    def __init__(self, api_client, name):
        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.name = name
        self.nodes = []

    def add(self, *nodes):
        for node in nodes:
            self.core.create_node(node)
            self.nodes.append(node["metadata"]["name"])
        kube.wait_nodes_ready(self.api_client, len(self.core.list_node().items), timeout=60)
        return self

    def delete(self):
        for name in self.nodes:
            try:
                self.core.delete_node(name)
            except client.ApiException as exc:
                if exc.status != 404:
                    raise


def lose_node(api_client, name):
    """The node's kubelet stops reporting: kwok stops managing it (the annotation goes) and its Ready condition
    goes Unknown, as the node lifecycle controller writes it after its grace period (written at once here: kwok
    keeps renewing a node's Lease after the annotation goes, so the controller would never do it). The
    controller then taints the node unreachable and marks its pods not Ready."""
    core = client.CoreV1Api(api_client)
    core.patch_node(name, {"metadata": {"annotations": {"kwok.x-k8s.io/node": None}}})
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    core.patch_node_status(name, {"status": {"conditions": [
        {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
         "message": "Kubelet stopped posting node status.", "lastHeartbeatTime": now, "lastTransitionTime": now}]}})


def private_pool(api_client, letter):
    """A pytest fixture's body: a Pool of its own for one test (name ``<letter><6 hex>``), deleted after it."""
    created = Pool(api_client, letter + uuid.uuid4().hex[:6])
    yield created
    created.delete()


def pool_placement(pool):
    """What a pod needs to land on a pool: the pool's label and its taint tolerated."""
    return {"nodeSelector": {POOL_KEY: pool},
            "tolerations": [{"key": POOL_KEY, "operator": "Equal", "value": pool, "effect": "NoSchedule"}]}


def pod_spec(pool, cpu="100m", memory="64Mi", ports=(), host_network=False, extra=None):
    spec = pool_placement(pool)
    container = {"name": "app", "image": "registry.invalid/app:1",
                 "resources": {"requests": {"cpu": cpu, "memory": memory}}}
    if ports:
        container["ports"] = [dict(p) for p in ports]
    spec["containers"] = [container]
    if host_network:
        spec["hostNetwork"] = True
    for key, value in (extra or {}).items():
        if key in ("tolerations",):
            spec[key] = spec[key] + value
        else:
            spec[key] = value
    spec["terminationGracePeriodSeconds"] = 0
    return spec


def create_deployment(api_client, namespace, name, spec, replicas=1, strategy=None, labels=None):
    labels = labels or {"app": name}
    body = {"metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "strategy": strategy or {"type": "RollingUpdate",
                                              "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}}
    client.AppsV1Api(api_client).create_namespaced_deployment(namespace, body)
    return body


def create_daemonset(api_client, namespace, name, spec):
    labels = {"app": name}
    client.AppsV1Api(api_client).create_namespaced_daemon_set(namespace, {
        "metadata": {"name": name, "labels": labels},
        "spec": {"selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": spec}}})


def wait_daemonset_ready(api_client, namespace, name, timeout=60, nodes=None):
    """Until every pod of the DaemonSet is Ready, and with ``nodes``, until it runs on that many nodes (right
    after nodes are added the controller may not count them all yet)."""
    apps = client.AppsV1Api(api_client)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in watch.Watch().stream(apps.list_namespaced_daemon_set, namespace,
                                          field_selector="metadata.name=%s" % name,
                                          timeout_seconds=max(1, int(deadline - time.monotonic()))):
            status = event["object"].status
            if status.desired_number_scheduled and status.number_ready == status.desired_number_scheduled and (
                    nodes is None or status.desired_number_scheduled == nodes):
                return
    raise TimeoutError("DaemonSet %s/%s not ready" % (namespace, name))


def roll_out(api_client, namespace, name, spec):
    """Change the pod template (a new revision), as kOps' channels tool would."""
    apps = client.AppsV1Api(api_client)
    apps.patch_namespaced_deployment(name, namespace, {"spec": {"template": {"spec": spec}}})


def wait_new_pod_unschedulable(api_client, namespace, name):
    """Wait until a pod of the new revision is Unschedulable and the controller observed the generation."""
    dep = kube.wait_deployment(api_client, namespace, name,
                               lambda d: d.get("status", {}).get("observedGeneration", 0) >=
                               d["metadata"]["generation"] and d["metadata"]["generation"] >= 2)[0]
    revision = dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
    current = [rs for rs in kube.replicasets_by_revision(api_client, namespace, name)
               if rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == revision][0]
    template_hash = current["metadata"]["labels"]["pod-template-hash"]
    return kube.wait_unschedulable(api_client, namespace, selector="app=%s,pod-template-hash=%s" % (
        name, template_hash))[0]


def stuck_on_two_nodes(api_client, namespace, pool, name):
    """Deployment ``name`` with two replicas on two new nodes of ``pool``, one per node, each holding 3 of its
    node's 4 CPUs; the new revision needs 3 CPUs too and may not surge past one pod or go below two available:
    stuck, and two steps to finish (one per node), the first removing one of the old ReplicaSet's two pods."""
    pool.add(pool_node(pool.name, 1, cpu="4"), pool_node(pool.name, 2, cpu="4"))
    create_deployment(api_client, namespace, name, pod_spec(pool.name, cpu="3"), replicas=2,
                      strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    kube.wait_deployment(api_client, namespace, name, kube.rollout_complete)
    roll_out(api_client, namespace, name, pod_spec(pool.name, cpu="3", memory="65Mi"))
    wait_new_pod_unschedulable(api_client, namespace, name)


def _owner_uid(obj):
    for ref in obj.metadata.owner_references or []:
        if ref.controller:
            return ref.uid
    return None


def _unsettled(api_client, namespace):
    """Why the namespace's controllers are not done yet (None when they are): a Deployment, ReplicaSet,
    StatefulSet or DaemonSet whose controller has not observed its latest spec, a ReplicaSet or StatefulSet whose
    pods do not all exist yet (or whose status does not count them yet), or a pod still terminating (unless a
    finalizer holds it)."""
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    # The controllers first, their pods after: what the controllers had observed is then reflected in the pods.
    controllers = (("Deployment", apps.list_namespaced_deployment(namespace).items),
                   ("DaemonSet", apps.list_namespaced_daemon_set(namespace).items),
                   ("ReplicaSet", apps.list_namespaced_replica_set(namespace).items),
                   ("StatefulSet", apps.list_namespaced_stateful_set(namespace).items))
    pods = core.list_namespaced_pod(namespace).items
    # A pod a finalizer holds stays terminating until the test releases it: that is the state under test, not a
    # controller at work (tests/cluster/test_whole_chain.py holds victims so).
    terminating = [p.metadata.name for p in pods if p.metadata.deletion_timestamp and not p.metadata.finalizers]
    if terminating:
        return "pods terminating: %s" % terminating
    owned = {}
    for pod in pods:
        owned[_owner_uid(pod)] = owned.get(_owner_uid(pod), 0) + 1
    for kind, items in controllers:
        for obj in items:
            if (obj.status.observed_generation or 0) < obj.metadata.generation:
                return "%s %s: generation %s not observed yet" % (kind, obj.metadata.name, obj.metadata.generation)
            if kind in ("ReplicaSet", "StatefulSet"):
                have = owned.get(obj.metadata.uid, 0)
                if not obj.spec.replicas == (obj.status.replicas or 0) == have:
                    return "%s %s: spec.replicas %s, status.replicas %s, pods %d" % (
                        kind, obj.metadata.name, obj.spec.replicas, obj.status.replicas, have)
    return None


def settle(api_client, namespace, timeout=60):
    """Wait (a precise poll, 0.1 s apart) until the namespace's controllers are done: see _unsettled."""
    deadline = time.monotonic() + timeout
    while True:
        why = _unsettled(api_client, namespace)
        if why is None:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("namespace %s not settled within %ss: %s" % (namespace, timeout, why))
        time.sleep(0.1)


def _snapshot(api_client, namespace):
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    return {
        "replicasets": sorted((rs.metadata.name, rs.metadata.uid, rs.spec.replicas)
                              for rs in apps.list_namespaced_replica_set(namespace).items),
        "pods": sorted((p.metadata.name, p.metadata.uid) for p in core.list_namespaced_pod(namespace).items
                       if not p.metadata.deletion_timestamp),
    }


def footprint(api_client, namespace, timeout=60):
    """Everything a remediation could change: ReplicaSets (uid, spec.replicas: scaled or deleted) and pods (uid:
    evicted) of the namespace; statuses and resourceVersions, which the controllers change on their own, are left
    out. Taken once the controllers are done (see settle) and the same on two reads in a row, so that a
    controller still replacing a pod (a StatefulSet recreating db-0 after a template change) is not read as a
    change by the module."""
    deadline = time.monotonic() + timeout
    while True:
        settle(api_client, namespace, timeout=max(1, deadline - time.monotonic()))
        first = _snapshot(api_client, namespace)
        if _unsettled(api_client, namespace) is None and _snapshot(api_client, namespace) == first:
            return first
        if time.monotonic() > deadline:
            raise TimeoutError("namespace %s keeps changing: %s" % (namespace, first))


class PodWatch(object):
    """The pods of a selector, listed, then watched from that list on a thread of their own until the ``with``
    block ends (events, not polls): a subclass records the listed pods in ``listed(pods)`` and every event after
    them in ``seen(kind, pod)``. ``error`` is set when the watch ended before the test stopped it: the record would
    have a hole."""

    def __init__(self, api_client, namespace, selector):
        self.core = client.CoreV1Api(api_client)
        self.namespace, self.selector = namespace, selector
        self._watch = watch.Watch()
        self._stopping = False
        self.error = None
        self._version = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        initial = self.core.list_namespaced_pod(self.namespace, label_selector=self.selector)
        self.listed(initial.items)
        self._version = initial.metadata.resource_version
        self._thread.start()
        self._started.wait(30)
        return self

    def __exit__(self, *exc):
        self._stopping = True
        self._watch.stop()
        self._thread.join(10)

    def _run(self):
        self._started.set()
        try:
            for event in self._watch.stream(self.core.list_namespaced_pod, self.namespace,
                                            label_selector=self.selector, resource_version=self._version,
                                            timeout_seconds=600):
                self.seen(event["type"], event["object"])
        except Exception as exc:  # the stream is cut when stop() closes it
            if not self._stopping:
                self.error = exc
            return
        if not self._stopping:
            self.error = "the watch ended before the test stopped it"

    def listed(self, pods):
        raise NotImplementedError

    def seen(self, kind, pod):
        raise NotImplementedError


class ReadyWatcher(PodWatch):
    """Records the fewest Ready pods of a selector seen at any moment."""

    def __init__(self, api_client, namespace, selector):
        super(ReadyWatcher, self).__init__(api_client, namespace, selector)
        self.ready = {}
        self.minimum = None
        self.history = []

    def listed(self, pods):
        for pod in pods:
            self._record("ADDED", pod)
        self.minimum = self._count()

    def seen(self, kind, pod):
        self._record(kind, pod)
        self.minimum = min(self.minimum, self._count())

    def _count(self):
        return sum(1 for value in self.ready.values() if value)

    def _record(self, kind, pod):
        self.ready[pod.metadata.name] = kind != "DELETED" and not pod.metadata.deletion_timestamp and any(
            c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))
        self.history.append((round(time.monotonic(), 3), kind, pod.metadata.name, self._count()))


def deep(obj):
    return copy.deepcopy(obj)


# The one application of a never-make-it-worse test (tests/cluster/test_never_worse.py, test_whole_chain.py): its
# rollout_status diagnosis, its remediation (stale_replicasets) and its creation, rolled out.
APP = "api"


def status_of(cluster, namespace, name=APP):
    result = kube.run_module("clusterops.kops_upgrade.rollout_status", {"name": name, "namespace": namespace},
                             cluster.kubeconfig)
    assert result["failed"] is False, result.get("msg")
    return result["deployments"][0]


def remediate(cluster, namespace, name=APP, **extra):
    args = dict({"name": name, "namespace": namespace}, **extra)
    result = kube.run_module("clusterops.kops_upgrade.stale_replicasets", args, cluster.kubeconfig)
    assert "Traceback" not in str(result.get("msg", "")), result
    return result


def single_app(cluster, namespace, pool, spec, strategy=None, replicas=1):
    """``pool``: the private node pool fixture the app's nodeSelector names (taken so that it exists)."""
    create_deployment(cluster.api, namespace, APP, spec, replicas=replicas, strategy=strategy)
    kube.wait_deployment(cluster.api, namespace, APP, kube.rollout_complete)
