# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Measure the local control plane: cached start to all nodes Ready, template change to the scheduler's
Pending/Unschedulable verdict on the NTH surge pod, and deleting the old ReplicaSet to rollout complete.

    tools/localcluster/measure.sh [--starts 3] [--rounds 5] [--json]

Uses its own cluster (CLUSTER_NAME=measure-<pid>), stops it at the end. Needs the binaries (build.sh; the cold
build time is the `real` line of its log, not measured here)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import time
import uuid

from kubernetes import client

# The test bed package (tools/testbed); measure.sh puts tools/ on PYTHONPATH.
from testbed import kube
from testbed.local_cluster import CACHE

HERE = os.path.dirname(os.path.abspath(__file__))


def summary(values):
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "n": len(values)}


def run(script, env):
    return subprocess.run(["bash", os.path.join(HERE, script)], env=env, capture_output=True, text=True, check=True)


def main():
    """Time the local control plane on a cluster of its own (CLUSTER_NAME=measure-<pid>, 1 control-plane and 2
    worker nodes). ``--starts`` times: down.sh, then up.sh timed (cached binaries, new processes). Then ``--rounds``
    times, each in a new namespace (deleted after): the NTH deadlock reproduced (template change to the surge pod
    Unschedulable, and to its FailedScheduling event) and remedied by deleting the old ReplicaSet (to rollout
    complete). The cluster is stopped and its state directory removed at the end, also on failure. Prints the
    median, min and max of each measure with n, or JSON with ``--json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3, help="cold-process, cached-binary starts to time")
    parser.add_argument("--rounds", type=int, default=5, help="deadlock + remediation rounds to time")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    env = dict(os.environ, CLUSTER_NAME="measure-%d" % os.getpid(), CONTROL_PLANE_NODES="1", WORKER_NODES="2")
    results = {"starts": [], "verdict": [], "event": [], "remediation": []}
    try:
        for _start in range(args.starts):
            run("down.sh", env)
            started = time.monotonic()
            up = run("up.sh", env)
            results["starts"].append(time.monotonic() - started)
        kubeconfig = up.stdout.strip().splitlines()[-1].split("=", 1)[1]
        api = kube.api(kubeconfig)
        core = client.CoreV1Api(api)
        for index in range(args.rounds):
            namespace = "measure-" + uuid.uuid4().hex[:6]
            core.create_namespace({"metadata": {"name": namespace}})
            ports = (30000 + 2 * index, 30001 + 2 * index)
            stuck = kube.reproduce_deadlock(api, namespace, replicas=1, ports=ports)
            results["verdict"].append(stuck["seconds"]["template_change_to_unschedulable"])
            results["event"].append(stuck["seconds"]["template_change_to_failed_scheduling_event"])
            results["remediation"].append(kube.remediate_by_deleting_old_replicaset(api, namespace)["seconds"])
            core.delete_namespace(namespace)
    finally:
        run("down.sh", env)
        shutil.rmtree(os.path.join(CACHE, "clusters", env["CLUSTER_NAME"]), ignore_errors=True)
    report = {
        "cached_start_to_all_nodes_ready_seconds": summary(results["starts"]),
        "template_change_to_unschedulable_seconds": summary(results["verdict"]),
        "template_change_to_failed_scheduling_event_seconds": summary(results["event"]),
        "delete_old_replicaset_to_rollout_complete_seconds": summary(results["remediation"]),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print("%-52s median %6.2fs  min %6.2fs  max %6.2fs  (n=%d)" % (
                key, value["median"], value["min"], value["max"], value["n"]))


if __name__ == "__main__":
    main()
