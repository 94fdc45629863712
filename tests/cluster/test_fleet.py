# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks over a fleet: three local control planes at once as three inventory hosts (local connection,
a kubeconfig each), serial batches with a canary first, max_fail_percentage, one fleet summary at the end.
One cluster fails on purpose: its aws-node-termination-handler rollout is stuck."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from nthrepro import NTH, ROOT, delete_nth, deploy_nth, rollout_complete, wait_deployment, wait_unschedulable

FLEET = {"kops_upgrade_hosts": "kops_clusters", "kops_upgrade_serial": [1, 2],
         "kops_upgrade_max_fail_percentage": 0, "kubernetes_version": "1.35.0"}


@pytest.fixture
def fleet(local_cluster, two_cp_cluster, three_cp_cluster, host_ports):
    """Three clusters; the one-control-plane one with NTH stuck in kube-system (removed afterwards)."""
    api = local_cluster.api
    deploy_nth(api, "kube-system", "v1.18.3", liveness_port=host_ports[0], metrics_port=host_ports[1])
    wait_deployment(api, "kube-system", NTH, rollout_complete)
    deploy_nth(api, "kube-system", "v1.22.0", liveness_port=host_ports[0], metrics_port=host_ports[1])
    wait_unschedulable(api, "kube-system")
    yield {"one-cp": local_cluster, "two-cp": two_cp_cluster, "three-cp": three_cp_cluster}
    delete_nth(api, "kube-system")


def run_fleet(tmp_path, clusters, order, playbook, extra=None):
    """ansible-playbook over an inventory of ``order`` (host names), the fleet_summary callback enabled.
    Returns (rc, stdout, fleet summary lines)."""
    inventory = {"kops_clusters": {"hosts": {
        name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
               "k8s_kubeconfig": clusters[name].kubeconfig} for name in order}}}
    path = tmp_path / ("inventory-%s.yml" % "-".join(order))
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="clusterops.kops_upgrade.fleet_summary", ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="false", ANSIBLE_RETRY_FILES_ENABLED="false")
    env.pop("K8S_AUTH_KUBECONFIG", None)
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(path),
         os.path.join(ROOT, "playbooks", playbook), "-e", json.dumps(dict(FLEET, **(extra or {})))],
        capture_output=True, text=True, env=env, check=False)
    lines = proc.stdout[proc.stdout.find("FLEET SUMMARY"):].splitlines()
    summary = {}
    for line in lines[1:]:
        if line.startswith("  ") and ": " in line:
            host, rest = line.strip().split(": ", 1)
            summary[host] = rest
    return proc.returncode, proc.stdout, lines[0] if lines else "", summary


def test_fleet_canary_batches_failure_and_remediation(fleet, tmp_path):
    # Canary healthy, then a batch where one cluster fails: the fleet stops, its batch mate is stopped with it.
    rc, out, head, summary = run_fleet(tmp_path, fleet, ["three-cp", "one-cp", "two-cp"], "precheck.yml")
    assert rc != 0, out[-3000:]
    assert head == "FLEET SUMMARY: 3 cluster(s): 1 done, 1 failed, 1 stopped", out[-3000:]
    assert summary["three-cp"].startswith("done | precheck pass")
    assert summary["one-cp"].startswith("failed | precheck fail | errors: rollout_stuck: ")
    assert "Precheck | Fail early with one summary': Precheck found what would break the upgrade: - rollout_stuck" \
        in summary["one-cp"]
    assert summary["two-cp"].startswith("stopped")

    # The failing cluster as the canary: nothing else is touched.
    rc, out, head, summary = run_fleet(tmp_path, fleet, ["one-cp", "three-cp", "two-cp"], "precheck.yml")
    assert rc != 0
    assert head == "FLEET SUMMARY: 3 cluster(s): 1 failed, 2 not_reached", out[-3000:]
    assert summary["three-cp"].startswith("not_reached") and summary["two-cp"].startswith("not_reached")

    # Remediate across the fleet: the stuck cluster's stale ReplicaSet goes, the others have nothing to do.
    rc, out, head, summary = run_fleet(tmp_path, fleet, ["three-cp", "one-cp", "two-cp"], "remediate.yml")
    assert rc == 0, out[-3000:]
    assert head == "FLEET SUMMARY: 3 cluster(s): 3 done", out[-3000:]
    assert "removed: %s-" % NTH in summary["one-cp"]
    assert "removed" not in summary["three-cp"] and "removed" not in summary["two-cp"]

    # And the whole fleet passes its precheck.
    rc, out, head, summary = run_fleet(tmp_path, fleet, ["three-cp", "one-cp", "two-cp"], "precheck.yml")
    assert rc == 0, out[-3000:]
    assert head == "FLEET SUMMARY: 3 cluster(s): 3 done"
    assert all(line.startswith("done | precheck ") for line in summary.values())
    assert "precheck fail" not in " ".join(summary.values())
