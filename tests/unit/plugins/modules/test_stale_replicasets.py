# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of stale_replicasets' remediation control loop (``remediate`` and ``_remediate``) on an in-memory
cluster: a fake API holding the objects as dicts, diagnosed by the real pure code (rollout.diagnose_rollouts),
changed by the step the way the Eviction API and the ReplicaSet patch would, and moved on between waits by a
small model of the scheduler and the deployment controller."""

from __future__ import annotations

import copy

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout import diagnose_rollouts
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.k8s_connection import ApiError
from ansible_collections.clusterops.kops_upgrade.plugins.modules.stale_replicasets import remediate

from testbed.api_objects import (
    deployment,
    failed_scheduling_event,
    node,
    replicaset,
    running_pod,
    unschedulable_pod,
)

NAMESPACE = "kube-system"
NAME = "aws-node-termination-handler"
OLD_RS = NAME + "-577f866468"
NEW_RS = NAME + "-6b7f9c8d5"
WAIT_SECONDS = 10  # how long each fake watch "takes" on the fake clock
REFUSAL = ("eviction refused by the API server (429): Cannot evict pod as it would violate the pod's disruption "
           "budget; left alone, never deleted without the budget's consent")


class FakeClock(object):
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _owner_uid(obj):
    return obj["metadata"]["ownerReferences"][0]["uid"]


def _ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def _scheduler_message(nodes, taken):
    """kube-scheduler's words for the new pod: occupied control-plane nodes (host ports), workers (affinity)."""
    workers = sum(1 for n in nodes if "node-role.kubernetes.io/control-plane" not in n["metadata"]["labels"])
    return ("0/%d nodes are available: %d node(s) didn't have free ports for the requested pod ports, %d node(s) "
            "didn't match Pod's node affinity/selector. preemption: 0/%d nodes are available: %d No preemption "
            "victims found for incoming pod, %d Preemption is not helpful for scheduling." % (
                len(nodes), taken, workers, len(nodes), taken, workers))


class FakeApi(object):
    """The three methods ``_remediate`` calls (diagnose, apply_step, wait_for_change), over dict API objects.

    ``refuse`` maps a pod name to the PodDisruptionBudgets that refuse its eviction (HTTP 429); ``on_apply`` runs
    before each step is applied (another actor changing the cluster between the read and the step); ``new_pods_ready``
    says whether a new pod the scheduler places becomes Ready; ``fail_wait`` makes the watch fail (API server gone).
    Every request that would change the cluster is recorded in ``writes`` (dry runs in ``dry_runs``)."""

    def __init__(self, control_planes=1, workers=2, clock=None, refuse=None, on_apply=None, new_pods_ready=True,
                 fail_wait=False):
        self.nodes = [node("cp-%d" % i, control_plane=True) for i in range(control_planes)]
        self.nodes += [node("worker-%d" % i) for i in range(workers)]
        replicas = control_planes
        # The kOps NTH incident: the old ReplicaSet's pods hold every control-plane node's host ports; the
        # surge pod of the new ReplicaSet waits for the scheduler.
        self.deployments = [deployment(replicas=replicas, status={})]
        old = replicaset(self.deployments[0], 1, "577f866468", replicas)
        new = replicaset(self.deployments[0], 2, "6b7f9c8d5", 1, ready=0, available=0)
        self.replicasets = [old, new]
        self.pods = [running_pod(old, "abc%d" % i, "cp-%d" % i) for i in range(control_planes)]
        self.events = []
        self.pods.append(self._pending(new, "mmlx7"))
        self._update_statuses()
        self.clock = clock or FakeClock()
        self.refuse = refuse or {}
        self.on_apply = on_apply
        self.new_pods_ready = new_pods_ready
        self.fail_wait = fail_wait
        self.calls = []
        self.writes = []
        self.dry_runs = []

    # --- what _remediate calls --------------------------------------------------------------------------

    def diagnose(self, namespace, name=None):
        self.calls.append("diagnose")
        deployments = [d for d in self.deployments if d["metadata"]["namespace"] == namespace
                       and (name is None or d["metadata"]["name"] == name)]
        return diagnose_rollouts(copy.deepcopy(deployments), copy.deepcopy(self.replicasets),
                                 copy.deepcopy(self.pods), copy.deepcopy(self.events), copy.deepcopy(self.nodes))

    def apply_step(self, namespace, plan, action, dry_run=False):
        """As RolloutApi.apply_step: the Deployment read first, every eviction checked before any pod goes
        (a refused one keeps them all), then the evictions and the ReplicaSets' patches."""
        self.calls.append("apply_step")
        if self.on_apply:
            self.on_apply(self)
        if not any(d["metadata"]["uid"] == plan["deployment"]["uid"] for d in self.deployments):
            return {"replicasets": [], "conflicts": [{"kind": "Deployment", "name": plan["deployment"]["name"],
                                                      "message": "deleted since it was read; no pod was evicted"}]}
        refused = [{"kind": "Pod", "name": pod["name"], "budgets": self.refuse[pod["name"]], "message": REFUSAL}
                   for pod in plan["pod_details"] if pod["name"] in self.refuse]
        if refused:
            return {"replicasets": [], "conflicts": refused}
        record = self.dry_runs if dry_run else self.writes
        done = []
        for step in plan["replicasets"]:
            for pod_name in step["pods"]:
                record.append(("evict", pod_name))
            after = step["replicas_before"] - len(step["pods"])
            record.append(("scale", step["name"], step["replicas_before"], after))
            entry = {"name": step["name"], "uid": step["uid"], "revision": step["revision"],
                     "replicas_before": step["replicas_before"], "replicas_after": after,
                     "pods": list(step["pods"]), "action": "scaled"}
            if action == "delete" and after == 0:
                record.append(("delete", step["name"]))
                entry["action"] = "deleted"
            done.append(entry)
            if not dry_run:
                self.pods = [p for p in self.pods if p["metadata"]["name"] not in step["pods"]]
                for rs in self.replicasets:
                    if rs["metadata"]["uid"] == step["uid"]:
                        rs["spec"]["replicas"] = after
                if entry["action"] == "deleted":
                    self.replicasets = [rs for rs in self.replicasets if rs["metadata"]["uid"] != step["uid"]]
        if not dry_run:
            self._update_statuses()
        return {"replicasets": done, "conflicts": []}

    def wait_for_change(self, namespace, name, remaining, diagnosis):
        """The watch: time passes on the fake clock, and the scheduler and the deployment controller act."""
        self.calls.append(("wait_for_change", remaining))
        assert len([c for c in self.calls if isinstance(c, tuple)]) <= 20, "the wait loop does not end"
        self.clock.now += WAIT_SECONDS
        if self.fail_wait:
            raise ApiError("cannot watch deployments %s/%s: connection refused" % (namespace, name))
        self._controllers()

    # --- the cluster's side -------------------------------------------------------------------------------

    def _pending(self, rs, suffix):
        message = _scheduler_message(self.nodes, sum(1 for n in self.nodes if self._taken(n)))
        pod = unschedulable_pod(rs, suffix, message)
        self.events.append(failed_scheduling_event(pod, message, count=3))
        return pod

    def _taken(self, candidate):
        return any(p["spec"].get("nodeName") == candidate["metadata"]["name"] for p in self.pods)

    def _schedule(self):
        for i, pod in enumerate(self.pods):
            if pod["spec"].get("nodeName"):
                continue
            free = [n for n in self.nodes
                    if "node-role.kubernetes.io/control-plane" in n["metadata"]["labels"] and not self._taken(n)]
            if free:
                rs = [r for r in self.replicasets if r["metadata"]["uid"] == _owner_uid(pod)][0]
                suffix = pod["metadata"]["name"][len(rs["metadata"]["name"]) + 1:]
                self.pods[i] = running_pod(rs, suffix, free[0]["metadata"]["name"], ready=self.new_pods_ready)
                self.events = [e for e in self.events if e["involvedObject"]["uid"] != pod["metadata"]["uid"]]

    def _controllers(self):
        """The scheduler places waiting pods on a free control-plane node; the deployment controller adds one new
        pod (surge 1) once every new pod is Ready; the statuses follow."""
        self._schedule()
        dep = self.deployments[0] if self.deployments else None
        new = [rs for rs in self.replicasets if rs["metadata"]["name"] == NEW_RS][0]
        new_pods = [p for p in self.pods if _owner_uid(p) == new["metadata"]["uid"]]
        if dep and new["spec"]["replicas"] < dep["spec"]["replicas"] and all(_ready(p) for p in new_pods) \
                and len(self.pods) < dep["spec"]["replicas"] + 1:
            new["spec"]["replicas"] += 1
            self.pods.append(self._pending(new, "n%d" % new["spec"]["replicas"]))
        self._update_statuses()

    def _update_statuses(self):
        for rs in self.replicasets:
            own = [p for p in self.pods if _owner_uid(p) == rs["metadata"]["uid"]]
            ready = sum(1 for p in own if p["spec"].get("nodeName") and _ready(p))
            rs["status"].update(replicas=len(own), readyReplicas=ready, availableReplicas=ready)
        for dep in self.deployments:
            new = [rs for rs in self.replicasets if rs["metadata"]["name"] == NEW_RS][0]
            ready = sum(rs["status"]["readyReplicas"] for rs in self.replicasets)
            dep["status"].update(replicas=len(self.pods), updatedReplicas=new["status"]["replicas"],
                                 readyReplicas=ready, availableReplicas=ready,
                                 unavailableReplicas=max(0, len(self.pods) - ready))

    def state(self):
        return copy.deepcopy((self.deployments, self.replicasets, self.pods, self.events))


def run(api, wait=False, check_mode=False, action="scale_down", wait_timeout=300):
    params = {"action": action, "wait": wait, "wait_timeout": wait_timeout}
    return remediate(api, NAMESPACE, NAME, params, check_mode, clock=api.clock)


def test_the_fake_cluster_starts_stuck_with_a_proven_step():
    # The scenarios below rest on this: the real diagnosis finds the NTH deadlock in the fake's objects.
    for control_planes, victim in ((1, OLD_RS + "-abc0"), (2, OLD_RS + "-abc0")):
        found = FakeApi(control_planes=control_planes).diagnose(NAMESPACE, NAME)
        assert [d["verdict"] for d in found] == ["stuck"], found[0]["why"]
        assert found[0]["plan"]["act"] is True, found[0]["plan"]["reason"]
        assert found[0]["plan"]["pods"] == [victim]


def test_one_step_without_wait_is_taken_once_and_not_followed():
    api = FakeApi()
    result, error = run(api)
    assert error is None
    assert result["verdict"] == "stuck"
    assert [(s["node"], s["pods"]) for s in result["steps"]] == [("cp-0", [OLD_RS + "-abc0"])]
    assert result["steps"][0]["replicasets"][0]["replicas_after"] == 0
    assert result["reason"].startswith("remove 1 old pod(s)")
    assert api.writes == [("evict", OLD_RS + "-abc0"), ("scale", OLD_RS, 1, 0)]
    assert api.calls == ["diagnose", "apply_step"]
    assert "rollout" not in result


def test_one_step_then_complete_with_wait():
    api = FakeApi()
    result, error = run(api, wait=True)
    assert error is None, error
    assert len(result["steps"]) == 1
    assert api.writes == [("evict", OLD_RS + "-abc0"), ("scale", OLD_RS, 1, 0)]
    assert api.calls == ["diagnose", "apply_step", ("wait_for_change", 300), "diagnose"]
    assert result["rollout"] == {"complete": True, "seconds": WAIT_SECONDS, "verdict": "complete", "steps": 1}
    # The verdict and diagnosis reported are the ones seen before acting.
    assert result["verdict"] == "stuck"
    assert result["deployment"]["verdict"] == "stuck"


def test_wait_takes_the_further_step_the_next_diagnosis_proves():
    api = FakeApi(control_planes=2)
    result, error = run(api, wait=True)
    assert error is None, error
    assert [(s["node"], s["pods"]) for s in result["steps"]] == [
        ("cp-0", [OLD_RS + "-abc0"]), ("cp-1", [OLD_RS + "-abc1"])]
    assert api.writes == [("evict", OLD_RS + "-abc0"), ("scale", OLD_RS, 2, 1),
                          ("evict", OLD_RS + "-abc1"), ("scale", OLD_RS, 1, 0)]
    assert api.calls == ["diagnose", "apply_step", ("wait_for_change", 300), "diagnose", "apply_step",
                         ("wait_for_change", 300 - WAIT_SECONDS), "diagnose"]
    assert result["rollout"] == {"complete": True, "seconds": 2 * WAIT_SECONDS, "verdict": "complete", "steps": 2}
    assert result["conflicts"] == []


def test_delete_action_deletes_the_replicaset_a_step_takes_to_zero():
    api = FakeApi()
    result, error = run(api, action="delete")
    assert error is None
    assert api.writes[-1] == ("delete", OLD_RS)
    assert result["steps"][0]["replicasets"][0]["action"] == "deleted"


def test_wait_times_out_on_the_fake_clock_with_the_verdict_it_still_sees():
    # The freed node takes the new pod, which never becomes Ready: the rollout stays progressing.
    api = FakeApi(new_pods_ready=False)
    result, error = run(api, wait=True, wait_timeout=25)
    assert error is not None
    assert error.startswith("rollout of kube-system/%s not complete after 25s: verdict progressing" % NAME), error
    assert len(result["steps"]) == 1
    # Each wait gets what is left of the timeout; none is started once it is spent.
    waits = [c[1] for c in api.calls if isinstance(c, tuple)]
    assert waits == [25, 25 - WAIT_SECONDS, 25 - 2 * WAIT_SECONDS]
    assert api.calls[-1] == "diagnose"
    assert "rollout" not in result


def test_zero_timeout_takes_the_step_and_does_not_wait():
    api = FakeApi()
    result, error = run(api, wait=True, wait_timeout=0)
    assert "not complete after 0s" in error
    assert len(result["steps"]) == 1
    assert api.calls == ["diagnose", "apply_step"]


def _delete_deployment(api):
    api.deployments = []


def test_deployment_deleted_between_read_and_step_with_wait_is_a_clear_error():
    api = FakeApi(on_apply=_delete_deployment)
    result, error = run(api, wait=True)
    assert error == "Deployment kube-system/%s was deleted since it was read; nothing was done" % NAME
    assert result["verdict"] == "gone"
    assert result["blockers"] == []
    assert result["steps"] == []
    assert [c["kind"] for c in result["conflicts"]] == ["Deployment"]
    assert api.writes == []
    assert api.calls == ["diagnose", "apply_step", "diagnose"]


def test_deployment_deleted_between_read_and_step_without_wait_says_it_is_gone():
    api = FakeApi(on_apply=_delete_deployment)
    result, error = run(api)
    assert error is None
    assert result["verdict"] == "gone"
    assert result["reason"] == ("the objects changed since they were read, nothing was done (see conflicts); "
                                "now: the Deployment is gone")
    assert api.writes == []


def test_refused_eviction_is_reported_and_nothing_is_removed_another_way():
    victim = OLD_RS + "-abc0"
    api = FakeApi(refuse={victim: ["nth-pdb"]})
    before = api.state()
    result, error = run(api)
    assert error is None
    assert result["steps"] == []
    assert result["conflicts"] == [{"kind": "Pod", "name": victim, "budgets": ["nth-pdb"], "message": REFUSAL}]
    assert result["verdict"] == "stuck"
    assert result["reason"].endswith("; the eviction was refused, so nothing was evicted: pod %s: %s" % (
        victim, REFUSAL)), result["reason"]
    # Nothing else was asked of the API: no delete of the pod, no patch of its ReplicaSet, no re-diagnosis.
    assert api.calls == ["diagnose", "apply_step"]
    assert api.writes == [] and api.dry_runs == []
    assert api.state() == before


def test_refused_eviction_with_wait_waits_for_the_budget_and_times_out_naming_it():
    """A budget's refusal is not the objects changing: the step is planned again after each wait (never at once,
    which the budget would refuse again), and the timeout says which budget kept the pod."""
    victim = OLD_RS + "-abc0"
    api = FakeApi(refuse={victim: ["nth-pdb"]})
    before = api.state()
    result, error = run(api, wait=True, wait_timeout=25)
    assert error.startswith("rollout of kube-system/%s not complete after 25s: verdict stuck" % NAME), error
    assert error.endswith("; the last step's eviction was refused: pod %s by nth-pdb" % victim), error
    assert "gave up" not in error
    waits = [c for c in api.calls if isinstance(c, tuple)]
    assert len(waits) == 3 and api.calls.count("apply_step") == 4  # once at the start, again after each wait
    assert result["steps"] == [] and api.writes == []
    assert api.state() == before


class BudgetFreedAfterAWait(FakeApi):
    """The budget refuses the eviction until the first wait (a pod elsewhere became ready meanwhile)."""

    def wait_for_change(self, namespace, name, remaining, diagnosis):
        self.refuse = {}
        return FakeApi.wait_for_change(self, namespace, name, remaining, diagnosis)


def test_refused_eviction_with_wait_is_taken_once_the_budget_allows_it():
    victim = OLD_RS + "-abc0"
    api = BudgetFreedAfterAWait(refuse={victim: ["nth-pdb"]})
    result, error = run(api, wait=True)
    assert error is None, error
    assert [c["name"] for c in result["conflicts"]] == [victim]
    assert [step["pods"] for step in result["steps"]] == [[victim]]
    assert result["rollout"]["complete"] is True
    assert api.writes[0] == ("evict", victim)


def test_check_mode_sends_only_the_first_step_as_dry_runs():
    api = FakeApi(control_planes=2)
    before = api.state()
    result, error = run(api, wait=True, check_mode=True)
    assert error is None
    assert api.writes == []
    assert api.dry_runs == [("evict", OLD_RS + "-abc0"), ("scale", OLD_RS, 2, 1)]
    assert api.calls == ["diagnose", "apply_step"]
    assert api.state() == before
    assert [s["pods"] for s in result["steps"]] == [[OLD_RS + "-abc0"]]
    assert "rollout" not in result


def test_not_found_is_an_error_without_any_step():
    api = FakeApi()
    api.deployments = []
    result, error = run(api, wait=True)
    assert error == "Deployment %s not found in namespace kube-system" % NAME
    assert api.calls == ["diagnose"]


def test_api_failure_after_a_step_keeps_the_step_and_says_a_rerun_continues():
    api = FakeApi(fail_wait=True)
    result, error = run(api, wait=True)
    assert len(result["steps"]) == 1
    assert error == ("cannot watch deployments kube-system/%s: connection refused; 1 step(s) had been taken before "
                     "it and stand: kube-system/%s: %s 1->0 (pods %s-abc0); run again to continue" % (
                         NAME, NAME, OLD_RS, OLD_RS))


def test_api_failure_before_any_step_says_none_was_completed():
    class Unreachable(FakeApi):
        def diagnose(self, namespace, name=None):
            raise ApiError("cannot list deployments in kube-system: connection refused")

    result, error = run(Unreachable(), wait=True)
    assert error == "cannot list deployments in kube-system: connection refused; no remediation step had been completed"
    assert result["steps"] == []
