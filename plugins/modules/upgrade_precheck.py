#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: upgrade_precheck
short_description: Find every reason a kOps upgrade would stop, before it starts
version_added: 0.1.0
description:
  - Reads the cluster once and reports findings, each with a stable O(ignore:code), a O(ignore:severity)
    (V(error) blocks the upgrade, V(warning) informs, V(info) says what was checked and found safe), the objects
    involved and a remedy in words. The overall O(ignore:verdict) is V(fail), V(warn) or V(pass).
  - B(versions) - C(version_minor_skip) (the control plane moves one minor version at a time),
    C(version_downgrade), C(kubelet_skew) (kubelets more minor versions behind the target than Kubernetes
    supports - 3 from 1.28, 2 before), C(kubelet_newer_than_apiserver), C(kops_too_old_for_target) (kops refuses
    a Kubernetes minor above its own), C(kops_target_unsupported).
  - B(removed_apis) - C(removed_api_objects) (objects served only under an API version the target removes, so
    they would be gone from the API), C(removed_api_writers) (objects written through such a version, per their
    C(managedFields) or kubectl's last-applied configuration, whose replacement is served - the objects stay, the
    clients that wrote them break). Built-in table of removals from 1.16 to 1.32; add your own with
    O(removed_apis). One list call per removed version the API server still serves.
  - B(deprecated_api_requests) - from the API server's C(apiserver_requested_deprecated_apis) gauge,
    C(removed_api_requested) (error - the target removes the API) and C(deprecated_api_requested) (warning when a
    later release removes it, info when no removal is announced, such as v1 Endpoints since 1.33). The gauge is per API server and empties at each restart, so
    its absence proves nothing about clients of another API server or from before the restart.
    C(deprecated_api_metrics_unreadable) when C(/metrics) cannot be read.
  - B(drain) - per node, as kops drains (force, delete-emptydir-data, ignore DaemonSets; evictions honour
    PodDisruptionBudgets) - C(drain_pdb_blocks) (a budget allowing 0 disruptions refuses the eviction until the
    drain timeout), C(drain_unmanaged_pods), C(drain_emptydir_data), C(drain_grace_exceeds_timeout).
  - B(webhooks) - C(webhook_unavailable) - a validating or mutating webhook with C(failurePolicy=Fail) whose
    rules, namespace selector and object selector match the pods of O(webhook_namespace) and whose service has
    no ready endpoint (C(matchConditions) are not evaluated; URL webhooks are not checked).
  - B(autoscalers) - C(autoscaler_present) - cluster-autoscaler or Karpenter can add nodes while the control
    plane rolls, which breaks kops validation (kops#16907). The O(ignore:autoscalers) return value lists them
    for the precheck role to scale to 0 and back.
  - B(rollouts) - C(rollout_stuck) now, C(rollout_deadlock) (a Deployment's next rollout, judged from its own
    strategy, node selection and host ports / anti-affinity / hostname spread), C(daemonset_deadlock)
    (C(maxSurge) with host ports), and C(rollout_safe) / C(daemonset_safe) for control-plane-pinned workloads
    that roll without deadlock.
  - B(The addons of the release about to be applied), when O(incoming_addons) is given (the O(ignore:addons) of
    M(clusterops.kops_upgrade.kops_addon_templates)) - C(incoming_deadlock) (a Deployment or DaemonSet whose
    template the new addon manifest changes, and whose rollout with that template is predicted to deadlock on
    the current nodes, by the same rules as C(rollout_deadlock)) and C(incoming_safe). Only addons whose manifest
    hash differs from the one kOps' channels recorded on the kube-system Namespace are applied again, and only a
    manifest that changes a value of the running template, replicas or strategy starts a rollout.
  - B(health) - after the upgrade, what the C(validate) role requires (not run unless named in O(checks)) -
    C(kubelet_not_at_version) (every kubelet reports O(target_version) exactly), C(node_not_ready),
    C(critical_pod_not_ready) (each pod of O(critical_priority_classes) that is not Running and Ready).
  - Whatever the groups, C(tool_missing) for each of O(tools) that did not run, C(kops_too_old) and
    C(kops_version_unknown) from O(kops_version), C(kops_validate_error) when O(kops_validation) ran without a
    verdict, and C(kops_validation_failure) for each failure of O(kops_validation) or
    O(kops_validation_failures); while an upgrade is in
    progress, C(upgrade_in_progress) and C(kops_validation_upgrade_in_progress) (warnings) for the failures an
    interrupted rolling update explains. O(extra_findings) are added as given.
  - The number of API requests does not depend on the number of objects (list calls across all namespaces).
  - Read-only.
author:
  - clusterops maintainers (@clusterops)
options:
  target_version:
    description:
      - Kubernetes version the upgrade goes to (V(1.30.4), V(v1.30)). Empty skips the checks that need it.
    type: str
    default: ""
  kops_version:
    description:
      - The kops release that will run the upgrade - V(1.30.2), or what C(kops version) printed; empty skips the
        kops checks. C(kops_too_old) (error) when it is older than O(kops_min_version), C(kops_version_unknown)
        (warning) when the text holds no version.
    type: str
    default: ""
  kops_min_version:
    description: The oldest kops release allowed; empty is the oldest this collection supports (V(1.26.0)).
    type: str
    default: ""
  checks:
    description: Which groups of checks to run.
    type: list
    elements: str
    choices: [versions, removed_apis, deprecated_api_requests, drain, webhooks, autoscalers, rollouts, health]
    default: [versions, removed_apis, deprecated_api_requests, drain, webhooks, autoscalers, rollouts]
  critical_priority_classes:
    description: With the B(health) group, the priority classes whose pods must be Running and Ready.
    type: list
    elements: str
    default: [system-cluster-critical, system-node-critical]
  drain_timeout:
    description: The rolling update's drain timeout (kops C(--drain-timeout)), a Go duration or seconds.
    type: str
    default: 15m
  fail_on_drain_error:
    description:
      - Whether the rolling update fails when a drain fails (kops C(--fail-on-drain-error)); then a drain
        blocked by a PodDisruptionBudget is an V(error), else a V(warning).
    type: bool
    default: true
  fail_on_predicted_deadlock:
    description: Make a predicted rollout deadlock an V(error) instead of a V(warning).
    type: bool
    default: false
  webhook_namespace:
    description: Namespace whose pods the upgrade recreates and the webhook check protects.
    type: str
    default: kube-system
  removed_apis:
    description:
      - Removed API versions to check in addition to the built-in table (for example a CRD version an operator
        drops), each with C(group) (empty for the core group), C(version), C(resource) (plural),
        C(removed_in) (the Kubernetes version that no longer serves it) and optionally C(replacement)
        (C(group/version)).
    type: list
    elements: dict
    default: []
  tools:
    description:
      - The command-line tools the upgrade needs, each with C(name) (V(kops)), C(path) (the binary) and
        C(result), what running it returned (a registered task result, C(rc) and C(stderr) or C(msg)); one that
        did not exit 0 is C(tool_missing). A skipped C(result) (not probed) says nothing.
    type: list
    elements: dict
    default: []
  kops_validation:
    description:
      - What M(clusterops.kops_upgrade.kops_validate) returned (the registered result). Without a verdict
        (O(ignore:valid)) it is C(kops_validate_error); its O(ignore:failures) are judged as
        O(kops_validation_failures) are. Skipped or omitted, nothing.
    type: dict
  kops_validation_failures:
    description:
      - The O(ignore:failures) of M(clusterops.kops_upgrade.kops_validate), each becomes an error.
      - While an upgrade is in progress (see RV(upgrade_in_progress)), those an interrupted rolling update
        explains (instances not yet joined, nodes not ready, instance groups short of nodes, system-critical pods
        waiting) are warnings instead (C(kops_validation_upgrade_in_progress)), so that the upgrade can be run
        again to finish; other failures stay errors.
    type: list
    elements: dict
    default: []
  kops_rolling_plan:
    description:
      - The O(ignore:plan) of M(clusterops.kops_upgrade.kops_rolling_update) in check mode (the instance groups
        and whether kops would roll them), one sign of an upgrade in progress.
    type: list
    elements: dict
    default: []
  incoming_addons:
    description:
      - The addons the kOps release about to be applied will apply, as
        M(clusterops.kops_upgrade.kops_addon_templates) returns them (O(ignore:addons)); their workloads are
        judged as they will be (see the description). Omitted, only what runs is judged.
    type: list
    elements: dict
  incoming_release:
    description: The kOps release O(incoming_addons) come from, for the findings' words (V(1.36.2)).
    type: str
    default: ""
  extra_findings:
    description:
      - Findings from elsewhere to include in the verdict, each with C(code), C(message)
        and optionally C(severity) (default V(error)), C(objects), C(remedy).
    type: list
    elements: dict
    default: []
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
notes:
  - Needs list on nodes, pods, deployments, replicasets, daemonsets, poddisruptionbudgets, events,
    endpointslices, validating and mutating webhook configurations, get on namespaces and the non-resource
    URLs C(/version), C(/apis), C(/metrics) (leave V(deprecated_api_requests) out of O(checks) without it).
seealso:
  - module: clusterops.kops_upgrade.rollout_status
  - module: clusterops.kops_upgrade.kops_validate
"""

EXAMPLES = r"""
- name: Everything that would stop an upgrade to 1.31
  clusterops.kops_upgrade.upgrade_precheck:
    target_version: 1.31.4
    kops_version: 1.31.0
    drain_timeout: 15m
  register: precheck

- name: Stop on errors, with the findings in the message
  ansible.builtin.assert:
    that: precheck.verdict != 'fail'
    fail_msg: "{{ precheck.error_messages }}"

- name: Only the checks a read-only identity without /metrics may run, and a CRD version an operator drops
  clusterops.kops_upgrade.upgrade_precheck:
    target_version: v1.31
    checks: [versions, removed_apis, drain, rollouts]
    removed_apis:
      - {group: example.com, version: v1alpha1, resource: widgets, removed_in: "1.31", replacement: example.com/v1}
"""

RETURN = r"""
upgrade_in_progress:
  description:
    - Whether an upgrade is under way, so that running the upgrade again finishes it, with the signs found
      (C(reasons)) - kubelets at two or more versions (the newest at O(target_version) when given), or instance
      groups O(kops_rolling_plan) says need updating. Without either sign, kops validation failures mean a broken
      cluster and stay errors.
  returned: always
  type: dict
  sample: {in_progress: true, reasons: ["nodes at 2 kubelet versions (v1.30.5: node-a; v1.31.3: cp-a, node-b)"]}
verdict:
  description: V(fail) when any finding is an error, V(warn) when any is a warning, else V(pass).
  returned: always
  type: str
  sample: fail
findings:
  description: Every finding, errors first.
  returned: always
  type: list
  elements: dict
  contains:
    code:
      description: Stable identifier of the check (see the description).
      type: str
      sample: drain_pdb_blocks
    severity:
      description: V(error), V(warning) or V(info).
      type: str
      sample: error
    message:
      description: What was found, with the figures.
      type: str
      sample: >-
        draining worker-1: PodDisruptionBudget shop/web allows 0 disruptions, so evicting shop/web-5d9c-abcde is
        refused; the drain retries for the drain timeout (15m), then the rolling update fails
    objects:
      description: The objects involved, each with C(kind), C(name) and C(namespace) when namespaced.
      type: list
      elements: dict
      sample: [{kind: Node, name: worker-1}, {kind: Pod, namespace: shop, name: web-5d9c-abcde}]
    remedy:
      description: What to do, in words (empty for V(info)).
      type: str
error_messages:
  description: One line per error, the code then the message.
  returned: always
  type: list
  elements: str
warning_messages:
  description: One line per warning, the code then the message.
  returned: always
  type: list
  elements: str
counts:
  description: Number of findings per severity.
  returned: always
  type: dict
  sample: {error: 1, warning: 2, info: 3}
codes:
  description: The distinct codes found.
  returned: always
  type: list
  elements: str
cluster:
  description: API server version, node counts and nodes per kubelet version.
  returned: always
  type: dict
  sample: {server_version: v1.30.2, nodes: 3, control_plane_nodes: 1, kubelet_versions: {v1.30.2: [cp-1, w-1, w-2]}}
nth:
  description: aws-node-termination-handler - present, mode, host network, IRSA, its objects.
  returned: always
  type: dict
  sample: {present: true, mode: queue-processor (SQS Deployment), host_network: true, irsa: false, objects: []}
autoscalers:
  description: cluster-autoscaler and Karpenter Deployments found, with their replicas.
  returned: always
  type: list
  elements: dict
  sample: [{type: cluster-autoscaler, kind: Deployment, namespace: kube-system, name: cluster-autoscaler, replicas: 1}]
autoscalers_running:
  description:
    - The RV(autoscalers) with replicas above 0 - those the C(autoscaler_present) warning names, and those the
      C(precheck) role pauses with O(ignore:precheck_pause_autoscalers) and the upgrade playbook resumes.
  returned: always
  type: list
  elements: dict
  sample: [{type: cluster-autoscaler, kind: Deployment, namespace: kube-system, name: cluster-autoscaler, replicas: 1}]
stuck:
  description: C(namespace/name) of Deployments stuck (or blocked) now.
  returned: always
  type: list
  elements: str
predicted_deadlocks:
  description: C(namespace/name) of Deployments and DaemonSets whose next rollout is predicted to deadlock.
  returned: always
  type: list
  elements: str
incoming:
  description:
    - With O(incoming_addons), one entry per running Deployment or DaemonSet of an addon that will be applied
      again - whether the new manifest changes it, and whether its rollout is then predicted to deadlock, and why.
    - V(null) without O(incoming_addons).
  returned: always
  type: list
  elements: dict
  sample: [{kind: Deployment, namespace: kube-system, name: cilium-operator, addon: networking.cilium.io,
            changes: true, deadlock: true, reason: "maxSurge 1 / maxUnavailable 0: ..."}]
incoming_deadlocks:
  description: C(namespace/name) of the workloads whose rollout with the incoming template is predicted to deadlock.
  returned: always
  type: list
  elements: str
checks:
  description: The groups of checks that ran.
  returned: always
  type: list
  elements: str
api_requests:
  description: API requests made; constant in the number of objects.
  returned: always
  type: int
  sample: 14
"""

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.k8s_connection import ApiError
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.k8s_module import connect, k8s_module
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.precheck import (
    CRITICAL_PRIORITY_CLASSES,
    PrecheckInputError,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.precheck_api import (
    CHECKS,
    DEFAULT_CHECKS,
    PrecheckApi,
    run_precheck,
)


def main():
    module = k8s_module(
        dict(
            target_version=dict(type="str", default=""),
            kops_version=dict(type="str", default=""),
            kops_min_version=dict(type="str", default=""),
            checks=dict(type="list", elements="str", choices=list(CHECKS), default=list(DEFAULT_CHECKS)),
            critical_priority_classes=dict(type="list", elements="str",
                                           default=list(CRITICAL_PRIORITY_CLASSES)),
            drain_timeout=dict(type="str", default="15m"),
            fail_on_drain_error=dict(type="bool", default=True),
            fail_on_predicted_deadlock=dict(type="bool", default=False),
            webhook_namespace=dict(type="str", default="kube-system"),
            removed_apis=dict(type="list", elements="dict", default=[]),
            tools=dict(type="list", elements="dict", default=[]),
            kops_validation=dict(type="dict"),
            kops_validation_failures=dict(type="list", elements="dict", default=[]),
            kops_rolling_plan=dict(type="list", elements="dict", default=[]),
            extra_findings=dict(type="list", elements="dict", default=[]),
            incoming_addons=dict(type="list", elements="dict"),
            incoming_release=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    api = connect(module, PrecheckApi)
    try:
        result = run_precheck(api, module.params)
    except PrecheckInputError as exc:
        module.fail_json(msg=str(exc), api_requests=api.api_client.request_count)
    except ApiError as exc:
        module.fail_json(msg=str(exc), api_requests=api.api_client.request_count)
    module.exit_json(changed=False, api_requests=api.api_client.request_count, **result)


if __name__ == "__main__":
    main()
