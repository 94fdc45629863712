#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: stale_replicasets
short_description: Free exactly the room a stuck Deployment rollout needs by removing the fewest old pods
version_added: 0.1.0
description:
  - Diagnoses a Deployment as M(clusterops.kops_upgrade.rollout_status) does and acts only when its verdict is
    V(stuck), which is a proof, not a guess - the scheduler refused the new pod, the model of the scheduler's
    filters reproduces that refusal node by node, removing named old pods of this Deployment makes every filter
    pass on one node, and the deployment controller will not remove them itself. This is the fix for the
    aws-node-termination-handler deadlock on clusters with one or two control-plane nodes (kubernetes/kops#16870).
  - Removes only the pods the proof names and lowers their old ReplicaSet's C(spec.replicas) by as many, keeping
    the ReplicaSet as rollback history (how the pods go, by eviction or by the lowered ReplicaSet, is below).
  - Never acts on a rollout that is V(complete), V(progressing), V(paused) or V(blocked) (unschedulable for a
    reason removing old pods cannot fix), never touches the current ReplicaSet or anything the Deployment does not
    control (by ownerReference UID), and never goes below the availability the Deployment promises - at least
    C(replicas - max(maxUnavailable, 1)) pods stay available, and no PodDisruptionBudget is overdrawn.
  - Before any pod goes, every eviction of the step and its ReplicaSet's patch are sent as server-side dry runs,
    so a step whose pods cannot all go removes none.
  - Where a PodDisruptionBudget selecting the pods promises a healthy pod (C(status.desiredHealthy) above 0), the
    pods are evicted (C(policy/v1) Eviction, as C(kubectl drain) and kOps do), so the API server enforces every
    budget in the same request that removes the pod - a drain evicting at the same moment cannot overdraw it.
    Each eviction carries UID and resourceVersion preconditions. A refused eviction (429) is reported in
    RV(conflicts) with the budget's name and what it needs, and the pod is never deleted another way. The
    ReplicaSet is lowered right after (JSON patch whose C(test) operations check the UID and the replica count
    read). In the milliseconds between the two the ReplicaSet controller creates an old-template replacement;
    the lowered ReplicaSet removes it again (on a loaded machine it may hold the freed node for a moment first).
  - Everywhere else (no budget, or one that promises no healthy pod now, as kOps' NTH budget with C(maxUnavailable) 1
    on one replica) the ReplicaSet is lowered first and its own controller deletes the pods, so no replacement is
    ever created - but only where the controller's choice is certain (the ReplicaSet has exactly the pods it
    wants, and either all of them go or the ones that go rank first once marked with the lowest
    C(controller.kubernetes.io/pod-deletion-cost)); otherwise the step evicts. The module then follows the pods
    until the controller has deleted exactly them. Marking needs C(patch) on pods (C(rbac/remediate.yml)).
  - Anything that changed since the diagnosis is left alone and reported in RV(conflicts). With O(wait) each next
    step is planned on what is there then.
  - With O(wait), follows the rollout to its end, taking one step at a time (one freed slot per step),
    each planned under the same proof.
author:
  - clusterops maintainers (@clusterops)
options:
  name:
    description:
      - Name of the Deployment. Required unless O(all_stuck=true); an empty name is an error.
    type: str
  all_stuck:
    description:
      - Act on every Deployment of O(namespace) whose verdict is V(stuck), one after the other.
      - Mutually exclusive with O(name).
    type: bool
    default: false
  namespace:
    description: Namespace of the Deployment.
    type: str
    default: kube-system
  action:
    description:
      - V(scale_down) removes the pods the proof names and lowers their ReplicaSet's C(spec.replicas) by as many;
        the ReplicaSet stays, so C(kubectl rollout undo) still works.
      - V(delete) does the same and then deletes an old ReplicaSet that a step takes to 0 replicas.
    type: str
    choices: [scale_down, delete]
    default: scale_down
  wait:
    description:
      - Follow the rollout to its end with a watch (not a sleep loop), taking each further step the proof allows.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait). On timeout the module fails with the verdict and blockers it still sees.
    type: int
    default: 300
extends_documentation_fragment:
  - clusterops.kops_upgrade.k8s_auth
  - clusterops.kops_upgrade.attributes
  - clusterops.kops_upgrade.attributes.K8S_GROUP
attributes:
  check_mode:
    support: full
    details:
      - The first step is sent as server-side dry runs (C(dryRun=All)), so admission and RBAC are checked.
      - Further steps depend on the cluster's reaction and are not simulated; RV(steps) holds the first.
  diff_mode:
    support: full
  idempotent:
    support: full
    details: Once the room is freed the rollout proceeds; a second run finds no stuck rollout and changes nothing.
seealso:
  - module: clusterops.kops_upgrade.rollout_status
"""

EXAMPLES = r"""
- name: Unstick aws-node-termination-handler and follow its rollout to the end
  clusterops.kops_upgrade.stale_replicasets:
    name: aws-node-termination-handler
    namespace: kube-system
    wait: true
    wait_timeout: 300
  register: nth_fix

- name: See what would be removed, and why
  clusterops.kops_upgrade.stale_replicasets:
    name: aws-node-termination-handler
  check_mode: true
  diff: true

- name: Every stuck rollout of kube-system, deleting old ReplicaSets that reach 0
  clusterops.kops_upgrade.stale_replicasets:
    all_stuck: true
    namespace: kube-system
    action: delete
"""

RETURN = r"""
steps:
  description: The steps taken (or, in check mode, the one that would be), in order.
  returned: always
  type: list
  elements: dict
  contains:
    deployment:
      description: C(namespace/name).
      type: str
    node:
      description: The node the step frees for the new pod.
      type: str
    pods:
      description: The old pods evicted.
      type: list
      elements: str
    replicasets:
      description: Old ReplicaSets changed, with C(replicas_before), C(replicas_after) and C(action) (scaled or deleted).
      type: list
      elements: dict
    reason:
      description: The plan in words, with the availability kept.
      type: str
    removed_by:
      description:
        - V(scale-down) - the old ReplicaSet was lowered first and its own controller deleted exactly the pods
          (marked with the lowest C(controller.kubernetes.io/pod-deletion-cost) where it had others to choose
          from), so no old-template replacement was ever created.
        - V(eviction) - the pods were evicted (every PodDisruptionBudget enforced by the API server), then the
          ReplicaSet lowered.
      type: str
    removal:
      description: Why the step removed its pods that way.
      type: str
  sample:
    - deployment: kube-system/aws-node-termination-handler
      node: control-plane-1
      pods: [aws-node-termination-handler-577f866468-mmlx7]
      replicasets: [{name: aws-node-termination-handler-577f866468, replicas_before: 1, replicas_after: 0,
                     action: scaled}]
removed:
  description:
    - Every old ReplicaSet this run changed (pods evicted and spec.replicas lowered, or deleted), one entry per
      change (as in RV(steps)). A ReplicaSet found already scaled down by another actor is in RV(steps) only.
  returned: always
  type: list
  elements: dict
conflicts:
  description:
    - Pods, ReplicaSets or the Deployment left alone because they changed (or were deleted) after they were read,
      and pods whose eviction a PodDisruptionBudget refused (with C(budgets), the names of the budgets).
      Without O(wait) the run then stops and RV(reason) says what the rollout is now; a rerun acts on the new state.
  returned: always
  type: list
  elements: dict
  sample: []
verdict:
  description: The verdict seen before acting (of the last Deployment looked at).
  returned: always
  type: str
  sample: stuck
reason:
  description: Why the module acted or did not.
  returned: always
  type: str
blockers:
  description: The scheduler's blockers of the new pod, as in M(clusterops.kops_upgrade.rollout_status).
  returned: always
  type: list
  elements: dict
deployment:
  description: The diagnosis seen before the first step (see M(clusterops.kops_upgrade.rollout_status)).
  returned: always
  type: dict
deployments:
  description: With O(all_stuck), C(namespace/name) of the stuck Deployments acted on.
  returned: always
  type: list
  elements: str
rollout:
  description: With O(wait), the outcome of the wait.
  returned: when O(wait=true) and a step was taken
  type: dict
  sample: {complete: true, seconds: 3.2, verdict: complete, steps: 2}
api_requests:
  description: How many API requests the module made.
  returned: always
  type: int
  sample: 9
"""

import time

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.k8s_module import (
    connect,
    k8s_module,
    object_name_problems,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout import (
    plan_stale_replicaset_removal,
    reported,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.k8s_connection import ApiError
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout_api import RolloutApi


MAX_CONFLICTS = 3


def _listing(diagnosis):
    return [{"name": rs["name"], "revision": rs["revision"], "replicas": rs["replicas"],
             "pods": sorted(p["name"] for p in rs["pods"] if not p["terminating"])}
            for rs in diagnosis["old_replicasets"]]


def remediate(api, namespace, name, params, check_mode, clock=time.monotonic):
    """Diagnose, act on a proven step, and with ``wait`` follow the rollout, one step per freed slot.
    Returns (result, error message or None). An API failure part-way (the API server gone during the wait)
    keeps the steps already taken in the result and says so in the message: a rerun continues from there."""
    result = dict(steps=[], conflicts=[], verdict=None, reason="", blockers=[], deployment=None)
    try:
        return _remediate(api, namespace, name, params, check_mode, clock, result)
    except ApiError as exc:
        if not result["steps"]:
            return result, "%s; no remediation step had been completed" % exc
        done = "; ".join("%s: %s (pods %s)" % (step["deployment"], ", ".join(
            "%s %s->%s" % (rs["name"], rs["replicas_before"], rs["replicas_after"]) for rs in step["replicasets"]),
            ", ".join(step["pods"]) or "none") for step in result["steps"])
        return result, "%s; %d step(s) had been taken before it and stand: %s; run again to continue" % (
            exc, len(result["steps"]), done)


def _remediate(api, namespace, name, params, check_mode, clock, result):
    """The control loop of remediate(): fills ``result`` in place and returns ``(result, error message or None)``.
    API errors (ApiError) are left to remediate().

    Diagnoses the Deployment once (not found: an error, nothing done) and keeps the verdict, blockers and diagnosis
    seen before acting. Then, each turn, plan_stale_replicaset_removal says whether the diagnosis allows a step:

    - A step: ``api.apply_step`` takes it (as server-side dry runs in check mode); its conflicts are collected, the
      step is appended to ``steps`` when apply_step reports ReplicaSets done, and an eviction a PodDisruptionBudget
      refused is named in ``reason``. In check mode or without ``wait`` the loop ends there (when the step met
      only conflicts, none a refusal, outside check mode, the Deployment is diagnosed again to say what it is now,
      or ``gone``).
      With ``wait``: ``MAX_CONFLICTS`` conflicts in all (objects changed under the step, not budget refusals) are
      an error; a step that met only such changes is planned again at once on a new diagnosis (the Deployment
      deleted meanwhile: an error, verdict ``gone``, instead of an IndexError); a step a PodDisruptionBudget
      refused goes on to the wait (the budget allows it once a pod is ready again), and a timeout then names the
      refusal; a step taken goes on to the wait.
    - No step: the loop ends when the rollout is complete, when ``wait`` is false, or when no step was taken and the
      verdict is not ``stuck``. After a step, a verdict of ``blocked``, ``paused`` or ``deadline_exceeded`` is an
      error with its remedy. Otherwise (a stuck rollout whose plan must wait, or one progressing) it goes on to the
      wait.

    The wait: once ``wait_timeout`` seconds (on ``clock``, from the start) are spent the run fails with the verdict,
    blockers and remedy it still sees; otherwise ``api.wait_for_change`` blocks until the Deployment's status moves
    (or what is left of the time is up) and the Deployment is diagnosed again (gone: an error).

    Leaving the loop with ``wait`` after a step (not in check mode), ``result["rollout"]`` says whether the rollout
    is complete, after how many seconds and steps."""
    start = clock()
    found = api.diagnose(namespace, name)
    if not found:
        return result, "Deployment %s not found in namespace %s" % (name, namespace)
    diagnosis = found[0]
    result.update(verdict=diagnosis["verdict"], blockers=diagnosis["blockers"], deployment=diagnosis)
    acted = False
    refusals = []
    while True:
        refused = False
        decision = plan_stale_replicaset_removal(diagnosis)
        if not result["reason"] or decision["act"]:
            result["reason"] = decision["reason"]
        if decision["act"]:
            plan = decision["plan"]
            outcome = api.apply_step(namespace, plan, params["action"], dry_run=check_mode)
            result["conflicts"].extend(outcome["conflicts"])
            if outcome["replicasets"]:
                acted = True
                result["steps"].append({"deployment": "%s/%s" % (namespace, name), "node": plan["node"],
                                        "pods": [p for rs in outcome["replicasets"] for p in rs["pods"]],
                                        "replicasets": outcome["replicasets"], "reason": plan["reason"],
                                        "removed_by": outcome["replicasets"][0].get("removed_by"),
                                        "removal": (plan.get("removal") or {}).get("why", "")})
            refusals = [c for c in outcome["conflicts"] if c.get("budgets") is not None]
            if refusals:
                result["reason"] = "%s; the eviction was refused, so %s: %s" % (
                    decision["reason"], "nothing was evicted" if not outcome["replicasets"] else
                    "the step stopped there", "; ".join("pod %s: %s" % (c["name"], c["message"]) for c in refusals))
            if check_mode or not params["wait"]:
                if outcome["conflicts"] and not outcome["replicasets"] and not check_mode and not refusals:
                    # Something changed under the step (another run, a user, the controller): say what the
                    # rollout is now, and leave acting on the new state to a rerun.
                    found = api.diagnose(namespace, name)
                    now = found[0] if found else None
                    result.update(verdict=now["verdict"] if now else "gone", blockers=now["blockers"] if now else [],
                                  reason="the objects changed since they were read, nothing was done (see "
                                  "conflicts); now: %s" % (plan_stale_replicaset_removal(now)["reason"] if now else
                                                           "the Deployment is gone"))
                break
            changes = [c for c in result["conflicts"] if c.get("budgets") is None]
            if len(changes) >= MAX_CONFLICTS:
                return result, "gave up after %d conflicts: the objects keep changing under the module" % len(
                    changes)
            if refusals and not outcome["replicasets"]:
                # A budget refused the whole step: nothing changed, so planning again at once would be refused
                # again. Wait for the rollout to move (a pod becoming ready frees the budget) and plan again.
                refused = True
            elif outcome["conflicts"] and not outcome["replicasets"]:
                found = api.diagnose(namespace, name)
                if not found:
                    # Deleted between the read and the step: there is no rollout left to follow.
                    result.update(verdict="gone", blockers=[], reason="the Deployment was deleted since it was "
                                  "read; nothing was done (see conflicts)")
                    return result, "Deployment %s/%s was deleted since it was read; nothing was done" % (
                        namespace, name)
                diagnosis = found[0]
                continue
        elif diagnosis["verdict"] == "complete" or not params["wait"] or not acted and diagnosis["verdict"] != "stuck":
            break
        elif acted and diagnosis["verdict"] in ("blocked", "paused", "deadline_exceeded"):
            return result, ("after %d step(s) the rollout of %s/%s is %s, not stuck: %s" % (
                len(result["steps"]), namespace, name, diagnosis["verdict"], diagnosis["remedy"]))
        remaining = params["wait_timeout"] - (clock() - start)
        if remaining <= 0:
            return result, ("rollout of %s/%s not complete after %ss: verdict %s; blockers: %s; %s%s" % (
                namespace, name, params["wait_timeout"], diagnosis["verdict"], diagnosis["blockers"] or "none",
                diagnosis["remedy"], "; the last step's eviction was refused: %s" % "; ".join(
                    "pod %s by %s" % (c["name"], ", ".join(c["budgets"]) or "a disruption budget")
                    for c in refusals) if refused else ""))
        api.wait_for_change(namespace, name, remaining, diagnosis)
        found = api.diagnose(namespace, name)
        if not found:
            return result, "Deployment %s/%s disappeared while waiting" % (namespace, name)
        diagnosis = found[0]
    if params["wait"] and acted and not check_mode:
        result["rollout"] = {"complete": diagnosis["verdict"] == "complete", "seconds": round(clock() - start, 2),
                             "verdict": diagnosis["verdict"], "steps": len(result["steps"])}
    return result, None


def main():
    """Check the options, connect, and remediate one Deployment (``name``) or every stuck one (``all_stuck``).

    Bad names and a negative ``wait_timeout`` fail before any request. With ``all_stuck`` the namespace is diagnosed
    once and each Deployment whose verdict is ``stuck`` is remediated in turn (none: ``reason`` says so); each
    remediate() outcome is merged into the result, its steps and conflicts added to the earlier ones, and the first
    error ends the run. finish() exits: ``removed`` lists the ReplicaSets this run changed (pods evicted, or
    deleted; not those found already scaled down by another actor), ``changed`` is whether there are any, and in
    diff mode the old ReplicaSets are shown before and after. An API error outside remediate() fails with its
    message. Every exit reports ``api_requests``."""
    module = k8s_module(
        dict(
            name=dict(type="str"),
            all_stuck=dict(type="bool", default=False),
            namespace=dict(type="str", default="kube-system"),
            action=dict(type="str", default="scale_down", choices=["scale_down", "delete"]),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=300),
        ),
        supports_check_mode=True,
        mutually_exclusive=[("name", "all_stuck")],
    )
    params = module.params
    problems = []
    if not params["all_stuck"]:
        problems.extend(object_name_problems("name", params["name"], required=True))
    problems.extend(object_name_problems("namespace", params["namespace"], required=True, label=True))
    if params["wait_timeout"] < 0:
        problems.append("wait_timeout must be 0 or more seconds, got %d" % params["wait_timeout"])
    if problems:
        module.fail_json(msg="; ".join(problems))
    api = connect(module, RolloutApi)
    namespace = params["namespace"]
    result = dict(changed=False, steps=[], removed=[], conflicts=[], verdict=None, reason="", blockers=[],
                  deployment=None, deployments=[])

    def finish(error=None):
        # What this run changed: a ReplicaSet someone else had already scaled down is a step done, not a change.
        result["removed"] = [rs for step in result["steps"] for rs in step["replicasets"]
                             if rs["pods"] or rs["action"] == "deleted"]
        result["changed"] = bool(result["removed"])
        if module._diff and result["deployment"]:
            before = _listing(result["deployment"])
            removed = dict((rs["name"], rs) for rs in result["removed"])
            after = []
            for rs in before:
                change = removed.get(rs["name"])
                if change is None:
                    after.append(rs)
                elif change["action"] != "deleted":
                    after.append(dict(rs, replicas=change["replicas_after"],
                                      pods=[p for p in rs["pods"] if p not in change["pods"]]))
            header = "%s/%s" % (namespace, result["deployment"]["name"])
            result["diff"] = {"before": {"old_replicasets": before}, "after": {"old_replicasets": after},
                              "before_header": header, "after_header": header}
        if result["deployment"]:
            reported([result["deployment"]])
        if error:
            module.fail_json(msg=error, api_requests=api.api_client.request_count, **result)
        module.exit_json(api_requests=api.api_client.request_count, **result)

    try:
        if params["all_stuck"]:
            names = [d["name"] for d in api.diagnose(namespace) if d["verdict"] == "stuck"]
            result["deployments"] = ["%s/%s" % (namespace, n) for n in names]
            if not names:
                result["reason"] = "no Deployment of %s is stuck" % namespace
        else:
            names = [params["name"]]
        for name in names:
            outcome, error = remediate(api, namespace, name, params, module.check_mode)
            steps = result["steps"] + outcome.pop("steps")
            conflicts = result["conflicts"] + outcome.pop("conflicts")
            result.update(outcome, steps=steps, conflicts=conflicts)
            if error:
                finish(error)
    except ApiError as exc:
        finish(str(exc))
    finish()


if __name__ == "__main__":
    main()
