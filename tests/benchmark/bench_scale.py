# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scale benchmark on the real local control plane (kwok plays the kubelets): rollout_status over N Deployments
of R pods each, against the per-Deployment way a user would write without this collection, on the same objects.

Run from the installed collection, with the test bed (tools/) on the import path (make bench does it):
    PYTHONPATH=<collection root>:tools python tests/benchmark/bench_scale.py [--sizes 100,1000,2000]
        [--replicas 5] [--sample 20] [--repeat 1] [--keep-cluster]

For each size it prints: the time to create the objects and have every pod Running (kube-controller-manager,
kube-scheduler and kwok doing it), then
  rollout_status   one module run over the namespace: wall time, API requests (the module's own count), peak
                   resident memory of the module process (ru_maxrss), Deployments judged complete;
  floor            the same four LISTs fetched and parsed with json.loads alone, in a process of its own: what
                   any client pays before judging anything (time, peak memory);
  per-Deployment   a GET of each Deployment and a LIST of its pods by its selector (what kubernetes.core.k8s_info
                   twice per Deployment asks the API), in one Python process: all N, timed;
  k8s_info loop    the same as Ansible tasks (kubernetes.core.k8s_info, loop over Deployments): timed on a sample
                   of --sample Deployments and scaled to N (it is linear by construction), marked "~".
Each size is measured --settle seconds (default 60) after its objects are ready, once the controllers are done
with them. With --repeat N, rollout_status and the floor run N times each, one after the other, and the table gives
the median of each (every run is printed as it ends, with the load average: on a busy machine the figures move).
The cluster is `<CLUSTEROPS_TEST_CLUSTER_PREFIX or bench>-scale` (1 control-plane node, enough workers for the pods),
stopped at the end (not with --keep-cluster: then stop it with CLUSTER_NAME=<name> tools/localcluster/down.sh).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from kubernetes import client, config
from testbed import kube

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TOOLS = os.path.join(ROOT, "tools", "localcluster")
NAMESPACE = "bench"
PODS_PER_NODE = 100

K8S_INFO_LOOP = """
- name: The per-Deployment way, in Ansible
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Read each Deployment
      kubernetes.core.k8s_info:
        kubeconfig: "{{ kubeconfig }}"
        kind: Deployment
        namespace: "{{ namespace }}"
        name: "{{ item }}"
      loop: "{{ names }}"
      register: deployments
    - name: Read each Deployment's pods
      kubernetes.core.k8s_info:
        kubeconfig: "{{ kubeconfig }}"
        kind: Pod
        namespace: "{{ namespace }}"
        label_selectors: ["app={{ item }}"]
      loop: "{{ names }}"
      register: pods
"""


def up(name, workers):
    env = dict(os.environ, CLUSTER_NAME=name, CONTROL_PLANE_NODES="1", WORKER_NODES=str(workers),
               CONTROLLER_API_QPS="400")
    env.pop("AUDIT_POLICY", None)
    proc = subprocess.run(["bash", os.path.join(TOOLS, "up.sh")], env=env, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit("local cluster %s did not start: %s" % (name, proc.stderr[-3000:]))
    return proc.stdout.strip().splitlines()[-1].split("=", 1)[1]


def deployment(index, replicas):
    name = "d-%05d" % index
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1"}],
                                           "terminationGracePeriodSeconds": 0}}}}


def create(api, start, stop, replicas):
    apps = client.AppsV1Api(api)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: apps.create_namespaced_deployment(NAMESPACE, deployment(i, replicas)),
                      range(start, stop)))


def wait_available(api, count, replicas, timeout=1800):
    apps = client.AppsV1Api(api)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = json.loads(apps.list_namespaced_deployment(NAMESPACE, _preload_content=False).data)["items"]
        ready = sum(1 for d in items if (d.get("status") or {}).get("availableReplicas") == replicas
                    and (d.get("status") or {}).get("updatedReplicas") == replicas)
        if ready == count:
            return
        time.sleep(2)
    raise SystemExit("timed out waiting for %d Deployments to be available" % count)


# Run first in each measured process: at its exit it writes its own peak resident memory (VmHWM, counted from its
# exec) to stderr. ru_maxrss from wait4 is not that: Linux carries the parent's peak over into the child at fork
# and exec, so a child smaller than this benchmark's own process would be reported at the benchmark's size.
PEAK_HOOK = """
import atexit as _atexit, sys as _sys
def _report_peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                _sys.stderr.write("\\nbench-peak-kib %s\\n" % line.split()[1])
_atexit.register(_report_peak)
"""
# The module run as ``python -m`` runs it, after PEAK_HOOK.
MODULE = PEAK_HOOK + """
import runpy
_sys.argv = _sys.argv[1:]
runpy.run_module(_sys.argv[0], run_name="__main__", alter_sys=True)
"""


def peak_rss_mib(argv):
    """Run ``argv`` (a process that runs PEAK_HOOK first) and return (stdout, seconds, peak RSS in MiB) of that
    process: its own report, else ru_maxrss from wait4 (no /proc)."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    status, usage = os.wait4(proc.pid, 0)[1:]
    seconds = time.monotonic() - started
    if status != 0:
        raise SystemExit("%s failed: %s" % (argv[:3], err.decode()[-2000:]))
    reported = [line.split()[1] for line in err.decode(errors="replace").splitlines()
                if line.startswith("bench-peak-kib ")]
    return out, seconds, (int(reported[-1]) if reported else usage.ru_maxrss) / 1024.0


def rollout_status(kubeconfig):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": {"kubeconfig": kubeconfig, "namespace": NAMESPACE}}, handle)
    try:
        out, seconds, mib = peak_rss_mib([sys.executable, "-c", MODULE,
                                          "ansible_collections.clusterops.kops_upgrade.plugins.modules.rollout_status",
                                          handle.name])
    finally:
        os.remove(handle.name)
    result = json.loads(out)
    complete = sum(1 for d in result["deployments"] if d.get("verdict") == "complete")
    return seconds, result.get("api_requests"), mib, complete


FLOOR = PEAK_HOOK + """
import json, sys
from kubernetes import client, config
api = config.new_client_from_config(config_file=sys.argv[1])
apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
items = 0
for call, args in ((apps.list_namespaced_deployment, (sys.argv[2],)), (apps.list_namespaced_replica_set, (sys.argv[2],)),
                   (core.list_namespaced_pod, (sys.argv[2],)), (core.list_node, ())):
    items += len(json.loads(call(*args, _preload_content=False).data)["items"])
print(items)
"""


def raw_floor(kubeconfig):
    """The floor under rollout_status: the same four LISTs (Deployments, ReplicaSets and Pods of the namespace,
    Nodes) fetched and parsed with json.loads alone, in a process of its own: (seconds, peak MiB)."""
    dummy, seconds, mib = peak_rss_mib([sys.executable, "-c", FLOOR, kubeconfig, NAMESPACE])
    return seconds, mib


def per_deployment(kubeconfig, names):
    """GET each Deployment and LIST its pods by selector: 2 requests per Deployment."""
    api = config.new_client_from_config(config_file=kubeconfig)
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    started = time.monotonic()
    for name in names:
        dep = json.loads(apps.read_namespaced_deployment(name, NAMESPACE, _preload_content=False).data)
        selector = ",".join("%s=%s" % kv for kv in dep["spec"]["selector"]["matchLabels"].items())
        core.list_namespaced_pod(NAMESPACE, label_selector=selector, _preload_content=False)
    return time.monotonic() - started, 2 * len(names)


def k8s_info_loop(kubeconfig, names, workdir):
    path = os.path.join(workdir, "k8s_info_loop.yml")
    with open(path, "w") as handle:
        handle.write(K8S_INFO_LOOP)
    env = dict(os.environ, ANSIBLE_HOME=os.path.join(workdir, "ansible-home"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_REMOTE_TMP=os.path.join(workdir, "rtmp"), ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "tmp"))
    started = time.monotonic()
    proc = subprocess.run(kube.ansible_playbook(path, "-e", json.dumps({"kubeconfig": kubeconfig,
                                                                        "namespace": NAMESPACE, "names": names})),
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit("k8s_info loop failed: %s" % proc.stdout[-2000:])
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,2000")
    parser.add_argument("--replicas", type=int, default=5)
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--settle", type=int, default=60,
                        help="seconds between the objects being ready and the first measurement (default 60)")
    parser.add_argument("--keep-cluster", action="store_true")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    name = "%s-scale" % os.environ.get("CLUSTEROPS_TEST_CLUSTER_PREFIX", "bench")
    workers = -(-sizes[-1] * args.replicas // PODS_PER_NODE) + 1
    started = time.monotonic()
    kubeconfig = up(name, workers)
    print("cluster %s: 1 control-plane + %d worker nodes (kwok) in %.0f s" % (
        name, workers, time.monotonic() - started), flush=True)
    api = config.new_client_from_config(config_file=kubeconfig)
    core = client.CoreV1Api(api)
    workdir = tempfile.mkdtemp(prefix="clusterops-bench-")
    rows = []
    try:
        try:
            core.delete_namespace(NAMESPACE)
            while True:
                core.read_namespace(NAMESPACE)
                time.sleep(1)
        except client.exceptions.ApiException:
            pass
        core.create_namespace({"metadata": {"name": NAMESPACE}})
        created = 0
        for size in sizes:
            started = time.monotonic()
            create(api, created, size, args.replicas)
            wait_available(api, size, args.replicas)
            created, setup = size, time.monotonic() - started
            # Right after the last Deployment becomes available, kube-controller-manager and kwok still work
            # through the new objects' status for about a minute (load average 4 on 2 cores at 2,000): measured
            # then, both rollout_status and the floor take up to 1.5 s longer and vary run to run.
            print("  %d Deployments ready (+%.0f s); letting the controllers settle for %d s (load average %.1f)" % (
                size, setup, args.settle, os.getloadavg()[0]), flush=True)
            time.sleep(args.settle)
            runs, floors = [], []
            for number in range(1, args.repeat + 1):
                runs.append(rollout_status(kubeconfig))
                floors.append(raw_floor(kubeconfig))
                print("  %d Deployments, run %d: rollout_status %.2f s, %.0f MiB, %s requests; floor %.2f s, %.0f MiB"
                      " (load average %.1f)" % (size, number, runs[-1][0], runs[-1][2], runs[-1][1], floors[-1][0],
                                                floors[-1][1], os.getloadavg()[0]), flush=True)
            seconds, mib = (statistics.median(one[i] for one in runs) for i in (0, 2))
            requests, complete = runs[-1][1], runs[-1][3]
            floor_seconds, floor_mib = (statistics.median(one[i] for one in floors) for i in (0, 1))
            names = ["d-%05d" % i for i in range(size)]
            loop_seconds, loop_requests = per_deployment(kubeconfig, names)
            sample = names[:: max(1, size // args.sample)][:args.sample]
            ansible_seconds = k8s_info_loop(kubeconfig, sample, workdir) * size / len(sample)
            row = (size, size * args.replicas, setup, seconds, requests, mib, complete, floor_seconds, floor_mib,
                   loop_seconds, loop_requests, loop_seconds / seconds, ansible_seconds, ansible_seconds / seconds)
            rows.append(row)
            print("  %d Deployments: rollout_status %.2f s (median)" % (size, seconds), flush=True)
    finally:
        if not args.keep_cluster:
            subprocess.run(["bash", os.path.join(TOOLS, "down.sh")], env=dict(os.environ, CLUSTER_NAME=name),
                           check=False)
    print()
    print("%7s %6s %8s | %8s %8s %8s %8s | %8s %9s | %10s %8s %6s | %12s %6s" % (
        "deploys", "pods", "setup s", "rs s", "requests", "peak MiB", "complete", "floor s", "floor MiB",
        "per-dep s", "requests", "ratio", "k8s_info s", "ratio"))
    for row in rows:
        print("%7d %6d %8.0f | %8.2f %8s %8.0f %8d | %8.2f %9.0f | %10.2f %8d %5.1fx | %11.0f~ %5.0fx" % row)


if __name__ == "__main__":
    main()
