# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX project playbooks through ansible-runner, credentials as AWX's Kubernetes credential injects them,
asserting on the job artifacts (set_stats) an AWX workflow passes on: precheck findings and verdict, what
remediation removed, the validation verdict, the phase timings."""

from __future__ import annotations

import pytest

from testbed.awx_job import kubernetes_credential, run
from testbed.kube import NTH, delete_nth, deploy_nth, rollout_complete, wait_deployment, wait_unschedulable


@pytest.fixture
def credential(precheck_cluster):
    return kubernetes_credential(precheck_cluster.kubeconfig)


@pytest.fixture
def nth_in_kube_system(precheck_cluster, host_ports):
    """The kOps SQS-mode NTH in kube-system (where the roles look by default); removed afterwards."""
    yield host_ports
    delete_nth(precheck_cluster.api, "kube-system")


def test_precheck_remediate_validate_artifacts(precheck_cluster, credential, nth_in_kube_system, tmp_path):
    ports = nth_in_kube_system
    api = precheck_cluster.api
    deploy_nth(api, "kube-system", "v1.18.3", liveness_port=ports[0], metrics_port=ports[1])
    wait_deployment(api, "kube-system", NTH, rollout_complete)

    # Precheck job: healthy, the NTH deadlock predicted (a warning), findings in the artifacts.
    job = run(str(tmp_path), "precheck.yml", credential, {"kubernetes_version": "1.35.0"})
    assert job["rc"] == 0 and job["status"] == "successful", job["stdout"][-3000:]
    report = job["artifacts"]["clusterops_precheck"]["localhost"]
    assert report["verdict"] == "warn"
    assert report["predicted_deadlocks"] == ["kube-system/%s" % NTH]
    assert [f["code"] for f in report["findings"] if f["severity"] == "warning"] == ["rollout_deadlock"]
    assert report["nth"]["mode"] == "queue-processor (SQS Deployment)" and report["nth"]["irsa"] is False
    assert report["server_version"] == "v1.34.4" and float(report["seconds"]) > 0

    # kOps' channels applies the new NTH: stuck. The precheck job now fails, and says why in its artifacts.
    deploy_nth(api, "kube-system", "v1.22.0", liveness_port=ports[0], metrics_port=ports[1])
    wait_unschedulable(api, "kube-system")
    failed = run(str(tmp_path), "precheck.yml", credential, {"kubernetes_version": "1.35.0"})
    assert failed["rc"] != 0 and failed["status"] == "failed"
    report = failed["artifacts"]["clusterops_precheck"]["localhost"]
    assert report["verdict"] == "fail"
    assert report["stuck"] == ["kube-system/%s" % NTH]
    assert any(e.startswith("rollout_stuck: ") for e in report["errors"])

    # Remediate job: the stale ReplicaSet removed, the rollout completes; the summary artifact says what and how long.
    fixed = run(str(tmp_path), "remediate.yml", credential)
    assert fixed["rc"] == 0 and fixed["status"] == "successful", fixed["stdout"][-3000:]
    summary = fixed["artifacts"]["clusterops_summary"]["localhost"]
    assert summary["remediation"]["stuck"] == [NTH]
    assert len(summary["remediation"]["removed"]) == 1
    assert summary["remediation"]["removed"][0].startswith(NTH + "-")
    assert float(summary["phase_seconds"]["remediation"]) > 0
    assert summary["phase_seconds"]["precheck"] is None  # not part of this job
    # The project's ansible.cfg enables the fleet summary, one line per cluster, in the job output.
    assert "localhost: done | removed: %s-" % NTH in fixed["stdout"]

    # Validate job (no kops here): valid, with its own timing.
    valid = run(str(tmp_path), "validate.yml", credential)
    assert valid["rc"] == 0 and valid["status"] == "successful", valid["stdout"][-3000:]
    summary = valid["artifacts"]["clusterops_summary"]["localhost"]
    assert summary["validation"] == {"verdict": "valid", "problems": []}
    assert float(summary["phase_seconds"]["validation"]) > 0


def test_without_the_credential_the_job_fails_clearly(precheck_cluster, tmp_path):
    """No K8S_AUTH_* and no kubeconfig: the precheck stops with a message, not a traceback."""
    job = run(str(tmp_path), "precheck.yml", {})
    assert job["status"] == "failed"
    assert "no Kubernetes API configured" in job["stdout"]


def test_workflow_failure_path_resumes_the_autoscalers_and_reports(precheck_cluster, precheck_namespace, credential,
                                                                   tmp_path):
    """The workflow's failure node (kops | recover, recover.yml) as AWX runs it after a failed upgrade job: the
    failed job's artifacts arrive as extra vars; the autoscaler the upgrade had scaled to 0 gets its replicas back,
    the job reports the phase, task and message that failed, and ends failed (so the workflow does)."""
    from kubernetes import client

    apps = client.AppsV1Api(precheck_cluster.api)
    labels = {"app": "cluster-autoscaler"}
    apps.create_namespaced_deployment(precheck_namespace, {
        "metadata": {"name": "cluster-autoscaler", "labels": labels},
        "spec": {"replicas": 0, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "autoscaler", "image": "registry.k8s.io/pause:3.10"}]}}}})
    artifacts = {
        "clusterops_paused_autoscalers": {"localhost": [
            {"namespace": precheck_namespace, "name": "cluster-autoscaler", "replicas": 2,
             "type": "cluster-autoscaler"}]},
        "clusterops_summary": {"localhost": {
            "failed": {"phase": "upgrade", "task": "Upgrade | Rolling update",
                       "message": "cluster did not validate within a duration of \"15m0s\""},
            "precheck": {"verdict": "pass"}, "upgrade": {"rolling_update": "failed"},
            "validation": {"verdict": "not run"}}},
    }
    job = run(str(tmp_path), "recover.yml", credential, artifacts)
    assert job["status"] == "failed" and job["rc"] != 0, job["stdout"][-3000:]
    # The fleet summary line (one per cluster, the project's ansible.cfg enables it) carries the report as is.
    assert ("localhost: failed | at task 'Report the failed run and end failed': The upgrade of localhost failed at "
            "upgrade (task Upgrade | Rolling update): cluster did not validate within a duration of \"15m0s\". "
            "Autoscalers resumed: cluster-autoscaler. Precheck pass; rolling update failed; validation not run.") \
        in job["stdout"], job["stdout"][-3000:]
    assert apps.read_namespaced_deployment("cluster-autoscaler", precheck_namespace).spec.replicas == 2
