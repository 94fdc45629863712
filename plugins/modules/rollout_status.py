#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rollout_status
short_description: Diagnose Deployment rollouts and predict the ones that will deadlock
version_added: 0.1.0
description:
  - Reports, for each selected Deployment, its current and old ReplicaSets (chosen by ownerReference UID and the
    C(deployment.kubernetes.io/revision) annotation, never by labels alone), their pods, and for each Pending pod
    the scheduler's own verdict (PodScheduled condition and newest C(FailedScheduling) event) broken into blockers.
  - Gives a verdict per Deployment - V(complete), V(progressing), V(stuck), V(blocked), V(paused) or
    V(deadline_exceeded).
  - V(stuck) is a proof, decided at first sight without waiting for C(progressDeadlineSeconds) - a pod of the new
    ReplicaSet is Unschedulable; the scheduler's filters, re-evaluated for it on every node (node unschedulable,
    taints, node affinity, host ports with protocol and host IP, CPU/memory/pods against allocatable minus every
    non-terminal pod's requests, required pod (anti-)affinity in both directions, hard topology spread), give the
    same reasons on the same number of nodes as the scheduler's own message; removing named old pods of this
    Deployment makes every filter pass on one node; and the deployment controller will not remove them itself
    (its scale-down allowance is 0). RV(deployments[].proof) holds the per-node evidence, RV(deployments[].plan)
    the fewest pods to remove and whether that keeps the availability the Deployment promises.
  - The proof judges the pod as the scheduler does - pods nominated to a node (C(status.nominatedNodeName)) with
    its priority or a higher one count as already there; required pod affinity with several terms needs one
    existing pod that matches all of them; a placed pod reserves the larger of its spec and its reported
    (in-place resized) resources; a resource the pod does not request is never insufficient. After planning,
    every filter is run again for the pod on the freed node with the planned removals applied
    (C(chain) in RV(deployments[].proof)).
  - Pods already terminating, whatever their owner, count as leaving - when the room is already being freed the
    verdict is V(progressing) and nothing is planned. Pods on, and room on, a node that is not Ready are never
    chosen (a graceful delete there never completes and a pod placed there never runs).
  - V(blocked) is an unschedulable rollout that removing old pods would not fix (node affinity or selector,
    taints, pod affinity, missing topology labels, volumes, capacity no removal frees) or that the model cannot
    reproduce or does not evaluate (C(why) starts with C(not proven) - scheduling gates, another scheduler,
    volumes, namespace selectors, a pending pod of higher priority that could take the freed node, old pods only
    on nodes that are not Ready). A rollout whose new template admits fewer pods than its replicas on the Ready
    nodes that admit it (host ports, required anti-affinity to its own pods, a hostname spread with fewer nodes
    than C(minDomains)) is V(blocked) too - removals would let some new pods in and never finish it. Its remedy
    never suggests deleting anything.
  - Predicts whether the B(next) rollout of each Deployment will deadlock, from its strategy (resolved with
    Kubernetes' own rounding), the nodes its node selector, affinity and tolerations admit, and what makes two
    of its pods exclusive on a node (host ports, C(hostNetwork), required anti-affinity or a C(DoNotSchedule)
    spread on C(kubernetes.io/hostname)). Resource requests are not part of the prediction.
  - Makes at most seven list calls however many Deployments match - Deployments, ReplicaSets, Pods, Nodes, and
    only when a pod waits for the scheduler, FailedScheduling Events, the cluster's non-terminal pods (what the
    scheduler sees on each node) and PodDisruptionBudgets.
  - Read-only.
author:
  - clusterops maintainers (@clusterops)
options:
  name:
    description:
      - Name of one Deployment. Without it every Deployment of O(namespace) that matches O(label_selectors).
      - An empty name is an error (omit the option to diagnose every Deployment).
    type: str
  namespace:
    description:
      - Namespace of the Deployments.
    type: str
    default: kube-system
  all_namespaces:
    description:
      - Look at Deployments in every namespace; O(namespace) is then ignored.
    type: bool
    default: false
  label_selectors:
    description:
      - Label selectors the Deployments must match, as for C(kubectl -l); all must match.
    type: list
    elements: str
    default: []
  kinds:
    description:
      - Workload kinds to diagnose. DaemonSets and StatefulSets get a verdict with the same proof (RV(daemonsets),
        RV(statefulsets)); the collection's remediation acts on Deployments only.
      - Each kind beyond Deployment adds one list call.
    type: list
    elements: str
    choices: [Deployment, DaemonSet, StatefulSet]
    default: [Deployment]
  baseline:
    description:
      - RV(revisions) of an earlier run. RV(changed_since_baseline) then lists the Deployments that are new or
        have another UID or revision since - what an update in between started to roll out.
    type: dict
  among:
    description:
      - Deployment names RV(remediation_targets) may name (a role's choice of what it may remediate). Omitted,
        any Deployment; an empty list, none.
    type: list
    elements: str
extends_documentation_fragment:
  - clusterops.kops_upgrade.k8s_auth
  - clusterops.kops_upgrade.attributes
  - clusterops.kops_upgrade.attributes.K8S_GROUP
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: Read-only; nothing to diff.
  idempotent:
    support: full
seealso:
  - module: clusterops.kops_upgrade.stale_replicasets
"""

EXAMPLES = r"""
- name: Diagnose aws-node-termination-handler
  clusterops.kops_upgrade.rollout_status:
    name: aws-node-termination-handler
    namespace: kube-system
  register: nth

- name: Say why it is stuck
  ansible.builtin.debug:
    msg: "{{ nth.deployments[0].verdict }}: {{ nth.deployments[0].remedy }}"

- name: Every Deployment in kube-system whose next rollout would deadlock
  clusterops.kops_upgrade.rollout_status:
    kubeconfig: ~/.kube/config
    context: my-cluster.k8s.local
  register: rollouts

- name: Fail early on them
  ansible.builtin.assert:
    that: rollouts.predicted_deadlocks | length == 0
    fail_msg: "{{ rollouts.predicted_deadlocks }} will deadlock on their next rollout"

- name: Look across the cluster with auth set once
  module_defaults:
    group/clusterops.kops_upgrade.k8s:
      kubeconfig: "{{ kubeconfig_path }}"
  clusterops.kops_upgrade.rollout_status:
    all_namespaces: true
    label_selectors:
      - app.kubernetes.io/managed-by=kops
"""

RETURN = r"""
deployments:
  description: One diagnosis per Deployment, sorted by namespace and name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Deployment name.
      type: str
      sample: aws-node-termination-handler
    namespace:
      description: Deployment namespace.
      type: str
      sample: kube-system
    revision:
      description: The Deployment's C(deployment.kubernetes.io/revision).
      type: int
      sample: 2
    replicas:
      description: Desired, current, updated, ready, available and unavailable replicas.
      type: dict
      sample: {desired: 1, current: 2, updated: 1, ready: 1, available: 1, unavailable: 1}
    strategy:
      description: Strategy type and C(maxSurge)/C(maxUnavailable) resolved to pod counts.
      type: dict
      sample: {type: RollingUpdate, max_surge: 1, max_unavailable: 0, replicas: 1}
    conditions:
      description: The Deployment's status conditions.
      type: list
      elements: dict
    current_replicaset:
      description: The ReplicaSet of the current revision with its pods, or null before the controller made it.
      type: dict
      sample:
        name: aws-node-termination-handler-6b7f9c8d5
        revision: 2
        replicas: 1
        pods:
          - name: aws-node-termination-handler-6b7f9c8d5-x2x9q
            phase: Pending
            ready: false
            node: null
            scheduler:
              scheduled: false
              reason: Unschedulable
              message: "0/3 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, ..."
              event: {reason: FailedScheduling, count: 3, first_seen: "2026-11-28T08:00:00Z"}
            blockers:
              - {kind: host_ports, nodes: 1, reason: "node(s) didn't have free ports for the requested pod ports"}
              - {kind: taints, nodes: 2, reason: "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"}
    old_replicasets:
      description: The other ReplicaSets the Deployment owns, newest revision first, each with its pods.
      type: list
      elements: dict
    verdict:
      description: One of V(complete), V(progressing), V(stuck), V(blocked), V(paused), V(deadline_exceeded).
      type: str
      sample: stuck
    why:
      description: The reason for the verdict in one sentence.
      type: str
    proof:
      description:
        - For an unschedulable new pod, the per-node evidence - C(pod), C(scheduler_message), C(scheduler_agrees)
          and C(comparison) (the model's reasons against the scheduler's), C(nodes) (per node C(blocked_by),
          C(ready), C(removal_can_help), C(frees_with), and C(once_terminated) when pods already terminating free
          it), C(free_node) and C(remove_pods).
        - C(chain) is the last check on the freed node once a removal is planned - C(node), C(filters) (every
          filter evaluated), C(failures) (empty for a proof), C(nominated_pods) (counted as already placed),
          C(terminating_pods) (counted as leaving) and C(rivals) (pending pods of higher priority that could take
          the freed node; any rival means no action).
      type: dict
    plan:
      description:
        - For a V(stuck) rollout, the one step that frees a node - C(pods) to delete, C(replicasets) with
          C(replicas_before)/C(replicas_after), C(node), C(available), C(available_after), C(min_available),
          C(pdbs), and C(act) (false with a C(reason) when the step would break the promised availability).
      type: dict
    stuck_since:
      description: When the scheduler first refused the stuck pod (RFC 3339), when the verdict is V(stuck).
      type: str
      sample: "2026-11-28T08:00:00Z"
    blockers:
      description: >-
        Blockers of the unschedulable pods of the current ReplicaSet, as the scheduler gave them; C(kind) is one
        of C(host_ports), C(pod_anti_affinity), C(pod_affinity), C(topology_spread), C(topology_spread_label),
        C(node_affinity), C(taints), C(resources), C(unschedulable_node), C(node_name), C(volumes), C(other);
        C(nodes) is the number of nodes; C(removable) whether removing pods can ever resolve that kind.
      type: list
      elements: dict
    prediction:
      description:
        - Would the next rollout deadlock, and why.
        - C(eligible_nodes) counts the nodes the template admits; C(eligible_node_names) lists the first 10 of
          them by name (all of them when there are 10 or fewer).
      type: dict
      sample:
        deadlock: true
        reason: "maxSurge 1 / maxUnavailable 0: a new pod must start before an old one goes, but host ports ..."
        replicas: 1
        max_surge: 1
        max_unavailable: 0
        eligible_nodes: 1
        eligible_node_names: [control-plane-1]
        pods_per_node_limit: 1
        host_ports: [8080, 9092]
        exclusive_by: ["host ports 8080/TCP, 9092/TCP"]
    remedy:
      description: What to do, in words.
      type: str
stuck:
  description: C(namespace/name) of the Deployments whose verdict is V(stuck).
  returned: always
  type: list
  elements: str
  sample: [kube-system/aws-node-termination-handler]
blocked:
  description: C(namespace/name) of the Deployments whose verdict is V(blocked).
  returned: always
  type: list
  elements: str
  sample: []
daemonsets:
  description:
    - With V(DaemonSet) in O(kinds), one diagnosis per DaemonSet - C(verdict) (V(complete), V(progressing),
      V(stuck), V(blocked)), C(why), C(proof), C(blockers), C(strategy) (maxSurge/maxUnavailable resolved as the
      DaemonSet controller does), C(pods) (each with C(updated)) and C(remedy). A surge DaemonSet whose new pod
      waits for the host ports its own old pod holds on that node is V(stuck).
  returned: always
  type: list
  elements: dict
statefulsets:
  description: With V(StatefulSet) in O(kinds), one diagnosis per StatefulSet, as for RV(daemonsets).
  returned: always
  type: list
  elements: dict
workloads_stuck:
  description: C(Kind/namespace/name) of the DaemonSets and StatefulSets whose verdict is V(stuck).
  returned: always
  type: list
  elements: str
revisions:
  description: C(namespace/name) to C(uid/revision) of every Deployment seen, to pass as O(baseline) later.
  returned: always
  type: dict
  sample: {kube-system/aws-node-termination-handler: 5d0c.../2}
changed_since_baseline:
  description: With O(baseline), C(namespace/name) of the Deployments that are new or changed since.
  returned: when O(baseline) is given
  type: list
  elements: str
  sample: [kube-system/aws-node-termination-handler]
remediation_targets:
  description:
    - What a remediation may act on - C(stuck), the Deployments proven stuck (the only ones
      M(clusterops.kops_upgrade.stale_replicasets) will touch), and C(blocked), those left alone with a reason -
      each restricted to O(among) and, with O(baseline), to RV(changed_since_baseline); and C(prevent), those
      among O(among) whose next rollout is predicted to deadlock (what the C(remediate) role's prevention may
      patch).
    - Names, or C(namespace/name) when the Deployments seen span namespaces.
  returned: always
  type: dict
  sample: {stuck: [aws-node-termination-handler], blocked: [], prevent: [aws-node-termination-handler]}
predicted_deadlocks:
  description: C(namespace/name) of the Deployments whose next rollout is predicted to deadlock.
  returned: always
  type: list
  elements: str
  sample: [kube-system/aws-node-termination-handler]
api_requests:
  description: How many API requests the module made (at most seven, whatever the number of Deployments).
  returned: always
  type: int
  sample: 5
"""

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.k8s_module import (
    connect,
    k8s_module,
    object_name_problems,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.k8s_connection import ApiError
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout import remediation_targets, reported
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout_api import KINDS, RolloutApi


def main():
    """Diagnose the selected workloads and report them; changes nothing.

    A bad name or namespace fails before any request. One snapshot is diagnosed through RolloutApi.diagnose_kinds
    for the kinds asked; a failed request fails the module with the API's words, and so does a ``name`` of which no
    workload was found. Returns the diagnoses (``deployments``, ``daemonsets``, ``statefulsets``), the lists drawn
    from their verdicts and predictions (``stuck``, ``blocked``, ``workloads_stuck``, ``predicted_deadlocks``),
    ``revisions`` (uid/revision per Deployment, to pass later as ``baseline``), with ``baseline`` the
    ``changed_since_baseline`` Deployments, ``remediation_targets`` (rollout.remediation_targets: stuck and blocked
    among ``among`` and changed since the baseline) and ``api_requests``; ``changed`` is always false."""
    module = k8s_module(
        dict(
            name=dict(type="str"),
            namespace=dict(type="str", default="kube-system"),
            all_namespaces=dict(type="bool", default=False),
            label_selectors=dict(type="list", elements="str", default=[]),
            kinds=dict(type="list", elements="str", default=["Deployment"],
                       choices=list(KINDS)),
            baseline=dict(type="dict"),
            among=dict(type="list", elements="str"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    problems = object_name_problems("name", params["name"])
    for value in params["among"] or []:
        problems += object_name_problems("among", value, required=True)
    if not params["all_namespaces"]:
        problems += object_name_problems("namespace", params["namespace"], required=True, label=True)
    if problems:
        module.fail_json(msg="; ".join(problems))
    api = connect(module, RolloutApi)
    namespace = None if params["all_namespaces"] else params["namespace"]
    try:
        found = api.diagnose_kinds(namespace, params["name"], params["label_selectors"], params["kinds"])
    except ApiError as exc:
        module.fail_json(msg=str(exc), api_requests=api.api_client.request_count)
    deployments = found["Deployment"]
    others = found["DaemonSet"] + found["StatefulSet"]
    if params["name"] and not (deployments or others):
        module.fail_json(
            msg="%s %s not found in namespace %s" % ("/".join(params["kinds"]), params["name"],
                                                     namespace or "any namespace"),
            api_requests=api.api_client.request_count,
        )
    revisions = dict(("%s/%s" % (d["namespace"], d["name"]), "%s/%s" % (d["uid"], d["revision"]))
                     for d in deployments)
    extra = {}
    if params["baseline"] is not None:
        extra["changed_since_baseline"] = sorted(key for key, value in revisions.items()
                                                 if params["baseline"].get(key) != value)
    extra["remediation_targets"] = remediation_targets(deployments, params["among"],
                                                       extra.get("changed_since_baseline"))
    module.exit_json(
        changed=False,
        revisions=revisions,
        deployments=reported(deployments),
        daemonsets=found["DaemonSet"],
        statefulsets=found["StatefulSet"],
        workloads_stuck=["%s/%s/%s" % (d["kind"], d["namespace"], d["name"]) for d in others
                         if d["verdict"] == "stuck"],
        stuck=["%s/%s" % (d["namespace"], d["name"]) for d in deployments if d["verdict"] == "stuck"],
        blocked=["%s/%s" % (d["namespace"], d["name"]) for d in deployments if d["verdict"] == "blocked"],
        predicted_deadlocks=[
            "%s/%s" % (d["namespace"], d["name"]) for d in deployments if d["prediction"]["deadlock"]
        ],
        api_requests=api.api_client.request_count,
        **extra
    )


if __name__ == "__main__":
    main()
