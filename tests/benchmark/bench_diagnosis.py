# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the pure rollout diagnosis: how its time grows with the number of Deployments.

Run from the collection root inside ansible_collections/clusterops/kops_upgrade (make bench does it):
    python tests/benchmark/bench_diagnosis.py [--sizes 10,100,1000,3000]
Prints one line per size; the target is linear growth (time per Deployment roughly constant) and well under a
second for a thousand Deployments, so the module's cost is its five API calls, not its Python.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "unit", "plugins", "module_utils"))

from api_objects import (  # noqa: E402  pylint: disable=wrong-import-position
    deployment, failed_scheduling_event, node, nth_pod_template, replicaset, running_pod, unschedulable_pod)

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout import (  # noqa: E402
    diagnose_rollouts)

STUCK_MESSAGE = ("0/5 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, "
                 "4 node(s) didn't match Pod's node affinity/selector.")


def snapshot(count):
    nodes = [node("cp-0", control_plane=True)] + [node("worker-%d" % i) for i in range(4)]
    deployments, replicasets, pods, events = [], [], [], []
    for i in range(count):
        template = nth_pod_template()
        template["metadata"]["labels"] = {"app.kubernetes.io/name": "app-%d" % i,
                                          "app.kubernetes.io/instance": "app-%d" % i}
        dep = deployment(name="app-%d" % i, replicas=1, template=template,
                         status={"replicas": 2, "updatedReplicas": 1, "availableReplicas": 1})
        old = replicaset(dep, 1, "a%09d" % i, 1)
        new = replicaset(dep, 2, "b%09d" % i, 1, ready=0, available=0)
        pending = unschedulable_pod(new, "p", STUCK_MESSAGE)
        deployments.append(dep)
        replicasets += [old, new]
        pods += [running_pod(old, "r", "cp-0"), pending]
        events.append(failed_scheduling_event(pending, STUCK_MESSAGE, count=3))
    return deployments, replicasets, pods, events, nodes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,3000")
    args = parser.parse_args()
    print("%12s %10s %10s %14s %8s" % ("deployments", "objects", "seconds", "us/deployment", "stuck"))
    for size in [int(s) for s in args.sizes.split(",")]:
        snap = snapshot(size)
        objects = sum(len(x) for x in snap)
        start = time.perf_counter()
        results = diagnose_rollouts(*snap)
        seconds = time.perf_counter() - start
        stuck = sum(1 for r in results if r["verdict"] == "stuck")
        print("%12d %10d %10.3f %14.1f %8d" % (size, objects, seconds, seconds / size * 1e6, stuck))


if __name__ == "__main__":
    main()
