# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check mode makes no change, as the API server saw it: kube-apiserver writes an audit log
(audit-policy.yaml); with a stuck rollout to remove and a Deployment whose next rollout deadlocks (so check mode
has something it would do), every Kubernetes module and every playbook runs with --check, as an identity bound only
to the shipped RBAC; then no create, update, patch or delete by that identity reached the server without
dryRun=All, and the cluster is as it was."""

from __future__ import annotations

import json
import os
import uuid
from urllib.parse import parse_qs, urlparse

import pytest
from kubernetes import client

from testbed.identities import Identities, run_playbook, shipped_rbac
from testbed.kube import NTH, ROOT, deploy_nth, replicasets_by_revision, reproduce_deadlock, rollout_complete, \
    run_module, wait_deployment

MUTATING = ("create", "update", "patch", "delete", "deletecollection")


def playbook(name):
    with open(os.path.join(ROOT, "playbooks", name + ".yml")) as handle:
        return handle.read()


def dry_run(event):
    """Whether the request was a dry run: dryRun=All in the query, or (a delete with a body) in DeleteOptions."""
    query = parse_qs(urlparse(event.get("requestURI", "")).query)
    if query.get("dryRun") == ["All"]:
        return True
    return (event.get("requestObject") or {}).get("dryRun") == ["All"]


@pytest.fixture
def audited(audit_cluster, tmp_path, host_ports):
    core = client.CoreV1Api(audit_cluster.api)
    stuck, healthy = "t-" + uuid.uuid4().hex[:8], "t-" + uuid.uuid4().hex[:8]
    for name in (stuck, healthy):
        core.create_namespace({"metadata": {"name": name}})
    identities = Identities(audit_cluster, stuck, [stuck, healthy])
    identities.workdir = str(tmp_path)
    try:
        reproduce_deadlock(audit_cluster.api, stuck, ports=host_ports)
        deploy_nth(audit_cluster.api, healthy, "v1.18.3", liveness_port=host_ports[0] + 10000,
                   metrics_port=host_ports[1] + 10000)
        wait_deployment(audit_cluster.api, healthy, NTH, rollout_complete)
        rbac = shipped_rbac()
        kubeconfig = identities.make("check", rbac["diagnose"], rbac["remediate"])
        yield {"cluster": audit_cluster, "stuck": stuck, "healthy": healthy, "kubeconfig": kubeconfig,
               "user": "system:serviceaccount:%s:%s" % (stuck, os.path.basename(kubeconfig).split(".")[0]),
               "workdir": str(tmp_path)}
    finally:
        identities.cleanup()
        for name in (stuck, healthy):
            core.delete_namespace(name)


def test_check_mode_sends_no_change_to_the_api_server(audited):
    cluster, kubeconfig = audited["cluster"], audited["kubeconfig"]
    before = {ns: [(rs["metadata"]["name"], rs["spec"]["replicas"])
                   for rs in replicasets_by_revision(cluster.api, ns)] for ns in (audited["stuck"], audited["healthy"])}
    strategy = client.AppsV1Api(cluster.api).read_namespaced_deployment(NTH, audited["healthy"]).spec.strategy
    offset = os.path.getsize(cluster.audit_log)

    runs = {}
    for action in ("delete", "scale_down"):
        for wait in (False, True):
            result = run_module("clusterops.kops_upgrade.stale_replicasets",
                                {"namespace": audited["stuck"], "name": NTH, "action": action, "wait": wait,
                                 "wait_timeout": 5}, kubeconfig, check=True)
            runs["stale_replicasets %s wait=%s" % (action, wait)] = "succeeded" if not result["failed"] else "failed"
            assert not result["failed"] and result["changed"] is True, result
    for namespace in (audited["stuck"], audited["healthy"]):
        result = run_module("clusterops.kops_upgrade.rollout_status", {"namespace": namespace}, kubeconfig,
                            check=True)
        assert not result["failed"], result
    extra = {"k8s_kubeconfig": kubeconfig, "remediate_namespace": audited["stuck"], "remediate_prevent": True,
             "validate_rollout_namespace": audited["stuck"]}
    # Without a cluster name these playbooks need no kops. Each must run to its own verdict, so that its requests
    # (and its writes, as dry runs) are in the audit log; one failing before that would prove nothing. The stuck
    # rollout is still there in check mode: the precheck and the validation end by failing on it (their verdict),
    # the remediation succeeds.
    verdicts = {
        "precheck": ("Precheck | Fail early with one summary", "Precheck found what would break the upgrade:\\n"
                     "  - rollout_stuck: Deployment %s/%s is stuck now" % (audited["stuck"], NTH)),
        "remediate": None,
        "validate": ("Validate | Fail with what is still wrong", "Cluster not valid:\\n  - rollout: %s-" % NTH),
    }
    for name, verdict in verdicts.items():
        ok, text = run_playbook(playbook(name), dict(extra, cluster_name="", kops_binary="/nonexistent/kops"),
                                audited["workdir"], check=True)
        runs["playbook " + name] = "succeeded" if ok else "failed"
        if verdict is None:
            assert ok, "playbook %s failed in check mode: %s" % (name, text[-3000:])
            continue
        failures = [line for line in text.splitlines() if line.startswith("fatal: ")]
        task = text[:text.find("\nfatal: ")].rsplit("TASK [", 1)[-1]
        assert not ok and failures and verdict[1] in failures[0] and verdict[0] in task, (
            name, failures, task[:200], text[-3000:])
        # The playbook's rescue records the failure; its last task fails once more, naming that task.
        assert failures[1:] == [] or (len(failures) == 2 and verdict[0] in failures[1]), (name, failures)
        runs["playbook " + name] = "stopped at its verdict"
    # The upgrade playbook needs kops and a state store after its precheck: here it runs the precheck (its reads
    # are audited too) and stops at its verdict, which names the missing kops and the stuck rollout.
    ok, text = run_playbook(playbook("upgrade"), dict(extra, cluster_name="x.k8s.local",
                                                      kops_binary="/nonexistent/kops"), audited["workdir"], check=True)
    failures = [line for line in text.splitlines() if line.startswith("fatal: ")]
    # The rescue records the failure; the playbook's last task fails once more, naming the precheck's task.
    assert failures[1:] == [] or (len(failures) == 2 and "precheck failed at task" in failures[1]), failures
    assert not ok and failures and "Precheck found what would break the upgrade:" in failures[0] and \
        "tool_missing: kops not found or not working: /nonexistent/kops" in failures[0] and \
        "rollout_stuck: Deployment %s/%s is stuck now" % (audited["stuck"], NTH) in failures[0], (failures, text[-3000:])
    runs["playbook upgrade"] = "stopped at its precheck's verdict"
    # Prevention in check mode on the Deployment whose next rollout deadlocks: a dry-run server-side apply.
    ok, text = run_playbook(playbook("remediate"), dict(extra, remediate_namespace=audited["healthy"]),
                            audited["workdir"], check=True)
    assert ok, text[-2000:]
    assert "Prevention applied: %s" % NTH in text, text[-2000:]

    with open(cluster.audit_log) as handle:
        handle.seek(offset)
        events = [json.loads(line) for line in handle if line.strip()]
    ours = [e for e in events if e.get("user", {}).get("username") == audited["user"]]
    by_verb = {}
    for event in ours:
        by_verb[event["verb"]] = by_verb.get(event["verb"], 0) + 1
    writes = [e for e in ours if e["verb"] in MUTATING]
    real_writes = ["%s %s" % (e["verb"], e["requestURI"]) for e in writes if not dry_run(e)]
    print("\nruns: %s" % json.dumps(runs, sort_keys=True))
    print("audit: %d events in the window, %d by the check-mode identity: %s; %d writes, all dry runs: %s" % (
        len(events), len(ours), json.dumps(by_verb, sort_keys=True), len(writes), not real_writes))
    assert ours, "no request of the check-mode identity in the audit log"
    assert writes, "check mode sent no dry-run write: nothing here could show a real one"
    assert not real_writes, real_writes
    # And nothing changed.
    after = {ns: [(rs["metadata"]["name"], rs["spec"]["replicas"])
                  for rs in replicasets_by_revision(cluster.api, ns)] for ns in (audited["stuck"], audited["healthy"])}
    assert after == before
    assert client.AppsV1Api(cluster.api).read_namespaced_deployment(NTH, audited["healthy"]).spec.strategy == strategy
