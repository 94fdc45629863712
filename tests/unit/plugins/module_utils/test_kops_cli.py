# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kops output parsers, fed with output recorded from the real kops binary (tests/kops/capture_fixtures.py;
tests/unit/fixtures/kops/index.json says which command produced each file)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils import kops_cli, kops_releases
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_cli import (
    KopsError,
    classify_failure,
    masked_environment,
    parse_json_documents,
    parse_rolling_update_plan,
    parse_table,
    parse_upgrade_plan,
    parse_version,
    readable_environment_values,
    reconcile_phases,
    rolled_groups,
    rolling_failure_message,
    rolling_update_validation,
    secret_environment_values,
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
    assert parse_version(recorded("version")) >= kops_releases.OLDEST_SUPPORTED
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


def test_rolling_update_table_with_nodes_column():
    # After `kops update cluster --yes` (moto has the Auto Scaling groups), with the local API for the nodes.
    rows = parse_rolling_update_plan(recorded("rolling_update_preview_after_update"))
    assert [row["name"] for row in rows] == ["control-plane-eu-west-1a", "nodes-eu-west-1a"]
    assert [(row["min"], row["target"], row["max"]) for row in rows] == [(1, 1, 1), (2, 2, 2)]
    assert all(isinstance(row["nodes"], int) and isinstance(row["needupdate"], int) for row in rows)
    assert all(row["status"] for row in rows)


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
    # kops puts the whole InstanceGroup object in an InstanceGroup failure; its name is read out.
    groups = [f for f in summary["failures"] if f["kind"] == "instancegroup"]
    assert sorted(f["instance_group"] for f in groups) == ["control-plane-eu-west-1a", "nodes-eu-west-1a"]
    assert all(f["instance_group"] == f["name"] for f in groups)


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


def test_update_outcome_of_recorded_runs():
    # Preview, apply and a second preview of `kops update cluster` against moto, after an upgrade to 1.29.9.
    preview = update_outcome(recorded("update_preview"))
    assert preview == {"no_changes": False, "changes_pending": True, "needs_rolling_update": False}
    applied = update_outcome(recorded("update_apply"))
    assert applied["needs_rolling_update"] is True and applied["changes_pending"] is False
    assert "Cluster changes have been applied to the cloud." in recorded("update_apply")
    # moto does not keep a subnet's ResourceBasedNaming, so kops always finds that one change again.
    again = update_outcome(recorded("update_again"))
    assert again["changes_pending"] is True and "ResourceBasedNaming" in recorded("update_again")
    assert update_outcome("No changes need to be applied\n")["no_changes"] is True


def test_rolling_update_preview_cloudonly_has_no_nodes_column():
    rows = parse_rolling_update_plan(recorded("rolling_update_cloudonly_force_preview"))
    assert rows == [
        {"name": "control-plane-eu-west-1a", "status": "Ready", "needupdate": 0, "ready": 1, "min": 1, "target": 1,
         "max": 1},
        {"name": "nodes-eu-west-1a", "status": "Ready", "needupdate": 0, "ready": 2, "min": 2, "target": 2, "max": 2},
    ]
    assert "Must specify --yes to rolling-update." in recorded("rolling_update_cloudonly_force_preview")


def test_table_with_empty_cells_keeps_columns():
    # `kops get instances` without a reachable API: NODE-NAME and STATE are empty; the columns must not shift.
    before = parse_table(recorded("get_instances_before"), ("ID", "NODE-NAME", "STATUS"))
    after = parse_table(recorded("get_instances_after"), ("ID", "NODE-NAME", "STATUS"))
    assert len(before) == len(after) == 3
    for row in before + after:
        assert row["id"].startswith("i-") and row["node-name"] == "" and row["state"] == ""
        assert row["status"] == "UpToDate" and row["machine-type"] == "t3.medium"
    assert sorted(r["instance-group"] for r in after) == [
        "control-plane-eu-west-1a.masters.x.k8s.local", "nodes-eu-west-1a.x.k8s.local", "nodes-eu-west-1a.x.k8s.local"]
    assert sorted(r["roles"] for r in after)[0] == "control-plane, control-plane"
    # The rolling update replaced every instance.
    assert not {r["id"] for r in before} & {r["id"] for r in after}


def test_rolled_groups_from_the_recorded_rolling_update():
    log = recorded("rolling_update_cloudonly_force_apply")
    groups = rolled_groups(log, ["control-plane-eu-west-1a", "nodes-eu-west-1a"])
    before = {r["id"]: r["instance-group"] for r in parse_table(recorded("get_instances_before"), ("ID",))}
    assert [g["name"] for g in groups] == ["control-plane-eu-west-1a", "nodes-eu-west-1a"]
    assert [len(g["instances"]) for g in groups] == [1, 2]
    for group in groups:
        assert group["instances"] and all(before[i].startswith(group["name"] + ".") for i in group["instances"])
        # --control-plane-interval=1s / --node-interval=1s: about one second per instance.
        assert 0.9 * len(group["instances"]) <= group["seconds"] <= 5 * len(group["instances"])


def test_table_without_header():
    assert parse_table("nothing here", ("A", "B")) == []


def test_rolled_groups_ordering_and_midnight():
    log = ("I1128 23:59:00.000000 1 instancegroups.go:633] Stopping instance \"i-1\", in group "
           "\"control-plane-eu-west-1a.masters.c.k8s.local\" (this may take a while).\n"
           "I1128 23:59:30.500000 1 instancegroups.go:2] Cluster validated.\n"
           "I1129 00:01:00.000000 1 instancegroups.go:633] Stopping instance \"i-2\", in group "
           "\"nodes.c.k8s.local\" (this may take a while).\n"
           "I1129 00:02:00.000000 1 rollingupdate.go:234] Rolling update completed for cluster \"c.k8s.local\"!\n")
    assert rolled_groups(log, ["control-plane-eu-west-1a", "nodes", "absent"]) == [
        {"name": "control-plane-eu-west-1a", "instances": ["i-1"], "seconds": 120.0},
        {"name": "nodes", "instances": ["i-2"], "seconds": 60.0}]
    assert rolled_groups("no klog lines", ["nodes"]) == []


def test_rolling_update_validation_of_the_recorded_16870_run():
    # kops rolling-update --yes with a pending NTH surge pod (kubernetes/kops#16870), recorded.
    log = recorded("rolling_update_validation_fails")
    validation = rolling_update_validation(log)
    assert validation["timed_out"] is True and validation["attempts"] == 1
    kinds = [f["kind"] for f in validation["failures"]]
    assert kinds.count("machine") == 3 and kinds.count("pod_pending") == 1 and len(kinds) == 4
    pod = [f for f in validation["failures"] if f["kind"] == "pod_pending"][0]
    assert pod["deployment"] == "aws-node-termination-handler" and pod["priority"] == "system-cluster-critical"
    assert pod["replicaset"] == pod["pod"].rsplit("-", 1)[0] and pod["namespace"] is None
    assert rolled_groups(log, ["control-plane-eu-west-1a", "nodes-eu-west-1a"]) == []


def test_rolling_update_validation_splits_messages_with_commas():
    line = ('I1128 09:01:00.491900 1 instancegroups.go:566] Cluster did not pass validation, will retry in "30s": '
            'system-node-critical pod "ebs-csi-node-x2x9q" is not ready (ebs-plugin,node-driver-registrar), '
            'node "i-1" of role "node" is not ready.')
    validation = rolling_update_validation(line)
    assert [f["kind"] for f in validation["failures"]] == ["pod_not_ready", "node"]
    assert validation["failures"][0]["containers"] == ["ebs-plugin", "node-driver-registrar"]
    assert validation["timed_out"] is False
    assert rolling_update_validation("") == {"failures": [], "attempts": 0, "timed_out": False}


# --- across kops releases: see the parametrized tests of each release below

def test_upgrade_nothing_to_do_in_1_31_goes_to_stderr():
    # The module parses stdout and stderr together: "No upgrade required" is on stderr, no table.
    assert parse_upgrade_plan(recorded("v1_31_0_upgrade_nothing")) == []


@pytest.mark.parametrize("parse, text, expected", [
    (parse_upgrade_plan, "ITEM\tFIELD\tBEFORE\tAFTER\nCluster\tKubernetesVersion\t1.30.5\t1.31.3\n",
     "kops upgrade cluster printed neither a table headed ITEM PROPERTY OLD NEW nor 'No upgrade required'"),
    (parse_rolling_update_plan, "GROUP\tSTATE\tOUTDATED\nnodes\tNeedsUpdate\t2\n",
     "kops rolling-update cluster printed neither a table headed NAME STATUS NEEDUPDATE nor "
     "'No rolling-update required'"),
    (parse_rolling_update_plan, "", "this kops output is not understood: (nothing)"),
])
def test_an_unknown_table_is_a_clear_error_not_an_empty_plan(parse, text, expected):
    with pytest.raises(KopsError) as error:
        parse(text)
    assert expected in str(error.value)


def test_rolling_update_table_ends_where_the_drain_output_starts():
    text = ("NAME\t\t\t\tSTATUS\t\tNEEDUPDATE\tREADY\tMIN\tTARGET\tMAX\tNODES\n"
            "nodes-eu-west-1a\t\tNeedsUpdate\t2\t\t0\t2\t2\t2\t2\n"
            "evicting pod kube-system/coredns-6777d69967-7n9dx\n")
    assert [row["name"] for row in parse_rolling_update_plan(text)] == ["nodes-eu-west-1a"]


def test_rolling_failure_message_names_the_error_and_the_last_validation_failures():
    log = recorded("rolling_update_validation_fails")
    validation = rolling_update_validation(log)
    msg = rolling_failure_message("kops reconcile cluster (phase control plane rolling update)", 1, "", log,
                                  validation)
    assert msg.startswith("kops reconcile cluster (phase control plane rolling update) failed (rc 1): Error: ")
    assert "; last validation failures: " in msg and "aws-node-termination-handler-" in msg


def test_reconcile_output_without_known_phases_is_a_clear_error():
    with pytest.raises(KopsError) as error:
        reconcile_phases("Reconciling the control plane\nReconciling nodes\n", "")
    assert "printed none of the phases this collection knows" in str(error.value)
    assert "Reconciling the control plane | Reconciling nodes" in str(error.value)


def test_only_credential_values_stay_masked():
    environment = {"AWS_SECRET_ACCESS_KEY": "abc", "AWS_SESSION_TOKEN": "tok", "AWS_ACCESS_KEY_ID": "AKIA1",
                   "AWS_REGION": "eu-west-1", "AWS_PROFILE": "abc", "RETRIES": 3, "EMPTY_TOKEN": ""}
    assert secret_environment_values(environment) == {"abc", "tok", "AKIA1"}
    # A readable key with the same text as a credential keeps it masked; numbers are compared as kops sees them.
    assert readable_environment_values(environment) == {"eu-west-1", "3"}
    assert readable_environment_values(None) == set()


def test_results_show_the_environment_names_only():
    assert masked_environment({"AWS_REGION": "eu-west-1", "DEPLOY_KEY_MATERIAL": "k"}) == {
        "AWS_REGION": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER", "DEPLOY_KEY_MATERIAL": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}


def test_the_sdk_transport_error_is_transient_and_nothing_else_is():
    # As kops 1.31.0 printed it against moto (the AWS SDK for Go, aws/aws-sdk-go-v2#1825).
    line = ("Error: error finding deletions: listing EventBridge rules: operation error EventBridge: ListRules, https "
            "response error StatusCode: 200, RequestID: xfJMOAzw, deserialization failed, failed to decode response "
            "body, read tcp 127.0.0.1:53302->127.0.0.1:36529: use of closed network connection\n")
    assert kops_cli.transient_transport_error("I1129 executor.go:113] Tasks: 0 done\n" + line).endswith(
        "use of closed network connection")
    assert kops_cli.transient_transport_error(line.replace("use of closed network connection",
                                                           "connection reset by peer")) is not None
    for other in ("Error: cluster not found", "StatusCode: 403, AccessDenied", "use of closed network connection",
                  "deserialization failed, failed to decode response body, invalid XML", "", None):
        assert kops_cli.transient_transport_error(other) is None, other


# --- each kops release's recorded output through the same parsers: v1.30.2 (plain names), the others prefixed
# (v1_31_0_*, ..., v1_36_2_*), recorded by `tests/kops/capture_fixtures.py --kops <release>`. v1.30.2 was recorded
# against moto without instances joining; the others on tools/kopscloud (a cluster that validates), so some
# outputs differ by what the cluster was, not by release: the tests say which.

# Every release the collection knows (kops_releases.RECORDED), each with its recorded output.
RELEASES = tuple("v" + release for release in kops_releases.RECORDED)
RECONCILE_RELEASES = tuple(r for r in RELEASES if r != "v1.30.2")  # `kops reconcile cluster` exists from 1.31
# `kops upgrade cluster` proposes the channel's recommendation for the cluster's current minor (testbed.kops_world.CHANNEL).
UPGRADES = {"v1.30.2": ("1.29.3", "1.29.9"), "v1.31.0": ("1.30.2", "1.30.5"), "v1.32.0": ("1.31.0", "1.31.3"),
            "v1.33.1": ("1.32.0", "1.33.4"), "v1.35.0": ("1.34.4", "1.35.2"), "v1.36.2": ("1.35.2", "1.36.1")}
# Releases that print "Detected single-control-plane cluster; won't detach before draining" above the table.
SAYS_SINGLE_CONTROL_PLANE = ("v1.30.2", "v1.31.0")
GROUPS = ["control-plane-eu-west-1a", "nodes-eu-west-1a"]


def prefix(release):
    return "" if release == "v1.30.2" else release.replace(".", "_") + "_"


def of(release, name):
    return recorded(prefix(release) + name)


def index_entry(release, name):
    with open(os.path.join(FIXTURES, "index.json")) as handle:
        return json.load(handle)[prefix(release) + name]


@pytest.mark.parametrize("release", RELEASES)
def test_each_release_has_its_recorded_outputs(release):
    names = ["version", "upgrade_plan", "upgrade_apply", "upgrade_nothing", "update_preview", "update_apply",
             "rolling_update_preview", "validate_json"]
    if release in RECONCILE_RELEASES:
        names += ["validate_valid_json", "reconcile_preview", "reconcile_apply", "reconcile_apply_log"]
    for name in names:
        entry = index_entry(release, name)
        assert entry["kops"] == release, name
        assert entry["command"].startswith("kops "), name
        assert os.path.exists(os.path.join(FIXTURES, prefix(release) + name + ".txt")), name
    assert index_entry(release, "upgrade_nothing")["stream"] == "stderr"
    assert index_entry(release, "validate_json")["rc"] == 1


@pytest.mark.parametrize("release", RELEASES)
def test_version_of_each_release(release):
    assert parse_version(of(release, "version")) == tuple(int(x) for x in release[1:].split("."))


@pytest.mark.parametrize("release", RELEASES)
def test_upgrade_plan_and_apply_of_each_release(release):
    old, new = UPGRADES[release]
    expected = [{"item": "Cluster", "property": "KubernetesVersion", "old": old, "new": new}]
    assert parse_upgrade_plan(of(release, "upgrade_plan")) == expected
    assert "Must specify --yes to perform upgrade" in of(release, "upgrade_plan")
    assert parse_upgrade_plan(of(release, "upgrade_apply")) == expected
    assert "Updates applied to configuration." in of(release, "upgrade_apply")


@pytest.mark.parametrize("release", RELEASES)
def test_upgrade_nothing_to_do_of_each_release_is_on_stderr(release):
    # The module parses stdout and stderr together: "No upgrade required" is on stderr, after kops' klog lines.
    text = of(release, "upgrade_nothing")
    assert parse_upgrade_plan(text) == [] and "\nNo upgrade required" in text


@pytest.mark.parametrize("release", RELEASES)
def test_update_preview_and_apply_of_each_release(release):
    # Both before any instance exists: the preview creates everything, the apply asks for a rolling update.
    preview = update_outcome(of(release, "update_preview"))
    assert preview == {"no_changes": False, "changes_pending": True, "needs_rolling_update": False}
    applied = update_outcome(of(release, "update_apply"))
    assert applied == {"no_changes": False, "changes_pending": False, "needs_rolling_update": True}
    assert "Cluster changes have been applied to the cloud." in of(release, "update_apply")


@pytest.mark.parametrize("release", RELEASES)
def test_rolling_update_preview_of_each_release(release):
    """v1.30.2 was recorded before moto had Auto Scaling groups (header only); v1.31.0 and v1.32.0 on a valid
    cluster (both groups Ready, with NODES). v1.32.0 no longer prints "Detected single-control-plane cluster;
    won't detach before draining" above the table; the table itself is the same."""
    text = of(release, "rolling_update_preview")
    rows = parse_rolling_update_plan(text)
    assert "No rolling-update required." in text
    if release == "v1.30.2":
        assert rows == []
    else:
        assert [row["name"] for row in rows] == GROUPS
        assert [(row["status"], row["needupdate"], row["ready"], row["nodes"]) for row in rows] == [
            ("Ready", 0, 1, 1), ("Ready", 0, 2, 2)]
    assert ("Detected single-control-plane cluster" in text) == (release in SAYS_SINGLE_CONTROL_PLANE)


@pytest.mark.parametrize("release", RELEASES)
def test_validate_json_failures_of_each_release(release):
    """One JSON document, not valid, each failure's instance group read from the InstanceGroup object kops puts
    in it. v1.30.2: a stuck NTH pod and groups missing from moto; v1.31.0/v1.32.0: the three machines before they
    joined."""
    documents = parse_json_documents(of(release, "validate_json"))
    assert len(documents) == 1
    summary = summarise_validation(documents[0])
    assert summary["valid"] is False
    assert all(f["instance_group"] in GROUPS for f in summary["failures"] if f["kind"] != "pod_pending")
    if release == "v1.30.2":
        assert {f["kind"] for f in summary["failures"]} == {"pod_pending", "instancegroup"}
    else:
        assert [f["kind"] for f in summary["failures"]] == ["machine"] * 3
        assert sorted(f["instance_group"] for f in summary["failures"]) == [GROUPS[0], GROUPS[1], GROUPS[1]]
        assert all(f["name"].startswith("i-") for f in summary["failures"])


@pytest.mark.parametrize("release", RECONCILE_RELEASES)
def test_validate_json_of_a_valid_cluster(release):
    (document,) = parse_json_documents(of(release, "validate_valid_json"))
    summary = summarise_validation(document)
    assert summary["valid"] is True and summary["failures"] == []
    assert sorted(node["role"] for node in summary["nodes"]) == ["control-plane", "node", "node"]


@pytest.mark.parametrize("release", RECONCILE_RELEASES)
def test_reconcile_preview_of_each_release(release):
    text = of(release, "reconcile_preview")
    assert update_outcome(text) == {"no_changes": False, "changes_pending": True, "needs_rolling_update": False}
    assert "InstanceType        \t t3.medium -> t3.large" in text


# kops 1.31 says "Doing rolling-update for ..."; from 1.32 kops waits for the API after the control plane's
# configuration, printing a whole `kops validate cluster` (INSTANCE GROUPS / NODE STATUS tables), and says
# "Performing rolling-update for ...".
PHASES_1_31 = ["control plane configuration", "control plane rolling update", "node configuration",
               "node rolling update", "prune"]
PHASES_FROM_1_32 = ["control plane configuration", "wait for the API", "control plane rolling update",
                    "node configuration", "node rolling update", "prune"]


@pytest.mark.parametrize("release, phases", [
    (release, PHASES_1_31 if release == "v1.31.0" else PHASES_FROM_1_32) for release in RECONCILE_RELEASES])
def test_reconcile_phases_of_each_release(release, phases):
    stdout, log = of(release, "reconcile_apply"), of(release, "reconcile_apply_log")
    found = reconcile_phases(stdout, log)
    assert [p["phase"] for p in found] == phases
    rolls = [p["groups"] for p in found if p["phase"].endswith("rolling update")]
    # The control plane's launch template changed too (the API load balancer's name became the local API's
    # address), so both groups were rolled: one instance, then two. Nothing else is a group (the eviction lines).
    assert [[g["name"] for g in groups] for groups in rolls] == [[GROUPS[0]], [GROUPS[1]]]
    (control_plane,), (nodes,) = rolls
    assert len(control_plane["instances"]) == 1 and len(nodes["instances"]) == 2
    assert all(i.startswith("i-") for i in control_plane["instances"] + nodes["instances"])
    assert nodes["seconds"] > 15  # kops' own 15 s node interval, not settable through reconcile
    assert all(p["groups"] == [] for p in found if not p["phase"].endswith("rolling update"))
    assert rolling_update_validation(log) == {"failures": [], "attempts": 0, "timed_out": False}


@pytest.mark.parametrize("release", RECONCILE_RELEASES)
def test_reconcile_rerun_after_a_transport_error_keeps_what_the_first_attempt_rolled(release):
    """Kops.run reruns kops after the AWS SDK's transport error and returns both attempts' output. Seen in the
    end-to-end run: the first reconcile replaced every instance, then failed on the transport error; the rerun
    found nothing left to roll. The groups are the first attempt's, each once, and the phases are not repeated."""
    stdout, log = of(release, "reconcile_apply"), of(release, "reconcile_apply_log")
    single = reconcile_phases(stdout, log)
    rerun = stdout.replace("NeedsUpdate", "Ready      ")
    assert "NeedsUpdate" not in rerun and reconcile_phases(rerun, "") and all(
        p["groups"] == [] for p in reconcile_phases(rerun, ""))
    error = "Error: error querying for valid AZs in \"eu-west-1\": read tcp: use of closed network connection\n"
    both = reconcile_phases(kops_cli._joined(stdout, rerun), kops_cli._joined(log + error, ""))
    assert [p["phase"] for p in both] == [p["phase"] for p in single]
    assert [[g["name"] for g in p["groups"]] for p in both] == [[g["name"] for g in p["groups"]] for p in single]
    assert [g["instances"] for p in both for g in p["groups"]] == [g["instances"] for p in single for g in p["groups"]]


def test_two_attempts_join_line_by_line():
    assert kops_cli._joined("a", "b\n") == "a\nb\n"
    assert kops_cli._joined("a\n", "b") == "a\nb"
    assert kops_cli._joined("", "b") == "b"


def test_a_drained_pod_name_is_not_a_group_in_the_table():
    """kops 1.31.0's recorded reconcile: the drain's "evicting pod kube-system/coredns-6777d69967-xcng2" follows
    the table; cut at the table's columns, its last character ("2") lands under NEEDUPDATE and it was read as the
    group "evicting pod kube-system/coredns" needing 2 updates."""
    text = ("NAME\t\t\t\tSTATUS\t\tNEEDUPDATE\tREADY\tMIN\tTARGET\tMAX\tNODES\n"
            "nodes-eu-west-1a\t\tNeedsUpdate\t2\t\t0\t2\t2\t2\t2\n"
            "evicting pod kube-system/coredns-6777d69967-xcng2\n"
            "evicting pod kube-system/coredns-autoscaler-5c7bdfd785-69cfg\n")
    assert parse_table(text, ("NAME", "STATUS", "NEEDUPDATE"))[1]["needupdate"] == "2"
    assert [row["name"] for row in parse_rolling_update_plan(text)] == ["nodes-eu-west-1a"]
    assert "evicting pod kube-system/coredns-6777d69967-xcng2" in of("v1.31.0", "reconcile_apply")


# A kops release whose output this collection does not know: each release's real output with its words changed
# as a later release might change them must fail with KopsError, never parse as "nothing to do".
@pytest.mark.parametrize("release", RELEASES)
def test_each_release_reworded_is_a_clear_error_not_an_empty_plan(release):
    plan = of(release, "upgrade_plan").replace("PROPERTY", "FIELD")
    with pytest.raises(KopsError, match="printed neither a table headed ITEM PROPERTY OLD NEW"):
        parse_upgrade_plan(plan)
    preview = of(release, "rolling_update_preview").replace("NEEDUPDATE", "OUTDATED").replace(
        "No rolling-update required.", "Nothing to roll.")
    with pytest.raises(KopsError, match="this kops output is not understood: .*Nothing to roll"):
        parse_rolling_update_plan(preview)
    # A release that said nothing at all on either stream.
    with pytest.raises(KopsError, match=r"\(nothing\)"):
        parse_upgrade_plan("\n")


@pytest.mark.parametrize("release", RECONCILE_RELEASES)
def test_each_release_reconcile_reworded_is_a_clear_error(release):
    stdout = of(release, "reconcile_apply")
    for words in ("Doing rolling-update for", "Performing rolling-update for"):
        stdout = stdout.replace(words, "Rolling out")
    with pytest.raises(KopsError) as error:
        reconcile_phases(stdout, of(release, "reconcile_apply_log"))
    assert "printed none of the phases this collection knows" in str(error.value)
    assert "Updating control plane configuration" in str(error.value)


@pytest.mark.parametrize("release", RELEASES)
def test_update_preview_of_each_release_says_changes_are_pending(release):
    outcome = kops_cli.update_preview_outcome(of(release, "update_preview"), "kops update cluster (preview)")
    assert outcome["changes_pending"] is True and outcome["no_changes"] is False
    if release in RECONCILE_RELEASES:
        outcome = kops_cli.update_preview_outcome(of(release, "reconcile_preview"), "kops reconcile cluster (preview)")
        assert outcome["changes_pending"] is True


def test_update_preview_with_nothing_to_do():
    text = "\nNo changes need to be applied\n"
    assert kops_cli.update_preview_outcome(text, "kops update cluster (preview)")["no_changes"] is True


@pytest.mark.parametrize("text", [
    "",
    "Will create resources:\n  Subnet/eu-west-1a\n\nPass --yes to apply these changes\n",  # a reworded ending
    "No changes need to be applied\nMust specify --yes to apply changes\n",  # both: cannot tell
])
def test_update_preview_a_release_does_not_print_is_an_error_not_a_guess(text):
    with pytest.raises(kops_cli.KopsError, match=r"^kops update cluster \(preview\) printed (neither|both) of"):
        kops_cli.update_preview_outcome(text, "kops update cluster (preview)")
