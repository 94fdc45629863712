# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the pure rollout diagnosis: how its time grows with the number of Deployments.

Run from the collection root inside ansible_collections/clusterops/kops_upgrade, the test bed (tools/) on the
import path for its API-object builders (make bench does it):
    PYTHONPATH=<collection root>:tools python tests/benchmark/bench_diagnosis.py [--sizes 100,1000,3000]
Prints one line per size: first a realistic mix (1 Deployment in 100 stuck, NTH-shaped, the rest complete), then
the worst case (every Deployment stuck, each proven node by node). The target is linear growth (time per
Deployment roughly constant) and well under a second for a thousand mostly healthy Deployments, so the module's
cost is its API calls, not its Python.
"""

from __future__ import annotations

import argparse
import time

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout import diagnose_rollouts
from testbed.api_objects import (
    deployment, failed_scheduling_event, node, nth_pod_template, replicaset, running_pod, unschedulable_pod)

WORKERS = 20


def stuck_message(nodes):
    return ("0/%d nodes are available: 1 node(s) didn't have free ports for the requested pod ports, "
            "%d node(s) didn't match Pod's node affinity/selector." % (nodes, nodes - 1))


def snapshot(count, stuck_every):
    """``count`` Deployments on one control-plane node and WORKERS workers: every ``stuck_every``-th one is an
    NTH-shaped rollout stuck on the control plane (its own host ports), the others complete on the workers."""
    nodes = [node("cp-0", control_plane=True)] + [node("worker-%d" % i) for i in range(WORKERS)]
    for n in nodes:
        n["status"]["allocatable"]["pods"] = str(count + 10)
    deployments, replicasets, pods, events = [], [], [], []
    for i in range(count):
        template = nth_pod_template()
        template["metadata"]["labels"] = {"app.kubernetes.io/name": "app-%d" % i,
                                          "app.kubernetes.io/instance": "app-%d" % i}
        for spread in template["spec"]["topologySpreadConstraints"]:
            spread["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] = "app-%d" % i
        ports = template["spec"]["containers"][0]["ports"]
        ports[0]["containerPort"] = ports[0]["hostPort"] = 20000 + 2 * i
        ports[1]["containerPort"] = ports[1]["hostPort"] = 20001 + 2 * i
        template["spec"]["containers"][0]["resources"]["requests"] = {"cpu": "1m", "memory": "1Mi"}
        if i % stuck_every:
            template["spec"]["affinity"] = {}
            dep = deployment(name="app-%d" % i, replicas=1, template=template,
                             status={"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1,
                                     "readyReplicas": 1})
            old = replicaset(dep, 1, "a%09d" % i, 0)
            new = replicaset(dep, 2, "b%09d" % i, 1)
            deployments.append(dep)
            replicasets += [old, new]
            pods.append(running_pod(new, "r", "worker-%d" % (i % WORKERS)))
            continue
        dep = deployment(name="app-%d" % i, replicas=1, template=template,
                         status={"replicas": 2, "updatedReplicas": 1, "availableReplicas": 1})
        old = replicaset(dep, 1, "a%09d" % i, 1)
        new = replicaset(dep, 2, "b%09d" % i, 1, ready=0, available=0)
        pending = unschedulable_pod(new, "p", stuck_message(len(nodes)))
        deployments.append(dep)
        replicasets += [old, new]
        pods += [running_pod(old, "r", "cp-0"), pending]
        events.append(failed_scheduling_event(pending, stuck_message(len(nodes)), count=3))
    return deployments, replicasets, pods, events, nodes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,3000")
    args = parser.parse_args()
    print("%12s %8s %10s %10s %14s %8s" % ("deployments", "stuck", "objects", "seconds", "us/deployment",
                                           "proven"))
    for stuck_every, sizes in ((100, args.sizes), (1, "10,100,1000")):
        for size in [int(s) for s in sizes.split(",")]:
            snap = snapshot(size, stuck_every)
            objects = sum(len(x) for x in snap)
            start = time.perf_counter()
            results = diagnose_rollouts(*snap)
            seconds = time.perf_counter() - start
            stuck = sum(1 for r in results if r["verdict"] == "stuck")
            wanted = len(range(0, size, stuck_every))
            row = (size, wanted, objects, seconds, seconds / size * 1e6, "%d/%d" % (stuck, wanted))
            print("%12d %8d %10d %10.3f %14.1f %8s" % row)
            if stuck != wanted:
                raise SystemExit("expected %d stuck verdicts, got %d" % (wanted, stuck))


if __name__ == "__main__":
    main()
