# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a rollout snapshot is read: each list parsed while it arrives and exactly as json.loads parses it
(k8s_connection.parse_list_stream, stream_list, get_stream with either generation of the kubernetes client),
compacted object by object without changing any diagnosis (rollout_api.compact_pod, compact_object), the eligible
nodes of alike templates computed once (scheduling.eligible_nodes' cache), the collector paused meanwhile."""

from __future__ import annotations

import copy
import gc
import json

import kubernetes
import pytest
from kubernetes.client.rest import ApiException

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils import k8s_connection
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.k8s_connection import (
    ApiError,
    api_path,
    parse_list_stream,
    paused_gc,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout import (
    diagnose_pod_sets,
    diagnose_rollouts,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout_api import (
    LAST_APPLIED,
    RolloutApi,
    compact_object,
    compact_pod,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.scheduling import (
    eligible_nodes,
    predict_rollout_deadlock,
)

from testbed.api_objects import (
    cpu_case,
    CPU_ONE_CP,
    daemonset_case,
    deployment,
    node,
    nth_stuck,
    plain_template,
    replicaset,
    running_pod,
    single_replica_case,
    stranger,
    with_priority,
)


# ---------------------------------------------------------------------------------------------------------
# Lists parsed as they arrive

STATEFULSET = {  # a PersistentVolumeClaim template begins as an item does: '},{"metadata":' inside an item
    "metadata": {"name": "db", "namespace": "kube-system", "uid": "uid-db", "labels": {"app": "db"}},
    "spec": {"replicas": 2, "volumeClaimTemplates": [
        {"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}},
        {"metadata": {"name": "logs"}, "spec": {"resources": {"requests": {"storage": "2Gi"}}}}]},
    "status": {"replicas": 2, "currentRevision": "db-1", "updateRevision": "db-1"},
}


# Multi-byte characters (cut between blocks) and escapes: a string holds the text of an item boundary only with
# its quotes escaped, so it never looks like one.
NOTE = "caf\u00e9 \u65e5\u672c \U0001f680 \"quoted\" \\ },{\"metadata\":"


def a_list(count=5):
    items = []
    for index in range(count):
        items.append({"metadata": {"name": "p-%d" % index, "uid": "u-%d" % index, "resourceVersion": str(index),
                                   "annotations": {"note": NOTE}},
                      "spec": {"nodeName": None, "priority": -12.5e3, "containers": [{"name": "c", "ports": []}]},
                      "status": {"phase": "Running", "ready": index % 2 == 0, "restarts": 10 ** 20}})
    items.insert(2, copy.deepcopy(STATEFULSET))
    items.append(copy.deepcopy(STATEFULSET))
    return {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "4711", "continue": ""},
            "items": items}


def blocks(text, size):
    data = text.encode("utf-8")
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 3, 64, 65536])
@pytest.mark.parametrize("dumps", [
    dict(separators=(",", ":")),  # as kube-apiserver writes it
    dict(),
    dict(indent=2),
])
@pytest.mark.parametrize("text_at_least", [1, 100, 262144])
def test_a_list_parsed_as_it_arrives_is_what_json_loads_gives(monkeypatch, size, dumps, text_at_least):
    monkeypatch.setattr(k8s_connection, "_STREAM_TEXT", text_at_least)
    text = json.dumps(a_list(), ensure_ascii=False, **dumps)
    items = []
    head = parse_list_stream(blocks(text, size), items)
    whole = json.loads(text)
    assert items == whole.pop("items")
    assert head == whole


def test_each_item_is_compacted_once_in_order_before_it_is_kept():
    seen = []

    def compact(item):
        seen.append(item["metadata"]["name"])
        item["metadata"].pop("annotations", None)

    items = []
    parse_list_stream(blocks(json.dumps(a_list(), separators=(",", ":")), 4096), items, compact)
    assert seen == [item["metadata"]["name"] for item in items] == ["p-0", "p-1", "db", "p-2", "p-3", "p-4", "db"]
    assert all("annotations" not in item["metadata"] for item in items)


def test_items_read_together_share_their_keys_as_json_loads_does():
    """Where the end of an item can be told, the items up to there are parsed in one go: one copy of each key for
    all of them, not one per item (a third of the memory of a list of pods)."""
    listed = [{"metadata": {"name": "p-%d" % i}} for i in range(4)]
    text = json.dumps({"kind": "PodList", "metadata": {}, "items": listed}, separators=(",", ":"))
    items = []
    parse_list_stream([text.encode()], items)
    first, second = (next(iter(item["metadata"])) for item in items[:2])
    assert first == second == "name" and first is second


@pytest.mark.parametrize("text, items, head", [
    ('{"kind":"PodList","items":null}', [], {"kind": "PodList", "items": None}),
    ('{"items":[],"metadata":{"resourceVersion":"1"}}', [], {"metadata": {"resourceVersion": "1"}}),
    ('{"items":[{"metadata":{"name":"a"}}],"kind":"PodList","n":12345}', [{"metadata": {"name": "a"}}],
     {"kind": "PodList", "n": 12345}),
    (' \n{ } ', [], {}),
])
def test_lists_of_any_shape_json_allows(monkeypatch, text, items, head):
    monkeypatch.setattr(k8s_connection, "_STREAM_TEXT", 1)
    got = []
    assert parse_list_stream(blocks(text, 1), got) == head
    assert got == items


@pytest.mark.parametrize("text", [
    "",
    "[]",
    '{"items":[{"metadata":{"name":"a"}}',  # cut off
    '{"items":[{"metadata":{"name":"a"}} {"metadata":{}}]}',
    '{"items":[]} trailing',
    '{"items":[],"kind"}',
    '{"kind":"PodList" "items":[]}',
    '<html>502 Bad Gateway</html>',
])
def test_a_body_that_is_no_list_is_a_value_error(text):
    with pytest.raises(ValueError):
        parse_list_stream(blocks(text, 5), [])


# ---------------------------------------------------------------------------------------------------------
# One request per list, through either generation of the client


class FakeBody(object):
    """urllib3's response as the client hands it out unread."""

    def __init__(self, data, status=200):
        self.data, self.status, self.reason = data, status, "Forbidden" if status == 403 else "OK"
        self.headers = {"Content-Type": "application/json"}
        self.released = self.closed = False

    def stream(self, amt, decode_content=None):
        assert decode_content is True
        for start in range(0, len(self.data), 7):
            yield self.data[start:start + 7]

    def release_conn(self):
        self.released = True

    def close(self):
        self.closed = True

    def getheaders(self):
        return self.headers

    def read(self):
        return self.data


class NewerClient(object):
    """The newer generator's ApiClient (kubernetes 37): param_serialize, then call_api(method, url, ...) returning a
    RESTResponse."""

    def __init__(self, bodies):
        self.bodies, self.requests, self.request_count = bodies, [], 0

    def param_serialize(self, method, resource_path, query_params=None, header_params=None, auth_settings=None):
        self.requests.append((method, resource_path, list(query_params), dict(header_params), list(auth_settings)))
        return method, "https://api" + resource_path, header_params, None, None

    def call_api(self, method, url, header_params=None, body=None, post_params=None, _request_timeout=None):
        self.request_count += 1
        response = self.bodies[url[len("https://api"):]]
        response.response = response
        return response


class OlderClient(object):
    """The older one (kubernetes 24.2): call_api(resource_path, method, ...) returning urllib3's response, raising
    for a status other than 2xx."""

    def __init__(self, bodies):
        self.bodies, self.requests, self.request_count = bodies, [], 0

    def call_api(self, resource_path, method, query_params=None, header_params=None, auth_settings=None,
                 _preload_content=True, _return_http_data_only=None):
        assert _preload_content is False
        self.request_count += 1
        self.requests.append((method, resource_path, list(query_params), dict(header_params), list(auth_settings)))
        response = self.bodies[resource_path]
        if response.status != 200:
            raise ApiException(http_resp=response)
        return response


def list_body(items):
    return json.dumps({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "9"}, "items": items},
                      separators=(",", ":")).encode()


def with_managed_fields(obj):
    obj = copy.deepcopy(obj)
    obj["metadata"]["managedFields"] = [{"manager": "kubectl", "operation": "Update", "fieldsType": "FieldsV1",
                                         "fieldsV1": {"f:metadata": {"f:labels": {".": {}}}}}]
    return obj


@pytest.mark.parametrize("client_class", [NewerClient, OlderClient])
def test_one_request_per_list_parsed_compacted_and_its_connection_given_back(client_class):
    pods = [with_managed_fields({"metadata": {"name": "p-%d" % i}}) for i in range(3)]
    body = FakeBody(list_body(pods))
    client = client_class({"/api/v1/namespaces/ns/pods": body})
    items = RolloutApi(client).stream_list("pods", "ns", compact_object, label_selector="app=x",
                                           field_selector="metadata.name=p-0")
    assert items == [{"metadata": {"name": "p-%d" % i}} for i in range(3)]
    assert client.request_count == 1 and body.released and not body.closed
    assert client.requests == [("GET", "/api/v1/namespaces/ns/pods",
                                [("labelSelector", "app=x"), ("fieldSelector", "metadata.name=p-0")],
                                {"Accept": "application/json", "Accept-Encoding": "gzip"}, ["BearerToken"])]


@pytest.mark.parametrize("client_class", [NewerClient, OlderClient])
def test_a_refused_list_is_one_sentence_naming_what_was_refused(client_class):
    status = {"kind": "Status", "message": "pods is forbidden: User \"x\" cannot list resource \"pods\""}
    client = client_class({"/api/v1/namespaces/ns/pods": FakeBody(json.dumps(status).encode(), status=403)})
    with pytest.raises(ApiError) as refused:
        RolloutApi(client).stream_list("pods", "ns")
    assert refused.value.status == 403
    assert str(refused.value).startswith("403 Forbidden: not allowed to list pods in namespace ns (the "
                                         "collection's rbac/diagnose.yml grants it): pods is forbidden")


def test_a_body_cut_off_is_an_api_error_and_its_connection_is_not_reused():
    body = FakeBody(list_body([{"metadata": {"name": "a"}}])[:-5])
    client = NewerClient({"/api/v1/nodes": body})
    with pytest.raises(ApiError) as broken:
        RolloutApi(client).stream_list("nodes", None)
    assert str(broken.value).startswith("error while trying to list nodes: ")
    assert body.closed and not body.released


@pytest.mark.parametrize("resource, namespace, path", [
    ("pods", "kube-system", "/api/v1/namespaces/kube-system/pods"),
    ("pods", None, "/api/v1/pods"),
    ("nodes", "kube-system", "/api/v1/nodes"),
    ("deployments", "a", "/apis/apps/v1/namespaces/a/deployments"),
    ("poddisruptionbudgets", None, "/apis/policy/v1/poddisruptionbudgets"),
])
def test_list_paths(resource, namespace, path):
    assert api_path(resource, namespace) == path


def test_a_snapshot_makes_four_requests_and_needs_no_typed_client(monkeypatch):
    """Importing the typed clients costs more than reading a large list: the snapshot's lists need none."""
    def refuse(*args):
        raise AssertionError("a typed client was made")

    for name in ("AppsV1Api", "CoreV1Api", "PolicyV1Api"):
        monkeypatch.setattr(kubernetes.client, name, refuse)
    dep, rss, pods, _events, nodes = nth_stuck(1)
    pods = [p for p in pods if p["status"]["phase"] == "Running"]  # nobody waiting: no events, no cluster pods
    client = NewerClient({
        "/apis/apps/v1/namespaces/kube-system/deployments": FakeBody(list_body([with_managed_fields(dep)])),
        "/apis/apps/v1/namespaces/kube-system/replicasets": FakeBody(list_body([with_managed_fields(r) for r in rss])),
        "/api/v1/namespaces/kube-system/pods": FakeBody(list_body([served_pod(p) for p in pods])),
        "/api/v1/nodes": FakeBody(list_body([with_managed_fields(n) for n in nodes])),
    })
    snapshot = RolloutApi(client).snapshot("kube-system", "aws-node-termination-handler")
    assert client.request_count == 4
    assert snapshot["deployments"] == [dep] and snapshot["replicasets"] == rss and snapshot["nodes"] == nodes
    assert snapshot["pods"] == [compact_pod(served_pod(p)) for p in pods]
    # One Deployment: its selector narrows ReplicaSets and Pods.
    assert client.requests[0][2] == [("fieldSelector", "metadata.name=aws-node-termination-handler")]
    narrowed = [("labelSelector", "app.kubernetes.io/instance=aws-node-termination-handler,"
                 "app.kubernetes.io/name=aws-node-termination-handler")]
    assert client.requests[1][2] == client.requests[2][2] == narrowed and client.requests[3][2] == []


# ---------------------------------------------------------------------------------------------------------
# Compaction changes no diagnosis


def served(obj):
    """An object as kube-apiserver serves it, with what no reader of a snapshot reads: managedFields, and on a
    Deployment kubectl's last-applied-configuration."""
    obj = with_managed_fields(obj)
    obj["metadata"].setdefault("annotations", {})[LAST_APPLIED] = json.dumps({"kind": "Deployment", "big": "x" * 99})
    return obj


def served_pod(pod):
    """A pod as served: besides ``served``, what only a kubelet or a person reads - container environment, probes,
    mounts, the service-account token and config volumes' contents, container states, IPs, more conditions. The
    volumes the model judges by their kind keep it; the statuses keep their reported resources."""
    pod = served(pod)
    spec, status = pod.setdefault("spec", {}), pod.setdefault("status", {})
    spec.setdefault("volumes", []).extend([
        {"name": "kube-api-access-x", "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]}},
        {"name": "config", "configMap": {"name": "app-config"}},
        {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}},
    ])
    for container in spec.get("containers") or []:
        container.update(env=[{"name": "A", "value": "1"}], args=["--v=2"], imagePullPolicy="IfNotPresent",
                         volumeMounts=[{"name": "kube-api-access-x", "mountPath": "/var/run/secrets"}],
                         livenessProbe={"httpGet": {"path": "/healthz", "port": 8080}},
                         terminationMessagePath="/dev/termination-log", terminationMessagePolicy="File")
        statuses = dict((s.get("name"), s) for s in status.get("containerStatuses") or [])
        entry = statuses.get(container.get("name"))
        if entry is None:
            entry = {"name": container.get("name")}
            status.setdefault("containerStatuses", []).append(entry)
        entry.update(state={"running": {"startedAt": "2026-11-27T10:00:02Z"}}, lastState={}, imageID="sha256:1",
                     image=container.get("image") or "registry.example/app:1", containerID="containerd://1")
    status.setdefault("conditions", [])[:0] = [
        {"type": "Initialized", "status": "True", "lastProbeTime": None},
        {"type": "PodReadyToStartContainers", "status": "True"}]
    status["conditions"].append({"type": "ContainersReady", "status": "False"})
    status.update(podIP="10.0.0.7", podIPs=[{"ip": "10.0.0.7"}], hostIP="10.0.0.1", hostIPs=[{"ip": "10.0.0.1"}],
                  startTime="2026-11-27T10:00:01Z", qosClass="Burstable")
    return pod


def compacted(objects, compact):
    return [compact(copy.deepcopy(obj)) for obj in objects]


def pvc_case():
    template = plain_template()
    template["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
    template["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 80, "protocol": "TCP"}]
    case = single_replica_case(template, "worker-0", "0/1 nodes are available: 1 node(s) didn't have free ports "
                               "for the requested pod ports. preemption: 0/1 nodes are available: 1 No preemption "
                               "victims found for incoming pod.", [node("worker-0")])
    dep, rss, pods, events, nodes, extra = case
    return dep, rss, pods, events, nodes, pods + extra


def resized_case():
    dep, rss, pods, events, nodes = cpu_case(CPU_ONE_CP)
    with_priority(pods)
    return dep, rss, pods, events, nodes, pods + [stranger("resized", "cp-0", cpu="1", status_requests={"cpu": "3"}),
                                                  stranger("allocated", "worker-0", cpu="1")]


def complete_case():
    dep = deployment(name="web", replicas=2, status={"replicas": 2, "updatedReplicas": 2, "readyReplicas": 2,
                                                     "availableReplicas": 2, "observedGeneration": 2})
    current = replicaset(dep, 2, "5d9f8c7b6", 2)
    return dep, [current], [running_pod(current, "a", "worker-0"), running_pod(current, "b", "worker-1")], [], \
        [node("worker-0"), node("worker-1")], None


CASES = [
    ("stuck-one-cp", lambda: nth_stuck(1) + (None,), "stuck"),
    ("stuck-two-cp", lambda: nth_stuck(2) + (None,), "stuck"),
    ("pvc-not-proven", pvc_case, "blocked"),  # the model judges the claim by its kind
    ("resized-pod-holds-the-room", resized_case, "stuck"),  # only with the resized pod's reported 3 CPU
    ("complete", complete_case, "complete"),
]


@pytest.mark.parametrize("make, verdict", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_compacted_snapshot_is_diagnosed_exactly_as_the_served_one(make, verdict):
    dep, rss, pods, events, nodes, cluster_pods = make()
    deployments, replicasets, nodes = [served(dep)], [served(r) for r in rss], [served(n) for n in nodes]
    pods = [served_pod(p) for p in pods]
    cluster_pods = None if cluster_pods is None else [served_pod(p) for p in cluster_pods]
    whole = diagnose_rollouts(deployments, replicasets, pods, events, nodes, cluster_pods)
    assert whole[0]["verdict"] == verdict, whole[0]["why"]
    small = diagnose_rollouts(compacted(deployments, compact_object), compacted(replicasets, compact_object),
                              compacted(pods, compact_pod), events, compacted(nodes, compact_object),
                              None if cluster_pods is None else compacted(cluster_pods, compact_pod))
    assert small == whole


def test_a_compacted_daemonset_snapshot_is_diagnosed_exactly_as_the_served_one():
    ds, pods, nodes = daemonset_case(max_surge=1)
    pods = [served_pod(p) for p in pods]
    whole = diagnose_pod_sets("DaemonSet", [served(ds)], pods, [], nodes)
    assert whole[0]["verdict"] == "stuck"
    assert diagnose_pod_sets("DaemonSet", compacted([served(ds)], compact_object), compacted(pods, compact_pod), [],
                             nodes) == whole


def test_compaction_keeps_what_is_read():
    pod = compact_pod(served_pod(running_pod(replicaset(deployment(), 1, "577f866468", 1), "a", "cp-0")))
    assert "managedFields" not in pod["metadata"] and pod["metadata"]["annotations"] == {}
    assert [c["type"] for c in pod["status"]["conditions"]] == ["PodScheduled", "Ready"]
    assert [sorted(v) for v in pod["spec"]["volumes"]] == [["name", "projected"], ["configMap", "name"],
                                                           ["emptyDir", "name"]]
    assert pod["spec"]["volumes"][0]["projected"] == {}
    container = pod["spec"]["containers"][0]
    assert sorted(container) == ["name", "ports", "resources"]
    assert pod["status"]["containerStatuses"] == [{"name": "aws-node-termination-handler"}]
    assert sorted(pod["status"]) == ["conditions", "containerStatuses", "phase"]


def test_compaction_takes_anything():
    odd = {"metadata": {"annotations": None}, "spec": [], "status": {"conditions": "x", "containerStatuses": [1]}}
    for thing in (None, "x", [], {}, {"metadata": None}, odd):
        assert compact_pod(copy.deepcopy(thing)) == thing


# ---------------------------------------------------------------------------------------------------------
# Eligible nodes: once per distinct node selection


def test_eligible_nodes_of_alike_templates_are_computed_once_and_are_the_same():
    nodes = [node("cp-0", control_plane=True), node("worker-0"), node("worker-1", unschedulable=True),
             node("worker-2", zone="eu-west-1b")]
    specs = [
        {},
        {"tolerations": [{"operator": "Exists"}]},
        {"nodeSelector": {"topology.kubernetes.io/zone": "eu-west-1b"}},
        {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}]}]}}},
         "tolerations": [{"operator": "Exists"}]},
        {"containers": [{"name": "other"}]},  # selects as {} does
        {"tolerations": [{"operator": "Exists"}], "containers": [{"name": "x"}]},
    ]
    cache = {}
    for spec in specs:
        assert eligible_nodes(nodes, spec, cache) == eligible_nodes(nodes, spec)
    assert len(cache) == 4
    first = eligible_nodes(nodes, {}, cache)
    first.append("changed by the caller")
    assert eligible_nodes(nodes, {}, cache) == ["worker-0", "worker-2"]


def test_a_template_that_is_no_json_data_is_judged_without_the_cache():
    cache = {}
    odd = {"nodeSelector": {"zone": object()}}
    assert eligible_nodes([node("worker-0")], odd, cache) == [] and cache == {}


def test_predictions_with_the_cache_are_the_predictions_without():
    nodes = [node("cp-0", control_plane=True), node("worker-0"), node("worker-1")]
    cache = {}
    for dep in (deployment(), deployment(name="api", template=plain_template(ports=[
            {"containerPort": 80, "hostPort": 80, "protocol": "TCP"}])), deployment(replicas=3)):
        assert predict_rollout_deadlock(dep, nodes, cache) == predict_rollout_deadlock(dep, nodes)


# ---------------------------------------------------------------------------------------------------------
# The collector


def test_the_collector_is_paused_inside_and_as_it_was_after():
    was = gc.isenabled()
    try:
        gc.enable()
        with paused_gc():
            assert not gc.isenabled()
            with paused_gc():
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert gc.isenabled()
        with pytest.raises(RuntimeError):
            with paused_gc():
                raise RuntimeError("boom")
        assert gc.isenabled()
        gc.disable()
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()
