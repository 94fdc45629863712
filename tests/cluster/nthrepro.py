# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reproduce the kOps NTH rollout deadlock on a real control plane, and run the collection's modules there.

Used by the pytest fixtures (tests/cluster), the benchmark (tests/benchmark/bench_cluster.py) and the demo.
Everything waits with watches, not sleeps."""

from __future__ import annotations

import json
import os
import subprocess
import time

import jinja2
import yaml
from kubernetes import client, config, watch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NTH_TEMPLATE = os.path.join(ROOT, "tests", "fixtures", "manifests", "aws-node-termination-handler.yaml.j2")
NTH = "aws-node-termination-handler"


def render_nth(namespace, image_tag, replicas=1, liveness_port=8080, metrics_port=9092):
    with open(NTH_TEMPLATE) as handle:
        text = jinja2.Template(handle.read()).render(namespace=namespace, image_tag=image_tag, replicas=replicas,
                                                     liveness_port=liveness_port, metrics_port=metrics_port)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def api(kubeconfig):
    return config.new_client_from_config(config_file=kubeconfig)


def server_side_apply(api_client, obj, field_manager="kops", force=True):
    """Server-side apply, as kOps' channels tool applies addon manifests (field manager kops, with force)."""
    patchers = {
        "ServiceAccount": client.CoreV1Api(api_client).patch_namespaced_service_account,
        "Deployment": client.AppsV1Api(api_client).patch_namespaced_deployment,
        "PodDisruptionBudget": client.PolicyV1Api(api_client).patch_namespaced_pod_disruption_budget,
    }
    result = patchers[obj["kind"]](obj["metadata"]["name"], obj["metadata"]["namespace"], obj,
                                   field_manager=field_manager, force=force,
                                   _content_type="application/apply-patch+yaml")
    return api_client.sanitize_for_serialization(result)


def deploy_nth(api_client, namespace, image_tag, replicas=1, liveness_port=8080, metrics_port=9092,
               field_manager="kops"):
    for obj in render_nth(namespace, image_tag, replicas, liveness_port, metrics_port):
        server_side_apply(api_client, obj, field_manager=field_manager)


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


def wait_unschedulable(api_client, namespace, selector="app.kubernetes.io/name=%s" % NTH, timeout=60):
    """Watch pods until one is PodScheduled=False/Unschedulable; returns (pod, seconds)."""
    core = client.CoreV1Api(api_client)
    start = time.monotonic()
    stream = watch.Watch().stream(core.list_namespaced_pod, namespace, label_selector=selector,
                                  timeout_seconds=timeout)
    for event in stream:
        pod = api_client.sanitize_for_serialization(event["object"])
        for condition in pod.get("status", {}).get("conditions") or []:
            if condition["type"] == "PodScheduled" and condition["status"] == "False" \
                    and condition.get("reason") == "Unschedulable":
                return pod, time.monotonic() - start
    raise TimeoutError("no Unschedulable pod in %s within %ss" % (namespace, timeout))


def failed_scheduling_events(api_client, namespace, pod_name):
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
    cmd = ["ansible", "localhost", "-m", module, "-a", json.dumps(args)]
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
