# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""upgrade_precheck against a real control plane: each finding triggered by objects built for it (and, where the
control plane can show it, the failure the finding predicts actually happening), and a clean cluster that passes.

These tests run on a cluster of their own (``precheck_cluster``): they create cluster-wide objects (nodes, a
webhook configuration, CRDs) that other tests must not see. The clean-cluster test comes first in the file."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid

import pytest
from kubernetes import client, watch

from testbed import kops_world, kube
from testbed.kube import rollout_complete, run_module, unschedulable, wait_deployment, wait_pod

TARGET = "1.35.0"  # the local control plane runs 1.34.4
# The typed client insists on every field of NodeSystemInfo.
NODE_INFO_FIELDS = ("architecture", "bootID", "containerRuntimeVersion", "kernelVersion", "kubeProxyVersion",
                    "machineID", "operatingSystem", "osImage", "systemUUID")


def precheck(cluster, **args):
    args.setdefault("target_version", TARGET)
    args.setdefault("kops_version", TARGET)
    result = run_module("clusterops.kops_upgrade.upgrade_precheck", args, cluster.kubeconfig)
    assert result["failed"] is False, result.get("msg")
    return result


def findings(result, code, namespace=None):
    """Findings with this code; with ``namespace``, only those naming an object of that namespace."""
    return [f for f in result["findings"] if f["code"] == code
            and (namespace is None or any(o.get("namespace") == namespace for o in f["objects"]))]


def watch_until(list_call, predicate, timeout=60, **kwargs):
    """Watch a list call until an object satisfies ``predicate`` (a dict as served); returns that object."""
    api_client = list_call.__self__.api_client
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in watch.Watch().stream(list_call, timeout_seconds=max(1, int(deadline - time.monotonic())),
                                          **kwargs):
            obj = api_client.sanitize_for_serialization(event["object"])
            if event["type"] != "DELETED" and predicate(obj):
                return obj
    raise TimeoutError("no object satisfied the predicate within %ss" % timeout)


def test_clean_cluster_passes_with_a_constant_number_of_requests(precheck_cluster, precheck_namespace):
    result = precheck(precheck_cluster)
    assert result["verdict"] == "pass", result["findings"]
    assert result["counts"]["error"] == result["counts"]["warning"] == 0
    assert result["cluster"]["server_version"] == "v1.34.4"
    assert result["cluster"]["control_plane_nodes"] == 1
    assert result["nth"]["present"] is False and result["autoscalers"] == []
    before = result["api_requests"]
    # Twenty more objects of the kinds the precheck lists: the same number of requests.
    apps = client.AppsV1Api(precheck_cluster.api)
    policy = client.PolicyV1Api(precheck_cluster.api)
    for i in range(10):
        apps.create_namespaced_deployment(precheck_namespace, {
            "metadata": {"name": "idle-%d" % i},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "idle-%d" % i}},
                     "template": {"metadata": {"labels": {"app": "idle-%d" % i}},
                                  "spec": {"containers": [{"name": "c", "image": "idle:1"}]}}}})
        policy.create_namespaced_pod_disruption_budget(precheck_namespace, {
            "metadata": {"name": "idle-%d" % i},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "idle-%d" % i}}}})
    again = precheck(precheck_cluster)
    assert again["api_requests"] == before, (before, again["api_requests"])
    assert again["verdict"] == "pass"


# --------------------------------------------------------------------------------------------------- versions

@pytest.fixture
def extra_nodes(precheck_cluster, request):
    """Create Node objects with a given kubelet version (tainted, so nothing lands there); deleted afterwards."""
    core = client.CoreV1Api(precheck_cluster.api)

    def make(kubelet_version):
        name = "precheck-%s" % uuid.uuid4().hex[:6]
        core.create_node({
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {"taints": [{"key": "clusterops.test/precheck", "effect": "NoSchedule"}]},
            "status": {"nodeInfo": dict(dict.fromkeys(NODE_INFO_FIELDS, ""), kubeletVersion=kubelet_version)},
        })
        request.addfinalizer(lambda: core.delete_node(name))
        return name

    return make


def test_version_skew(precheck_cluster, extra_nodes):
    old = extra_nodes("v1.30.9")
    new = extra_nodes("v1.35.1")
    result = precheck(precheck_cluster)
    assert result["verdict"] == "fail"
    skew = findings(result, "kubelet_skew")
    assert [o["name"] for o in skew[0]["objects"]] == [old]
    assert "5 minor versions behind the target 1.35.0" in skew[0]["message"]
    newer = findings(result, "kubelet_newer_than_apiserver")
    assert [o["name"] for o in newer[0]["objects"]] == [new]
    assert result["cluster"]["kubelet_versions"]["v1.30.9"] == [old]

    two_minors = precheck(precheck_cluster, target_version="1.36.2", kops_version="1.35.0", checks=["versions"])
    assert {"version_minor_skip", "kops_too_old_for_target"} <= set(two_minors["codes"])
    down = precheck(precheck_cluster, target_version="1.33.0", checks=["versions"])
    assert "version_downgrade" in down["codes"]


def test_bad_input_is_a_clear_error(precheck_cluster):
    result = run_module("clusterops.kops_upgrade.upgrade_precheck", {"target_version": "latest"},
                        precheck_cluster.kubeconfig)
    assert result["failed"] is True
    assert result["msg"] == "target Kubernetes version 'latest' is not a version like 1.30.2 or v1.30"
    assert result["api_requests"] == 0
    result = run_module("clusterops.kops_upgrade.upgrade_precheck", {"drain_timeout": "a while"},
                        precheck_cluster.kubeconfig)
    assert result["failed"] is True and "not a duration" in result["msg"]


# --------------------------------------------------------------------------------------------------- removed APIs

@pytest.fixture
def crds(precheck_cluster, request):
    """Create CustomResourceDefinitions of the given versions and wait until they are Established; deleted
    afterwards."""
    ext = client.ApiextensionsV1Api(precheck_cluster.api)

    def make(versions):
        plural = "widgets%s" % uuid.uuid4().hex[:6]
        name = "%s.precheck.example.com" % plural
        ext.create_custom_resource_definition({
            "metadata": {"name": name},
            "spec": {"group": "precheck.example.com", "scope": "Namespaced",
                     "names": {"plural": plural, "singular": plural[:-1] + "x", "kind": plural.capitalize()},
                     "versions": [dict(v, schema={"openAPIV3Schema": {
                         "type": "object", "x-kubernetes-preserve-unknown-fields": True}}) for v in versions]}})
        request.addfinalizer(lambda: ext.delete_custom_resource_definition(name))
        watch_until(ext.list_custom_resource_definition, lambda c: any(
            cond["type"] == "Established" and cond["status"] == "True"
            for cond in c.get("status", {}).get("conditions") or []), field_selector="metadata.name=%s" % name)
        return plural

    return make


def test_objects_only_under_a_removed_version(precheck_cluster, precheck_namespace, crds):
    plural = crds([{"name": "v1beta1", "served": True, "storage": True}])
    custom = client.CustomObjectsApi(precheck_cluster.api)
    custom.create_namespaced_custom_object("precheck.example.com", "v1beta1", precheck_namespace, plural, {
        "apiVersion": "precheck.example.com/v1beta1", "kind": plural.capitalize(), "metadata": {"name": "one"}})
    removal = {"group": "precheck.example.com", "version": "v1beta1", "resource": plural, "removed_in": "1.35",
               "replacement": "precheck.example.com/v1"}
    result = precheck(precheck_cluster, removed_apis=[removal])
    found = findings(result, "removed_api_objects")
    assert len(found) == 1 and found[0]["severity"] == "error"
    assert found[0]["objects"] == [{"kind": plural, "namespace": precheck_namespace, "name": "one",
                                    "apiVersion": "precheck.example.com/v1beta1"}]
    assert "precheck.example.com/v1 is not served yet" in found[0]["message"]
    # Removed only after the target: nothing to say yet.
    later = precheck(precheck_cluster, removed_apis=[dict(removal, removed_in="1.36")])
    assert findings(later, "removed_api_objects") == []


def test_writers_of_a_removed_version_and_the_deprecated_api_gauge(precheck_cluster, precheck_namespace, crds):
    plural = crds([{"name": "v1beta1", "served": True, "storage": False, "deprecated": True},
                   {"name": "v1", "served": True, "storage": True}])
    custom = client.CustomObjectsApi(precheck_cluster.api)
    custom.create_namespaced_custom_object(
        "precheck.example.com", "v1beta1", precheck_namespace, plural,
        {"apiVersion": "precheck.example.com/v1beta1", "kind": plural.capitalize(), "metadata": {"name": "old"},
         "spec": {"size": 1}},
        field_manager="legacy-tool")
    custom.create_namespaced_custom_object(
        "precheck.example.com", "v1", precheck_namespace, plural,
        {"apiVersion": "precheck.example.com/v1", "kind": plural.capitalize(), "metadata": {"name": "new"},
         "spec": {"size": 1}},
        field_manager="current-tool")
    removal = {"group": "precheck.example.com", "version": "v1beta1", "resource": plural, "removed_in": "1.35",
               "replacement": "precheck.example.com/v1"}
    result = precheck(precheck_cluster, removed_apis=[removal])
    # managedFields keep the version each manager wrote through (only for managers that set fields).
    writers = findings(result, "removed_api_writers")
    assert len(writers) == 1 and writers[0]["severity"] == "warning"
    assert [(o["name"], o["managers"]) for o in writers[0]["objects"]] == [("old", ["legacy-tool"])]
    assert findings(result, "removed_api_objects") == []
    # The create through the deprecated version is in the API server's gauge (a CRD has no removal release).
    requested = [f for f in findings(result, "deprecated_api_requested")
                 if f["objects"][0]["name"] == plural]
    assert len(requested) == 1 and requested[0]["severity"] == "info"
    assert requested[0]["objects"][0]["apiVersion"] == "precheck.example.com/v1beta1"


# --------------------------------------------------------------------------------------------------- drain

def test_drain_blockers(precheck_cluster, precheck_namespace):
    api, namespace = precheck_cluster.api, precheck_namespace
    apps, core, policy = client.AppsV1Api(api), client.CoreV1Api(api), client.PolicyV1Api(api)
    apps.create_namespaced_deployment(namespace, {
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "web:1"}]}}}})
    policy.create_namespaced_pod_disruption_budget(namespace, {
        "metadata": {"name": "web"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
    core.create_namespaced_pod(namespace, {
        "metadata": {"name": "loner"},
        "spec": {"terminationGracePeriodSeconds": 3600, "volumes": [{"name": "scratch", "emptyDir": {}}],
                 "containers": [{"name": "c", "image": "loner:1",
                                 "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}]}})
    wait_deployment(api, namespace, "web", rollout_complete)
    wait_pod(api, namespace, lambda p: p.get("status", {}).get("phase") == "Running", selector="")
    watch_until(policy.list_namespaced_pod_disruption_budget, lambda p: p.get("status", {}).get("expectedPods") == 1
                and p["status"].get("observedGeneration") == p["metadata"]["generation"], namespace=namespace)

    result = precheck(precheck_cluster, drain_timeout="15m")
    blocked = findings(result, "drain_pdb_blocks", namespace)
    assert len(blocked) == 1 and blocked[0]["severity"] == "error"
    assert {"kind": "PodDisruptionBudget", "namespace": namespace, "name": "web"} in blocked[0]["objects"]
    assert blocked[0]["objects"][0]["kind"] == "Node"
    for code in ("drain_unmanaged_pods", "drain_emptydir_data", "drain_grace_exceeds_timeout"):
        found = findings(result, code, namespace)
        assert len(found) == 1 and found[0]["severity"] == "warning", code
        assert {"kind": "Pod", "namespace": namespace, "name": "loner"} in found[0]["objects"]
    # The finding is what the API server does: an eviction of the web pod is refused.
    web = core.list_namespaced_pod(namespace, label_selector="app=web").items[0]
    with pytest.raises(client.ApiException) as refused:
        core.create_namespaced_pod_eviction(web.metadata.name, namespace, {
            "metadata": {"name": web.metadata.name, "namespace": namespace}})
    assert refused.value.status == 429
    relaxed = precheck(precheck_cluster, fail_on_drain_error=False, checks=["drain"])
    assert findings(relaxed, "drain_pdb_blocks", namespace)[0]["severity"] == "warning"


# --------------------------------------------------------------------------------------------------- webhooks

def test_fail_webhook_without_endpoints_matching_kube_system_pods(precheck_cluster, precheck_namespace):
    api, namespace = precheck_cluster.api, precheck_namespace
    core, admission = client.CoreV1Api(api), client.AdmissionregistrationV1Api(api)
    mark = {"clusterops.test/webhook": namespace}
    # A kube-system pod the webhook's object selector matches, created before the webhook exists.
    core.create_namespaced_pod("kube-system", {
        "metadata": {"name": "agent-" + namespace, "labels": mark},
        "spec": {"containers": [{"name": "c", "image": "agent:1"}]}})
    core.create_namespaced_service(namespace, {
        "metadata": {"name": "policy"}, "spec": {"selector": {"app": "nothing"}, "ports": [{"port": 443}]}})
    name = "precheck-" + namespace
    admission.create_validating_webhook_configuration({
        "metadata": {"name": name},
        "webhooks": [{
            "name": "pods.precheck.example.com", "failurePolicy": "Fail", "sideEffects": "None",
            "admissionReviewVersions": ["v1"], "objectSelector": {"matchLabels": mark},
            "clientConfig": {"service": {"namespace": namespace, "name": "policy", "port": 443}},
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}],
        }]})
    try:
        result = precheck(precheck_cluster, checks=["webhooks"])
        found = [f for f in findings(result, "webhook_unavailable") if f["objects"][0]["name"] == name]
        assert len(found) == 1 and found[0]["severity"] == "error"
        assert {"kind": "Service", "namespace": namespace, "name": "policy"} in found[0]["objects"]
        assert {"kind": "Pod", "namespace": "kube-system", "name": "agent-" + namespace} in found[0]["objects"]
        # What the finding predicts: a new kube-system pod like it is refused.
        with pytest.raises(client.ApiException) as refused:
            core.create_namespaced_pod("kube-system", {
                "metadata": {"name": "agent2-" + namespace, "labels": mark},
                "spec": {"containers": [{"name": "c", "image": "agent:1"}]}})
        assert "failed calling webhook" in refused.value.body
    finally:
        admission.delete_validating_webhook_configuration(name)
        core.delete_namespaced_pod("agent-" + namespace, "kube-system")
    assert [f for f in precheck(precheck_cluster, checks=["webhooks"])["findings"]
            if f["objects"][0]["name"] == name] == []


# --------------------------------------------------------------------------------------------------- autoscalers

def create_cluster_autoscaler(cluster, namespace, replicas):
    """A Deployment ``cluster-autoscaler`` of ``replicas`` pods (the autoscaler's image) in ``namespace``."""
    client.AppsV1Api(cluster.api).create_namespaced_deployment(namespace, {
        "metadata": {"name": "cluster-autoscaler"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "ca"}},
                 "template": {"metadata": {"labels": {"app": "ca"}}, "spec": {"containers": [
                     {"name": "c", "image": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.34.0"}]}}}})


def test_cluster_autoscaler_is_found(precheck_cluster, precheck_namespace):
    create_cluster_autoscaler(precheck_cluster, precheck_namespace, 1)
    result = precheck(precheck_cluster, checks=["autoscalers"])
    assert findings(result, "autoscaler_present", precheck_namespace)[0]["severity"] == "warning"
    assert {"type": "cluster-autoscaler", "kind": "Deployment", "namespace": precheck_namespace,
            "name": "cluster-autoscaler", "replicas": 1} in result["autoscalers"]


def test_precheck_role_pauses_and_resumes_the_autoscalers(precheck_cluster, precheck_namespace):
    create_cluster_autoscaler(precheck_cluster, precheck_namespace, 2)
    proc = subprocess.run(
        kube.ansible_playbook(os.path.join(os.path.dirname(__file__), "playbooks", "pause_autoscalers.yml"),
                              "-e", "test_namespace=%s" % precheck_namespace),
        env=dict(os.environ, K8S_AUTH_KUBECONFIG=precheck_cluster.kubeconfig, ANSIBLE_NOCOLOR="1",
                 ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false"),
        capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "(2 -> 0)" in proc.stdout and "(0 -> 2)" in proc.stdout


# --------------------------------------------------------------------------------------------------- rollouts

def pinned_spec(labels, host_port=None, anti_affinity=False):
    spec = {
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}]}]}}},
        "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                         "effect": "NoSchedule"}],
        "containers": [{"name": "c", "image": "app:1"}],
    }
    if host_port:
        spec["hostNetwork"] = True
        spec["containers"][0]["ports"] = [{"containerPort": host_port}]
    if anti_affinity:
        spec["affinity"]["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": labels}}]}
    return spec


def pinned_deployment(name, strategy, **kwargs):
    labels = {"app": name}
    return {"metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "strategy": strategy,
                     "template": {"metadata": {"labels": labels}, "spec": pinned_spec(labels, **kwargs)}}}


def change_template(patch_call, name, namespace):
    patch_call(name, namespace, {"spec": {"template": {"metadata": {"annotations": {"precheck/rev": "2"}}}}})


def test_deployment_percentages_that_deadlock_and_a_strategy_that_is_safe(precheck_cluster, precheck_namespace,
                                                                          host_ports):
    api, namespace = precheck_cluster.api, precheck_namespace
    apps = client.AppsV1Api(api)
    # A chart's percentages: maxSurge 25% / maxUnavailable 50% at one replica is surge 1 / unavailable 0.
    apps.create_namespaced_deployment(namespace, pinned_deployment(
        "operator", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "50%"}},
        anti_affinity=True))
    # kOps 1.31's ebs-csi-controller shape: host network, anti-affinity, maxUnavailable 1.
    apps.create_namespaced_deployment(namespace, pinned_deployment(
        "ebs-csi-controller", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        host_port=host_ports[0], anti_affinity=True))
    for name in ("operator", "ebs-csi-controller"):
        wait_deployment(api, namespace, name, rollout_complete)

    result = precheck(precheck_cluster, checks=["rollouts"])
    deadlock = findings(result, "rollout_deadlock", namespace)
    assert [f["objects"][0]["name"] for f in deadlock] == ["operator"]
    assert deadlock[0]["severity"] == "warning" and "anti-affinity" in deadlock[0]["message"]
    safe = findings(result, "rollout_safe", namespace)
    assert [f["objects"][0]["name"] for f in safe] == ["ebs-csi-controller"]
    assert "%s/operator" % namespace in result["predicted_deadlocks"]
    strict = precheck(precheck_cluster, checks=["rollouts"], fail_on_predicted_deadlock=True)
    assert findings(strict, "rollout_deadlock", namespace)[0]["severity"] == "error"

    # What was predicted happens: the operator's surge pod stays Unschedulable, the safe one rolls.
    change_template(apps.patch_namespaced_deployment, "operator", namespace)
    change_template(apps.patch_namespaced_deployment, "ebs-csi-controller", namespace)
    wait_pod(api, namespace, unschedulable, selector="app=operator")
    wait_deployment(api, namespace, "ebs-csi-controller",
                    lambda d: d["metadata"]["generation"] == 2 and rollout_complete(d))
    stuck = precheck(precheck_cluster, checks=["rollouts"])
    assert "%s/operator" % namespace in stuck["stuck"]
    assert findings(stuck, "rollout_stuck", namespace)[0]["severity"] == "error"


def pinned_daemonset(name, strategy, host_port):
    labels = {"app": name}
    return {"metadata": {"name": name},
            "spec": {"selector": {"matchLabels": labels}, "updateStrategy": strategy,
                     "template": {"metadata": {"labels": labels},
                                  "spec": pinned_spec(labels, host_port=host_port)}}}


def test_daemonset_surge_with_host_ports(precheck_cluster, precheck_namespace, host_ports):
    api, namespace = precheck_cluster.api, precheck_namespace
    apps = client.AppsV1Api(api)
    apps.create_namespaced_daemon_set(namespace, pinned_daemonset(
        "surge-agent", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        host_ports[0]))
    apps.create_namespaced_daemon_set(namespace, pinned_daemonset(
        "plain-agent", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}, host_ports[1]))
    for name in ("surge-agent", "plain-agent"):
        watch_until(apps.list_namespaced_daemon_set, lambda d: d.get("status", {}).get("numberAvailable") == 1,
                    namespace=namespace, field_selector="metadata.name=%s" % name)

    result = precheck(precheck_cluster, checks=["rollouts"])
    deadlock = findings(result, "daemonset_deadlock", namespace)
    assert [f["objects"][0]["name"] for f in deadlock] == ["surge-agent"]
    assert "host ports %d/TCP" % host_ports[0] in deadlock[0]["message"]
    assert [f["objects"][0]["name"] for f in findings(result, "daemonset_safe", namespace)] == ["plain-agent"]
    assert "%s/surge-agent" % namespace in result["predicted_deadlocks"]

    # What was predicted happens: the surge pod cannot get the host port the old pod holds.
    change_template(apps.patch_namespaced_daemon_set, "surge-agent", namespace)
    pending = wait_pod(api, namespace, unschedulable, selector="app=surge-agent")[0]
    assert "free ports" in [c for c in pending["status"]["conditions"] if c["type"] == "PodScheduled"][0]["message"]


# --------------------------------------------------------------------------------------------------- the role's kops path

def run_role_playbook(tmp_path, text, extra, kubeconfig):
    """ansible-playbook of ``text`` with ``extra`` variables, the cluster's API given as K8S_AUTH_KUBECONFIG."""
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(text)
    return subprocess.run(
        kube.ansible_playbook(playbook, "-e", json.dumps(extra)),
        env=dict(os.environ, K8S_AUTH_KUBECONFIG=kubeconfig, ANSIBLE_NOCOLOR="1",
                 ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false"),
        capture_output=True, text=True, check=False)


PRECHECK_PLAYBOOK = """
- name: Precheck with kops
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Precheck
      ansible.builtin.include_role:
        name: clusterops.kops_upgrade.precheck
"""


def test_precheck_role_with_the_real_kops(precheck_cluster, tmp_path):
    """kops' own version reaches upgrade_precheck (kops 1.30 cannot take a cluster to 1.35), and a `kops validate`
    that cannot read the state store is an error finding, not a silent skip: one summary, the role fails."""
    kops, version = kops_world.kops_binary()
    extra = {"precheck_cluster_name": "missing.k8s.local", "precheck_state_store": "file://%s" % (tmp_path / "none"),
             "precheck_kops_binary": kops, "precheck_kubernetes_version": TARGET,
             "precheck_kops_environment": {"AWS_REGION": "eu-west-1"}}
    proc = run_role_playbook(tmp_path, PRECHECK_PLAYBOOK, extra, precheck_cluster.kubeconfig)
    out = proc.stdout
    assert proc.returncode != 0, out[-4000:]
    assert "Precheck found what would break the upgrade:" in out, out[-4000:]
    assert "kops_too_old_for_target: kops %s does not support Kubernetes %s" % (version.lstrip("v"), TARGET) in out
    assert "kops_validate_error: kops validate cluster did not report" in out


VALIDATE_PLAYBOOK = """
- name: Validate with kops
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Validate
      ansible.builtin.include_role:
        name: clusterops.kops_upgrade.validate
"""


def test_validate_role_never_passes_a_kops_validate_that_could_not_report(precheck_cluster, tmp_path):
    """The validate role on a healthy API, with a `kops validate` that cannot read its state store: the cluster is
    not declared valid; the problem is kops' own words (it used to count only a report's failures, so a kops that
    printed no report at all let the role say "Cluster valid")."""
    kops, dummy = kops_world.kops_binary()
    extra = {"validate_cluster_name": "missing.k8s.local", "validate_state_store": "file://%s" % (tmp_path / "none"),
             "validate_kops_binary": kops, "validate_timeout": 0, "validate_interval": 1,
             "validate_rollout_namespace": "kube-system", "validate_kops_environment": {"AWS_REGION": "eu-west-1"}}
    proc = run_role_playbook(tmp_path, VALIDATE_PLAYBOOK, extra, precheck_cluster.kubeconfig)
    out = proc.stdout
    assert proc.returncode != 0, out[-4000:]
    assert "Cluster valid" not in out, out[-4000:]
    assert "Cluster not valid:" in out and "kops validate: kops validate cluster printed no JSON report" in out, \
        out[-4000:]
