# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reproduce the kOps NTH rollout deadlock on a real control plane, and run the collection's modules there.

Used by the pytest fixtures (tests/cluster), the benchmark (tests/benchmark/bench_cluster.py) and the demo.
Everything waits with watches, not sleeps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import jinja2
import yaml
from kubernetes import client, config, watch

from testbed.local_cluster import ROOT

NTH_TEMPLATE = os.path.join(ROOT, "tests", "fixtures", "manifests", "aws-node-termination-handler.yaml.j2")
NTH = "aws-node-termination-handler"


def ansible_playbook(*args):
    """The command line of ansible-playbook with ``args``: the one beside this Python (the venv the tests run in),
    else PATH's. Every test and tool of the test bed starts ansible-playbook through this."""
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return [beside if os.access(beside, os.X_OK) else "ansible-playbook"] + [str(a) for a in args]


def render_nth(namespace, image_tag, replicas=1, liveness_port=8080, metrics_port=9092):
    with open(NTH_TEMPLATE) as handle:
        text = jinja2.Template(handle.read()).render(nth_namespace=namespace, nth_image_tag=image_tag,
                                                     nth_replicas=replicas, nth_liveness_port=liveness_port,
                                                     nth_metrics_port=metrics_port)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def api(kubeconfig):
    return config.new_client_from_config(config_file=kubeconfig)


_APPLY_PATHS = {
    "ServiceAccount": "/api/v1/namespaces/%s/serviceaccounts/%s",
    "Deployment": "/apis/apps/v1/namespaces/%s/deployments/%s",
    "PodDisruptionBudget": "/apis/policy/v1/namespaces/%s/poddisruptionbudgets/%s",
}


def server_side_apply(api_client, obj, field_manager="kops", force=True):
    """Server-side apply, as kOps' channels tool applies addon manifests (field manager kops, with force)."""
    patchers = {
        "ServiceAccount": client.CoreV1Api(api_client).patch_namespaced_service_account,
        "Deployment": client.AppsV1Api(api_client).patch_namespaced_deployment,
        "PodDisruptionBudget": client.PolicyV1Api(api_client).patch_namespaced_pod_disruption_budget,
    }
    try:
        result = patchers[obj["kind"]](obj["metadata"]["name"], obj["metadata"]["namespace"], obj,
                                       field_manager=field_manager, force=force,
                                       _content_type="application/apply-patch+yaml")
        return api_client.sanitize_for_serialization(result)
    except TypeError:
        # The typed methods take _content_type from client 25 on; before, call_api with the path does it (the
        # lowest client the collection supports is 24, see noxfile.py).
        path = _APPLY_PATHS[obj["kind"]] % (obj["metadata"]["namespace"], obj["metadata"]["name"])
        response = api_client.call_api(
            path, "PATCH", query_params=[("fieldManager", field_manager), ("force", "true" if force else "false")],
            header_params={"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"},
            body=json.dumps(obj), auth_settings=["BearerToken"], _preload_content=False,
            _return_http_data_only=True)
        return json.loads(response.data)


def deploy_nth(api_client, namespace, image_tag, replicas=1, liveness_port=8080, metrics_port=9092,
               field_manager="kops"):
    for obj in render_nth(namespace, image_tag, replicas, liveness_port, metrics_port):
        server_side_apply(api_client, obj, field_manager=field_manager)


def delete_nth(api_client, namespace):
    """Delete what deploy_nth applied (ServiceAccount, Deployment, PodDisruptionBudget); gone already is fine."""
    deleters = {"ServiceAccount": client.CoreV1Api(api_client).delete_namespaced_service_account,
                "Deployment": client.AppsV1Api(api_client).delete_namespaced_deployment,
                "PodDisruptionBudget": client.PolicyV1Api(api_client).delete_namespaced_pod_disruption_budget}
    for obj in render_nth(namespace, "any"):
        try:
            deleters[obj["kind"]](obj["metadata"]["name"], namespace)
        except client.ApiException as exc:
            if exc.status != 404:
                raise


def wait_deployment(api_client, namespace, name, predicate, timeout=120):
    """Watch a Deployment until ``predicate(deployment_dict)`` holds; returns (deployment, seconds)."""
    apps = client.AppsV1Api(api_client)
    start = time.monotonic()
    while True:
        remaining = timeout - (time.monotonic() - start)
        if remaining <= 0:
            raise TimeoutError("Deployment %s/%s did not reach the expected state in %ss" % (namespace, name, timeout))
        stream = watch.Watch().stream(apps.list_namespaced_deployment, namespace,
                                      field_selector="metadata.name=%s" % name,
                                      timeout_seconds=max(1, int(remaining)))
        for event in stream:
            obj = api_client.sanitize_for_serialization(event["object"])
            if predicate(obj):
                return obj, time.monotonic() - start


def rollout_complete(dep):
    spec, status = dep["spec"], dep.get("status", {})
    return (status.get("observedGeneration", 0) >= dep["metadata"]["generation"]
            and status.get("updatedReplicas", 0) == spec["replicas"]
            and status.get("replicas", 0) == spec["replicas"]
            and status.get("availableReplicas", 0) == spec["replicas"])


def wait_unschedulable(api_client, namespace, selector="app.kubernetes.io/name=%s" % NTH, timeout=60,
                       with_event=True):
    """Watch pods until one is PodScheduled=False/Unschedulable; returns (pod, seconds).

    With ``with_event`` (default) also waits for the scheduler's FailedScheduling event on that pod: the scheduler
    sets the condition first and records the event asynchronously, so a list right after the condition can miss it.
    """
    start = time.monotonic()
    pod, _seconds = wait_pod(api_client, namespace, unschedulable, selector=selector, timeout=timeout)
    if with_event:
        wait_event(api_client, namespace, pod["metadata"]["name"],
                   timeout=max(1, timeout - (time.monotonic() - start)))
    return pod, time.monotonic() - start


def failed_scheduling_events(api_client, namespace, pod_name, timeout=30):
    """The FailedScheduling events of a pod, after waiting (watch) until there is at least one; [] on timeout."""
    try:
        wait_event(api_client, namespace, pod_name, timeout=timeout)
    except TimeoutError:
        return []
    core = client.CoreV1Api(api_client)
    events = core.list_namespaced_event(namespace, field_selector="reason=FailedScheduling,involvedObject.name=%s"
                                        % pod_name).items
    return [api_client.sanitize_for_serialization(e) for e in events]


def replicaset_versions(api_client, namespace):
    apps = client.AppsV1Api(api_client)
    return {rs.metadata.name: (rs.metadata.resource_version, rs.spec.replicas)
            for rs in apps.list_namespaced_replica_set(namespace).items}


def run_module(module, args, kubeconfig=None, check=False, diff=False, env=None):
    """Run one of the collection's modules (or any module) with `ansible localhost -m` and return its result."""
    # The ansible of the interpreter running the tests (the venv's), even when its bin/ is not on PATH.
    beside = os.path.join(os.path.dirname(sys.executable), "ansible")
    cmd = [beside if os.access(beside, os.X_OK) else "ansible", "localhost", "-m", module, "-a", json.dumps(args)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    environment = dict(os.environ)
    environment.update({"ANSIBLE_CALLBACK_RESULT_FORMAT": "json", "ANSIBLE_LOCALHOST_WARNING": "false",
                        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false", "ANSIBLE_NOCOLOR": "1",
                        "ANSIBLE_DEPRECATION_WARNINGS": "false"})
    environment.pop("K8S_AUTH_KUBECONFIG", None)
    if kubeconfig:
        environment["K8S_AUTH_KUBECONFIG"] = kubeconfig
    environment.update(env or {})
    proc = subprocess.run(cmd, capture_output=True, text=True, env=environment, check=False)
    # The default callback prints "localhost | STATUS => {result as JSON}".
    marker = proc.stdout.find("=> {")
    if marker < 0:
        raise AssertionError("ansible printed no result (rc %s): %s %s" % (proc.returncode, proc.stdout, proc.stderr))
    result = json.loads(proc.stdout[marker + 3:])
    # The callback strips "failed" and prints the diff as text before the result; put both back.
    result["failed"] = "FAILED!" in proc.stdout[:marker] or "UNREACHABLE!" in proc.stdout[:marker]
    result["printed_diff"] = proc.stdout[:proc.stdout.rfind("\n", 0, marker) + 1]
    return result


# --- the reproduction, step by step, with timings (used by test_local_cluster.py and tools/localcluster/measure.py)

def _conditions(pod):
    return {c["type"]: c for c in (pod.get("status") or {}).get("conditions") or []}


def unschedulable(pod):
    """The scheduler's verdict on a pod: PodScheduled=False with reason Unschedulable."""
    condition = _conditions(pod).get("PodScheduled") or {}
    return condition.get("status") == "False" and condition.get("reason") == "Unschedulable"


def running_and_ready(pod):
    return (pod.get("status") or {}).get("phase") == "Running" and \
        (_conditions(pod).get("Ready") or {}).get("status") == "True"


def list_pods(api_client, namespace, selector="app.kubernetes.io/name=%s" % NTH):
    core = client.CoreV1Api(api_client)
    return [api_client.sanitize_for_serialization(p)
            for p in core.list_namespaced_pod(namespace, label_selector=selector).items]


def wait_pod(api_client, namespace, predicate, selector="app.kubernetes.io/name=%s" % NTH, timeout=60):
    """Watch pods (initial list included) until one satisfies ``predicate(pod)``; returns (pod, seconds)."""
    core = client.CoreV1Api(api_client)
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        remaining = max(1, int(timeout - (time.monotonic() - start)))
        for event in watch.Watch().stream(core.list_namespaced_pod, namespace, label_selector=selector,
                                          timeout_seconds=remaining):
            pod = api_client.sanitize_for_serialization(event["object"])
            if event["type"] != "DELETED" and predicate(pod):
                return pod, time.monotonic() - start
    raise TimeoutError("no pod in %s (%s) reached the expected state within %ss" % (namespace, selector, timeout))


def wait_event(api_client, namespace, pod_name, reason="FailedScheduling", timeout=60):
    """Watch Events (initial list included) until one with ``reason`` names the pod; returns (event, seconds)."""
    core = client.CoreV1Api(api_client)
    start = time.monotonic()
    selector = "reason=%s,involvedObject.kind=Pod,involvedObject.name=%s" % (reason, pod_name)
    while time.monotonic() - start < timeout:
        remaining = max(1, int(timeout - (time.monotonic() - start)))
        for event in watch.Watch().stream(core.list_namespaced_event, namespace, field_selector=selector,
                                          timeout_seconds=remaining):
            if event["type"] != "DELETED":
                return api_client.sanitize_for_serialization(event["object"]), time.monotonic() - start
    raise TimeoutError("no %s event for pod %s/%s within %ss" % (reason, namespace, pod_name, timeout))


def wait_nodes_ready(api_client, expected, timeout=60):
    """Watch Nodes until ``expected`` of them are Ready; returns (ready node names, seconds)."""
    core = client.CoreV1Api(api_client)
    start, ready = time.monotonic(), set()
    while time.monotonic() - start < timeout:
        remaining = max(1, int(timeout - (time.monotonic() - start)))
        for event in watch.Watch().stream(core.list_node, timeout_seconds=remaining):
            node = api_client.sanitize_for_serialization(event["object"])
            name = node["metadata"]["name"]
            if event["type"] != "DELETED" and (_conditions(node).get("Ready") or {}).get("status") == "True":
                ready.add(name)
            else:
                ready.discard(name)
            if len(ready) == expected:
                return sorted(ready), time.monotonic() - start
    raise TimeoutError("only %d of %d nodes Ready within %ss" % (len(ready), expected, timeout))


def replicasets_by_revision(api_client, namespace, name=NTH):
    """The Deployment's ReplicaSets (owned by it), oldest revision first, as dicts."""
    apps = client.AppsV1Api(api_client)
    deployment = apps.read_namespaced_deployment(name, namespace)
    owned = [api_client.sanitize_for_serialization(rs) for rs in apps.list_namespaced_replica_set(namespace).items
             if any(ref.uid == deployment.metadata.uid for ref in rs.metadata.owner_references or [])]
    return sorted(owned, key=lambda rs: int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))


def reproduce_deadlock(api_client, namespace, replicas=1, ports=(8080, 9092), old_tag="v1.18.3",
                       new_tag="v1.22.0", timeout=120):
    """Deploy the kOps NTH shape at ``old_tag``, wait until it is Available, change the image to ``new_tag`` (as
    kOps' channels tool does, server-side apply as field manager kops) and wait for the scheduler's verdict on the
    surge pod: PodScheduled=False/Unschedulable and a FailedScheduling event. Returns the objects and timings.
    """
    started = time.monotonic()
    deploy_nth(api_client, namespace, old_tag, replicas, liveness_port=ports[0], metrics_port=ports[1])
    available = wait_deployment(api_client, namespace, NTH, rollout_complete, timeout=timeout)[1]
    old_pods = {p["metadata"]["name"] for p in list_pods(api_client, namespace)}
    changed = time.monotonic()
    deploy_nth(api_client, namespace, new_tag, replicas, liveness_port=ports[0], metrics_port=ports[1])
    pending, to_unschedulable = wait_pod(
        api_client, namespace, lambda p: p["metadata"]["name"] not in old_pods and unschedulable(p), timeout=timeout)
    event = wait_event(api_client, namespace, pending["metadata"]["name"], timeout=timeout)[0]
    to_event = time.monotonic() - changed
    return {
        "old_pods": sorted(old_pods),
        "pending_pod": pending,
        "event": event,
        "seconds": {"old_version_available": round(available, 3),
                    "template_change_to_unschedulable": round(to_unschedulable, 3),
                    "template_change_to_failed_scheduling_event": round(to_event, 3),
                    "total": round(time.monotonic() - started, 3)},
    }


def delete_replicaset(api_client, namespace, name, uid):
    """Delete one ReplicaSet by hand, only if it is still the object we looked at (uid precondition)."""
    apps = client.AppsV1Api(api_client)
    return apps.delete_namespaced_replica_set(
        name, namespace, body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=uid),
                                                     propagation_policy="Background"))


def remediate_by_deleting_old_replicaset(api_client, namespace, timeout=120):
    """Delete the Deployment's older ReplicaSet(s) (uid precondition) and watch the rollout complete."""
    replicasets = replicasets_by_revision(api_client, namespace)
    old = replicasets[:-1]
    if not old:
        raise AssertionError("no old ReplicaSet in %s" % namespace)
    started = time.monotonic()
    for rs in old:
        delete_replicaset(api_client, namespace, rs["metadata"]["name"], rs["metadata"]["uid"])
    deployment, seconds = wait_deployment(api_client, namespace, NTH, rollout_complete, timeout=timeout)
    return {"deleted": [rs["metadata"]["name"] for rs in old], "deployment": deployment,
            "seconds": round(time.monotonic() - started, 3)}
