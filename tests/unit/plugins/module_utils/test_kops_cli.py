# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kops output parsers, fed with output recorded from the real kops binary (tests/kops/capture_fixtures.py;
tests/unit/fixtures/kops/index.json says which command produced each file)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_cli import (
    MIN_KOPS_VERSION,
    classify_failure,
    group_timings,
    parse_json_documents,
    parse_rolling_update_plan,
    parse_table,
    parse_upgrade_plan,
    parse_version,
    summarise_validation,
    update_outcome,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "kops")


def recorded(name):
    with open(os.path.join(FIXTURES, name + ".txt")) as handle:
        return handle.read()


def test_fixtures_come_from_real_kops():
    with open(os.path.join(FIXTURES, "index.json")) as handle:
        index = json.load(handle)
    assert index["validate_json"]["command"].startswith("kops validate cluster -o json")
    assert index["validate_json"]["rc"] == 1
    assert all(entry["kops"].startswith("v1.") for entry in index.values())


def test_version():
    assert parse_version(recorded("version")) >= MIN_KOPS_VERSION
    assert parse_version("Client version: 1.25.4 (git-v1.25.4)") == (1, 25, 4)
    assert parse_version("no version here") is None


def test_upgrade_plan_table_with_tabs():
    assert parse_upgrade_plan(recorded("upgrade_plan")) == [
        {"item": "Cluster", "property": "KubernetesVersion", "old": "1.29.3", "new": "1.29.9"}]
    assert parse_upgrade_plan(recorded("upgrade_nothing")) == []
    assert "No upgrade required" in recorded("upgrade_nothing")


def test_rolling_update_preview_without_groups():
    assert parse_rolling_update_plan(recorded("rolling_update_preview")) == []
    assert "No rolling-update required." in recorded("rolling_update_preview")


def test_rolling_update_table_shape():
    # The header line is the recorded one; the rows follow the same tab-separated shape.
    header = [line for line in recorded("rolling_update_preview").splitlines() if line.startswith("NAME")][0]
    text = header + "\ncontrol-plane-eu-west-1a\tNeedsUpdate\t1\t0\t1\t1\t1\t1\nnodes-eu-west-1a\tReady\t0\t2\t2\t2\t2\t2\n"
    rows = parse_rolling_update_plan(text)
    assert rows[0] == {"name": "control-plane-eu-west-1a", "status": "NeedsUpdate", "needupdate": 1, "ready": 0,
                       "min": 1, "target": 1, "max": 1, "nodes": 1}
    assert rows[1]["status"] == "Ready"


def test_validate_json_names_the_pending_pod_and_its_deployment():
    documents = parse_json_documents(recorded("validate_json"))
    assert len(documents) == 1
    summary = summarise_validation(documents[0])
    assert summary["valid"] is False
    pods = [f for f in summary["failures"] if f["kind"] == "pod_pending"]
    assert len(pods) == 1
    assert pods[0]["namespace"] == "kube-system"
    assert pods[0]["deployment"] == "aws-node-termination-handler"
    assert pods[0]["replicaset"].startswith("aws-node-termination-handler-")
    assert pods[0]["priority"] == "system-cluster-critical"
    assert {f["kind"] for f in summary["failures"]} == {"pod_pending", "instancegroup"}


def test_validate_wait_prints_concatenated_documents():
    documents = parse_json_documents(recorded("validate_wait_json"))
    assert len(documents) >= 2
    assert all("failures" in d for d in documents)
    assert "wait time exceeded" in recorded("validate_wait_stderr")


def test_json_documents_among_log_lines():
    text = 'W1128 log line {not json\n{"failures":[]}{"failures":[{"type":"dns"}]}\ntrailing'
    assert parse_json_documents(text) == [{"failures": []}, {"failures": [{"type": "dns"}]}]


@pytest.mark.parametrize("message, kind, namespace, containers", [
    ('system-cluster-critical pod "kube-system/coredns-5d8f7c9b4-x2x9q" is pending', "pod_pending", "kube-system",
     None),
    ('system-node-critical pod "ebs-csi-node-bqx2z" is unknown phase', "pod_unknown_phase", "kube-system", None),
    ('system-cluster-critical pod "coredns-5d8f7c9b4-x2x9q" is not ready (coredns,sidecar)', "pod_not_ready",
     "kube-system", ["coredns", "sidecar"]),
])
def test_classify_pod_failures(message, kind, namespace, containers):
    failure = classify_failure({"type": "Pod", "name": "kube-system/x", "message": message})
    assert failure["kind"] == kind
    assert failure["namespace"] == namespace
    assert failure.get("containers") == containers


def test_classify_other_failures():
    assert classify_failure({"type": "Node", "name": "i-1", "message": "node \"i-1\" is not ready"})["kind"] == "node"
    assert classify_failure({"message": "x"})["kind"] == "other"


def test_update_outcome_of_recorded_preview():
    outcome = update_outcome(recorded("update_preview_stderr"))
    assert outcome == {"no_changes": False, "changes_pending": False, "needs_rolling_update": False}
    assert update_outcome("No changes need to be applied\n")["no_changes"] is True
    assert update_outcome("Must specify --yes to apply changes\n")["changes_pending"] is True


def test_table_without_header():
    assert parse_table("nothing here", ("A", "B")) == []


def test_group_timings_from_klog_lines():
    log = ("I1128 10:00:00.000000 1 instancegroups.go:1] Draining the node: \"i-1\" (control-plane-eu-west-1a).\n"
           "I1128 10:05:30.500000 1 instancegroups.go:2] Cluster validated; control-plane-eu-west-1a done\n"
           "I1128 10:06:00.000000 1 x.go:3] nodes-eu-west-1a starting\n")
    assert group_timings(log, ["control-plane-eu-west-1a", "nodes-eu-west-1a", "absent"]) == {
        "control-plane-eu-west-1a": 330.5, "nodes-eu-west-1a": 0.0}
