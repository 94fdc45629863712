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

import copy
import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
import yaml
from kubernetes import client

from nthrepro import NTH, ROOT, deploy_nth, reproduce_deadlock, rollout_complete, run_module, wait_deployment

RBAC_DIR = os.path.join(ROOT, "rbac")

# (apiGroup, resource, verb) -> the scenario that needs it.
USES = {
    ("apps", "deployments", "list"): "rollout_status",
    ("apps", "replicasets", "list"): "rollout_status",
    ("", "pods", "list"): "rollout_status",
    ("", "events", "list"): "rollout_status",
    ("", "nodes", "list"): "rollout_status",
    ("apps", "daemonsets", "list"): "precheck",
    ("policy", "poddisruptionbudgets", "list"): "precheck",
    ("apps", "replicasets", "delete"): "stale_delete",
    ("apps", "replicasets", "patch"): "stale_scale",
    ("apps", "deployments", "watch"): "stale_wait",
    ("apps", "deployments", "get"): "prevention",
    ("apps", "deployments", "patch"): "prevention",
}
# Scenarios that change the cluster even when they fail part-way run last, on their own objects.
MUTATING = ("stale_wait",)

PRECHECK = """
- name: Precheck with the diagnose identity only
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/clusterops.kops_upgrade.k8s:
      kubeconfig: "{{ kubeconfig }}"
  roles:
    - role: clusterops.kops_upgrade.precheck
"""
REMEDIATE = """
- name: Remediate with the diagnose and remediate identity
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/clusterops.kops_upgrade.k8s:
      kubeconfig: "{{ kubeconfig }}"
  roles:
    - role: clusterops.kops_upgrade.remediate
      vars:
        remediate_namespace: "{{ target_namespace }}"
        remediate_prevent: true
        remediate_wait_timeout: 120
"""


def shipped_rbac():
    """{"diagnose": ClusterRole, "remediate": Role} as shipped."""
    found = {}
    for name in ("diagnose", "remediate"):
        with open(os.path.join(RBAC_DIR, name + ".yml")) as handle:
            docs = [d for d in yaml.safe_load_all(handle) if d]
        found[name] = next(d for d in docs if d["kind"] in ("ClusterRole", "Role"))
    return found


def grants(role):
    return {(group, resource, verb) for rule in role["rules"] for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]}


def without(role, group, resource, verb):
    """A copy of ``role`` without ``verb`` on ``resource`` (other resources of the rule keep it)."""
    role = copy.deepcopy(role)
    rules = []
    for rule in role["rules"]:
        if group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]:
            others = [r for r in rule["resources"] if r != resource]
            if others:
                rules.append(dict(rule, resources=others))
            verbs = [v for v in rule["verbs"] if v != verb]
            if verbs:
                rules.append(dict(rule, resources=[resource], verbs=verbs))
        else:
            rules.append(rule)
    role["rules"] = rules
    return role


def refusal(group, resource, verb):
    """What a refusal must say: our modules' "not allowed to <verb> <resource>", or the API server's own
    sentence (kubernetes.core passes it on): cannot <verb> resource "<resource>"."""
    return re.compile(r'not allowed to %s %s\b|cannot %s resource \\*"%s\\*"' % (verb, resource, verb, resource))


class Identities:
    """ServiceAccounts of one test, each bound to its own copies of the roles; tokens by TokenRequest."""

    def __init__(self, cluster, home_namespace, role_namespaces):
        self.cluster = cluster
        self.home = home_namespace
        self.role_namespaces = role_namespaces
        self.rbac = client.RbacAuthorizationV1Api(cluster.api)
        self.core = client.CoreV1Api(cluster.api)
        self.cluster_scoped = []
        self.workdir = None

    def make(self, label, diagnose, remediate=None):
        """A kubeconfig for a new ServiceAccount bound to ``diagnose`` (cluster-wide) and ``remediate`` (in each
        role namespace)."""
        sa = "sa-%s-%s" % (label, uuid.uuid4().hex[:5])
        self.core.create_namespaced_service_account(self.home, {"metadata": {"name": sa}})
        subject = [{"kind": "ServiceAccount", "name": sa, "namespace": self.home}]
        name = "%s-%s" % (diagnose["metadata"]["name"], sa)
        self.rbac.create_cluster_role({"metadata": {"name": name}, "rules": diagnose["rules"]})
        self.rbac.create_cluster_role_binding({"metadata": {"name": name}, "subjects": subject, "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}})
        self.cluster_scoped.append(name)
        if remediate is not None:
            for namespace in self.role_namespaces:
                self.rbac.create_namespaced_role(namespace, {"metadata": {"name": sa}, "rules": remediate["rules"]})
                self.rbac.create_namespaced_role_binding(namespace, {
                    "metadata": {"name": sa}, "subjects": subject,
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": sa}})
        token = self.core.create_namespaced_service_account_token(
            sa, self.home, {"spec": {"expirationSeconds": 3600}}).status.token
        with open(self.cluster.kubeconfig) as handle:
            config = json.load(handle)
        config["users"] = [{"name": sa, "user": {"token": token}}]
        config["contexts"][0]["context"]["user"] = sa
        path = os.path.join(self.workdir, sa + ".kubeconfig")
        with open(path, "w") as handle:
            json.dump(config, handle)
        self._wait_authorised("system:serviceaccount:%s:%s" % (self.home, sa), diagnose)
        return path

    def _wait_authorised(self, user, role):
        """RBAC reaches the authorizer through an informer: wait until the first grant is in effect."""
        group, resource, verb = sorted(grants(role))[0]
        review = {"spec": {"user": user, "resourceAttributes": {"group": group, "resource": resource, "verb": verb}}}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if client.AuthorizationV1Api(self.cluster.api).create_subject_access_review(review).status.allowed:
                return
            time.sleep(0.1)
        raise AssertionError("RBAC for %s not in effect after 10 s" % user)

    def cleanup(self):
        for name in self.cluster_scoped:
            self.rbac.delete_cluster_role_binding(name)
            self.rbac.delete_cluster_role(name)


def run_playbook(text, extra, workdir, check=False):
    path = os.path.join(workdir, "playbook-%s.yml" % uuid.uuid4().hex[:6])
    with open(path, "w") as handle:
        handle.write(text)
    env = dict(os.environ, ANSIBLE_HOME=os.path.join(workdir, "ansible-home"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_REMOTE_TMP=os.path.join(workdir, "remote-tmp"), ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "tmp"))
    env.pop("K8S_AUTH_KUBECONFIG", None)
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), path, "-e", json.dumps(extra)]
    proc = subprocess.run(argv + (["--check"] if check else []), capture_output=True, text=True, env=env,
                          check=False)
    return proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture
def rbac_world(cluster, namespace, host_ports, tmp_path):
    """A stuck NTH (namespace), a healthy NTH whose next rollout deadlocks (a second namespace), and the
    identities factory."""
    core = client.CoreV1Api(cluster.api)
    healthy = "t-" + uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": healthy}})
    identities = Identities(cluster, namespace, [namespace, healthy])
    identities.workdir = str(tmp_path)
    try:
        reproduce_deadlock(cluster.api, namespace, ports=host_ports)
        deploy_nth(cluster.api, healthy, "v1.18.3", liveness_port=host_ports[0] + 10000,
                   metrics_port=host_ports[1] + 10000)
        wait_deployment(cluster.api, healthy, NTH, rollout_complete)
        yield {"stuck": namespace, "healthy": healthy, "identities": identities, "workdir": str(tmp_path),
               "cluster": cluster}
    finally:
        identities.cleanup()
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
    if name == "stale_delete":
        return module("stale_replicasets", {"namespace": stuck, "name": NTH, "action": "delete"}, check)
    if name == "stale_scale":
        return module("stale_replicasets", {"namespace": stuck, "name": NTH, "action": "scale_to_zero"}, check)
    if name == "stale_wait":
        return module("stale_replicasets", {"namespace": stuck, "name": NTH, "wait": True, "wait_timeout": 60},
                      False)
    if name == "precheck":
        # It read everything and found (only) what is there to find: the stuck rollout.
        ok, text = run_playbook(PRECHECK, {"kubeconfig": kubeconfig}, workdir, check=check)
        return ok or '"Errors: stuck now: %s/%s"' % (stuck, NTH) in text, text
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
    assert {verb for _, _, verb in grants(rbac["diagnose"])} == {"list"}
    assert rbac["diagnose"]["kind"] == "ClusterRole" and rbac["remediate"]["kind"] == "Role"


def test_the_shipped_roles_are_enough_and_each_verb_is_needed(rbac_world):
    rbac = shipped_rbac()
    identities = rbac_world["identities"]
    diagnose, remediate = rbac["diagnose"], rbac["remediate"]

    reader = identities.make("read", diagnose)
    for name in ("rollout_status", "precheck"):
        ok, text = scenario(name, rbac_world, reader)
        assert ok, "%s failed with the diagnose role: %s" % (name, text[-3000:])
    # The read-only identity cannot remove anything.
    ok, text = scenario("stale_delete", rbac_world, reader)
    assert not ok and refusal("apps", "replicasets", "delete").search(text), text[-2000:]

    full = identities.make("full", diagnose, remediate)
    for name in ("stale_delete", "stale_scale", "prevention"):
        ok, text = scenario(name, rbac_world, full)
        assert ok, "%s failed with the shipped roles: %s" % (name, text[-3000:])

    failures = {}
    ordered = sorted(USES, key=lambda grant: USES[grant] in MUTATING)
    for group, resource, verb in ordered:
        if (group, resource, verb) in grants(diagnose):
            kubeconfig = identities.make(verb + "-" + resource[:6], without(diagnose, group, resource, verb),
                                         remediate)
        else:
            kubeconfig = identities.make(verb + "-" + resource[:6], diagnose,
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
