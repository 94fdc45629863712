# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet summary from what the fleet_summary callback collects."""

from __future__ import annotations

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.fleet import fleet_lines, summarize_fleet

ARTIFACTS = {
    "clusterops_precheck": {
        "canary": {"verdict": "pass", "errors": [], "warnings": []},
        "broken": {"verdict": "fail", "errors": ["rollout_stuck: kube-system/nth is stuck now"], "warnings": []},
    },
    "clusterops_summary": {
        "canary": {"remediation": {"removed": ["nth-5d9c"]},
                   "phase_seconds": {"precheck": 1.2, "upgrade": None, "remediation": 3.4}},
    },
}


def test_each_outcome():
    fleet = summarize_fleet(
        ["canary", "broken", "mate", "gone", "later"],
        started={"canary", "broken", "mate", "gone"},
        failures={"broken": {"task": "Precheck | Fail early", "msg": "Precheck found:\n  - rollout_stuck"}},
        unreachable={"gone": {"task": "Precheck | Start", "msg": "no route"}},
        stopped={"mate"},
        artifacts=ARTIFACTS)
    by_host = {c["host"]: c for c in fleet["clusters"]}
    assert [c["outcome"] for c in fleet["clusters"]] == ["done", "failed", "stopped", "unreachable", "not_reached"]
    assert fleet["totals"] == {"done": 1, "failed": 1, "unreachable": 1, "stopped": 1, "not_reached": 1}
    assert fleet["ok"] is False
    assert by_host["canary"]["removed"] == ["nth-5d9c"]
    assert by_host["canary"]["phase_seconds"] == {"precheck": 1.2, "remediation": 3.4}
    assert by_host["broken"]["precheck_verdict"] == "fail" and by_host["broken"]["task"] == "Precheck | Fail early"
    lines = fleet_lines(fleet)
    assert lines[0] == "FLEET SUMMARY: 5 cluster(s): 1 done, 1 failed, 1 unreachable, 1 stopped, 1 not_reached"
    assert lines[1] == "  canary: done | precheck pass | removed: nth-5d9c | seconds: precheck 1.2, remediation 3.4"
    assert lines[2] == ("  broken: failed | precheck fail | errors: rollout_stuck: kube-system/nth is stuck now | "
                        "at task 'Precheck | Fail early': Precheck found: - rollout_stuck")
    assert lines[3].startswith("  mate: stopped | the fleet stopped (a failed canary")
    assert lines[5] == "  later: not_reached | the fleet stopped before its batch"


def test_all_done():
    fleet = summarize_fleet(["a", "b"], {"a", "b"}, {}, {}, set(), {})
    assert fleet["ok"] is True and fleet_lines(fleet)[0] == "FLEET SUMMARY: 2 cluster(s): 2 done"
