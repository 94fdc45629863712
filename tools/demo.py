# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The main job, for a new user.

Without a cluster given: starts the local control plane, deploys aws-node-termination-handler as kOps 1.29 ships
it, predicts the deadlock (precheck playbook), rolls out the kOps 1.30 manifest the way kOps' channels tool does
(the real scheduler leaves the new pod Pending), runs the remediate playbook, shows before and after with timings,
and tears everything down.

With --kubeconfig (and optionally --context): runs the precheck and remediate playbooks against that cluster,
reproducing nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "cluster"))

import nthrepro  # noqa: E402  pylint: disable=wrong-import-position

LOCALCLUSTER = os.path.join(ROOT, "tools", "localcluster", "localcluster.py")
CACHE = os.environ.get("CLUSTEROPS_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "clusterops-kops-upgrade")
# ansible's state (temp files) in the cache, never ~/.ansible (make sets the same).
os.environ.setdefault("ANSIBLE_HOME", os.path.join(CACHE, "home", "ansible"))


def say(text):
    print("\n=== %s" % text, flush=True)


def playbook(name, kubeconfig, context=None, extra=None):
    argv = ["ansible-playbook", "clusterops.kops_upgrade.%s" % name, "-e", "k8s_kubeconfig=%s" % kubeconfig]
    if context:
        argv += ["-e", "k8s_context=%s" % context]
    for key, value in (extra or {}).items():
        argv += ["-e", "%s=%s" % (key, value)]
    print("$ " + " ".join(argv), flush=True)
    started = time.monotonic()
    proc = subprocess.run(argv, check=False)
    return proc.returncode, time.monotonic() - started


def diagnosis(kubeconfig, namespace, context=None):
    args = {"name": nthrepro.NTH, "namespace": namespace}
    if context:
        args["context"] = context
    result = nthrepro.run_module("clusterops.kops_upgrade.rollout_status", args, kubeconfig)
    if result["failed"]:
        raise SystemExit("rollout_status failed: %s" % result["msg"])
    return result["deployments"][0]


def show(d):
    print("verdict: %s%s" % (d["verdict"], " since %s" % d["stuck_since"] if d["stuck_since"] else ""))
    for rs in [d["current_replicaset"]] + d["old_replicasets"]:
        if not rs:
            continue
        role = "current" if rs is d["current_replicaset"] else "old"
        for pod in rs["pods"] or [{"name": "(no pods)", "phase": "", "node": None}]:
            print("  %-7s rs %-45s pod %-55s %-8s node=%s" % (role, rs["name"], pod["name"], pod["phase"],
                                                              pod.get("node")))
    for blocker in d["blockers"]:
        print("  blocker: %-14s %s node(s): %s" % (blocker["kind"], blocker["nodes"], blocker["reason"]))
    print("prediction: deadlock=%s: %s" % (d["prediction"]["deadlock"], d["prediction"]["reason"]))
    print("remedy: %s" % d["remedy"])


def on_local_cluster(keep):
    timings = {}
    started = time.monotonic()
    say("Starting the local control plane (etcd, kube-apiserver, controller-manager, scheduler; kwok kubelets)")
    up = subprocess.run([sys.executable, LOCALCLUSTER, "up", "--name", "demo"], capture_output=True, text=True,
                        check=False)
    sys.stderr.write(up.stderr)
    if up.returncode != 0:
        raise SystemExit("the local control plane did not start")
    kubeconfig = up.stdout.strip().splitlines()[-1].split("=", 1)[1]
    timings["cluster up"] = time.monotonic() - started
    try:
        api = nthrepro.api(kubeconfig)
        say("kOps 1.29's aws-node-termination-handler (v1.18.3, SQS mode, hostNetwork) on 1 control-plane node")
        nthrepro.deploy_nth(api, "kube-system", "v1.18.3")
        timings["NTH v1.18.3 available"] = nthrepro.wait_deployment(
            api, "kube-system", nthrepro.NTH, nthrepro.rollout_complete)[1]

        say("Before the upgrade: the precheck playbook predicts the deadlock")
        rc, seconds = playbook("precheck", kubeconfig)
        timings["precheck playbook"] = seconds
        if rc != 0:
            raise SystemExit("precheck playbook failed (rc %d)" % rc)

        say("kops update cluster --yes: protokube's channels applies kOps 1.30's NTH (v1.22.0) [simulated apply, "
            "real scheduler]")
        applied = time.monotonic()
        nthrepro.deploy_nth(api, "kube-system", "v1.22.0")
        nthrepro.wait_unschedulable(api, "kube-system")
        d = diagnosis(kubeconfig, "kube-system")
        while d["verdict"] != "stuck" and time.monotonic() - applied < 60:
            nthrepro.wait_deployment(api, "kube-system", nthrepro.NTH,
                                     lambda dep: dep.get("status", {}).get("observedGeneration")
                                     == dep["metadata"]["generation"])
            d = diagnosis(kubeconfig, "kube-system")
        timings["template change -> stuck verdict"] = time.monotonic() - applied
        show(d)
        if d["verdict"] != "stuck":
            raise SystemExit("expected the rollout to be stuck, got %s" % d["verdict"])

        say("The remediate playbook")
        rc, seconds = playbook("remediate", kubeconfig)
        timings["remediate playbook (incl. wait for rollout)"] = seconds
        if rc != 0:
            raise SystemExit("remediate playbook failed (rc %d)" % rc)

        say("After")
        after = diagnosis(kubeconfig, "kube-system")
        show(after)
        if after["verdict"] != "complete":
            raise SystemExit("expected the rollout to be complete, got %s" % after["verdict"])
    finally:
        if keep:
            print("\nKeeping the cluster: KUBECONFIG=%s (stop it with make cluster-down CLUSTER_NAME=demo)"
                  % kubeconfig)
        else:
            say("Tearing down")
            subprocess.run([sys.executable, LOCALCLUSTER, "down", "--name", "demo"], check=False)
    say("Timings")
    for step, seconds in timings.items():
        print("  %-48s %6.1fs" % (step, seconds))
    print("  %-48s %6.1fs" % ("total", time.monotonic() - started))


def on_given_cluster(kubeconfig, context):
    say("Diagnosis of kube-system/aws-node-termination-handler")
    show(diagnosis(kubeconfig, "kube-system", context))
    for name in ("precheck", "remediate"):
        say("The %s playbook" % name)
        rc, seconds = playbook(name, kubeconfig, context)
        print("(%s: rc %d, %.1fs)" % (name, rc, seconds))
        if rc != 0:
            raise SystemExit(rc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", default=os.environ.get("DEMO_KUBECONFIG") or None)
    parser.add_argument("--context", default=os.environ.get("DEMO_CONTEXT") or None)
    parser.add_argument("--keep", action="store_true", help="leave the local cluster running")
    args = parser.parse_args()
    if args.kubeconfig:
        on_given_cluster(os.path.expanduser(args.kubeconfig), args.context)
    else:
        on_local_cluster(args.keep)


if __name__ == "__main__":
    main()
