# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""stale_replicasets under faults, on the real control plane, each injected at the instant it matters by
tools/testbed/faults.py (a proxy that sees the module's first write, after its diagnosis):

- kube-apiserver killed between the diagnosis and the removal, and during ``wait``: a clear failure that says what
  was and was not done, nothing else removed, and a rerun finishes the job;
- the ReplicaSet or the Deployment changed between the read and the removal (scaled, template changed, deleted):
  the preconditions stop the write before any pod goes, the result says so, and no request is retried in a loop;
- two runs at once on the same Deployment, held at a barrier until both have diagnosed: one acts, the other says
  nothing is left to do, nothing is removed twice.

The stuck rollout is the smallest one: one pod on a private kwok node holding the CPU its new revision needs."""

from __future__ import annotations

import re
import threading
import time

import pytest
from kubernetes import client

from testbed import workloads
from testbed.faults import ApiServer, Interposer
from testbed.kube import replicasets_by_revision, rollout_complete, run_module, running_and_ready, wait_deployment, \
    wait_pod

APP = "api"


@pytest.fixture
def pool(fault_cluster, fault_namespace):
    yield from workloads.private_pool(fault_cluster.api, "f")


def stuck_on_cpu(cluster, namespace, pool, min_ready_seconds=0):
    """One replica holding 3 of its node's 4 CPUs; the new revision needs 3 too: stuck, the old pod is the fix."""
    pool.add(workloads.pool_node(pool.name, 1, cpu="4"))
    workloads.create_deployment(cluster.api, namespace, APP, workloads.pod_spec(pool.name, cpu="3"))
    wait_deployment(cluster.api, namespace, APP, rollout_complete)
    old_pod = client.CoreV1Api(cluster.api).list_namespaced_pod(namespace).items[0]
    apps = client.AppsV1Api(cluster.api)
    apps.patch_namespaced_deployment(APP, namespace, {"spec": {
        "minReadySeconds": min_ready_seconds,
        "template": {"spec": workloads.pod_spec(pool.name, cpu="3", memory="65Mi")}}})
    workloads.wait_new_pod_unschedulable(cluster.api, namespace, APP)
    diagnosis = run_module("clusterops.kops_upgrade.rollout_status", {"name": APP, "namespace": namespace},
                           cluster.kubeconfig)["deployments"][0]
    assert diagnosis["verdict"] == "stuck", diagnosis["why"]
    assert diagnosis["plan"]["pods"] == [old_pod.metadata.name]
    return old_pod


def remediate(kubeconfig, namespace, **extra):
    result = run_module("clusterops.kops_upgrade.stale_replicasets",
                        dict({"name": APP, "namespace": namespace}, **extra), kubeconfig)
    assert "Traceback" not in str(result), result
    return result


def old_replicaset(cluster, namespace):
    return replicasets_by_revision(cluster.api, namespace, APP)[0]


def pod_alive(cluster, namespace, pod):
    for current in client.CoreV1Api(cluster.api).list_namespaced_pod(namespace).items:
        if current.metadata.uid == pod.metadata.uid:
            return current.metadata.deletion_timestamp is None
    return False


def test_api_server_killed_between_diagnosis_and_removal(fault_cluster, fault_namespace, pool, tmp_path):
    """The API server dies at the module's first write: the run fails naming the request, nothing is removed,
    and once the server is back the rerun takes the step and completes the rollout."""
    namespace = fault_namespace
    old_pod = stuck_on_cpu(fault_cluster, namespace, pool)
    before = workloads.footprint(fault_cluster.api, namespace)
    server = ApiServer(fault_cluster)
    proxy = Interposer(fault_cluster, str(tmp_path))

    def crash(_method, _path):
        server.kill()
        proxy.close()
        return False

    proxy.on_write = crash
    try:
        with proxy:
            result = remediate(proxy.kubeconfig, namespace)
    finally:
        server.start()
    assert result["failed"] is True
    assert result["msg"].startswith("cannot reach the Kubernetes API to patch replicasets "), result["msg"]
    assert result["msg"].endswith("no remediation step had been completed"), result["msg"]
    assert result["changed"] is False and result["removed"] == []
    assert proxy.writes == [proxy.writes[0]] and proxy.writes[0][0] == "PATCH"  # the dry run, and nothing after
    assert workloads.footprint(fault_cluster.api, namespace) == before
    assert pod_alive(fault_cluster, namespace, old_pod)

    rerun = remediate(fault_cluster.kubeconfig, namespace, wait=True, wait_timeout=90)
    assert rerun["failed"] is False, rerun["msg"]
    assert rerun["changed"] is True and rerun["removed"][0]["pods"] == [old_pod.metadata.name]
    assert rerun["rollout"]["complete"] is True


def test_api_server_killed_during_the_wait(fault_cluster, fault_namespace, pool, tmp_path):
    """The step is taken, then the API server dies while the module follows the rollout (minReadySeconds keeps
    it from completing first): the failure keeps the step in the result and says it stands; nothing else is
    removed; back up, a rerun finds nothing to remove and the rollout completes."""
    namespace = fault_namespace
    old_pod = stuck_on_cpu(fault_cluster, namespace, pool, min_ready_seconds=15)
    server = ApiServer(fault_cluster)
    proxy = Interposer(fault_cluster, str(tmp_path))

    timers = []

    def crash_after_the_step(method, path):
        if method == "PATCH" and "dryRun" not in path:
            timers.append(threading.Timer(1.0, lambda: (server.kill(), proxy.close())))
            timers[0].start()
        return True

    proxy.on_write = crash_after_the_step
    try:
        with proxy:
            result = remediate(proxy.kubeconfig, namespace, wait=True, wait_timeout=90)
    finally:
        for timer in timers:
            timer.join()
        if server.argv is None:
            server.kill()
        server.start()
    assert result["failed"] is True, result
    assert result["msg"].startswith("cannot reach the Kubernetes API to "), result["msg"]
    assert "1 step(s) had been taken before it and stand" in result["msg"], result["msg"]
    assert result["changed"] is True
    assert [rs["pods"] for rs in result["removed"]] == [[old_pod.metadata.name]]
    # The writes: the ReplicaSet's dry run, the eviction's dry run, the ReplicaSet lowered (no budget here, so
    # its controller deletes the pod: no eviction, no replacement); nothing after the crash.
    assert [(method, "dryRun" in path) for method, path in proxy.writes] == [
        ("PATCH", True), ("POST", True), ("PATCH", False)], proxy.writes
    assert [step["removed_by"] for step in result["steps"]] == ["scale-down"]
    assert all(path.split("?")[0].endswith("/eviction") for method, path in proxy.writes if method == "POST")

    rerun = remediate(fault_cluster.kubeconfig, namespace, wait=True, wait_timeout=90)
    assert rerun["failed"] is False and rerun["changed"] is False, rerun
    assert rerun["verdict"] in ("progressing", "complete"), rerun["reason"]
    wait_deployment(fault_cluster.api, namespace, APP, rollout_complete, timeout=90)
    assert old_replicaset(fault_cluster, namespace)["spec"]["replicas"] == 0


def _orphaning_delete(delete, read, name, namespace):
    """Delete with propagation Orphan and wait until the object is really gone (the garbage collector removes
    the orphan finalizer once it has released the dependents)."""
    delete(name, namespace, propagation_policy="Orphan")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            read(name, namespace)
        except client.ApiException as exc:
            if exc.status == 404:
                return
            raise
        time.sleep(0.1)
    raise AssertionError("%s/%s still there 30s after its delete" % (namespace, name))


def _replace_replicaset(cluster, namespace):
    """Deleted (its pods orphaned) and created again under the same name: another object (uid)."""
    rs = old_replicaset(cluster, namespace)
    apps = client.AppsV1Api(cluster.api)
    _orphaning_delete(apps.delete_namespaced_replica_set, apps.read_namespaced_replica_set, rs["metadata"]["name"],
                      namespace)
    apps.create_namespaced_replica_set(namespace, {
        "metadata": {"name": rs["metadata"]["name"], "labels": rs["metadata"]["labels"],
                     "annotations": rs["metadata"]["annotations"]},
        "spec": rs["spec"]})


def _delete_replicaset(cluster, namespace):
    apps = client.AppsV1Api(cluster.api)
    _orphaning_delete(apps.delete_namespaced_replica_set, apps.read_namespaced_replica_set,
                      old_replicaset(cluster, namespace)["metadata"]["name"], namespace)


def _new_template(cluster, namespace):
    client.AppsV1Api(cluster.api).patch_namespaced_deployment(APP, namespace, {"spec": {"template": {
        "metadata": {"annotations": {"example.com/restarted": "yes"}}}}})


def _scale_deployment(cluster, namespace):
    client.AppsV1Api(cluster.api).patch_namespaced_deployment(APP, namespace, {"spec": {"replicas": 2}})


def _delete_deployment(cluster, namespace):
    apps = client.AppsV1Api(cluster.api)
    _orphaning_delete(apps.delete_namespaced_deployment, apps.read_namespaced_deployment, APP, namespace)


def remediate_changed_at_first_write(cluster, namespace, tmp_path, change, **extra):
    """stale_replicasets through the proxy, with ``change(cluster, namespace)`` made once, at its first write (after
    its reads) and before the API server sees that write. Returns the result and the proxy (its ``writes``)."""
    changed = []

    def change_first(_method, _path):
        if not changed:
            change(cluster, namespace)
            changed.append(True)
        return True

    with Interposer(cluster, str(tmp_path), on_write=change_first) as proxy:
        result = remediate(proxy.kubeconfig, namespace, **extra)
    return result, proxy


# A change of the Deployment's spec may reach the old ReplicaSet (the deployment controller scales it) before the
# module's dry run does: then the ReplicaSet's precondition stops the write, which is as good.
@pytest.mark.parametrize("change, kinds, words", [
    (_replace_replicaset, ["ReplicaSet"], "spec.replicas or uid changed since read"),
    (_delete_replicaset, ["ReplicaSet"], "deleted since it was read"),
    (_new_template, ["Deployment", "ReplicaSet"], "its spec changed since it was read"),
    (_scale_deployment, ["Deployment", "ReplicaSet"], "its spec changed since it was read"),
    (_delete_deployment, ["Deployment"], "deleted since it was read"),
], ids=["replicaset-replaced", "replicaset-deleted", "template-changed", "deployment-scaled", "deployment-deleted"])
def test_a_change_between_read_and_removal_stops_the_write(fault_cluster, fault_namespace, pool, tmp_path,
                                                           change, kinds, words):
    """The change lands between the module's reads and its first write: no pod of the plan is deleted, the
    conflict names the object and what changed, and the module makes one dry run and stops (no retry loop)."""
    namespace = fault_namespace
    old_pod = stuck_on_cpu(fault_cluster, namespace, pool)
    result, proxy = remediate_changed_at_first_write(fault_cluster, namespace, tmp_path, change)
    assert result["failed"] is False, result["msg"]
    assert result["changed"] is False and result["removed"] == [], result
    assert len(result["conflicts"]) == 1 and result["conflicts"][0]["kind"] in kinds, result["conflicts"]
    if result["conflicts"][0]["kind"] == kinds[0]:
        assert words in result["conflicts"][0]["message"], result["conflicts"][0]
    assert result["reason"].startswith("the objects changed since they were read, nothing was done"), result["reason"]
    assert [method for method, _path in proxy.writes] == ["PATCH"], proxy.writes  # the dry run only
    assert pod_alive(fault_cluster, namespace, old_pod)


def test_deployment_deleted_before_the_step_with_wait_fails_cleanly(fault_cluster, fault_namespace, pool, tmp_path):
    """With ``wait``, the Deployment deleted between the read and the first write: nothing is removed and the run
    fails with one sentence (it raised IndexError: the diagnosis after the conflict found no Deployment)."""
    namespace = fault_namespace
    old_pod = stuck_on_cpu(fault_cluster, namespace, pool)
    result, _proxy = remediate_changed_at_first_write(fault_cluster, namespace, tmp_path, _delete_deployment,
                                                      wait=True, wait_timeout=60)
    assert result["failed"] is True, result
    assert result["msg"] == "Deployment %s/%s was deleted since it was read; nothing was done" % (namespace, APP), \
        result["msg"]
    assert result["verdict"] == "gone" and result["changed"] is False and result["removed"] == [], result
    assert [c["kind"] for c in result["conflicts"]] in (["Deployment"], ["ReplicaSet"]), result["conflicts"]
    assert pod_alive(fault_cluster, namespace, old_pod)


def test_a_drain_taking_the_budget_first_makes_the_eviction_refused_and_nothing_removed(
        fault_cluster, fault_namespace, pool, tmp_path):
    """Two replicas on two nodes and a bystander pod on a third, under one PodDisruptionBudget (minAvailable 2 of
    the three) that allows one disruption; the plan may remove one old pod. Just before the module's eviction a
    drain evicts the bystander (as kops rolling-update would; nothing recreates it): the budget is spent, the API
    server refuses the module's eviction (429), the conflict names the budget, and no pod of the plan is evicted
    or deleted by any other means."""
    namespace = fault_namespace
    pool.add(workloads.pool_node(pool.name, 1, cpu="4"), workloads.pool_node(pool.name, 2, cpu="4"),
             workloads.pool_node(pool.name, 3, cpu="1"))
    budgeted = {"app": APP, "budget": "shared"}
    workloads.create_deployment(fault_cluster.api, namespace, APP, workloads.pod_spec(pool.name, cpu="3"),
                                replicas=2, labels=budgeted,
                                strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    wait_deployment(fault_cluster.api, namespace, APP, rollout_complete)
    policy, core = client.PolicyV1Api(fault_cluster.api), client.CoreV1Api(fault_cluster.api)
    core.create_namespaced_pod(namespace, {"metadata": {"name": "bystander", "labels": {"budget": "shared"}},
                                           "spec": workloads.pod_spec(pool.name, cpu="500m")})
    wait_pod(fault_cluster.api, namespace, running_and_ready, selector="budget=shared,!app")
    policy.create_namespaced_pod_disruption_budget(namespace, {
        "metadata": {"name": "two-of-three"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"budget": "shared"}}}})
    wait_pdb_allows(fault_cluster.api, namespace, "two-of-three", 1)
    old_pods = dict((p.metadata.name, p) for p in core.list_namespaced_pod(namespace, label_selector="app=%s" % APP
                                                                           ).items)
    client.AppsV1Api(fault_cluster.api).patch_namespaced_deployment(APP, namespace, {"spec": {"template": {
        "spec": workloads.pod_spec(pool.name, cpu="3", memory="65Mi")}}})
    workloads.wait_new_pod_unschedulable(fault_cluster.api, namespace, APP)
    diagnosis = run_module("clusterops.kops_upgrade.rollout_status", {"name": APP, "namespace": namespace},
                           fault_cluster.kubeconfig)["deployments"][0]
    assert diagnosis["verdict"] == "stuck" and diagnosis["plan"]["act"] is True, diagnosis["why"]
    planned = diagnosis["plan"]["pods"]
    assert len(planned) == 1 and planned[0] in old_pods, planned
    drained = []

    def drain_first(method, path):
        # Right before the module's first eviction request reaches the API server (its dry run).
        if method == "POST" and path.split("?")[0].endswith("/eviction") and not drained:
            core.create_namespaced_pod_eviction("bystander", namespace, {"metadata": {"name": "bystander",
                                                                                      "namespace": namespace}})
            drained.append("bystander")
        return True

    with Interposer(fault_cluster, str(tmp_path), on_write=drain_first) as proxy:
        result = remediate(proxy.kubeconfig, namespace)
    assert result["failed"] is False, result["msg"]
    assert drained == ["bystander"]
    assert result["changed"] is False and result["removed"] == [], (result["steps"], result["conflicts"])
    assert [(c["kind"], c["name"], c["budgets"]) for c in result["conflicts"]] == [
        ("Pod", planned[0], ["two-of-three"])], result["conflicts"]
    # "has 3" until the disruption controller has counted the drained pod out, "has 2" after.
    assert re.search(r"The disruption budget two-of-three needs 2 healthy pods and has [23] currently",
                     result["conflicts"][0]["message"]), result["conflicts"]
    assert "eviction was refused" in result["reason"] and "two-of-three" in result["reason"], result["reason"]
    # The ReplicaSet's dry run and the eviction's dry run, refused: nothing else, no DELETE ever.
    assert [(method, "dryRun" in path) for method, path in proxy.writes] == [("PATCH", True), ("POST", True)], \
        proxy.writes
    assert pod_alive(fault_cluster, namespace, old_pods[planned[0]])


def wait_pdb_allows(api_client, namespace, name, allowed, timeout=60):
    """Until the disruption controller has computed the budget (observed it and allows ``allowed``)."""
    policy = client.PolicyV1Api(api_client)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pdb = policy.read_namespaced_pod_disruption_budget(name, namespace)
        if (pdb.status and pdb.status.observed_generation == pdb.metadata.generation
                and pdb.status.disruptions_allowed == allowed):
            return
        time.sleep(0.1)
    raise AssertionError("PodDisruptionBudget %s/%s does not allow %d within %ss" % (
        namespace, name, allowed, timeout))


def test_a_replicaset_scaled_down_by_another_actor_is_a_step_done_not_a_change(
        fault_cluster, fault_namespace, pool, tmp_path):
    """Someone scales the old ReplicaSet to 0 between the read and the first write: the dry run's test fails, the
    module sees the ReplicaSet already at the planned count, deletes nothing and does not report a change."""
    namespace = fault_namespace
    stuck_on_cpu(fault_cluster, namespace, pool)
    name = old_replicaset(fault_cluster, namespace)["metadata"]["name"]

    def scale_to_zero(cluster, namespace):
        client.AppsV1Api(cluster.api).patch_namespaced_replica_set(name, namespace, {"spec": {"replicas": 0}})

    result, proxy = remediate_changed_at_first_write(fault_cluster, namespace, tmp_path, scale_to_zero)
    assert result["failed"] is False, result["msg"]
    assert result["changed"] is False and result["removed"] == [] and result["conflicts"] == [], result
    assert [(rs["name"], rs["action"], rs["pods"]) for step in result["steps"] for rs in step["replicasets"]] == [
        (name, "already scaled down by another actor", [])]
    assert [method for method, _path in proxy.writes] == ["PATCH"], proxy.writes
    wait_deployment(fault_cluster.api, namespace, APP, rollout_complete, timeout=90)


def test_two_runs_at_once_remove_once(fault_cluster, fault_namespace, pool, tmp_path):
    """Both runs diagnose, then meet at a barrier before their first write: one deletes the pod and scales its
    ReplicaSet, the other finds the pod gone and reports that nothing is left to do."""
    namespace = fault_namespace
    old_pod = stuck_on_cpu(fault_cluster, namespace, pool)
    barrier = threading.Barrier(2, timeout=60)

    def meet(method, path):
        if method == "PATCH" and "dryRun" in path:
            barrier.wait()
        return True

    results = [None, None]
    with Interposer(fault_cluster, str(tmp_path), on_write=meet) as proxy:
        def run(index):
            results[index] = remediate(proxy.kubeconfig, namespace)

        threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(180)
    assert all(r is not None for r in results), results
    assert all(r["failed"] is False for r in results), [r.get("msg") for r in results]
    acted = [r for r in results if r["changed"]]
    other = [r for r in results if not r["changed"]]
    assert len(acted) == 1 and len(other) == 1, [(r["changed"], r["conflicts"]) for r in results]
    assert [rs["pods"] for rs in acted[0]["removed"]] == [[old_pod.metadata.name]]
    conflicts = [c["kind"] for c in other[0]["conflicts"]]
    assert other[0]["removed"] == [] and conflicts in (["Pod"], ["ReplicaSet"]), other[0]
    assert "now: " in other[0]["reason"] and other[0]["verdict"] != "stuck", (other[0]["verdict"], other[0]["reason"])
    dry = sorted(method for method, path in proxy.writes if "dryRun" in path)
    real = sorted(method for method, path in proxy.writes if "dryRun" not in path)
    # Each run: the ReplicaSet's dry run and the eviction's (no budget here: the ReplicaSet is lowered first and
    # its controller deletes the pod). One lowering wins. The other run either finds the pod already going at its
    # eviction's dry run (a Pod conflict, no real write) or sends its own lowering, whose test of the replica
    # count fails (a ReplicaSet conflict): nothing twice.
    assert dry == ["PATCH", "PATCH", "POST", "POST"], proxy.writes
    assert real == (["PATCH"] if conflicts == ["Pod"] else ["PATCH", "PATCH"]), proxy.writes
    assert old_replicaset(fault_cluster, namespace)["spec"]["replicas"] == 0
    wait_deployment(fault_cluster.api, namespace, APP, rollout_complete, timeout=90)
