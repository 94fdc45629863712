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

# The groups of checks are the table CHECK_GROUPS at the end of this file (CHECKS: their names).


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
        objects = dict((resource, self.stream_list(resource))
                       for resource in ("deployments", "replicasets", "daemonsets", "pods", "nodes"))
        objects["events"] = []
        if any((p.get("status") or {}).get("phase") == "Pending" for p in objects["pods"]):
            objects["events"] = self.stream_list("events",
                                                 field_selector="reason=FailedScheduling,involvedObject.kind=Pod")
        return objects

    def namespace(self, name):
        return self._call("get", "namespaces", None, name, read_json, self.core.read_namespace, name)


class PrecheckRun(object):
    """What one precheck run has read, shared by the check groups: the parameters, the target, the kops release,
    the API server's version, the workloads (nodes, pods, Deployments, ReplicaSets, DaemonSets, Events), the
    PodDisruptionBudgets, the Deployments' diagnoses (rollout.diagnose_rollouts) and the autoscalers found."""

    def __init__(self, api, params):
        self.api = api
        self.params = params
        self.target = params.get("target_version") or ""
        if self.target:
            precheck.parse_version(self.target, "target Kubernetes version")
        self.kops_version, self.kops_findings = precheck.check_kops_release(
            params.get("kops_version"), params.get("kops_min_version") or None)
        self.drain_timeout = params.get("drain_timeout") or "15m"
        precheck.parse_duration(self.drain_timeout)
        self.removed_table = precheck.removed_api_table(params.get("removed_apis"))
        self.server_version = api.server_version().get("gitVersion", "")
        self.workloads = api.read_workloads()
        self.nodes, self.pods = self.workloads["nodes"], self.workloads["pods"]
        self.deployments, self.daemonsets = self.workloads["deployments"], self.workloads["daemonsets"]
        self.pdbs = api.stream_list("poddisruptionbudgets")
        self.diagnoses = diagnose_rollouts(self.deployments, self.workloads["replicasets"], self.pods,
                                           self.workloads["events"], self.nodes, cluster_pods=self.pods,
                                           pdbs=self.pdbs)
        self.autoscalers = precheck.find_autoscalers(self.deployments)
        self.incoming = None


def versions_group(run):
    return precheck.check_versions(run.server_version, run.target, run.nodes, run.kops_version or None)


def removed_apis_group(run):
    findings = []
    if not run.target:
        return findings
    served = run.api.served_group_versions()
    for entry in precheck.removed_apis_to_check(run.removed_table, run.server_version, run.target, served):
        objects = run.api.list_removed(entry)
        if objects is not None:
            findings += precheck.check_removed_api_objects(entry, objects, served, run.target)
    return findings


def deprecated_api_requests_group(run):
    try:
        return precheck.check_deprecated_api_requests(
            precheck.parse_deprecated_api_metric(run.api.raw_get("/metrics", accept="text/plain")[1]), run.target)
    except ApiError as exc:
        return [precheck.finding(
            "deprecated_api_metrics_unreadable", "warning",
            "could not read the API server's metrics to find clients of deprecated APIs: %s" % exc, [],
            "Allow get on the non-resource URL /metrics, or leave deprecated_api_requests out of checks.")]


def drain_group(run):
    return precheck.check_drain(run.nodes, run.pods, run.pdbs, run.drain_timeout,
                                run.params.get("fail_on_drain_error", True))


def webhooks_group(run):
    configurations = []
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        for item in run.api.stream_list(kind.lower() + "s"):
            item["kind"] = kind
            configurations.append(item)
    if not any(w.get("failurePolicy", "Fail") == "Fail" for c in configurations for w in c.get("webhooks") or []):
        return []
    namespace = run.params.get("webhook_namespace") or "kube-system"
    slices = run.api.stream_list("endpointslices")
    return precheck.check_webhooks(configurations, slices, run.api.namespace(namespace), run.pods)


def autoscalers_group(run):
    return precheck.check_autoscalers(run.autoscalers)


def rollouts_group(run):
    fail = run.params.get("fail_on_predicted_deadlock", False)
    findings = precheck.check_rollouts(run.diagnoses, run.daemonsets, run.nodes, fail)
    if run.params.get("incoming_addons") is not None:
        run.incoming = precheck.predict_incoming_rollouts(
            run.params["incoming_addons"], addon_templates.applied_addons(run.api.namespace("kube-system")),
            run.deployments, run.daemonsets, run.nodes, run.pods)
        findings += precheck.check_incoming_rollouts(run.incoming, run.params.get("incoming_release")
                                                     or "(next release)", fail)
    return findings


def health_group(run):
    return precheck.check_health(run.nodes, run.pods, run.target, run.params.get("critical_priority_classes")
                                 or precheck.CRITICAL_PRIORITY_CLASSES)


class CheckGroup(object):
    """One group of checks: its name (the module's ``checks`` choice), whether a precheck runs it unless told,
    the codes it can report (the module's documentation names each one; a unit test holds them together) and
    ``run(PrecheckRun) -> findings``, which reads what else it needs through ``run.api``."""

    def __init__(self, name, codes, run, default=True):
        self.name, self.codes, self.run, self.default = name, codes, run, default


# Adding a check: its pure function in precheck.py, one entry here, its codes in upgrade_precheck's documentation.
CHECK_GROUPS = (
    CheckGroup("versions", ("version_minor_skip", "version_downgrade", "kubelet_skew", "kubelet_newer_than_apiserver",
                            "kops_too_old_for_target", "kops_target_unsupported"), versions_group),
    CheckGroup("removed_apis", ("removed_api_objects", "removed_api_writers"), removed_apis_group),
    CheckGroup("deprecated_api_requests", ("removed_api_requested", "deprecated_api_requested",
                                           "deprecated_api_metrics_unreadable"), deprecated_api_requests_group),
    CheckGroup("drain", ("drain_pdb_blocks", "drain_unmanaged_pods", "drain_emptydir_data",
                         "drain_grace_exceeds_timeout"), drain_group),
    CheckGroup("webhooks", ("webhook_unavailable",), webhooks_group),
    CheckGroup("autoscalers", ("autoscaler_present",), autoscalers_group),
    CheckGroup("rollouts", ("rollout_stuck", "rollout_deadlock", "daemonset_deadlock", "rollout_safe",
                            "daemonset_safe", "incoming_deadlock", "incoming_safe"), rollouts_group),
    # After the upgrade (the validate role's): every kubelet at the target would fail any precheck.
    CheckGroup("health", ("kubelet_not_at_version", "node_not_ready", "critical_pod_not_ready"), health_group,
               default=False),
)
CHECKS = tuple(group.name for group in CHECK_GROUPS)
DEFAULT_CHECKS = tuple(group.name for group in CHECK_GROUPS if group.default)
# Findings of every run, whatever the groups: the tools, the kops release, kops validate's result.
ALWAYS_CODES = ("tool_missing", "kops_too_old", "kops_version_unknown", "kops_validate_error",
                "kops_validation_failure", "upgrade_in_progress", "kops_validation_upgrade_in_progress")


def run_precheck(api, params):
    """Read the cluster and run the groups of CHECK_GROUPS named in ``params['checks']``, in the table's order.
    Returns the module's result (without ``changed``). Raises ApiError for API errors and
    precheck.PrecheckInputError for bad input."""
    checks = set(params.get("checks") or DEFAULT_CHECKS)
    run = PrecheckRun(api, params)
    in_progress = precheck.upgrade_in_progress(run.nodes, run.target, params.get("kops_rolling_plan"))
    validation = params.get("kops_validation") or {}
    failures = list(params.get("kops_validation_failures") or []) + list(validation.get("failures") or [])
    findings = precheck.check_tools(params.get("tools")) + precheck.external_findings(params.get("extra_findings"))
    findings += run.kops_findings + precheck.check_kops_validation_ran(validation)
    findings += precheck.kops_validation_findings(failures, in_progress)
    for group in CHECK_GROUPS:
        if group.name in checks:
            findings += group.run(run)
    diagnoses = run.diagnoses
    result = precheck.verdict(findings)
    result.update(
        cluster=precheck.cluster_facts(run.server_version, run.nodes),
        nth=precheck.nth_summary(run.deployments, run.daemonsets),
        autoscalers=run.autoscalers,
        autoscalers_running=precheck.running_autoscalers(run.autoscalers),
        stuck=sorted("%s/%s" % (d["namespace"], d["name"]) for d in diagnoses
                     if d.get("verdict") in ("stuck", "blocked")),
        predicted_deadlocks=sorted(
            ["%s/%s" % (d["namespace"], d["name"]) for d in diagnoses if d["prediction"]["deadlock"]]
            + [f["objects"][0]["namespace"] + "/" + f["objects"][0]["name"] for f in result["findings"]
               if f["code"] == "daemonset_deadlock"]),
        checks=sorted(checks),
        upgrade_in_progress=in_progress,
        incoming=run.incoming,
        incoming_deadlocks=sorted("%s/%s" % (p["namespace"], p["name"]) for p in run.incoming or []
                                  if p["deadlock"]),
    )
    return result
