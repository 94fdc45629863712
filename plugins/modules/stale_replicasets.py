#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: stale_replicasets
short_description: Remove the old ReplicaSets that hold a stuck Deployment rollout
version_added: 0.1.0
description:
  - Diagnoses one Deployment as M(clusterops.kops_upgrade.rollout_status) does and, only when its verdict is
    V(stuck), removes the old ReplicaSets whose pods hold what the new pod needs - the fix for the
    aws-node-termination-handler deadlock on clusters with one (or two) control-plane nodes.
  - Never touches the current ReplicaSet, a ReplicaSet the Deployment does not control (by ownerReference UID), or
    an old ReplicaSet already scaled to 0 (rollback history).
  - Each delete or scale carries the UID and resourceVersion read during the diagnosis as preconditions, so a
    ReplicaSet that changed since is left alone and reported in RV(conflicts).
author:
  - clusterops maintainers (@clusterops)
options:
  name:
    description: Name of the Deployment.
    type: str
    default: aws-node-termination-handler
  namespace:
    description: Namespace of the Deployment.
    type: str
    default: kube-system
  action:
    description:
      - V(delete) deletes the old ReplicaSets (their pods go with them).
      - V(scale_to_zero) sets their C(spec.replicas) to 0 and keeps them as rollback history.
    type: str
    choices: [delete, scale_to_zero]
    default: delete
  force:
    description:
      - Remove old ReplicaSets with pods even when the verdict is not V(stuck) (but never when it is V(complete)).
    type: bool
    default: false
  wait:
    description:
      - After removing, wait (with a watch, not a sleep loop) until the rollout is complete.
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
    details: Deletes and patches are sent as server-side dry runs (C(dryRun=All)), so admission and RBAC are checked.
  diff_mode:
    support: full
  idempotent:
    support: full
    details: Once the old ReplicaSets are gone the rollout completes and a second run reports no change.
seealso:
  - module: clusterops.kops_upgrade.rollout_status
"""

EXAMPLES = r"""
- name: Unstick aws-node-termination-handler and wait for its rollout
  clusterops.kops_upgrade.stale_replicasets:
    kubeconfig: "{{ kubeconfig_path }}"
    wait: true
    wait_timeout: 300
  register: nth_fix

- name: Keep the old ReplicaSet as rollback history, only scale it down
  clusterops.kops_upgrade.stale_replicasets:
    name: cluster-autoscaler
    namespace: kube-system
    action: scale_to_zero

- name: See what would be removed
  clusterops.kops_upgrade.stale_replicasets:
  check_mode: true
  diff: true
"""

RETURN = r"""
removed:
  description: The ReplicaSets removed (or that would be, in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{name: aws-node-termination-handler-577f866468, revision: 1, uid: 5d0c..., replicas: 1, action: delete}]
conflicts:
  description: ReplicaSets left alone because they changed (409) after they were read.
  returned: always
  type: list
  elements: dict
  sample: []
verdict:
  description: The verdict seen before acting.
  returned: always
  type: str
  sample: stuck
reason:
  description: Why the module acted or did not.
  returned: always
  type: str
  sample: verdict stuck
blockers:
  description: The scheduler's blockers of the new pod, as in M(clusterops.kops_upgrade.rollout_status).
  returned: always
  type: list
  elements: dict
deployment:
  description: The full diagnosis seen before acting (see M(clusterops.kops_upgrade.rollout_status)).
  returned: always
  type: dict
rollout:
  description: With O(wait), the outcome of the wait.
  returned: when O(wait=true) and something was removed
  type: dict
  sample: {complete: true, seconds: 3.2, verdict: complete}
api_requests:
  description: How many API requests the module made.
  returned: always
  type: int
  sample: 7
"""

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.k8s_module import connect, k8s_module
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout import plan_stale_replicaset_removal
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout_api import RolloutApiError


def _listing(replicasets):
    return [
        {"name": rs["name"], "revision": rs["revision"], "replicas": rs["replicas"], "pods": len(rs["pods"])}
        for rs in replicasets
    ]


def main():
    module = k8s_module(
        dict(
            name=dict(type="str", default="aws-node-termination-handler"),
            namespace=dict(type="str", default="kube-system"),
            action=dict(type="str", default="delete", choices=["delete", "scale_to_zero"]),
            force=dict(type="bool", default=False),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=300),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout must be 0 or more seconds, got %d" % params["wait_timeout"])
    api = connect(module)
    namespace, name = params["namespace"], params["name"]
    result = dict(changed=False, removed=[], conflicts=[], verdict=None, reason="", blockers=[], deployment=None)

    def fail(msg, **extra):
        result.update(extra)
        module.fail_json(msg=msg, api_requests=api.api_client.request_count, **result)

    try:
        found = api.diagnose(namespace, name)
    except RolloutApiError as exc:
        fail(str(exc))
    if not found:
        fail("Deployment %s not found in namespace %s" % (name, namespace))
    diagnosis = found[0]
    plan = plan_stale_replicaset_removal(diagnosis, params["force"])
    result.update(verdict=diagnosis["verdict"], reason=plan["reason"], blockers=diagnosis["blockers"],
                  deployment=diagnosis)

    for rs in plan["targets"]:
        change = api.delete_replicaset if params["action"] == "delete" else api.scale_replicaset_to_zero
        try:
            outcome = change(namespace, rs["name"], rs["uid"], rs["resource_version"], dry_run=module.check_mode)
        except RolloutApiError as exc:
            fail(str(exc))
        entry = {"name": rs["name"], "revision": rs["revision"], "uid": rs["uid"], "replicas": rs["replicas"],
                 "action": params["action"]}
        if outcome == "changed":
            entry["message"] = "changed since it was read (uid/resourceVersion precondition failed); left alone"
            result["conflicts"].append(entry)
        elif outcome != "gone":
            result["removed"].append(entry)
    result["changed"] = bool(result["removed"])

    if module._diff:
        before = _listing(diagnosis["old_replicasets"])
        removed = set(r["name"] for r in result["removed"])
        if params["action"] == "delete":
            after = [rs for rs in before if rs["name"] not in removed]
        else:
            after = [dict(rs, replicas=0) if rs["name"] in removed else rs for rs in before]
        result["diff"] = {
            "before": {"old_replicasets": before},
            "after": {"old_replicasets": after},
            "before_header": "%s/%s" % (namespace, name),
            "after_header": "%s/%s" % (namespace, name),
        }

    if params["wait"] and result["removed"] and not module.check_mode:
        try:
            final, seconds = api.wait_for_complete(namespace, name, params["wait_timeout"])
        except RolloutApiError as exc:
            fail(str(exc))
        result["rollout"] = {"complete": final["verdict"] == "complete", "seconds": round(seconds, 2),
                             "verdict": final["verdict"]}
        if final["verdict"] != "complete":
            fail(
                "rollout of %s/%s not complete after %ss: verdict %s; blockers: %s; %s"
                % (namespace, name, params["wait_timeout"], final["verdict"], final["blockers"] or "none",
                   final["remedy"]),
                blockers=final["blockers"],
            )
    module.exit_json(api_requests=api.api_client.request_count, **result)


if __name__ == "__main__":
    main()
