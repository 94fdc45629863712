# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Never make it worse, on the real control plane: rollouts that removing old pods cannot fix are ``blocked`` and
left untouched (ReplicaSets and pods keep their UIDs and replica counts); rollouts that it can fix lose exactly
the pods the proof names, one freed slot at a time, without dropping below the availability they promise."""

from __future__ import annotations


import pytest
from kubernetes import client

from testbed import workloads
from testbed.workloads import APP, remediate, single_app, status_of
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout_api import RolloutApi
from testbed.kube import (NTH, deploy_nth, replicasets_by_revision, rollout_complete, run_module, running_and_ready,
                          wait_deployment, wait_pod, wait_unschedulable)


@pytest.fixture
def pool(local_cluster, namespace):
    yield from workloads.private_pool(local_cluster.api, "p")


def assert_blocked_and_untouched(cluster, namespace, kind):
    before = workloads.footprint(cluster.api, namespace)
    diagnosis = status_of(cluster, namespace)
    assert diagnosis["verdict"] == "blocked", (diagnosis["verdict"], diagnosis["why"])
    assert kind in [b["kind"] for b in diagnosis["blockers"]], diagnosis["blockers"]
    assert diagnosis["proof"]["scheduler_agrees"] is True, diagnosis["proof"]["comparison"]
    assert "Do not delete anything" in diagnosis["remedy"]
    result = remediate(cluster, namespace)
    assert result["failed"] is False and result["changed"] is False and result["removed"] == [], result
    assert result["verdict"] == "blocked"
    assert workloads.footprint(cluster.api, namespace) == before


def test_cpu_beyond_every_node_is_blocked_and_nothing_is_touched(local_cluster, namespace, pool):
    pool.add(workloads.pool_node(pool.name, 1), workloads.pool_node(pool.name, 2))
    single_app(local_cluster, namespace, pool, workloads.pod_spec(pool.name, cpu="100m"))
    workloads.roll_out(local_cluster.api, namespace, APP, workloads.pod_spec(pool.name, cpu="6"))
    workloads.wait_new_pod_unschedulable(local_cluster.api, namespace, APP)
    assert_blocked_and_untouched(local_cluster, namespace, "resources")


def test_host_port_held_by_a_daemonset_on_every_node_is_blocked(local_cluster, namespace, pool):
    pool.add(workloads.pool_node(pool.name, 1), workloads.pool_node(pool.name, 2))
    port = [{"containerPort": 9100, "hostPort": 9100, "protocol": "TCP"}]
    workloads.create_daemonset(local_cluster.api, namespace, "exporter",
                               workloads.pod_spec(pool.name, cpu="10m", ports=port))
    workloads.wait_daemonset_ready(local_cluster.api, namespace, "exporter", nodes=2)
    single_app(local_cluster, namespace, pool, workloads.pod_spec(pool.name))
    workloads.roll_out(local_cluster.api, namespace, APP, workloads.pod_spec(pool.name, ports=port))
    workloads.wait_new_pod_unschedulable(local_cluster.api, namespace, APP)
    assert_blocked_and_untouched(local_cluster, namespace, "host_ports")


def test_required_pod_affinity_to_a_peer_that_runs_nowhere_is_blocked(local_cluster, namespace, pool):
    pool.add(workloads.pool_node(pool.name, 1))
    single_app(local_cluster, namespace, pool, workloads.pod_spec(pool.name))
    affinity = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "cache"}}}]}}
    workloads.roll_out(local_cluster.api, namespace, APP, workloads.pod_spec(pool.name, extra={"affinity": affinity}))
    workloads.wait_new_pod_unschedulable(local_cluster.api, namespace, APP)
    assert_blocked_and_untouched(local_cluster, namespace, "pod_affinity")


def test_spread_over_a_label_no_node_has_is_blocked(local_cluster, namespace, pool):
    pool.add(workloads.pool_node(pool.name, 1))
    single_app(local_cluster, namespace, pool, workloads.pod_spec(pool.name))
    spread = [{"maxSkew": 1, "topologyKey": "example.com/rack", "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": APP}}}]
    workloads.roll_out(local_cluster.api, namespace, APP,
                       workloads.pod_spec(pool.name, extra={"topologySpreadConstraints": spread}))
    workloads.wait_new_pod_unschedulable(local_cluster.api, namespace, APP)
    assert_blocked_and_untouched(local_cluster, namespace, "topology_spread_label")


def test_cpu_held_by_the_old_pod_is_stuck_and_exactly_that_pod_goes(local_cluster, namespace, pool):
    pool.add(workloads.pool_node(pool.name, 1, cpu="4"))
    single_app(local_cluster, namespace, pool, workloads.pod_spec(pool.name, cpu="3"))
    old_pods = set(name for name, _uid in workloads.footprint(local_cluster.api, namespace)["pods"])
    workloads.roll_out(local_cluster.api, namespace, APP, workloads.pod_spec(pool.name, cpu="3", memory="65Mi"))
    workloads.wait_new_pod_unschedulable(local_cluster.api, namespace, APP)
    diagnosis = status_of(local_cluster, namespace)
    assert diagnosis["verdict"] == "stuck", diagnosis["why"]
    assert diagnosis["plan"]["pods"] == sorted(old_pods) and diagnosis["plan"]["act"] is True
    result = remediate(local_cluster, namespace, wait=True, wait_timeout=60)
    assert result["failed"] is False, result.get("msg")
    assert [p for step in result["steps"] for p in step["pods"]] == sorted(old_pods), (result["steps"],
                                                                                       result["conflicts"])
    assert result["conflicts"] == []
    assert result["rollout"]["complete"] is True
    replicasets = replicasets_by_revision(local_cluster.api, namespace, APP)
    assert [rs["spec"]["replicas"] for rs in replicasets] == [0, 1]  # the old one kept as rollback history


def test_pdb_allowing_no_disruption_holds_the_remediation(local_cluster, namespace, host_ports):
    deploy_nth(local_cluster.api, namespace, "v1.18.3", liveness_port=host_ports[0], metrics_port=host_ports[1])
    wait_deployment(local_cluster.api, namespace, NTH, rollout_complete)
    client.PolicyV1Api(local_cluster.api).create_namespaced_pod_disruption_budget(namespace, {
        "metadata": {"name": "strict"},
        "spec": {"maxUnavailable": 0,
                 "selector": {"matchLabels": {"app.kubernetes.io/name": NTH}}}})
    deploy_nth(local_cluster.api, namespace, "v1.22.0", liveness_port=host_ports[0], metrics_port=host_ports[1])
    wait_unschedulable(local_cluster.api, namespace)
    wait_deployment(local_cluster.api, namespace, NTH,
                    lambda d: d.get("status", {}).get("observedGeneration") == d["metadata"]["generation"] == 2)
    before = workloads.footprint(local_cluster.api, namespace)
    diagnosis = status_of(local_cluster, namespace, NTH)
    assert diagnosis["verdict"] == "stuck"
    assert diagnosis["plan"]["act"] is False and "PodDisruptionBudget strict" in diagnosis["plan"]["reason"]
    result = remediate(local_cluster, namespace, NTH)
    assert result["changed"] is False and result["removed"] == []
    assert workloads.footprint(local_cluster.api, namespace) == before


def test_old_replicaset_already_at_zero_is_never_a_target(local_cluster, namespace, pool):
    pool.add(workloads.pool_node(pool.name, 1))
    port = [{"containerPort": 9200, "hostPort": 9200, "protocol": "TCP"}]
    spare = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    single_app(local_cluster, namespace, pool, workloads.pod_spec(pool.name, ports=port), strategy=spare)
    workloads.roll_out(local_cluster.api, namespace, APP, workloads.pod_spec(pool.name, ports=port, memory="65Mi"))
    wait_deployment(local_cluster.api, namespace, APP, lambda d: d["metadata"]["generation"] >= 2 and
                    rollout_complete(d))
    apps = client.AppsV1Api(local_cluster.api)
    apps.patch_namespaced_deployment(APP, namespace, {"spec": {
        "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {"spec": workloads.pod_spec(pool.name, ports=port, memory="66Mi")}}})
    workloads.wait_new_pod_unschedulable(local_cluster.api, namespace, APP)
    history = replicasets_by_revision(local_cluster.api, namespace, APP)[0]
    assert history["spec"]["replicas"] == 0
    diagnosis = status_of(local_cluster, namespace)
    assert diagnosis["verdict"] == "stuck", diagnosis["why"]
    assert history["metadata"]["name"] not in [s["name"] for s in diagnosis["plan"]["replicasets"]]
    result = remediate(local_cluster, namespace, wait=True, wait_timeout=60)
    assert result["rollout"]["complete"] is True
    assert history["metadata"]["name"] not in [r["name"] for r in result["removed"]]
    names = [rs["metadata"]["name"] for rs in replicasets_by_revision(local_cluster.api, namespace, APP)]
    assert history["metadata"]["name"] in names


def test_recreate_rollout_is_never_stuck(local_cluster, namespace, pool):
    """A Recreate rollout removes its old pods itself. Asserted where a wrong verdict could show: the old pod is
    gone and the new pod is Pending (another workload holds the CPU it needs, and the port the old pod used is
    free again). Removing old pods cannot help there (none is left): never stuck, nothing touched; once the other
    workload goes, the rollout completes on its own."""
    pool.add(workloads.pool_node(pool.name, 1, cpu="4"))
    port = [{"containerPort": 9300, "hostPort": 9300, "protocol": "TCP"}]
    workloads.create_deployment(local_cluster.api, namespace, "hog", workloads.pod_spec(pool.name, cpu="2"),
                                labels={"app": "hog"})
    wait_deployment(local_cluster.api, namespace, "hog", rollout_complete)
    single_app(local_cluster, namespace, pool, workloads.pod_spec(pool.name, cpu="1", ports=port),
               strategy={"type": "Recreate"})
    old_pods = set(name for name, _uid in workloads.footprint(local_cluster.api, namespace)["pods"]
                   if name.startswith(APP + "-"))
    old_hash = replicasets_by_revision(local_cluster.api, namespace, APP)[-1]["metadata"]["labels"]["pod-template-hash"]
    workloads.roll_out(local_cluster.api, namespace, APP, workloads.pod_spec(pool.name, cpu="3", ports=port))
    # Not wait_new_pod_unschedulable: a Recreate Deployment keeps its old revision until the old pods are gone.
    pending = wait_unschedulable(local_cluster.api, namespace, selector="app=%s,pod-template-hash!=%s" % (
        APP, old_hash))[0]
    before = workloads.footprint(local_cluster.api, namespace)
    # The state where a wrong verdict could appear: old pod gone, new pod waiting for the scheduler.
    names = set(name for name, _uid in before["pods"])
    assert not names & old_pods and pending["metadata"]["name"] in names, (old_pods, before)
    diagnosis = status_of(local_cluster, namespace)
    assert diagnosis["verdict"] != "stuck", (diagnosis["verdict"], diagnosis["why"])
    result = remediate(local_cluster, namespace)
    assert result["failed"] is False and result["changed"] is False and result["removed"] == [], result
    assert result["verdict"] != "stuck", result["reason"]
    assert workloads.footprint(local_cluster.api, namespace) == before
    client.AppsV1Api(local_cluster.api).delete_namespaced_deployment("hog", namespace)
    wait_deployment(local_cluster.api, namespace, APP, lambda d: d["metadata"]["generation"] >= 2 and
                    rollout_complete(d))


def test_nth_on_two_control_planes_keeps_a_ready_pod_at_every_moment(two_cp_cluster, two_cp_namespace, host_ports):
    api, namespace = two_cp_cluster.api, two_cp_namespace
    deploy_nth(api, namespace, "v1.18.3", replicas=2, liveness_port=host_ports[0], metrics_port=host_ports[1])
    wait_deployment(api, namespace, NTH, rollout_complete)
    deploy_nth(api, namespace, "v1.22.0", replicas=2, liveness_port=host_ports[0], metrics_port=host_ports[1])
    wait_unschedulable(api, namespace)
    wait_deployment(api, namespace, NTH,
                    lambda d: d.get("status", {}).get("observedGeneration") == d["metadata"]["generation"] == 2)
    diagnosis = status_of(two_cp_cluster, namespace, NTH)
    assert diagnosis["verdict"] == "stuck", diagnosis["why"]
    assert len(diagnosis["plan"]["pods"]) == 1 and diagnosis["plan"]["min_available"] == 1
    with workloads.ReadyWatcher(api, namespace, "app.kubernetes.io/name=%s" % NTH) as watcher:
        result = remediate(two_cp_cluster, namespace, NTH, wait=True, wait_timeout=120)
        wait_deployment(api, namespace, NTH, rollout_complete)
    assert result["failed"] is False, result.get("msg")
    assert result["rollout"]["complete"] is True
    assert len(result["steps"]) == 2, result["steps"]
    assert all(len(step["pods"]) == 1 for step in result["steps"])
    assert watcher.error is None, watcher.error
    assert watcher.minimum >= 1, watcher.history
    assert any(kind == "DELETED" for _t, kind, _name, _count in watcher.history)  # it saw the removals
    old = replicasets_by_revision(api, namespace)[0]
    assert old["spec"]["replicas"] == 0  # kept for rollback


def workload_status(cluster, namespace, kind, name):
    result = run_module("clusterops.kops_upgrade.rollout_status",
                        {"name": name, "namespace": namespace, "kinds": [kind]}, cluster.kubeconfig)
    assert result["failed"] is False, result.get("msg")
    return result


def test_surge_daemonset_held_by_its_own_old_pod_is_stuck(local_cluster, namespace, pool):
    pool.add(workloads.pool_node(pool.name, 1))
    port = [{"containerPort": 9400, "hostPort": 9400, "protocol": "TCP"}]
    workloads.create_daemonset(local_cluster.api, namespace, "agent",
                               workloads.pod_spec(pool.name, cpu="10m", ports=port))
    workloads.wait_daemonset_ready(local_cluster.api, namespace, "agent")
    client.AppsV1Api(local_cluster.api).patch_namespaced_daemon_set("agent", namespace, {"spec": {
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {"spec": workloads.pod_spec(pool.name, cpu="10m", memory="65Mi", ports=port)}}})
    wait_unschedulable(local_cluster.api, namespace, selector="app=agent")
    before = workloads.footprint(local_cluster.api, namespace)
    result = workload_status(local_cluster, namespace, "DaemonSet", "agent")
    diagnosis = result["daemonsets"][0]
    assert diagnosis["verdict"] == "stuck", diagnosis["why"]
    assert diagnosis["proof"]["scheduler_agrees"] is True, diagnosis["proof"]["comparison"]
    assert result["workloads_stuck"] == ["DaemonSet/%s/agent" % namespace]
    assert "does not delete DaemonSet pods itself" in diagnosis["remedy"]
    assert workloads.footprint(local_cluster.api, namespace) == before
    # The real controller confirms the proof: with the named old pod gone, the new pod runs on the node.
    old = diagnosis["proof"]["remove_pods"][0]["name"]
    client.CoreV1Api(local_cluster.api).delete_namespaced_pod(old, namespace)
    workloads.wait_daemonset_ready(local_cluster.api, namespace, "agent")


def db_outgrowing_its_node(api_client, namespace, pool):
    """A StatefulSet ``db`` of one pod (1 CPU) Running and Ready on a pool node of its own, whose template then
    asks for 8 CPUs, more than the node has. Returns the pod of the first revision."""
    pool.add(workloads.pool_node(pool.name, 1))
    labels = {"app": "db"}
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_stateful_set(namespace, {
        "metadata": {"name": "db", "labels": labels},
        "spec": {"replicas": 1, "serviceName": "db", "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": workloads.pod_spec(pool.name, cpu="1")}}})
    old = wait_pod(api_client, namespace, running_and_ready, selector="app=db")[0]
    apps.patch_namespaced_stateful_set("db", namespace, {"spec": {"template": {
        "spec": workloads.pod_spec(pool.name, cpu="8")}}})
    return old


def test_statefulset_that_no_node_can_hold_is_blocked(local_cluster, namespace, pool):
    db_outgrowing_its_node(local_cluster.api, namespace, pool)
    wait_unschedulable(local_cluster.api, namespace, selector="app=db")
    before = workloads.footprint(local_cluster.api, namespace)
    diagnosis = workload_status(local_cluster, namespace, "StatefulSet", "db")["statefulsets"][0]
    assert diagnosis["verdict"] == "blocked", (diagnosis["verdict"], diagnosis["why"])
    assert "resources" in [b["kind"] for b in diagnosis["blockers"]]
    assert workloads.footprint(local_cluster.api, namespace) == before


def test_a_footprint_waits_for_the_statefulset_controller(local_cluster, namespace, pool):
    """A footprint taken right after a template change is the one the StatefulSet controller settles on (db-0
    replaced, of the new revision), not a moment of the replacement (the old db-0, or no db-0 at all): the
    footprint of test_statefulset_that_no_node_can_hold_is_blocked once read pods [] before the module ran and
    db-0 after it, with nothing touched."""
    old = db_outgrowing_its_node(local_cluster.api, namespace, pool)
    found = workloads.footprint(local_cluster.api, namespace)
    apps = client.AppsV1Api(local_cluster.api)
    update_revision = apps.read_namespaced_stateful_set("db", namespace).status.update_revision
    pods = client.CoreV1Api(local_cluster.api).list_namespaced_pod(namespace, label_selector="app=db").items
    assert [p.metadata.labels["controller-revision-hash"] for p in pods] == [update_revision]
    assert found["pods"] == [("db-0", pods[0].metadata.uid)] and pods[0].metadata.uid != old["metadata"]["uid"]


def test_all_stuck_acts_only_on_the_proven_stuck_deployments(local_cluster, namespace, pool):
    pool.add(workloads.pool_node(pool.name, 1))
    surge = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    for name, port in (("one", 9601), ("two", 9602), ("three", 9603)):
        ports = [{"containerPort": port, "hostPort": port, "protocol": "TCP"}]
        workloads.create_deployment(local_cluster.api, namespace, name, workloads.pod_spec(pool.name, ports=ports),
                                    strategy=surge)
        wait_deployment(local_cluster.api, namespace, name, rollout_complete)
        cpu = "8" if name == "three" else "100m"  # three: blocked (no node has 8 CPUs)
        workloads.roll_out(local_cluster.api, namespace, name,
                           workloads.pod_spec(pool.name, cpu=cpu, memory="65Mi", ports=ports))
        workloads.wait_new_pod_unschedulable(local_cluster.api, namespace, name)
    three_before = [rs for rs in workloads.footprint(local_cluster.api, namespace)["replicasets"]
                    if rs[0].startswith("three-")]
    result = run_module("clusterops.kops_upgrade.stale_replicasets",
                        {"all_stuck": True, "namespace": namespace, "wait": True, "wait_timeout": 60},
                        local_cluster.kubeconfig)
    assert result["failed"] is False, result.get("msg")
    assert result["deployments"] == ["%s/one" % namespace, "%s/two" % namespace]
    assert sorted(step["deployment"] for step in result["steps"]) == ["%s/one" % namespace, "%s/two" % namespace], (
        result["steps"], result["conflicts"], result["reason"])
    three_after = [rs for rs in workloads.footprint(local_cluster.api, namespace)["replicasets"]
                   if rs[0].startswith("three-")]
    assert three_after == three_before


@pytest.mark.parametrize("replicas, unavailable, expected", [(0, "25%", 0), (0, 1, 0), (2, 5, 2), (3, "100%", 3)])
def test_max_unavailable_is_clamped_to_replicas_as_the_api_serves_it(local_cluster, namespace, pool, replicas,
                                                                     unavailable, expected):
    pool.add(workloads.pool_node(pool.name, 1))
    workloads.create_deployment(local_cluster.api, namespace, APP, workloads.pod_spec(pool.name), replicas=replicas,
                                strategy={"type": "RollingUpdate",
                                          "rollingUpdate": {"maxSurge": 1, "maxUnavailable": unavailable}})
    wait_deployment(local_cluster.api, namespace, APP, rollout_complete)
    diagnosis = status_of(local_cluster, namespace)
    assert diagnosis["strategy"]["max_unavailable"] == expected
    assert diagnosis["verdict"] == "complete"
    assert diagnosis["prediction"]["deadlock"] is False


def stuck_single(cluster, namespace, pool, replicas=1):
    pool.add(workloads.pool_node(pool.name, 1))
    port = [{"containerPort": 9700, "hostPort": 9700, "protocol": "TCP"}]
    single_app(cluster, namespace, pool, workloads.pod_spec(pool.name, ports=port), replicas=replicas,
               strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    workloads.roll_out(cluster.api, namespace, APP, workloads.pod_spec(pool.name, ports=port, memory="65Mi"))
    workloads.wait_new_pod_unschedulable(cluster.api, namespace, APP)
    api = RolloutApi(cluster.api)
    diagnosis = api.diagnose(namespace, APP)[0]
    assert diagnosis["verdict"] == "stuck", diagnosis["why"]
    return api, diagnosis


def test_old_replicaset_scaled_down_by_the_controller_first_is_a_done_step(local_cluster, namespace, pool):
    """The deployment controller scaled the old ReplicaSet down between the diagnosis and the step: the step is
    done by the controller, the module deletes nothing and reports no conflict. (The same race between the module's
    pod deletion and its patch happens on every fast rollout here: the cpu test asserts it is no conflict.)"""
    api, diagnosis = stuck_single(local_cluster, namespace, pool)
    old = diagnosis["plan"]["replicasets"][0]
    client.AppsV1Api(local_cluster.api).patch_namespaced_replica_set(
        old["name"], namespace, {"spec": {"replicas": 0}})
    outcome = api.apply_step(namespace, diagnosis["plan"], "scale_down")
    assert outcome["conflicts"] == []
    assert [(rs["action"], rs["pods"]) for rs in outcome["replicasets"]] == [("already scaled down by another actor",
                                                                              [])]


def test_a_replicaset_replaced_since_the_read_is_left_alone_with_its_pods(local_cluster, namespace, pool):
    """The plan's ReplicaSet is no longer the object that was read (another uid): the JSON patch's test fails in
    the dry run that precedes any deletion, so no pod is deleted and the conflict is reported."""
    api, diagnosis = stuck_single(local_cluster, namespace, pool)
    plan = dict(diagnosis["plan"])
    stale_uid = "00000000-0000-0000-0000-000000000000"
    plan["replicasets"] = [dict(rs, uid=stale_uid) for rs in plan["replicasets"]]
    plan["pod_details"] = [dict(p, replicaset_uid=stale_uid) for p in plan["pod_details"]]
    before = workloads.footprint(local_cluster.api, namespace)
    outcome = api.apply_step(namespace, plan, "scale_down")
    assert outcome["replicasets"] == []
    assert [c["kind"] for c in outcome["conflicts"]] == ["ReplicaSet"]
    assert workloads.footprint(local_cluster.api, namespace) == before
