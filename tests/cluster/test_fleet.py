# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks over a fleet: three local control planes at once as three inventory hosts (local connection,
a kubeconfig each), serial batches with a canary first, max_fail_percentage, one fleet summary at the end.
One cluster fails on purpose: its aws-node-termination-handler rollout is stuck."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from testbed.kube import NTH, ROOT, delete_nth, deploy_nth, rollout_complete, wait_deployment, wait_unschedulable
from testbed import kops_world, kube

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


def run_fleet(tmp_path, clusters, order, playbook, extra=None, host_vars=None):
    """ansible-playbook over an inventory of ``order`` (host names), the fleet_summary callback enabled, with no
    AWS, kops or kube variable in its process environment (each host's connection is in the inventory:
    ``host_vars`` adds to a host's). Returns (rc, stdout, fleet summary lines)."""
    inventory = {"kops_clusters": {"hosts": {
        name: dict({"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                    "k8s_kubeconfig": clusters[name].kubeconfig}, **(host_vars or {}).get(name, {}))
        for name in order}}}
    path = tmp_path / ("inventory-%s.yml" % "-".join(order))
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    env = dict(kops_world.without_connection_variables(os.environ),
               ANSIBLE_CALLBACKS_ENABLED="clusterops.kops_upgrade.fleet_summary", ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="false", ANSIBLE_RETRY_FILES_ENABLED="false")
    proc = subprocess.run(
        kube.ansible_playbook("-i", path, os.path.join(ROOT, "playbooks", playbook),
                              "-e", json.dumps(dict(FLEET, **(extra or {})))),
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


# Nodes per kOps cluster of the fleet: each size is its own, so the machines kops finds say which cloud it reached.
FLEET_NODES = {"one-cp": 1, "two-cp": 2, "three-cp": 3}


@pytest.fixture
def kops_fleet(local_cluster, two_cp_cluster, three_cp_cluster, tmp_path):
    """Three kOps clusters, each in an AWS of its own (a moto server per cluster, launched by `kops update cluster
    --yes`) and a state store of its own, reachable only through its own AWS profile (the profile's endpoint_url);
    each inventory host's Kubernetes API is a local control plane whose kubeconfig context is not named after the
    kOps cluster."""
    assets = kops_world.AssetsServer(str(tmp_path / "assets"))
    servers, worlds = {}, {}
    try:
        for name, nodes in FLEET_NODES.items():
            workdir = tmp_path / name
            workdir.mkdir()
            servers[name] = kops_world.MotoServer(str(workdir))
            worlds[name] = kops_world.KopsWorld(str(workdir), servers[name].url, assets.url)
            worlds[name].create_cluster(nodes=nodes)
            worlds[name].run("update", "cluster", "--name", kops_world.CLUSTER, "--yes", "--create-kube-config=false")
        config, credentials = kops_world.write_aws_profiles(str(tmp_path), dict(
            (name, server.url) for name, server in servers.items()))
        clusters = {"one-cp": local_cluster, "two-cp": two_cp_cluster, "three-cp": three_cp_cluster}
        yield clusters, worlds, config, credentials
    finally:
        for server in servers.values():
            server.stop()
        assets.stop()


_FATAL = re.compile(r"^fatal: \[(?P<host>[^\]]+)\]: FAILED! => (?P<result>\{.*\})$", re.MULTILINE)
_MACHINE = re.compile(r'machine \\?"(?P<instance>i-[0-9a-f]+)\\?" has not yet joined cluster')


def test_fleet_each_cluster_through_its_own_aws_profile(kops_fleet, tmp_path):
    """validate.yml over the fleet with nothing in the process environment: every host's kops runs with that host's
    AWS profile and a private kubeconfig whose context is named after the kOps cluster, and reaches that host's own
    moto (its instances, none of another cloud's)."""
    clusters, worlds, config, credentials = kops_fleet
    recorder = kops_world.KopsRecorder(str(tmp_path / "recorder"), kops_world.kops_binary()[0])
    host_vars = dict((name, {
        "cluster_name": kops_world.CLUSTER, "state_store": worlds[name].state, "kops_binary": recorder.path,
        "kops_upgrade_environment": kops_world.profile_environment(name, config, credentials,
                                                                   worlds[name].env["HOME"])}) for name in clusters)
    rc, out, head, summary = run_fleet(
        tmp_path, clusters, ["three-cp", "one-cp", "two-cp"], "validate.yml", host_vars=host_vars,
        extra={"kops_upgrade_serial": 0, "kops_upgrade_max_fail_percentage": 100, "validate_timeout": 0})
    # No instance of these clouds is a node of the local control planes: kops validate fails on each, naming
    # the machines it found in the cloud its profile reached.
    assert rc != 0, out[-3000:]
    assert head == "FLEET SUMMARY: 3 cluster(s): 3 failed", out[-3000:]
    machines = {}
    for match in _FATAL.finditer(out):
        machines[match.group("host")] = set(_MACHINE.findall(json.loads(match.group("result"))["msg"]))
    assert sorted(machines) == sorted(clusters), out[-3000:]
    for name, found in machines.items():
        # One control-plane instance and FLEET_NODES nodes: this host's own cloud.
        assert len(found) == 1 + FLEET_NODES[name], (name, found)
    assert not (machines["one-cp"] & machines["two-cp"] or machines["two-cp"] & machines["three-cp"]
                or machines["one-cp"] & machines["three-cp"])
    # And every kops invocation got its host's profile and a private kubeconfig under the cluster's name.
    invocations = recorder.invocations()
    for name in clusters:
        own = [i for i in invocations if i["environment"].get("AWS_PROFILE") == name]
        assert "kops validate cluster" in [kops_world.kops_command(i) for i in own], invocations
        identity = kops_world.profile_identity(name, config)
        assert kops_world.connection_problems(own, identity, kops_world.CLUSTER, worlds[name].state) == []
    assert len(invocations) == sum(1 for i in invocations if i["environment"].get("AWS_PROFILE") in clusters)
    assert [i["kubeconfig"]["path"] for i in invocations if i.get("kubeconfig")
            and os.path.exists(i["kubeconfig"]["path"])] == [], "temporary kubeconfigs left behind"
