#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kops_rolling_update
short_description: Run kops rolling-update cluster with a parsed preview
version_added: 0.1.0
description:
  - Runs C(kops rolling-update cluster) without C(--yes) and parses the preview per instance group
    (C(NAME STATUS NEEDUPDATE READY MIN TARGET MAX NODES)). When a group needs updating (or O(force)) and not in
    check mode, runs it with C(--yes) and the validation and drain flags given.
  - Returns the groups rolled and, from kops' log timestamps, how long each took.
  - On a single control-plane cluster the first validation fails while a system-critical pod is pending; the
    M(clusterops.kops_upgrade.stale_replicasets) module (or the C(kops_upgrade) role, which retries after it) clears a
    stuck aws-node-termination-handler rollout.
author:
  - clusterops maintainers (@clusterops)
options:
  instance_groups:
    description: Only these instance groups (C(--instance-group)).
    type: list
    elements: str
    default: []
  instance_group_roles:
    description: Only these roles (C(--instance-group-roles)), for example C(ControlPlane), C(Node).
    type: list
    elements: str
    default: []
  force:
    description: Roll even groups that do not need it (C(--force)).
    type: bool
    default: false
  cloudonly:
    description: Do not drain or validate through the API (C(--cloudonly)).
    type: bool
    default: false
  validation_timeout:
    description: C(--validation-timeout), for example C(15m).
    type: str
  validate_count:
    description: C(--validate-count).
    type: int
  fail_on_validate_error:
    description: C(--fail-on-validate-error).
    type: bool
  fail_on_drain_error:
    description: C(--fail-on-drain-error).
    type: bool
  control_plane_interval:
    description: C(--control-plane-interval), for example C(15s).
    type: str
  node_interval:
    description: C(--node-interval).
    type: str
  bastion_interval:
    description: C(--bastion-interval).
    type: str
  drain_timeout:
    description: C(--drain-timeout).
    type: str
  post_drain_delay:
    description: C(--post-drain-delay).
    type: str
extends_documentation_fragment:
  - clusterops.kops_upgrade.kops
  - clusterops.kops_upgrade.kops.PROGRESS
  - clusterops.kops_upgrade.attributes
  - clusterops.kops_upgrade.attributes.KOPS_GROUP
attributes:
  check_mode:
    support: full
    details: Returns the parsed preview only.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: kops prints C(No rolling-update required.) once every group is up to date.
"""

EXAMPLES = r"""
- name: Roll the control plane first, validating twice
  clusterops.kops_upgrade.kops_rolling_update:
    cluster_name: my.k8s.local
    state_store: s3://my-kops-state
    instance_group_roles: [ControlPlane]
    validation_timeout: 20m
    validate_count: 2
  register: rolled
"""

RETURN = r"""
plan:
  description: The preview, one entry per instance group.
  returned: always
  type: list
  elements: dict
  sample: [{name: control-plane-eu-west-1a, status: NeedsUpdate, needupdate: 1, ready: 0, min: 1, target: 1, max: 1, nodes: 1}]
groups:
  description:
    - The instance groups rolled (or that would be, in check mode), in the order kops rolled them, with the
      instances it stopped and the seconds each group took, read from kops' log (V(null) and V([]) in check
      mode or when the log does not name the group).
  returned: always
  type: list
  elements: dict
  sample: [{name: control-plane-eu-west-1a, seconds: 412.3, instances: [i-0a1b2c3d4e5f60718]}]
validation_failures:
  description:
    - The failures of the last cluster validation kops logged during the rolling update (C(Cluster did not pass
      validation, will retry in "30s" ...)), classified as in M(clusterops.kops_upgrade.kops_validate) (a pending
      system-critical pod names its pod, ReplicaSet and Deployment; the namespace is not in this message).
    - Empty when every validation passed or none ran.
  returned: when kops ran with C(--yes)
  type: list
  elements: dict
  sample:
    - message: system-cluster-critical pod "aws-node-termination-handler-5485d796b5-tjnw9" is pending
      kind: pod_pending
      priority: system-cluster-critical
      namespace: null
      pod: aws-node-termination-handler-5485d796b5-tjnw9
      replicaset: aws-node-termination-handler-5485d796b5
      deployment: aws-node-termination-handler
validation_timed_out:
  description: Whether kops gave up because the cluster did not validate within O(validation_timeout).
  returned: when kops ran with C(--yes)
  type: bool
  sample: true
seconds:
  description: Seconds kops ran (preview and rolling update).
  returned: always
  type: float
  sample: 95.2
stderr:
  description: kops' log (klog lines) of the last run.
  returned: always
  type: str
stdout:
  description: What the last kops run printed.
  returned: always
  type: str
"""

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_cli import (
    KopsError,
    kops_module,
    parse_rolling_update_plan,
    rolled_groups,
    rolling_failure_message,
    rolling_update_validation,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.validation import (
    dns1123_subdomain,
    each,
    go_duration,
    int_range,
    not_an_option,
)

_VALUE_FLAGS = ("validation_timeout", "validate_count", "control_plane_interval", "node_interval",
                "bastion_interval", "drain_timeout", "post_drain_delay")
_DURATIONS = tuple(name for name in _VALUE_FLAGS if name != "validate_count")
_BOOL_FLAGS = ("fail_on_validate_error", "fail_on_drain_error")


def main():
    """Run ``kops rolling-update cluster`` for the groups asked: a preview, then (unless check mode) the roll.

    The preview runs without ``--yes`` (kops then exits non-zero saying "Must specify --yes", which is not a
    failure; any other non-zero exit is) and its table is parsed into ``plan``. The groups to roll are those not
    Ready, or every group with ``force``; none when kops says "No rolling-update required" (without ``force``).
    ``changed`` is whether there are any; check mode stops there. Otherwise kops runs again with ``--yes`` and the
    value and boolean flags that were set, its lines going to ``progress_file`` as they come; ``groups`` then gives
    each group's instances and seconds as kops logged them, ``validation_failures`` and ``validation_timed_out``
    the cluster validation it reported, and a non-zero exit fails the module with that result. Returns ``plan``,
    ``groups``, ``stdout``, ``stderr`` and ``seconds``."""
    module, kops = kops_module(dict(
        instance_groups=dict(type="list", elements="str", default=[]),
        instance_group_roles=dict(type="list", elements="str", default=[]),
        force=dict(type="bool", default=False),
        cloudonly=dict(type="bool", default=False),
        validation_timeout=dict(type="str"),
        validate_count=dict(type="int"),
        fail_on_validate_error=dict(type="bool"),
        fail_on_drain_error=dict(type="bool"),
        control_plane_interval=dict(type="str"),
        node_interval=dict(type="str"),
        bastion_interval=dict(type="str"),
        drain_timeout=dict(type="str"),
        post_drain_delay=dict(type="str"),
        progress_file=dict(type="path"),
    ), rules=[("instance_groups", each(dns1123_subdomain)), ("instance_group_roles", each(not_an_option)),
              ("validate_count", int_range(0, 100))] + [(name, go_duration) for name in _DURATIONS],
        default_timeout=14400, supports_check_mode=True)
    params = module.params
    args = ["rolling-update", "cluster"]
    for group in params["instance_groups"]:
        args += ["--instance-group", group]
    if params["instance_group_roles"]:
        args += ["--instance-group-roles", ",".join(params["instance_group_roles"])]
    if params["force"]:
        args.append("--force")
    if params["cloudonly"]:
        args.append("--cloudonly")
    rc, preview, err, seconds = kops.run(*args)
    if rc != 0 and "Must specify --yes" not in preview + err:
        module.fail_json(msg="kops rolling-update cluster (preview) failed (rc %d): %s"
                         % (rc, (err or preview).strip()[-2000:]), stdout=preview, stderr=err)
    try:
        plan = parse_rolling_update_plan(preview + "\n" + err)
    except KopsError as exc:
        module.fail_json(msg="kops %s: %s" % (".".join(map(str, kops.version)), exc), stdout=preview, stderr=err)
    to_roll = [row["name"] for row in plan if params["force"] or row.get("status") != "Ready"]
    if "No rolling-update required" in preview + err and not params["force"]:
        to_roll = []
    result = dict(changed=bool(to_roll), plan=plan,
                  groups=[{"name": g, "seconds": None, "instances": []} for g in to_roll],
                  stdout=preview, stderr=err, seconds=seconds)
    if to_roll and not module.check_mode:
        apply_args = list(args) + ["--yes"]
        for name in _VALUE_FLAGS:
            if params[name] is not None:
                apply_args.append("--%s=%s" % (name.replace("_", "-"), params[name]))
        for name in _BOOL_FLAGS:
            if params[name] is not None:
                apply_args.append("--%s=%s" % (name.replace("_", "-"), str(params[name]).lower()))
        rc, out, err, seconds = kops.run(*apply_args, progress=True)
        # kops logs (klog, on stderr) each instance it stops and the Auto Scaling group it is in.
        rolled = dict((entry["name"], entry) for entry in rolled_groups(err + "\n" + out, to_roll))
        result.update(stdout=out, stderr=err, seconds=round(result["seconds"] + seconds, 2),
                      groups=[rolled.get(g, {"name": g, "seconds": None, "instances": []}) for g in to_roll])
        validation = rolling_update_validation(err)
        result.update(validation_failures=validation["failures"], validation_timed_out=validation["timed_out"])
        if rc != 0:
            module.fail_json(msg=rolling_failure_message("kops rolling-update cluster", rc, out, err, validation),
                             **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
