# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API side of the upgrade precheck: reads everything the checks in precheck.py need with a number of
requests that does not depend on the number of objects (list calls across all namespaces, one per kind), and
runs the checks. Every object is handed over as the API serves it (plain dicts)."""

from __future__ import annotations

import json

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils import addon_templates, precheck
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.k8s_connection import (
    ApiError,
    ApiException,
    ApiReader,
    explain_api_error,
    read_json,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout import diagnose_rollouts

try:
    from kubernetes import client as k8s_client
except ImportError:  # pragma: no cover - k8s_connection reports the missing library
    k8s_client = None

CHECKS = ("versions", "removed_apis", "deprecated_api_requests", "drain", "webhooks", "autoscalers", "rollouts",
          "health")
# What a precheck runs unless told: health (every kubelet at the target, ...) is the validate role's, after the
# upgrade.
DEFAULT_CHECKS = tuple(c for c in CHECKS if c != "health")


class PrecheckApi(ApiReader):
    """Reads the cluster for the precheck through one ApiClient (ApiReader's clients and error handling)."""

    def raw_get(self, path, accept="application/json"):
        """GET a path the typed client has no method for (``/metrics``, a removed API version); returns
        ``(status, text)``; 404 is returned, other errors raise ApiError."""
        try:
            method, url, headers, body, post = self.api_client.param_serialize(
                "GET", path, header_params={"Accept": accept}, auth_settings=["BearerToken"])
            response = self.api_client.call_api(method, url, headers, body, post)
            response.read()
            text = response.data.decode("utf-8", "replace") if isinstance(response.data, bytes) else response.data
        except Exception as exc:
            raise ApiError(explain_api_error(exc, "get", path))
        if response.status == 404:
            return 404, text
        if not 200 <= response.status < 300:
            raise ApiError(explain_api_error(ApiException(http_resp=response), "get", path), response.status)
        return response.status, text

    def server_version(self):
        return self._call("get", "version", None, None, read_json, k8s_client.VersionApi(self.api_client).get_code)

    def served_group_versions(self):
        """Every group/version the API server serves (``v1`` for the core group): one request."""
        groups = self._call("get", "API groups", None, None, read_json,
                            k8s_client.ApisApi(self.api_client).get_api_versions)
        served = ["v1"]
        for group in groups.get("groups") or []:
            served.extend(v["groupVersion"] for v in group.get("versions") or [])
        return served

    def list_removed(self, entry):
        """The objects of a table entry, listed under its own (old) group/version; None when it is not served."""
        gv = precheck.group_version(entry)
        path = ("/apis/%s/%s" % (gv, entry["resource"])) if entry["group"] else "/api/%s/%s" % (
            entry["version"], entry["resource"])
        status, text = self.raw_get(path)
        if status == 404:
            return None
        return json.loads(text).get("items") or []

    def read_workloads(self):
        """Deployments, ReplicaSets, Pods, Nodes and DaemonSets across all namespaces, plus FailedScheduling Events
        when a pod is Pending: six list calls at most, however many objects."""
        apps = k8s_client.AppsV1Api(self.api_client)
        objects = {
            "deployments": self.cluster_list("deployments", apps.list_deployment_for_all_namespaces),
            "replicasets": self.cluster_list("replicasets", apps.list_replica_set_for_all_namespaces),
            "daemonsets": self.cluster_list("daemonsets", apps.list_daemon_set_for_all_namespaces),
            "pods": self.cluster_list("pods", self.core.list_pod_for_all_namespaces),
            "nodes": self.cluster_list("nodes", self.core.list_node),
            "events": [],
        }
        if any((p.get("status") or {}).get("phase") == "Pending" for p in objects["pods"]):
            objects["events"] = self._call(
                "list", "events", None, None, read_json, self.core.list_event_for_all_namespaces,
                field_selector="reason=FailedScheduling,involvedObject.kind=Pod")["items"]
        return objects

    def namespace(self, name):
        return self._call("get", "namespaces", None, name, read_json, self.core.read_namespace, name)


def run_precheck(api, params):
    """Read the cluster and run the checks named in ``params['checks']``. Returns the module's result (without
    ``changed``). Raises ApiError for API errors and precheck.PrecheckInputError for bad input."""
    checks = set(params.get("checks") or DEFAULT_CHECKS)
    target = params.get("target_version") or ""
    if target:
        precheck.parse_version(target, "target Kubernetes version")
    kops_version, kops_findings = precheck.check_kops_release(params.get("kops_version"),
                                                              params.get("kops_min_version") or None)
    precheck.parse_duration(params.get("drain_timeout") or "15m")
    table = precheck.removed_api_table(params.get("removed_apis"))
    findings = precheck.external_findings(params.get("extra_findings")) + kops_findings

    server_version = api.server_version().get("gitVersion", "")
    workloads = api.read_workloads()
    nodes, pods, deployments = workloads["nodes"], workloads["pods"], workloads["deployments"]
    daemonsets = workloads["daemonsets"]
    in_progress = precheck.upgrade_in_progress(nodes, target, params.get("kops_rolling_plan"))
    findings += precheck.kops_validation_findings(params.get("kops_validation_failures"), in_progress)

    if "versions" in checks:
        findings += precheck.check_versions(server_version, target, nodes, kops_version or None)
    if "removed_apis" in checks and target:
        served = api.served_group_versions()
        for entry in precheck.removed_apis_to_check(table, server_version, target, served):
            objects = api.list_removed(entry)
            if objects is not None:
                findings += precheck.check_removed_api_objects(entry, objects, served, target)
    if "deprecated_api_requests" in checks:
        try:
            findings += precheck.check_deprecated_api_requests(
                precheck.parse_deprecated_api_metric(api.raw_get("/metrics", accept="text/plain")[1]), target)
        except ApiError as exc:
            findings.append(precheck.finding(
                "deprecated_api_metrics_unreadable", "warning",
                "could not read the API server's metrics to find clients of deprecated APIs: %s" % exc, [],
                "Allow get on the non-resource URL /metrics, or leave deprecated_api_requests out of checks."))
    pdbs = api.cluster_list("poddisruptionbudgets", k8s_client.PolicyV1Api(
        api.api_client).list_pod_disruption_budget_for_all_namespaces)
    if "drain" in checks:
        findings += precheck.check_drain(nodes, pods, pdbs, params.get("drain_timeout") or "15m",
                                         params.get("fail_on_drain_error", True))
    if "webhooks" in checks:
        admission = k8s_client.AdmissionregistrationV1Api(api.api_client)
        configurations = []
        for kind, call in (("ValidatingWebhookConfiguration", admission.list_validating_webhook_configuration),
                           ("MutatingWebhookConfiguration", admission.list_mutating_webhook_configuration)):
            for item in api.cluster_list(kind.lower() + "s", call):
                item["kind"] = kind
                configurations.append(item)
        if any(w.get("failurePolicy", "Fail") == "Fail" for c in configurations for w in c.get("webhooks") or []):
            namespace = params.get("webhook_namespace") or "kube-system"
            namespace_obj = api.namespace(namespace)
            slices = api.cluster_list("endpointslices", k8s_client.DiscoveryV1Api(
                api.api_client).list_endpoint_slice_for_all_namespaces)
            findings += precheck.check_webhooks(configurations, slices, namespace_obj, pods)
    autoscalers = precheck.find_autoscalers(deployments)
    if "autoscalers" in checks:
        findings += precheck.check_autoscalers(autoscalers)
    diagnoses = diagnose_rollouts(deployments, workloads["replicasets"], pods, workloads["events"], nodes,
                                  cluster_pods=pods, pdbs=pdbs)
    if "rollouts" in checks:
        findings += precheck.check_rollouts(diagnoses, daemonsets, nodes,
                                            params.get("fail_on_predicted_deadlock", False))
    if "health" in checks:
        findings += precheck.check_health(nodes, pods, target, params.get("critical_priority_classes")
                                          or precheck.CRITICAL_PRIORITY_CLASSES)
    incoming = None
    if params.get("incoming_addons") is not None:
        incoming = precheck.predict_incoming_rollouts(
            params["incoming_addons"], addon_templates.applied_addons(api.namespace("kube-system")), deployments,
            daemonsets, nodes)
        findings += precheck.check_incoming_rollouts(incoming, params.get("incoming_release") or "(next release)",
                                                     params.get("fail_on_predicted_deadlock", False))

    result = precheck.verdict(findings)
    result.update(
        cluster=precheck.cluster_facts(server_version, nodes),
        nth=precheck.nth_summary(deployments, daemonsets),
        autoscalers=autoscalers,
        stuck=sorted("%s/%s" % (d["namespace"], d["name"]) for d in diagnoses
                     if d.get("verdict") in ("stuck", "blocked")),
        predicted_deadlocks=sorted(
            ["%s/%s" % (d["namespace"], d["name"]) for d in diagnoses if d["prediction"]["deadlock"]]
            + [f["objects"][0]["namespace"] + "/" + f["objects"][0]["name"] for f in result["findings"]
               if f["code"] == "daemonset_deadlock"]),
        checks=sorted(checks),
        upgrade_in_progress=in_progress,
        incoming=incoming,
        incoming_deadlocks=sorted("%s/%s" % (p["namespace"], p["name"]) for p in incoming or [] if p["deadlock"]),
    )
    return result
