# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' reports (module_utils/role_reports.py, the collection's filters): what the remediate and validate
roles used to assemble in Jinja, from their modules' registered results."""

from __future__ import annotations

from ansible_collections.clusterops.kops_upgrade.plugins.filter.role_reports import FilterModule
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.role_reports import (
    merge_remediation_reports,
    remediation_report,
    validation_problems,
)

NTH = "aws-node-termination-handler"
STATUS = {
    "deployments": [{"name": NTH, "namespace": "kube-system", "verdict": "stuck"},
                    {"name": "ebs-csi-controller", "namespace": "kube-system", "verdict": "blocked"},
                    {"name": "coredns", "namespace": "kube-system", "verdict": "complete"}],
    "remediation_targets": {"stuck": [NTH], "blocked": ["ebs-csi-controller"], "prevent": [NTH]},
    "predicted_deadlocks": ["kube-system/" + NTH],
}
# What a looped stale_replicasets task registers: one result per item, the item being the Deployment's diagnosis.
REMOVALS = {"results": [{
    "item": STATUS["deployments"][0], "changed": True,
    "removed": [{"name": NTH + "-old", "method": "scale-down"}, {"name": NTH + "-old", "method": "scale-down"}],
    "steps": [{"pods": [NTH + "-old-a"]}, {"pods": [NTH + "-old-b"]}],
    "conflicts": [{"kind": "Pod", "name": NTH + "-old-c"}],
    "rollout": {"complete": True, "seconds": 3.2},
}]}
PREVENTION = {"results": [{"item": STATUS["deployments"][0], "changed": True},
                          {"item": {"name": "other"}, "changed": False},
                          {"item": {"name": "skipped"}, "skipped": True}]}


def test_one_run_is_drawn_from_the_status_the_removals_and_the_prevention():
    assert remediation_report(STATUS, REMOVALS, PREVENTION) == {
        "stuck": [NTH], "removed": [NTH + "-old"], "pods_removed": [NTH + "-old-a", NTH + "-old-b"],
        "blocked": ["ebs-csi-controller"], "conflicts": [NTH + "-old-c"], "rollout_seconds": {NTH: 3.2},
        "prevented": [NTH], "predicted_deadlocks": ["kube-system/" + NTH]}


def test_a_run_that_removed_nothing_and_skipped_prevention_reports_empty_lists():
    skipped_loop = {"results": [], "skipped": True, "msg": "No items in the list"}
    report = remediation_report(dict(STATUS, remediation_targets={"stuck": [], "blocked": [], "prevent": []}),
                                skipped_loop, {"skipped": True, "changed": False})
    assert report["stuck"] == [] and report["removed"] == [] and report["pods_removed"] == []
    assert report["rollout_seconds"] == {} and report["prevented"] == [] and report["conflicts"] == []
    assert remediation_report(None)["stuck"] == []


def test_a_second_remediation_is_added_to_the_first_and_the_state_is_the_latest():
    first = dict(remediation_report(STATUS, REMOVALS, PREVENTION), seconds=2.0)
    second = {"stuck": ["cilium-operator"], "removed": [NTH + "-old", "cilium-operator-old"],
              "pods_removed": ["cilium-operator-old-a"], "blocked": [], "conflicts": [],
              "rollout_seconds": {"cilium-operator": 1.5}, "prevented": [], "predicted_deadlocks": [],
              "seconds": "1.25"}
    merged = merge_remediation_reports(first, second)
    assert merged["stuck"] == [NTH, "cilium-operator"]
    # As combine(list_merge='append_rp'): the earlier entries not in the latest, then the latest's.
    assert merged["removed"] == [NTH + "-old", "cilium-operator-old"]
    assert merged["pods_removed"] == [NTH + "-old-a", NTH + "-old-b", "cilium-operator-old-a"]
    assert merged["rollout_seconds"] == {NTH: 3.2, "cilium-operator": 1.5}
    assert merged["blocked"] == [] and merged["predicted_deadlocks"] == []
    assert merged["seconds"] == 3.2  # 2.0 + 1.25, rounded to a tenth
    assert merge_remediation_reports({}, second) == second and merge_remediation_reports(None, second) == second


def test_a_kops_validate_that_could_not_report_is_a_problem_never_a_pass():
    # kops_validate failed before any JSON report (state store, credentials): no `valid`, no failures.
    cannot = {"failed": False, "msg": "kops validate cluster printed no JSON report (rc 1): State Store: Required"}
    assert validation_problems(cannot) == ["kops validate: " + cannot["msg"]]


def test_kops_failures_stuck_rollouts_and_health_errors_are_the_problems():
    kops = {"valid": False, "msg": "cluster x.k8s.local did not validate after 3 attempt(s): pod pending",
            "failures": [{"type": "Pod", "message": "system-cluster-critical pod nth-1 is pending"}]}
    rollouts = {"deployments": [{"verdict": "stuck", "remedy": "delete the old pod"},
                                {"verdict": "deadline_exceeded", "remedy": "look at its events"},
                                {"verdict": "blocked", "remedy": "nothing to remove"},
                                {"verdict": "complete", "remedy": ""}]}
    health = {"findings": [{"severity": "error", "message": "nodes not at v1.31.3: w-2"},
                           {"severity": "warning", "message": "an upgrade is in progress"}]}
    assert validation_problems(kops, rollouts, health) == [
        "kops validate: " + kops["msg"], "kops validate: system-cluster-critical pod nth-1 is pending",
        "rollout: delete the old pod", "rollout: look at its events", "nodes not at v1.31.3: w-2"]


def test_a_valid_cluster_or_a_kops_validate_not_asked_is_no_problem():
    assert validation_problems({"valid": True, "failures": []}, {"deployments": []}, {"findings": []}) == []
    assert validation_problems({"skipped": True, "changed": False}) == []
    assert validation_problems(None, None, None) == []


def test_the_filters_are_these_functions():
    assert FilterModule().filters() == {"remediation_report": remediation_report,
                                        "merge_remediation_reports": merge_remediation_reports,
                                        "validation_problems": validation_problems}
