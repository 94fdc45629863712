# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real scheduler as the oracle for the ``stuck`` proof.

A seeded generator builds small clusters on the local control plane (kwok nodes with and without taints, labels
and capacity; DaemonSets holding host ports; Deployments with host ports, requests, anti-affinity, spread and
various strategies), rolls out a new template and diagnoses it with the collection's own code. Then it asks the
real scheduler:

- ``stuck``: remove exactly the pods the proof names and a pod of the new ReplicaSet that was not there before
  must land, after the removal, on the node the proof said it frees, and the step must have succeeded (no
  conflict). When the plan may act, the removal is the real remediation (the ``stale_replicasets`` module) under
  a pod watch that records the Deployment's Ready pods at every moment: never fewer than the plan's floor. When
  the availability guard holds the plan back, the module's own step is applied directly, to judge the proof;
- ``blocked``: remove *every* old pod of the Deployment; the new pod must still not schedule (else the proof
  missed a fix it could have made).

The generator covers what issue 17 found missing: pod affinity with two terms (peers matching one term each, or
one peer matching both), a higher-priority pending pod (preemptionPolicy Never), a pod of another owner held
Terminating by a finalizer, a node whose kubelet stops reporting (kwok stops managing it, its Ready condition goes
Unknown), host ports on sidecar and on regular init containers, hostIP, hostname spread with matchLabelKeys
and minDomains, and an old pod with an in-place resize pending (pods/resize, up or down) before the rollout.

``ORACLE_CASES`` (default 12) and ``ORACLE_SEED`` choose the run; ``make oracle`` runs a larger one. The summary
table is printed at the end (pytest -s shows it; it is also in the assertion message on failure).
"""

from __future__ import annotations

import os
import random
import time
import uuid

import pytest
from kubernetes import client, watch

from testbed import workloads
from testbed.kube import rollout_complete, run_module

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout_api import RolloutApi

APP = "app"
DS_PORT, APP_PORT = 31000, 31001
STRATEGIES = {
    "default-25%": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
    "surge1-unavail0": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
    "surge0-unavail1": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
    "surge50%-unavail0": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 0}},
    "recreate": {"type": "Recreate"},
}
MUTATIONS = ("cpu", "ds_port", "app_port", "rack_selector", "rack_spread", "affinity_nowhere", "anti_affinity",
             "drop_toleration", "hostname_spread", "affinity_split", "affinity_joint", "sidecar_port", "init_port",
             "host_ip", "spread_match_label_keys", "spread_min_domains")
PRIORITY_CLASS = "clusterops-oracle-high"


STRATEGY_WEIGHTS = (("default-25%", 3), ("surge1-unavail0", 3), ("surge50%-unavail0", 1),
                    ("surge0-unavail1", 1), ("recreate", 1))


def generate(rng, pool):
    """One random case: nodes, an optional DaemonSet, a Deployment's old template (feasible by construction:
    it tolerates every pool taint and asks for no more than the smallest node can hold) and its new one."""
    nodes, cpus = [], []
    for index in range(1, rng.choice((1, 2, 2, 3)) + 1):
        labels = {"rack": "r%d" % (index % 2)} if rng.random() < 0.7 else {}
        taints = [{"key": "dedicated", "value": "yes", "effect": "NoSchedule"}] if rng.random() < 0.25 else []
        cpus.append(rng.choice((2, 4)))
        nodes.append(workloads.pool_node(pool, index, cpu=str(cpus[-1]), labels=labels, taints=taints,
                                         zone="z%d" % (index % 2)))
    tolerate_dedicated = [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]
    daemonset = rng.random() < 0.35
    old = {"cpu": rng.choice(("100m", "500m", "1")), "ports": rng.random() < 0.4,
           "anti": rng.random() < 0.3, "spread": rng.random() < 0.3, "tolerate": True,
           "host_ip": rng.choice((None, None, "10.0.0.1"))}
    milli = {"100m": 100, "500m": 500, "1": 1000}[old["cpu"]]
    per_node = 1 if (old["ports"] or old["anti"] or old["spread"]) else (
        (min(cpus) * 1000 - (100 if daemonset else 0)) // milli)
    new = dict(old)
    chosen = rng.sample(MUTATIONS, rng.choice((1, 1, 2)))
    for mutation in chosen:
        if mutation == "cpu":
            new["cpu"] = rng.choice(("100m", "1", "1500m", "3", "5"))
        elif mutation == "ds_port":
            new["ds_port"] = True
        elif mutation == "app_port":
            new["ports"] = True
        elif mutation == "rack_selector":
            new["rack"] = rng.choice(("r0", "r1"))
        elif mutation == "rack_spread":
            new["rack_spread"] = True
        elif mutation == "affinity_nowhere":
            new["affinity_nowhere"] = True
        elif mutation == "anti_affinity":
            new["anti"] = True
        elif mutation == "drop_toleration":
            new["tolerate"] = False
        elif mutation == "hostname_spread":
            new["spread"] = True
        elif mutation in ("affinity_split", "affinity_joint"):
            new["affinity_terms"] = True
        elif mutation in ("sidecar_port", "init_port"):
            new["ports"], new["port_in"] = True, "sidecar" if mutation == "sidecar_port" else "init"
        elif mutation == "host_ip":
            new["ports"], new["host_ip"] = True, rng.choice((None, "10.0.0.1", "10.0.0.2"))
        elif mutation == "spread_match_label_keys":
            new["spread"], new["spread_keys"] = True, True
        elif mutation == "spread_min_domains":
            new["spread"], new["min_domains"] = True, len(nodes) + 1
    peers = []
    if "affinity_split" in chosen:
        peers = [{"tier": "a"}, {"role": "b"}]
    elif "affinity_joint" in chosen:
        peers = [{"tier": "a", "role": "b"}]
    peers = [(labels, rng.randint(1, len(nodes))) for labels in peers]
    strategy = rng.choice([name for name, weight in STRATEGY_WEIGHTS for _copy in range(weight)])
    return {
        "nodes": nodes, "daemonset": daemonset, "replicas": rng.randint(1, max(1, min(3, len(nodes) * per_node))),
        "strategy": strategy, "old": old, "new": new, "mutations": chosen, "tolerations": tolerate_dedicated,
        "peers": peers,
        # Pods the new one competes with or waits for, and a node that is lost after the old revision runs.
        "rival": rng.choice(("1", "3")) if rng.random() < 0.2 else None,
        "victim": (rng.choice(("500m", "1", "1500m")), rng.randint(1, len(nodes))) if rng.random() < 0.2 else None,
        "lost_node": rng.randint(1, len(nodes)) if rng.random() < 0.12 else None,
        # An old pod resized in place (pods/resize) to another CPU request once it runs.
        "resize": rng.choice(("100m", "500m", "1", "1500m")) if rng.random() < 0.3 else None,
    }


def template_spec(pool, params, tolerations, memory):
    ports = [{"containerPort": APP_PORT, "hostPort": APP_PORT, "protocol": "TCP"}] if params["ports"] else []
    if ports and params.get("host_ip"):
        ports[0]["hostIP"] = params["host_ip"]
    init = []
    if ports and params.get("port_in"):
        init = [{"name": "side", "image": "registry.invalid/side:1", "ports": ports,
                 "resources": {"requests": {"cpu": "10m"}}}]
        if params["port_in"] == "sidecar":
            init[0]["restartPolicy"] = "Always"
        ports = []
    if params.get("ds_port"):
        ports.append({"containerPort": DS_PORT, "hostPort": DS_PORT, "protocol": "TCP"})
    extra = {}
    if params["tolerate"]:
        extra["tolerations"] = tolerations
    affinity = {}
    if params["anti"]:
        affinity["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": APP}}}]}
    if params.get("affinity_terms"):
        affinity["podAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"tier": "a"}}},
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"role": "b"}}}]}
    if params.get("affinity_nowhere"):
        affinity["podAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "nowhere"}}}]}
    if affinity:
        extra["affinity"] = affinity
    spread = []
    if params["spread"]:
        spread.append({"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
                       "labelSelector": {"matchLabels": {"app": APP}}})
        if params.get("spread_keys"):
            spread[-1]["matchLabelKeys"] = ["pod-template-hash"]
        if params.get("min_domains"):
            spread[-1]["minDomains"] = params["min_domains"]
    if params.get("rack_spread"):
        spread.append({"maxSkew": 1, "topologyKey": "rack", "whenUnsatisfiable": "DoNotSchedule",
                       "labelSelector": {"matchLabels": {"app": APP}}})
    if spread:
        extra["topologySpreadConstraints"] = spread
    spec = workloads.pod_spec(pool, cpu=params["cpu"], memory=memory, ports=ports, extra=extra)
    if params.get("rack"):
        spec["nodeSelector"] = dict(spec["nodeSelector"], rack=params["rack"])
    if init:
        spec["initContainers"] = init
    return spec


def side_pod(pool, name, labels, node_index, tolerations, cpu="10m", priority_class=None, finalizers=None):
    """A pod of no owner in the case's namespace: a pod-affinity peer, a rival or a victim."""
    spec = workloads.pod_spec(pool, cpu=cpu, extra={"tolerations": tolerations})
    if node_index:
        spec["nodeSelector"] = dict(spec["nodeSelector"], **{"kubernetes.io/hostname": "%s-n%d" % (pool, node_index)})
    if priority_class:
        spec["priorityClassName"] = priority_class
    metadata = {"name": name, "labels": dict(labels, side=name)}
    if finalizers:
        metadata["finalizers"] = finalizers
    return {"metadata": metadata, "spec": spec}


def pods_of(api_client, namespace, template_hash):
    core = client.CoreV1Api(api_client)
    return core.list_namespaced_pod(namespace, label_selector="app=%s,pod-template-hash=%s" % (APP, template_hash)).items


def wait_for(predicate, timeout, namespace, api_client):
    """Watch the namespace's pods until ``predicate()`` holds or ``timeout`` passes (re-checked on each event)."""
    core = client.CoreV1Api(api_client)
    deadline = time.monotonic() + timeout
    if predicate():
        return True
    while time.monotonic() < deadline:
        for _event in watch.Watch().stream(core.list_namespaced_pod, namespace,
                                           timeout_seconds=max(1, int(deadline - time.monotonic()))):
            if predicate():
                return True
            if time.monotonic() >= deadline:
                break
    return predicate()


def run_case(cluster, rng, index):
    pool = "o%s" % uuid.uuid4().hex[:6]
    namespace = "oracle-%s" % pool
    core = client.CoreV1Api(cluster.api)
    apps = client.AppsV1Api(cluster.api)
    case = generate(rng, pool)
    record = {"case": index, "nodes": len(case["nodes"]), "daemonset": case["daemonset"],
              "replicas": case["replicas"], "strategy": case["strategy"], "mutations": case["mutations"]}
    nodes = workloads.Pool(cluster.api, pool)
    core.create_namespace({"metadata": {"name": namespace}})
    try:
        nodes.add(*case["nodes"])
        if case["daemonset"]:
            ds_spec = workloads.pod_spec(pool, cpu="100m", ports=[{"containerPort": DS_PORT, "hostPort": DS_PORT}],
                                         extra={"tolerations": case["tolerations"]})
            workloads.create_daemonset(cluster.api, namespace, "ds", ds_spec)
            workloads.wait_daemonset_ready(cluster.api, namespace, "ds", timeout=30,
                                           nodes=len(case["nodes"]))
        old_spec = template_spec(pool, case["old"], case["tolerations"], "64Mi")
        workloads.create_deployment(cluster.api, namespace, APP, old_spec, replicas=case["replicas"],
                                    strategy=STRATEGIES[case["strategy"]])
        api = RolloutApi(cluster.api)

        def complete():
            return rollout_complete(cluster.api.sanitize_for_serialization(
                apps.read_namespaced_deployment(APP, namespace)))

        if not wait_for(complete, 20, namespace, cluster.api):
            old = api.diagnose(namespace, APP)[0]
            pods = (old["current_replicaset"] or {}).get("pods", [])
            record["outcome"] = "discarded: the old revision never became available (%s; %s)" % (
                old["verdict"], "; ".join("%s %s" % (p["phase"], (p.get("scheduler") or {}).get("message"))
                                          for p in pods if p["phase"] != "Running")[:300])
            return record
        record["extras"] = add_side_pods(cluster.api, namespace, pool, case)
        workloads.roll_out(cluster.api, namespace, APP, template_spec(pool, case["new"], case["tolerations"],
                                                                      "65Mi"))

        def settled():
            diagnosis = api.diagnose(namespace, APP)[0]
            if diagnosis["verdict"] in ("complete", "stuck", "blocked"):
                return True
            current = diagnosis["current_replicaset"] or {}
            return any(p.get("scheduler", {}).get("reason") == "Unschedulable" for p in current.get("pods", []))

        wait_for(settled, 20, namespace, cluster.api)
        diagnosis = api.diagnose(namespace, APP)[0]
        record["verdict"] = diagnosis["verdict"]
        record["why"] = diagnosis["why"]
        if diagnosis["verdict"] == "stuck":
            record.update(judge_stuck(cluster, api, namespace, diagnosis))
        elif diagnosis["verdict"] == "blocked":
            record.update(judge_blocked(cluster, api, namespace, diagnosis))
        else:
            record["outcome"] = "no claim (%s)" % diagnosis["verdict"]
        return record
    finally:
        if case.get("victim"):
            try:
                core.patch_namespaced_pod("victim", namespace, {"metadata": {"finalizers": None}})
            except client.ApiException as exc:
                if exc.status != 404:
                    raise
        core.delete_namespace(namespace)
        nodes.delete()


def add_side_pods(api_client, namespace, pool, case):
    """Peers, a rival, a victim and a lost node, once the old revision runs; returns their words for the table."""
    core = client.CoreV1Api(api_client)
    words = []
    for index, (labels, node_index) in enumerate(case["peers"]):
        core.create_namespaced_pod(namespace, side_pod(pool, "peer-%d" % index, labels, node_index,
                                                       case["tolerations"]))
        words.append("peer%s@n%d" % ("+".join(sorted(labels)), node_index))
    if case["rival"]:
        core.create_namespaced_pod(namespace, side_pod(pool, "rival", {}, None, case["tolerations"],
                                                       cpu=case["rival"], priority_class=PRIORITY_CLASS))
        words.append("rival(%s cpu)" % case["rival"])
    if case["victim"]:
        cpu, node_index = case["victim"]
        core.create_namespaced_pod(namespace, side_pod(pool, "victim", {}, node_index, case["tolerations"], cpu=cpu,
                                                       finalizers=["clusterops.test/hold"]))
        wait_for(lambda: bool(core.read_namespaced_pod("victim", namespace).spec.node_name) or
                 _unschedulable(core.read_namespaced_pod("victim", namespace)), 20, namespace, api_client)
        core.delete_namespaced_pod("victim", namespace)
        words.append("victim(%s cpu)@n%d" % (cpu, node_index))
    if case["resize"]:
        # In-place resize through the pods/resize subresource (InPlacePodVerticalScaling, on by default since
        # Kubernetes 1.33), as `kubectl patch --subresource resize` does: the first old pod's CPU request changes
        # without a new pod. The API server accepts a resize only of a pod whose kubelet reports its containers'
        # resources, which kwok does not: the test reports them first, as a kubelet would (the request the pod
        # runs with). kwok never applies the resize, so it stays pending: spec and status differ, and the
        # scheduler reserves the larger of the two (1.33+), up or down.
        old_pods = sorted((p for p in core.list_namespaced_pod(namespace, label_selector="app=%s" % APP).items
                           if p.spec.node_name and not p.metadata.deletion_timestamp and p.status.container_statuses),
                          key=lambda p: p.metadata.name)
        if old_pods:
            pod = old_pods[0]
            running = pod.spec.containers[0].resources.requests["cpu"]
            wanted = case["resize"] if case["resize"] != running else ("1" if running != "1" else "100m")
            statuses = api_client.sanitize_for_serialization(pod.status.container_statuses)
            for status in statuses:
                status["resources"] = {"requests": {"cpu": running}}
            core.patch_namespaced_pod_status(pod.metadata.name, namespace, {"status": {"containerStatuses": statuses}})
            core.patch_namespaced_pod_resize(pod.metadata.name, namespace, {"spec": {"containers": [
                {"name": "app", "resources": {"requests": {"cpu": wanted}}}]}})
            words.append("resize of %s pending: %s -> %s cpu" % (pod.metadata.name[-5:], running, wanted))
    if case["lost_node"]:
        lost = "%s-n%d" % (pool, case["lost_node"])
        workloads.lose_node(api_client, lost)
        words.append("lost n%d" % case["lost_node"])
    for index in range(len(case["peers"])):
        wait_for(lambda: _placed_or_refused(core.read_namespaced_pod("peer-%d" % index, namespace)), 20, namespace,
                 api_client)
    return words


def _unschedulable(pod):
    return any(c.type == "PodScheduled" and c.status == "False" for c in pod.status.conditions or [])


def _placed_or_refused(pod):
    return _unschedulable(pod) or any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def judge_stuck(cluster, api, namespace, diagnosis):
    """Remove exactly what the proof names; a new pod that was not there before must land on the node it frees,
    after the step, and the step must have succeeded. When the plan may act, the removal is the real remediation
    (the module) under a pod watch: the Deployment's Ready pods never fall below the plan's floor."""
    plan = dict(diagnosis["plan"])
    template_hash = diagnosis["current_replicaset"]["pod_template_hash"]
    free_node = diagnosis["proof"]["free_node"]
    there_before = set(p.metadata.name for p in pods_of(cluster.api, namespace, template_hash)
                       if p.spec.node_name == free_node)

    def landed():
        return any(p.spec.node_name == free_node and not p.metadata.deletion_timestamp
                   and p.metadata.name not in there_before
                   for p in pods_of(cluster.api, namespace, template_hash))

    verdict = {"claim": "stuck: removing %s frees %s" % (", ".join(plan["pods"]), free_node), "floor": None}
    if plan["act"]:
        with workloads.ReadyWatcher(cluster.api, namespace, "app=%s" % APP) as watcher:
            result = run_module("clusterops.kops_upgrade.stale_replicasets", {"name": APP, "namespace": namespace},
                                cluster.kubeconfig)
            ok = wait_for(landed, 30, namespace, cluster.api)
        removed = sorted(p for step in result.get("steps") or [] for p in step["pods"])
        step_ok = not result.get("failed") and removed == sorted(plan["pods"]) and not result.get("conflicts")
        verdict["floor"] = "min Ready %s, floor %d, removed by %s" % (
            watcher.minimum, plan["min_available"], ", ".join(sorted(set(
                step.get("removed_by") or "?" for step in result.get("steps") or []))) or "nothing")
        if watcher.error is not None or (removed and watcher.minimum < plan["min_available"]):
            verdict.update(floor_break=True, floor="%s: %s" % (verdict["floor"], watcher.error or
                                                               watcher.history[-6:]))
        detail = "module removed %s, conflicts %s, msg %s" % (removed, result.get("conflicts"), result.get("msg"))
    else:
        outcome = api.apply_step(namespace, plan, "scale_down")
        ok = wait_for(landed, 30, namespace, cluster.api)
        step_ok = not outcome["conflicts"] and sorted(p for rs in outcome["replicasets"] for p in rs["pods"]) == \
            sorted(plan["pods"])
        detail = "step %s, conflicts %s" % (outcome["replicasets"], outcome["conflicts"])
    outcome_words = []
    if not ok:
        outcome_words.append("FALSE STUCK: no new pod landed on %s after the removal" % free_node)
    if not step_ok:
        verdict["step_failed"] = True
        outcome_words.append("STEP DID NOT SUCCEED: %s" % detail[:300])
    if verdict.get("floor_break"):
        outcome_words.append("FLOOR BREAK")
    if outcome_words:
        outcome_words.append("(%s)" % diagnosis["why"])
    verdict.update(agrees=ok, outcome="; ".join(outcome_words) or (
        "agrees (remediated)" if plan["act"] else "agrees (step applied; the guard held the plan)"))
    return verdict


def judge_blocked(cluster, api, namespace, diagnosis):
    """Remove every old pod of the Deployment; the new pod must still not schedule."""
    apps = client.AppsV1Api(cluster.api)
    template_hash = diagnosis["current_replicaset"]["pod_template_hash"]
    scheduled_before = set(p.metadata.name for p in pods_of(cluster.api, namespace, template_hash)
                           if p.spec.node_name)
    for rs in diagnosis["old_replicasets"]:
        apps.patch_namespaced_replica_set(rs["name"], namespace, {"spec": {"replicas": 0}})

    replicas = diagnosis["replicas"]["desired"]
    # A rollout whose new template cannot fit its replicas (issue 17, finding 13): removing every old pod lets
    # some new pods in, never all of them.
    never_all = "cannot fit its" in diagnosis["why"]

    def scheduled():
        placed = [p for p in pods_of(cluster.api, namespace, template_hash)
                  if p.spec.node_name and not p.metadata.deletion_timestamp]
        if never_all:
            return len(placed) >= replicas
        return any(p.metadata.name not in scheduled_before for p in placed)

    # Longer than the scheduler's largest backoff (10 s), so a retry after the deletions has happened.
    helped = wait_for(scheduled, 20 if never_all else 15, namespace, cluster.api)
    unproven = diagnosis["why"].startswith("not proven")
    if never_all and not helped:
        return {"claim": "blocked (cannot finish)", "agrees": True,
                "outcome": "agrees (never all %d replicas)" % replicas}
    if not helped:
        return {"claim": "blocked", "agrees": True, "outcome": "agrees"}
    if unproven:
        return {"claim": "blocked (not proven)", "agrees": True,
                "outcome": "conservative: not proven, but removing every old pod helped"}
    return {"claim": "blocked", "agrees": False,
            "outcome": "FALSE BLOCKED: removing every old pod let the new pod schedule (%s)" % diagnosis["why"]}


@pytest.fixture
def high_priority(local_cluster):
    """The rivals' PriorityClass: above the Deployments' 0, and never preempting (so a rival waits for room)."""
    scheduling = client.SchedulingV1Api(local_cluster.api)
    try:
        scheduling.create_priority_class({"metadata": {"name": PRIORITY_CLASS}, "value": 1000,
                                          "preemptionPolicy": "Never"})
    except client.ApiException as exc:
        if exc.status != 409:
            raise
    yield PRIORITY_CLASS
    scheduling.delete_priority_class(PRIORITY_CLASS)


def test_the_real_scheduler_agrees_with_every_stuck_and_blocked_verdict(local_cluster, high_priority):
    cases = int(os.environ.get("ORACLE_CASES", "12"))
    seed = int(os.environ.get("ORACLE_SEED", "20261129"))
    rng = random.Random(seed)
    records = [run_case(local_cluster, rng, index) for index in range(cases)]
    lines = ["oracle: seed %d, %d cases" % (seed, cases)]
    for r in records:
        lines.append("  #%-3d nodes %d ds %-5s replicas %d %-17s %-34s %-30s -> %-11s %s%s" % (
            r["case"], r["nodes"], r["daemonset"], r["replicas"], r["strategy"], ",".join(r["mutations"]),
            ",".join(r.get("extras") or []) or "-", r.get("verdict", "-"), r["outcome"],
            " [%s]" % r["floor"] if r.get("floor") else ""))
    counts = {}
    for r in records:
        key = r.get("verdict", "discarded")
        counts[key] = counts.get(key, 0) + 1
    false_stuck = [r for r in records if r.get("verdict") == "stuck" and not r["agrees"]]
    false_blocked = [r for r in records if r.get("verdict") == "blocked" and not r["agrees"]]
    floor_breaks = [r for r in records if r.get("floor_break")]
    failed_steps = [r for r in records if r.get("step_failed")]
    lines.append("verdicts: %s; false stuck: %d; false blocked: %d; floor breaks: %d; failed steps: %d" % (
        ", ".join("%s %d" % item for item in sorted(counts.items())), len(false_stuck), len(false_blocked),
        len(floor_breaks), len(failed_steps)))
    report = "\n".join(lines)
    print(report)
    with open(os.path.join(os.environ.get("ORACLE_REPORT_DIR", "/tmp"), "clusterops-oracle-report.txt"), "w") as out:
        out.write(report + "\n")
    assert not false_stuck, report
    assert not false_blocked, report
    assert not floor_breaks, report
    assert not failed_steps, report
    judged = sum(1 for r in records if r.get("verdict") in ("stuck", "blocked"))
    assert judged >= max(1, cases // 3), "too few cases reached a verdict the oracle can judge:\n" + report
