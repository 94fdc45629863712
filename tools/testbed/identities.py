# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Identities bound only to the collection's shipped RBAC (rbac/*.yml): ServiceAccounts with copies of the roles,
tokens by TokenRequest, kubeconfigs for them; and a playbook runner that keeps ansible's files in a work directory.
Used by test_rbac.py and test_check_mode_audit.py."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import time
import uuid

import yaml
from kubernetes import client

from testbed import kube
from testbed.local_cluster import ROOT

RBAC_DIR = os.path.join(ROOT, "rbac")


def shipped_rbac():
    """{"diagnose": ClusterRole, "remediate": Role} as shipped."""
    found = {}
    for name in ("diagnose", "remediate"):
        with open(os.path.join(RBAC_DIR, name + ".yml")) as handle:
            items = yaml.safe_load(handle)["items"]
        found[name] = next(d for d in items if d["kind"] in ("ClusterRole", "Role"))
    return found


def grants(role):
    """(apiGroup, resource, verb) of every rule; a non-resource URL is ("nonResourceURL", url, verb)."""
    return {(group, resource, verb) for rule in role["rules"]
            for group in rule.get("apiGroups") or ["nonResourceURL"]
            for resource in rule.get("resources") or rule.get("nonResourceURLs") for verb in rule["verbs"]}


def _matches(rule, group, resource):
    if group == "nonResourceURL":
        return resource in rule.get("nonResourceURLs", [])
    return group in rule.get("apiGroups", []) and resource in rule.get("resources", [])


def without(role, group, resource, verb):
    """A copy of ``role`` without ``verb`` on ``resource`` (other resources of the rule keep it)."""
    role = copy.deepcopy(role)
    rules = []
    for rule in role["rules"]:
        if _matches(rule, group, resource) and verb in rule["verbs"]:
            key = "nonResourceURLs" if group == "nonResourceURL" else "resources"
            others = [r for r in rule[key] if r != resource]
            if others:
                rules.append(dict(rule, **{key: others}))
            verbs = [v for v in rule["verbs"] if v != verb]
            if verbs:
                rules.append(dict(rule, **{key: [resource], "verbs": verbs}))
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
        group, resource, verb = sorted(g for g in grants(role) if g[0] != "nonResourceURL")[0]
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
    argv = kube.ansible_playbook(path, "-e", json.dumps(extra))
    proc = subprocess.run(argv + (["--check"] if check else []), capture_output=True, text=True, env=env,
                          check=False)
    return proc.returncode == 0, proc.stdout + proc.stderr
