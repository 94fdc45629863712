# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Least privilege, proved on the real control plane: the RBAC the collection ships (rbac/diagnose.yml,
rbac/remediate.yml) is enough for every Kubernetes module and the precheck and remediate roles, with tokens of
ServiceAccounts bound only to those roles; and every verb in it is needed: with any one removed, the scenario
that uses it fails with a message naming that verb and resource (never a traceback, never a bare 403).

Data-driven: USES says which scenario exercises each granted (apiGroup, resource, verb); a grant that no
scenario uses, or a scenario need the files do not grant, fails the test. When a module starts to need a new
right, add it to rbac/*.yml and here.
"""

from __future__ import annotations

import json
import uuid

import pytest
from kubernetes import client

from testbed import workloads
from testbed.identities import Identities, grants, refusal, run_playbook, shipped_rbac, without
from testbed.kube import NTH, deploy_nth, reproduce_deadlock, rollout_complete, run_module, wait_deployment

# (apiGroup, resource, verb) -> the scenario that needs it.
USES = {
    ("apps", "deployments", "list"): "rollout_status",
    ("apps", "replicasets", "list"): "rollout_status",
    ("", "pods", "list"): "rollout_status",
    ("", "events", "list"): "rollout_status",
    ("", "nodes", "list"): "rollout_status",
    ("policy", "poddisruptionbudgets", "list"): "rollout_status",
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations", "list"): "precheck",
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations", "list"): "precheck",
    ("discovery.k8s.io", "endpointslices", "list"): "precheck",
    ("", "namespaces", "get"): "precheck",
    ("nonResourceURL", "/metrics", "get"): "precheck",
    ("apps", "daemonsets", "list"): "rollout_kinds",
    ("apps", "statefulsets", "list"): "rollout_kinds",
    ("", "pods/eviction", "create"): "stale_scale",
    ("", "pods", "patch"): "stale_marked",
    ("apps", "replicasets", "patch"): "stale_scale",
    ("apps", "replicasets", "delete"): "stale_delete",
    ("apps", "deployments", "watch"): "stale_wait",
    ("apps", "deployments", "get"): "prevention",
    ("apps", "deployments", "patch"): "prevention",
}
# Scenarios that change the cluster even when they fail part-way run last, on their own objects.
MUTATING = ("stale_wait",)

# The head of a play (its name for %s) whose Kubernetes modules use the identity of the variable ``kubeconfig``;
# its roles follow.
PLAY = """
- name: %s
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/clusterops.kops_upgrade.k8s:
      kubeconfig: "{{ kubeconfig }}"
  roles:
"""
PRECHECK = PLAY % "Precheck with the diagnose identity only" + """\
    - role: clusterops.kops_upgrade.precheck
"""
REMEDIATE = PLAY % "Remediate with the diagnose and remediate identity" + """\
    - role: clusterops.kops_upgrade.remediate
      vars:
        remediate_namespace: "{{ target_namespace }}"
        remediate_prevent: true
        remediate_wait_timeout: 120
"""


@pytest.fixture
def rbac_world(cluster, namespace, host_ports, tmp_path):
    """A stuck NTH (namespace), a healthy NTH whose next rollout deadlocks (a second namespace), and the
    identities factory."""
    core = client.CoreV1Api(cluster.api)
    healthy = "t-" + uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": healthy}})
    two_nodes = "t-" + uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": two_nodes}})
    pool = workloads.Pool(cluster.api, "b" + uuid.uuid4().hex[:6])
    identities = Identities(cluster, namespace, [namespace, healthy, two_nodes])
    identities.workdir = str(tmp_path)
    try:
        reproduce_deadlock(cluster.api, namespace, ports=host_ports)
        # A webhook with failurePolicy Fail (matching nothing), so the precheck also reads endpoints and namespace.
        client.AdmissionregistrationV1Api(cluster.api).create_validating_webhook_configuration({
            "metadata": {"name": healthy}, "webhooks": [{
                "name": "nothing.clusterops.example", "failurePolicy": "Fail", "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "clientConfig": {"service": {"namespace": healthy, "name": "nothing"}},
                "rules": [{"apiGroups": ["clusterops.example"], "apiVersions": ["v1"], "operations": ["CREATE"],
                           "resources": ["nothing"]}]}]})
        deploy_nth(cluster.api, healthy, "v1.18.3", liveness_port=host_ports[0] + 10000,
                   metrics_port=host_ports[1] + 10000)
        wait_deployment(cluster.api, healthy, NTH, rollout_complete)
        workloads.stuck_on_two_nodes(cluster.api, two_nodes, pool, "rep")
        yield {"stuck": namespace, "healthy": healthy, "two_nodes": two_nodes, "identities": identities,
               "workdir": str(tmp_path), "cluster": cluster}
    finally:
        identities.cleanup()
        core.delete_namespace(two_nodes)
        pool.delete()
        try:
            client.AdmissionregistrationV1Api(cluster.api).delete_validating_webhook_configuration(healthy)
        except client.exceptions.ApiException:
            pass
        core.delete_namespace(healthy)


def scenario(name, world, kubeconfig, check=True):
    """Run one scenario with ``kubeconfig``; returns (succeeded, text to read the failure from)."""
    stuck, workdir = world["stuck"], world["workdir"]

    def module(module_name, args, check_mode):
        result = run_module("clusterops.kops_upgrade." + module_name, args, kubeconfig, check=check_mode)
        text = json.dumps(result)
        return not result["failed"], text

    if name == "rollout_status":
        ok, text = module("rollout_status", {"namespace": stuck, "name": NTH}, False)
        return ok and '"verdict": "stuck"' in text, text
    if name == "rollout_kinds":
        ok, text = module("rollout_status", {"namespace": stuck, "kinds": ["Deployment", "DaemonSet", "StatefulSet"]},
                          False)
        return ok and '"verdict": "stuck"' in text, text
    if name == "stale_delete":
        return module("stale_replicasets", {"namespace": stuck, "name": NTH, "action": "delete"}, check)
    if name == "stale_scale":
        return module("stale_replicasets", {"namespace": stuck, "name": NTH, "action": "scale_down"}, check)
    if name == "stale_marked":
        # One of two pods goes: marked with the lowest deletion cost for the lowered ReplicaSet's controller.
        ok, text = module("stale_replicasets", {"namespace": world["two_nodes"], "name": "rep"}, check)
        return ok and '"removed_by": "scale-down"' in text, text
    if name == "stale_wait":
        return module("stale_replicasets", {"namespace": stuck, "name": NTH, "wait": True, "wait_timeout": 60},
                      False)
    if name == "precheck":
        # It read everything (a verdict, no refusal) and found what is there to find, a stuck rollout included.
        ok, text = run_playbook(PRECHECK, {"kubeconfig": kubeconfig}, workdir, check=check)
        return (ok or "Verdict: " in text) and "Precheck failed:" not in text and "not allowed to" not in text, text
    if name == "prevention":
        return run_playbook(REMEDIATE, {"kubeconfig": kubeconfig, "target_namespace": world["healthy"]}, workdir,
                            check=check)
    raise AssertionError("unknown scenario %s" % name)


def test_every_grant_is_used_by_a_scenario_and_every_need_is_granted():
    rbac = shipped_rbac()
    granted = grants(rbac["diagnose"]) | grants(rbac["remediate"])
    assert granted == set(USES), {"granted, never exercised": sorted(granted - set(USES)),
                                  "exercised, not granted": sorted(set(USES) - granted)}
    # The read-only role reads only; writes live in the namespaced Role.
    assert {grant[2] for grant in grants(rbac["diagnose"])} == {"list", "get"}
    assert rbac["diagnose"]["kind"] == "ClusterRole" and rbac["remediate"]["kind"] == "Role"


def test_the_shipped_roles_are_enough_and_each_verb_is_needed(rbac_world):
    rbac = shipped_rbac()
    identities = rbac_world["identities"]
    diagnose, remediate = rbac["diagnose"], rbac["remediate"]

    reader = identities.make("read", diagnose)
    for name in ("rollout_status", "rollout_kinds", "precheck"):
        ok, text = scenario(name, rbac_world, reader)
        assert ok, "%s failed with the diagnose role: %s" % (name, text[-3000:])
    # The read-only identity cannot remove anything.
    ok, text = scenario("stale_scale", rbac_world, reader)
    assert not ok and refusal("apps", "replicasets", "patch").search(text), text[-2000:]

    full = identities.make("full", diagnose, remediate)
    for name in ("stale_delete", "stale_scale", "stale_marked", "prevention"):
        ok, text = scenario(name, rbac_world, full)
        assert ok, "%s failed with the shipped roles: %s" % (name, text[-3000:])

    failures = {}
    ordered = sorted(USES, key=lambda grant: USES[grant] in MUTATING)
    for group, resource, verb in ordered:
        label = verb + "-" + "".join(c for c in resource if c.isalnum())[:6]
        if (group, resource, verb) in grants(diagnose):
            kubeconfig = identities.make(label, without(diagnose, group, resource, verb),
                                         remediate)
        else:
            kubeconfig = identities.make(label, diagnose,
                                         without(remediate, group, resource, verb))
        ok, text = scenario(USES[(group, resource, verb)], rbac_world, kubeconfig)
        expected = refusal(group, resource, verb)
        if ok or not expected.search(text) or "Traceback" in text:
            failures["%s %s (%s)" % (verb, resource, USES[(group, resource, verb)])] = (ok, text[-1500:])
    assert not failures, failures


def test_the_remediate_role_completes_the_rollout_with_the_shipped_roles_only(rbac_world):
    rbac = shipped_rbac()
    full = rbac_world["identities"].make("remediate", rbac["diagnose"], rbac["remediate"])
    ok, text = run_playbook(REMEDIATE, {"kubeconfig": full, "target_namespace": rbac_world["stuck"]},
                            rbac_world["workdir"])
    assert ok, text[-3000:]
    wait_deployment(rbac_world["cluster"].api, rbac_world["stuck"], NTH, rollout_complete, timeout=60)
