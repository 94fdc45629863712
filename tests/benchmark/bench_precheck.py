# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the upgrade precheck's pure checks (drain, webhooks, autoscalers, versions, DaemonSet prediction)
on synthetic clusters: how their time grows with nodes and pods.

Run from the collection root inside ansible_collections/clusterops/kops_upgrade, the test bed (tools/) on the
import path for its API-object builders (make bench does it):
    PYTHONPATH=<collection root>:tools python tests/benchmark/bench_precheck.py [--sizes 10,100,1000]
Each size N is N nodes with 30 pods each, N PodDisruptionBudgets (a third allowing no disruption), N DaemonSets
and 20 webhooks. Prints one line per size; the target is linear growth, so the module's cost is its API calls.
"""

from __future__ import annotations

import argparse
import time

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils import precheck
from testbed.api_objects import node


def cluster(size):
    nodes = [node("cp-0", control_plane=True)] + [node("worker-%d" % i) for i in range(size)]
    for n in nodes:
        n["status"]["nodeInfo"] = {"kubeletVersion": "v1.30.2"}
    pods, pdbs, daemonsets, configurations = [], [], [], []
    for i in range(size):
        namespace = "ns-%d" % (i % 50)
        pdbs.append({"metadata": {"name": "pdb-%d" % i, "namespace": namespace},
                     "spec": {"selector": {"matchLabels": {"app": "app-%d" % i}}},
                     "status": {"disruptionsAllowed": 0 if i % 3 == 0 else 1}})
        daemonsets.append({"metadata": {"name": "ds-%d" % i, "namespace": namespace},
                           "spec": {"updateStrategy": {"type": "RollingUpdate",
                                                       "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                                    "template": {"metadata": {"labels": {"app": "ds-%d" % i}}, "spec": {
                                        "hostNetwork": True, "tolerations": [{"operator": "Exists"}],
                                        "containers": [{"name": "c", "ports": [{"containerPort": 9000 + i}]}]}}},
                           "status": {"desiredNumberScheduled": size + 1}})
        for j in range(30):
            pods.append({"metadata": {"name": "p-%d-%d" % (i, j), "namespace": namespace,
                                      "labels": {"app": "app-%d" % ((i + j) % size)},
                                      "ownerReferences": [{"kind": "ReplicaSet", "controller": True}]},
                         "spec": {"nodeName": "worker-%d" % i, "containers": [{"name": "c"}],
                                  "volumes": [{"name": "tmp", "emptyDir": {}}] if j == 0 else []},
                         "status": {"phase": "Running"}})
    for i in range(20):
        configurations.append({"kind": "ValidatingWebhookConfiguration", "metadata": {"name": "hook-%d" % i},
                               "webhooks": [{"name": "h", "failurePolicy": "Fail",
                                             "rules": [{"apiGroups": [""], "operations": ["CREATE"],
                                                        "resources": ["pods"]}],
                                             "clientConfig": {"service": {"namespace": "x", "name": "s-%d" % i}}}]})
    return nodes, pods, pdbs, daemonsets, configurations


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    args = parser.parse_args()
    namespace = {"metadata": {"name": "kube-system"}}
    print("%8s %8s %10s %10s %14s" % ("nodes", "pods", "findings", "seconds", "us per pod"))
    for size in [int(s) for s in args.sizes.split(",")]:
        nodes, pods, pdbs, daemonsets, configurations = cluster(size)
        started = time.perf_counter()
        findings = precheck.check_versions("v1.30.2", "1.31.0", nodes, "1.31.0")
        findings += precheck.check_drain(nodes, pods, pdbs, "15m")
        findings += precheck.check_webhooks(configurations, [], namespace, pods)
        findings += precheck.check_autoscalers(precheck.find_autoscalers([]))
        findings += precheck.check_rollouts([], daemonsets, nodes)
        result = precheck.verdict(findings)
        seconds = time.perf_counter() - started
        print("%8d %8d %10d %10.3f %14.1f" % (len(nodes), len(pods), len(result["findings"]), seconds,
                                              seconds / len(pods) * 1e6))


if __name__ == "__main__":
    main()
