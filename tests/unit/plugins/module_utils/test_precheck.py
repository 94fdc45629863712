# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The precheck's pure checks on API-shaped dicts: each finding triggered, and absent when it should be."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils import precheck
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.scheduling import predict_rollout_deadlock
from testbed.api_objects import (
    deployment,
    node,
    nth_pod_template,
)


def codes(findings):
    return sorted(f["code"] for f in findings)


def with_kubelet(n, version):
    n = copy.deepcopy(n)
    n["status"]["nodeInfo"] = {"kubeletVersion": version}
    return n


def cluster(version="v1.30.2", workers=2):
    return [with_kubelet(node("cp-1", control_plane=True), version)] + [
        with_kubelet(node("w-%d" % i), version) for i in range(1, workers + 1)]


# --------------------------------------------------------------------------------------------------- versions

@pytest.mark.parametrize("text, expected", [
    ("v1.34.4", (1, 34, 4)), ("1.30", (1, 30, 0)), ("v1.29.3-eks-1a2b", (1, 29, 3)), (" 1.31.0+k3s1 ", (1, 31, 0)),
])
def test_parse_version(text, expected):
    assert precheck.parse_version(text) == expected


@pytest.mark.parametrize("text", ["", "latest", "1", "v1.x"])
def test_parse_version_refuses_what_is_not_a_version(text):
    with pytest.raises(precheck.PrecheckInputError, match="is not a version"):
        precheck.parse_version(text, "target")


def test_one_minor_at_a_time_is_clean():
    assert precheck.check_versions("v1.30.2", "1.31.4", cluster("v1.30.2"), "1.31.0") == []


def test_same_minor_patch_upgrade_is_clean():
    assert precheck.check_versions("v1.29.3", "1.29.9", cluster("v1.29.3"), "1.30.1") == []


def test_skipping_a_minor_is_an_error():
    findings = precheck.check_versions("v1.30.2", "1.32.0", cluster("v1.30.2"))
    assert codes(findings) == ["version_minor_skip"]
    assert findings[0]["severity"] == "error"
    assert "Upgrade to 1.31 first" in findings[0]["remedy"]


def test_downgrade_is_an_error():
    assert codes(precheck.check_versions("v1.30.2", "1.29.9", cluster("v1.30.2"))) == ["version_downgrade"]


@pytest.mark.parametrize("worker, kubelet, target, code, words", [
    (2, "v1.27.9", "1.31.0", "kubelet_skew", ["4 minor versions behind", "supports 3"]),
    (1, "v1.31.0", "", "kubelet_newer_than_apiserver", []),
], ids=["beyond-the-supported-skew-of-the-target", "newer-than-the-api-server"])
def test_a_kubelet_out_of_skew_is_named(worker, kubelet, target, code, words):
    nodes = cluster("v1.30.2")
    nodes[worker] = with_kubelet(nodes[worker], kubelet)
    findings = precheck.check_versions("v1.30.2", target, nodes)
    assert codes(findings) == [code]
    assert findings[0]["objects"] == [{"kind": "Node", "name": "w-%d" % worker}]
    for word in words:
        assert word in findings[0]["message"]


def test_kubelet_skew_is_two_before_1_28():
    nodes = cluster("v1.26.5")
    nodes[1] = with_kubelet(nodes[1], "v1.24.0")
    assert codes(precheck.check_versions("v1.26.5", "1.27.3", nodes)) == ["kubelet_skew"]
    assert precheck.check_versions("v1.26.5", "1.26.9", nodes) == []


def test_kops_older_than_the_target():
    findings = precheck.check_versions("v1.30.2", "1.31.0", cluster(), "1.30.2")
    assert codes(findings) == ["kops_too_old_for_target"]
    assert "kops 1.31 or newer" in findings[0]["remedy"]


def test_kops_much_newer_than_the_target_warns():
    findings = precheck.check_versions("v1.24.2", "1.25.0", cluster("v1.24.2"), "1.31.0")
    assert [(f["code"], f["severity"]) for f in findings] == [("kops_target_unsupported", "warning")]


def test_bad_kubelet_version_is_ignored_not_fatal():
    nodes = cluster()
    nodes[0] = with_kubelet(nodes[0], "garbage")
    assert precheck.check_versions("v1.30.2", "1.31.0", nodes) == []


# --------------------------------------------------------------------------------------------------- removed APIs

def test_entries_to_check_are_those_removed_after_now_and_at_or_before_the_target():
    table = precheck.removed_api_table()
    served = ["v1", "flowcontrol.apiserver.k8s.io/v1beta3", "flowcontrol.apiserver.k8s.io/v1",
              "batch/v1beta1", "batch/v1"]
    chosen = precheck.removed_apis_to_check(table, "v1.31.4", "1.32.0", served)
    assert [(e["group"], e["version"], e["resource"]) for e in chosen] == [
        ("flowcontrol.apiserver.k8s.io", "v1beta3", "flowschemas"),
        ("flowcontrol.apiserver.k8s.io", "v1beta3", "prioritylevelconfigurations"),
    ]
    assert precheck.removed_apis_to_check(table, "v1.32.0", "1.33.0", served) == []


def test_user_entries_are_checked():
    with pytest.raises(precheck.PrecheckInputError, match=r"removed_apis\[0\] needs .* missing removed_in"):
        precheck.removed_api_table([{"group": "x.io", "version": "v1", "resource": "things"}])
    with pytest.raises(precheck.PrecheckInputError, match="is not a version"):
        precheck.removed_api_table([{"group": "x.io", "version": "v1", "resource": "things", "removed_in": "soon"}])
    table = precheck.removed_api_table([{"group": "", "version": "v1", "resource": "things", "removed_in": "1.40"}])
    assert table[-1] == {"group": "", "version": "v1", "resource": "things", "removed_in": "1.40", "replacement": ""}


def _object(name, namespace=None, managers=(), last_applied=None):
    metadata = {"name": name, "managedFields": [{"manager": m, "apiVersion": v, "operation": "Apply"}
                                                for m, v in managers]}
    if namespace:
        metadata["namespace"] = namespace
    if last_applied:
        metadata["annotations"] = {precheck.LAST_APPLIED_ANNOTATION: last_applied}
    return {"metadata": metadata}


PSP = {"group": "policy", "version": "v1beta1", "resource": "podsecuritypolicies", "removed_in": "1.25",
       "replacement": ""}
CRONJOBS = {"group": "batch", "version": "v1beta1", "resource": "cronjobs", "removed_in": "1.25",
            "replacement": "batch/v1"}


def test_objects_served_only_under_a_removed_version_are_an_error():
    findings = precheck.check_removed_api_objects(PSP, [_object("restricted")], ["v1", "policy/v1beta1"], "1.25.0")
    assert codes(findings) == ["removed_api_objects"]
    assert findings[0]["objects"] == [{"kind": "podsecuritypolicies", "name": "restricted",
                                       "apiVersion": "policy/v1beta1"}]


def test_replacement_not_served_yet_is_an_error_too():
    findings = precheck.check_removed_api_objects(CRONJOBS, [_object("nightly", "ops")], ["batch/v1beta1"], "1.25.0")
    assert codes(findings) == ["removed_api_objects"]
    assert "batch/v1 is not served yet" in findings[0]["message"]


def test_objects_written_through_the_old_version_warn_about_their_writers():
    objects = [
        _object("nightly", "ops", managers=[("helm", "batch/v1beta1")]),
        _object("hourly", "ops", managers=[("kube-controller-manager", "batch/v1")]),
        _object("weekly", "ops", last_applied='{"apiVersion":"batch/v1beta1","kind":"CronJob"}'),
    ]
    findings = precheck.check_removed_api_objects(CRONJOBS, objects, ["batch/v1beta1", "batch/v1"], "1.25.0")
    assert codes(findings) == ["removed_api_writers"]
    assert [o["name"] for o in findings[0]["objects"]] == ["nightly", "weekly"]
    assert "helm" in findings[0]["message"] and "kubectl apply" in findings[0]["message"]


def test_no_objects_or_no_old_writers_no_finding():
    assert precheck.check_removed_api_objects(PSP, [], ["policy/v1beta1"], "1.25.0") == []
    objects = [_object("hourly", "ops", managers=[("kube-controller-manager", "batch/v1")])]
    assert precheck.check_removed_api_objects(CRONJOBS, objects, ["batch/v1beta1", "batch/v1"], "1.25.0") == []


METRICS = """# HELP apiserver_requested_deprecated_apis [STABLE] Gauge of deprecated APIs that have been requested
# TYPE apiserver_requested_deprecated_apis gauge
apiserver_requested_deprecated_apis{group="flowcontrol.apiserver.k8s.io",removed_release="1.32",resource="flowschemas",subresource="",version="v1beta3"} 1
apiserver_requested_deprecated_apis{group="example.com",removed_release="",resource="widgets",subresource="status",version="v1beta1"} 1
apiserver_requested_deprecated_apis{group="gone",removed_release="1.40",resource="old",subresource="",version="v1"} 0
apiserver_request_total{code="200"} 5
"""


def test_deprecated_api_metric_is_parsed():
    assert precheck.parse_deprecated_api_metric(METRICS) == [
        {"group": "flowcontrol.apiserver.k8s.io", "version": "v1beta3", "resource": "flowschemas",
         "subresource": "", "removed_release": "1.32"},
        {"group": "example.com", "version": "v1beta1", "resource": "widgets", "subresource": "status",
         "removed_release": ""},
    ]


def test_requests_to_apis_the_target_removes_are_errors_the_rest_warnings():
    findings = precheck.check_deprecated_api_requests(precheck.parse_deprecated_api_metric(METRICS), "1.32.1")
    assert [(f["code"], f["severity"]) for f in findings] == [
        ("deprecated_api_requested", "info"), ("removed_api_requested", "error")]
    assert all("since its last restart" in f["message"] for f in findings)
    before = precheck.check_deprecated_api_requests(precheck.parse_deprecated_api_metric(METRICS), "1.31.0")
    assert [(f["code"], f["severity"]) for f in before] == [
        ("deprecated_api_requested", "info"), ("deprecated_api_requested", "warning")]
    assert "removed in Kubernetes 1.32" in before[1]["message"]
    assert "no removal release announced" in before[0]["message"]


# --------------------------------------------------------------------------------------------------- drain

def pod(name, namespace="shop", node_name="w-1", labels=None, owner_kind="ReplicaSet", volumes=None, grace=None,
        phase="Running", annotations=None):
    metadata = {"name": name, "namespace": namespace, "labels": labels or {"app": "web"}}
    if owner_kind:
        metadata["ownerReferences"] = [{"kind": owner_kind, "name": "owner", "uid": "u", "controller": True}]
    if annotations:
        metadata["annotations"] = annotations
    spec = {"nodeName": node_name, "containers": [{"name": "c", "image": "i"}]}
    if volumes:
        spec["volumes"] = volumes
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"metadata": metadata, "spec": spec, "status": {"phase": phase}}


def pdb(name, allowed, namespace="shop", selector=None):
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": "web"}} if selector is None else selector},
            "status": {"disruptionsAllowed": allowed, "expectedPods": 1}}


@pytest.mark.parametrize("text, seconds", [("15m", 900), ("1h30m", 5400), ("90s", 90), ("900", 900), (600, 600),
                                           ("1m30.5s", 90.5)])
def test_parse_duration(text, seconds):
    assert precheck.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "15 minutes", "m", "10x"])
def test_parse_duration_refuses_nonsense(text):
    with pytest.raises(precheck.PrecheckInputError, match="not a duration"):
        precheck.parse_duration(text)


def test_pdb_allowing_no_disruption_blocks_the_drain_of_its_pods_nodes():
    findings = precheck.check_drain(cluster(), [pod("web-1"), pod("web-2", node_name="w-2")],
                                    [pdb("web", 0)], "15m")
    assert codes(findings) == ["drain_pdb_blocks", "drain_pdb_blocks"]
    assert findings[0]["severity"] == "error"
    assert {"kind": "PodDisruptionBudget", "namespace": "shop", "name": "web"} in findings[0]["objects"]
    assert findings[0]["objects"][0] == {"kind": "Node", "name": "w-1"}
    assert "drain timeout (15m)" in findings[0]["message"]


def test_pdb_blocks_only_a_warning_when_drain_errors_do_not_fail():
    findings = precheck.check_drain(cluster(), [pod("web-1")], [pdb("web", 0)], "15m", fail_on_drain_error=False)
    assert [f["severity"] for f in findings] == ["warning"]


def test_pdb_allowing_a_disruption_other_namespace_or_selector_does_not_block():
    pdbs = [pdb("web", 1), pdb("other", 0, namespace="elsewhere"), pdb("api", 0, selector={"matchLabels": {"app": "api"}})]
    assert precheck.check_drain(cluster(), [pod("web-1")], pdbs, "15m") == []


def test_empty_selector_covers_every_pod_of_the_namespace():
    assert codes(precheck.check_drain(cluster(), [pod("web-1")], [pdb("all", 0, selector={})], "15m")) == [
        "drain_pdb_blocks"]


def test_unmanaged_emptydir_and_slow_pods_warn():
    pods = [
        pod("loner", owner_kind=None),
        pod("cache", volumes=[{"name": "scratch", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "x"}}]),
        pod("slow", grace=3600),
    ]
    findings = precheck.check_drain(cluster(), pods, [], "15m")
    assert [(f["code"], f["severity"]) for f in findings] == [
        ("drain_unmanaged_pods", "warning"), ("drain_emptydir_data", "warning"),
        ("drain_grace_exceeds_timeout", "warning")]
    assert "shop/cache (scratch)" in findings[1]["message"]


def test_daemonset_mirror_finished_and_unbound_pods_are_not_drained():
    pods = [
        pod("ds", owner_kind="DaemonSet", volumes=[{"name": "v", "emptyDir": {}}]),
        pod("static", owner_kind=None, annotations={precheck.MIRROR_POD_ANNOTATION: "x"}),
        pod("done", owner_kind=None, phase="Succeeded"),
        pod("pending", owner_kind=None, node_name=None),
    ]
    assert precheck.check_drain(cluster(), pods, [pdb("web", 0)], "15m") == []


# --------------------------------------------------------------------------------------------------- webhooks

KUBE_SYSTEM = {"metadata": {"name": "kube-system", "labels": {"kubernetes.io/metadata.name": "kube-system"}}}


def webhook_config(policy="Fail", rules=None, namespace_selector=None, object_selector=None, service=True,
                   kind="ValidatingWebhookConfiguration"):
    hook = {"name": "pods.policy.example.com", "failurePolicy": policy,
            "rules": rules or [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                "resources": ["pods"], "scope": "*"}],
            "clientConfig": {"service": {"namespace": "policy", "name": "webhook", "port": 443}} if service
            else {"url": "https://example.com/hook"}}
    if namespace_selector is not None:
        hook["namespaceSelector"] = namespace_selector
    if object_selector is not None:
        hook["objectSelector"] = object_selector
    return {"kind": kind, "metadata": {"name": "policy"}, "webhooks": [hook]}


def endpoint_slice(ready=True):
    return {"metadata": {"namespace": "policy", "name": "webhook-x",
                         "labels": {"kubernetes.io/service-name": "webhook"}},
            "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": ready}}]}


def test_fail_webhook_without_ready_endpoints_matching_kube_system_pods():
    findings = precheck.check_webhooks([webhook_config()], [endpoint_slice(ready=False)], KUBE_SYSTEM, [])
    assert codes(findings) == ["webhook_unavailable"]
    assert findings[0]["objects"][:2] == [
        {"kind": "ValidatingWebhookConfiguration", "name": "policy"},
        {"kind": "Service", "namespace": "policy", "name": "webhook"}]


def test_webhook_with_ready_endpoint_ignore_policy_or_url_is_fine():
    assert precheck.check_webhooks([webhook_config()], [endpoint_slice()], KUBE_SYSTEM, []) == []
    assert precheck.check_webhooks([webhook_config(policy="Ignore")], [], KUBE_SYSTEM, []) == []
    assert precheck.check_webhooks([webhook_config(service=False)], [], KUBE_SYSTEM, []) == []


def test_webhook_that_does_not_match_kube_system_pods_is_fine():
    excluded = webhook_config(namespace_selector={"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]}]})
    other_resource = webhook_config(rules=[{"apiGroups": ["apps"], "operations": ["CREATE"],
                                            "resources": ["deployments"]}])
    update_only = webhook_config(rules=[{"apiGroups": [""], "operations": ["UPDATE"], "resources": ["pods"]}])
    assert precheck.check_webhooks([excluded, other_resource, update_only], [], KUBE_SYSTEM, []) == []


def test_object_selector_counts_the_matching_pods():
    selector = {"matchLabels": {"policy": "enforced"}}
    hook = webhook_config(object_selector=selector, kind="MutatingWebhookConfiguration")
    none = [pod("dns", namespace="kube-system", labels={"k8s-app": "dns"})]
    assert precheck.check_webhooks([hook], [], KUBE_SYSTEM, none) == []
    some = none + [pod("agent", namespace="kube-system", labels={"policy": "enforced"})]
    findings = precheck.check_webhooks([hook], [], KUBE_SYSTEM, some)
    assert codes(findings) == ["webhook_unavailable"]
    assert {"kind": "Pod", "namespace": "kube-system", "name": "agent"} in findings[0]["objects"]
    assert "(1 now)" in findings[0]["message"]


def test_wildcard_rules_match_pod_creation():
    hook = webhook_config(rules=[{"apiGroups": ["*"], "operations": ["*"], "resources": ["*/*"]}])
    assert codes(precheck.check_webhooks([hook], [], KUBE_SYSTEM, [])) == ["webhook_unavailable"]


# --------------------------------------------------------------------------------------------------- autoscalers

def plain_deployment(name, namespace="kube-system", image="nginx:1", labels=None, replicas=1):
    template = {"metadata": {"labels": labels or {"app": name}},
                "spec": {"containers": [{"name": name, "image": image}]}}
    return deployment(name=name, namespace=namespace, replicas=replicas, template=template)


def test_autoscalers_found_by_image_or_label():
    deployments = [
        plain_deployment("ca", image="registry.k8s.io/autoscaling/cluster-autoscaler:v1.30.0"),
        plain_deployment("karpenter", namespace="karpenter", image="public.ecr.aws/karpenter/controller:1.0.0@sha256:ab"),
        plain_deployment("scaler", labels={"app.kubernetes.io/name": "aws-cluster-autoscaler"}, replicas=0),
        plain_deployment("web", image="registry.example.com/autoscaling-dashboard:1"),
    ]
    found = precheck.find_autoscalers(deployments)
    assert [(a["type"], a["namespace"], a["name"], a["replicas"]) for a in found] == [
        ("karpenter", "karpenter", "karpenter", 1),
        ("cluster-autoscaler", "kube-system", "ca", 1),
        ("cluster-autoscaler", "kube-system", "scaler", 0),
    ]
    findings = precheck.check_autoscalers(found)
    assert codes(findings) == ["autoscaler_present"]
    assert len(findings[0]["objects"]) == 2  # the one at 0 replicas cannot add nodes
    assert precheck.check_autoscalers([]) == []
    # What the precheck role pauses (and the playbook resumes): the same two the warning names.
    assert [a["name"] for a in precheck.running_autoscalers(found)] == ["karpenter", "ca"]


# --------------------------------------------------------------------------------------------------- rollouts

def diagnosis_of(dep, nodes, verdict="complete"):
    return {"namespace": dep["metadata"]["namespace"], "name": dep["metadata"]["name"], "verdict": verdict,
            "blockers": [], "remedy": "delete the old ReplicaSet",
            "prediction": predict_rollout_deadlock(dep, nodes)}


def pinned_template(labels, anti_affinity=False, host_network=False, port=None):
    spec = {
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}]}]}}},
        "tolerations": [{"operator": "Exists"}],
        "hostNetwork": host_network,
        "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": port}] if port else []}],
    }
    if anti_affinity:
        spec["affinity"]["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": labels}}]}
    return {"metadata": {"labels": labels}, "spec": spec}


def test_chart_percentages_with_anti_affinity_deadlock_on_one_control_plane():
    """maxSurge 25% / maxUnavailable 50% at one replica resolves to surge 1 / unavailable 0."""
    nodes = cluster()
    dep = deployment(name="operator", template=pinned_template({"app": "operator"}, anti_affinity=True),
                     strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "50%"}})
    findings = precheck.check_rollouts([diagnosis_of(dep, nodes)], [], nodes)
    assert [(f["code"], f["severity"]) for f in findings] == [("rollout_deadlock", "warning")]
    assert "anti-affinity" in findings[0]["message"]
    strict = precheck.check_rollouts([diagnosis_of(dep, nodes)], [], nodes, fail_on_predicted_deadlock=True)
    assert strict[0]["severity"] == "error"


def test_kops_ebs_csi_controller_shape_is_safe_and_said_so():
    nodes = cluster()
    dep = deployment(name="ebs-csi-controller", template=pinned_template(
        {"app": "ebs-csi-controller"}, anti_affinity=True, host_network=True, port=9808),
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}})
    findings = precheck.check_rollouts([diagnosis_of(dep, nodes)], [], nodes)
    assert [(f["code"], f["severity"]) for f in findings] == [("rollout_safe", "info")]
    assert "maxUnavailable resolves to 1" in findings[0]["message"]


def test_nth_deadlock_and_stuck_now():
    nodes = cluster()
    dep = deployment()
    findings = precheck.check_rollouts([diagnosis_of(dep, nodes, verdict="stuck")], [], nodes)
    assert codes(findings) == ["rollout_deadlock", "rollout_stuck"]
    stuck = [f for f in findings if f["code"] == "rollout_stuck"][0]
    assert stuck["severity"] == "error" and stuck["remedy"] == "delete the old ReplicaSet"


def test_workloads_not_pinned_to_the_control_plane_get_no_safe_note():
    nodes = cluster()
    dep = plain_deployment("web", namespace="shop")
    assert precheck.check_rollouts([diagnosis_of(dep, nodes)], [], nodes) == []


def daemonset(name="agent", strategy=None, host_network=True, port=9100, pinned=False, scheduled=None):
    template = pinned_template({"app": name}, host_network=host_network, port=port) if pinned else {
        "metadata": {"labels": {"app": name}},
        "spec": {"hostNetwork": host_network, "tolerations": [{"operator": "Exists"}],
                 "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": port}] if port else []}]}}
    ds = {"metadata": {"name": name, "namespace": "kube-system"},
          "spec": {"template": template,
                   "updateStrategy": strategy or {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}},
          "status": {}}
    if scheduled is not None:
        ds["status"]["desiredNumberScheduled"] = scheduled
    return ds


SURGE = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "10%", "maxUnavailable": 0}}


def test_daemonset_surge_with_host_ports_deadlocks():
    nodes = cluster()
    prediction = precheck.predict_daemonset_deadlock(daemonset(strategy=SURGE, scheduled=3), nodes)
    assert prediction["deadlock"] and prediction["max_surge"] == 1 and prediction["host_ports"] == [9100]
    findings = precheck.check_rollouts([], [daemonset(strategy=SURGE)], nodes)
    assert [(f["code"], f["severity"]) for f in findings] == [("daemonset_deadlock", "warning")]


@pytest.mark.parametrize("kwargs, reason", [
    ({}, "maxUnavailable 1"),
    ({"strategy": SURGE, "host_network": False, "port": 9100}, "without host ports"),
    ({"strategy": {"type": "OnDelete"}}, "strategy OnDelete"),
])
def test_daemonsets_that_roll(kwargs, reason):
    prediction = precheck.predict_daemonset_deadlock(daemonset(**kwargs), cluster())
    assert not prediction["deadlock"] and reason in prediction["reason"]


def test_pinned_daemonset_with_host_ports_rolling_safely_is_said_so():
    findings = precheck.check_rollouts([], [daemonset(pinned=True)], cluster())
    assert [(f["code"], f["severity"]) for f in findings] == [("daemonset_safe", "info")]


# --------------------------------------------------------------------------------------------------- the rest

def test_nth_summary():
    nodes_dep = deployment()
    summary = precheck.nth_summary([nodes_dep], [])
    assert summary["present"] and summary["host_network"] and not summary["irsa"]
    assert summary["mode"] == "queue-processor (SQS Deployment)"
    irsa = deployment(template=nth_pod_template(host_network=False))
    assert precheck.nth_summary([irsa], [])["irsa"]
    assert precheck.nth_summary([], [])["mode"] == "absent"


def test_kops_validation_failures_and_extra_findings():
    findings = precheck.kops_validation_findings([{"type": "Pod", "name": "kube-system/nth-1",
                                                   "message": 'system-cluster-critical pod "nth-1" is pending'}])
    assert [(f["code"], f["severity"]) for f in findings] == [("kops_validation_failure", "error")]
    extra = precheck.external_findings([{"code": "tool_missing", "message": "kops not found", "severity": "error"}])
    assert extra[0]["objects"] == [] and extra[0]["remedy"] == ""
    with pytest.raises(precheck.PrecheckInputError, match=r"extra_findings\[0\] needs"):
        precheck.external_findings([{"message": "no code"}])
    with pytest.raises(precheck.PrecheckInputError, match="severity must be one of"):
        precheck.external_findings([{"code": "x", "message": "y", "severity": "fatal"}])


def test_a_tool_that_did_not_run_is_missing_and_a_skipped_probe_says_nothing():
    missing = {"rc": 2, "failed": False, "msg": "[Errno 2] No such file or directory: b'/opt/kops'"}
    broken = {"rc": 1, "stdout": "", "stderr": "error: unknown flag --client\n"}
    findings = precheck.check_tools([
        {"name": "kops", "path": "/opt/kops", "result": missing},
        {"name": "kubectl", "path": "kubectl", "result": broken},
        {"name": "kops", "path": "kops", "result": {"rc": 0, "stdout": "Client version: 1.36.2"}},
        {"name": "kubectl", "path": "kubectl", "result": {"skipped": True, "changed": False}},
    ])
    assert [(f["code"], f["severity"], f["objects"]) for f in findings] == [
        ("tool_missing", "error", [{"kind": "Executable", "name": "/opt/kops"}]),
        ("tool_missing", "error", [{"kind": "Executable", "name": "kubectl"}])]
    assert findings[0]["message"] == ("kops not found or not working: /opt/kops [Errno 2] No such file or "
                                      "directory: b'/opt/kops'")
    assert findings[1]["message"] == "kubectl not found or not working: kubectl error: unknown flag --client"
    assert "Install kubectl" in findings[1]["remedy"]
    assert precheck.check_tools([]) == [] and precheck.check_tools(None) == []
    with pytest.raises(precheck.PrecheckInputError, match=r"tools\[0\] needs name and result"):
        precheck.check_tools([{"name": "kops", "result": "rc=0"}])


def test_kops_validate_without_a_verdict_is_an_error_and_one_with_a_verdict_or_skipped_is_not():
    findings = precheck.check_kops_validation_ran({"failed": True, "msg": "State Store: Required value "})
    assert [(f["code"], f["severity"], f["message"]) for f in findings] == [
        ("kops_validate_error", "error", "kops validate cluster did not report: State Store: Required value")]
    assert precheck.check_kops_validation_ran({"valid": False, "failures": [{"type": "Pod"}]}) == []
    assert precheck.check_kops_validation_ran({"skipped": True}) == []
    assert precheck.check_kops_validation_ran(None) == [] and precheck.check_kops_validation_ran({}) == []


def test_a_kops_validate_result_reads_one_way_for_the_precheck_and_the_validate_role():
    outcome = precheck.kops_validation_outcome
    assert outcome(None) == outcome({}) == outcome({"skipped": True}) == "not_run"
    assert outcome({"failed": True, "msg": "State Store: Required value"}) == "no_report"
    assert outcome({"valid": True, "failures": []}) == "valid"
    assert outcome({"valid": True, "failures": [{"type": "Pod"}]}) == "invalid"
    assert outcome({"valid": False, "failures": []}) == "invalid"


def test_verdict_orders_and_counts():
    findings = [precheck.finding("b", "info", "i"), precheck.finding("a", "warning", "w"),
                precheck.finding("c", "error", "e")]
    result = precheck.verdict(findings)
    assert result["verdict"] == "fail"
    assert [f["severity"] for f in result["findings"]] == ["error", "warning", "info"]
    assert result["error_messages"] == ["c: e"] and result["warning_messages"] == ["a: w"]
    assert result["counts"] == {"error": 1, "warning": 1, "info": 1}
    assert precheck.verdict(findings[:2])["verdict"] == "warn"
    assert precheck.verdict(findings[:1])["verdict"] == "pass"
    assert precheck.verdict([])["verdict"] == "pass"


def test_cluster_facts():
    facts = precheck.cluster_facts("v1.30.2", cluster())
    assert facts == {"server_version": "v1.30.2", "nodes": 3, "control_plane_nodes": 1,
                     "kubelet_versions": {"v1.30.2": ["cp-1", "w-1", "w-2"]}}


# --- resume: an upgrade in progress is told from a broken cluster

FAILURES = [
    {"type": "Machine", "name": "i-0a1", "message": 'machine "i-0a1" has not yet joined cluster', "kind": "machine"},
    {"type": "InstanceGroup", "name": "nodes-eu-west-1a", "kind": "instancegroup",
     "message": 'InstanceGroup "nodes-eu-west-1a" did not have enough nodes 1 vs 2'},
    {"type": "dns", "name": "apiserver", "kind": "dns", "message": "dns apiserver Validation Failed"},
]


def test_nodes_at_two_versions_with_the_newest_at_the_target_are_an_upgrade_in_progress():
    nodes = cluster("v1.31.3", workers=1) + [with_kubelet(node("w-old"), "v1.30.5")]
    found = precheck.upgrade_in_progress(nodes, "1.31.3", [])
    assert found == {"in_progress": True, "reasons": [
        "nodes at 2 kubelet versions (v1.30.5: w-old; v1.31.3: cp-1, w-1)"]}
    # Without a target, two versions are enough; with a target the newest must be at it.
    assert precheck.upgrade_in_progress(nodes, "", [])["in_progress"] is True
    assert precheck.upgrade_in_progress(nodes, "1.32.0", [])["in_progress"] is False


def test_instance_groups_needing_update_are_an_upgrade_in_progress():
    plan = [{"name": "control-plane-eu-west-1a", "status": "Ready", "needupdate": 0},
            {"name": "nodes-eu-west-1a", "status": "NeedsUpdate", "needupdate": 2}]
    found = precheck.upgrade_in_progress(cluster("v1.30.5"), "1.31.3", plan)
    assert found == {"in_progress": True, "reasons": ["instance groups needing update: nodes-eu-west-1a"]}


def test_one_version_and_nothing_to_roll_is_no_upgrade_in_progress():
    plan = [{"name": "nodes-eu-west-1a", "status": "Ready", "needupdate": 0}]
    assert precheck.upgrade_in_progress(cluster("v1.30.5"), "1.31.3", plan) == {"in_progress": False, "reasons": []}


def test_a_broken_cluster_fails_validation_with_errors():
    not_in_progress = precheck.upgrade_in_progress(cluster("v1.30.5"), "1.31.3", [])
    findings = precheck.kops_validation_findings(FAILURES, not_in_progress)
    assert [(f["code"], f["severity"]) for f in findings] == [("kops_validation_failure", "error")] * 3
    assert precheck.verdict(findings)["verdict"] == "fail"


def test_during_an_upgrade_what_the_roll_explains_is_a_warning_and_the_rest_still_an_error():
    nodes = cluster("v1.31.3", workers=1) + [with_kubelet(node("w-old"), "v1.30.5")]
    findings = precheck.kops_validation_findings(FAILURES, precheck.upgrade_in_progress(nodes, "1.31.3", []))
    assert [(f["code"], f["severity"]) for f in findings] == [
        ("upgrade_in_progress", "warning"), ("kops_validation_upgrade_in_progress", "warning"),
        ("kops_validation_upgrade_in_progress", "warning"), ("kops_validation_failure", "error")]
    assert "--tags rolling_update,validate" in findings[0]["remedy"]
    # Only the roll's failures: the verdict lets the upgrade run again.
    findings = precheck.kops_validation_findings(FAILURES[:2], precheck.upgrade_in_progress(nodes, "1.31.3", []))
    assert precheck.verdict(findings)["verdict"] == "warn"


# ----------------------------------------------------------------------------------------------------- health

def _critical_pod(name, phase="Running", ready=True, priority="system-cluster-critical"):
    return {"metadata": {"name": name, "namespace": "kube-system"},
            "spec": {"priorityClassName": priority} if priority else {},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def test_a_healthy_cluster_at_the_target_has_no_health_finding():
    nodes = cluster("v1.31.3")
    assert precheck.check_health(nodes, [_critical_pod("a")], "1.31.3") == []
    assert precheck.check_health(nodes, [_critical_pod("a")], "v1.31.3") == []


def test_health_names_kubelets_behind_nodes_not_ready_and_critical_pods_not_running():
    nodes = cluster("v1.31.3")
    nodes[2] = with_kubelet(node("w-2", ready=False), "v1.30.5")
    pods = [_critical_pod("pending", phase="Pending", ready=False), _critical_pod("unready", ready=False),
            _critical_pod("fine"), _critical_pod("not-critical", phase="Pending", priority=None),
            _critical_pod("node-critical", ready=False, priority="system-node-critical")]
    findings = precheck.check_health(nodes, pods, "v1.31.3")
    assert [(f["code"], f["message"]) for f in findings] == [
        ("kubelet_not_at_version", "nodes not at v1.31.3: w-2"),
        ("node_not_ready", "nodes not Ready: w-2"),
        ("critical_pod_not_ready", "system-critical pod not Running/Ready: kube-system/node-critical"),
        ("critical_pod_not_ready", "system-critical pod not Running/Ready: kube-system/pending"),
        ("critical_pod_not_ready", "system-critical pod not Running/Ready: kube-system/unready"),
    ]
    assert all(f["severity"] == "error" for f in findings)
    # No target: the kubelets' versions are not judged; other priority classes, other pods.
    assert [f["code"] for f in precheck.check_health(nodes, pods, "", ["system-node-critical"])] == [
        "node_not_ready", "critical_pod_not_ready"]


# ------------------------------------------------------------------------------------------------ kops release

@pytest.mark.parametrize("text, version", [
    ("1.30.2", "1.30.2"), ("Client version: 1.36.2 (git-v1.36.2)", "1.36.2"), ("v1.31.0\n", "1.31.0"), ("", "")])
def test_the_kops_release_is_read_from_what_kops_version_prints(text, version):
    assert precheck.check_kops_release(text) == (version, [])


def test_a_kops_older_than_the_collection_supports_is_an_error():
    version, findings = precheck.check_kops_release("Client version: 1.25.4 (git-v1.25.4)")
    assert version == "1.25.4" and codes(findings) == ["kops_too_old"]
    assert findings[0]["message"] == "kops 1.25.4 is older than 1.26.0, the oldest this collection supports"
    assert codes(precheck.check_kops_release("1.30.2", "1.31")[1]) == ["kops_too_old"]
    assert precheck.check_kops_release("1.31.0", "1.31")[1] == []


def test_text_without_a_version_is_a_warning_and_no_kops_check():
    version, findings = precheck.check_kops_release("kops: command printed nothing useful")
    assert version == "" and codes(findings) == ["kops_version_unknown"] and findings[0]["severity"] == "warning"


def test_a_bad_minimum_is_bad_input():
    with pytest.raises(precheck.PrecheckInputError):
        precheck.check_kops_release("1.30.2", "one.two")
