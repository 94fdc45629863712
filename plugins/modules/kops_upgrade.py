#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kops_upgrade
short_description: Run kops upgrade cluster and return the planned changes as data
version_added: 0.1.0
description:
  - Runs C(kops upgrade cluster) without C(--yes) to read the plan (the C(ITEM PROPERTY OLD NEW) table), then, when
    there is something to change and not in check mode, again with C(--yes).
  - Changes only the cluster spec in the state store (Kubernetes version, channel, instance group images); nothing
    runs on the cluster until M(clusterops.kops_upgrade.kops_update) and
    M(clusterops.kops_upgrade.kops_rolling_update).
author:
  - clusterops maintainers (@clusterops)
options:
  kubernetes_version:
    description: Target Kubernetes version (C(--kubernetes-version)); without it the channel's recommendation.
    type: str
  channel:
    description: Channel to read recommendations from (C(--channel)), a name or a URL.
    type: str
  reconcile:
    description:
      - How the upgrade will be applied afterwards, decided here so that a setting the chosen way would ignore is
        refused before anything changes. V(auto) is C(kops reconcile cluster) with kops 1.31 or later, else
        C(kops update cluster) and C(kops rolling-update cluster); V(true) needs kops 1.31 or later; V(false) is
        always update and rolling update. The result's RV(reconcile) says which.
    type: str
    choices: [auto, "true", "false"]
    default: "false"
  rolling_update_options:
    description:
      - The rolling-update settings the upgrade will be applied with, named as the options of
        M(clusterops.kops_upgrade.kops_rolling_update) (C(instance_groups), C(instance_group_roles), C(force),
        C(cloudonly), C(validation_timeout), C(validate_count), C(fail_on_validate_error), C(fail_on_drain_error),
        C(control_plane_interval), C(node_interval), C(bastion_interval), C(drain_timeout), C(post_drain_delay));
        V(null) or an empty value means kops' default.
      - When RV(reconcile) is true, C(kops reconcile cluster) takes none of these flags and uses kops' defaults
        (every group that needs it, validation timeout 15m, two validations, intervals 15s, drain timeout 15m,
        post-drain delay 5s). A setting that differs is refused by name before C(kops upgrade cluster) runs.
    type: dict
    default: {}
extends_documentation_fragment:
  - clusterops.kops_upgrade.kops
  - clusterops.kops_upgrade.attributes
  - clusterops.kops_upgrade.attributes.KOPS_GROUP
attributes:
  check_mode:
    support: full
    details: Returns the planned changes; runs kops without C(--yes) only.
  diff_mode:
    support: full
  idempotent:
    support: full
    details: kops reports C(No upgrade required) once the cluster spec is upgraded.
"""

EXAMPLES = r"""
- name: Upgrade the cluster spec to Kubernetes 1.29.9
  clusterops.kops_upgrade.kops_upgrade:
    cluster_name: my.k8s.local
    state_store: s3://my-kops-state
    kubernetes_version: 1.29.9
  register: upgrade

- name: Show the plan
  ansible.builtin.debug:
    var: upgrade.changes
"""

RETURN = r"""
reconcile:
  description:
    - Whether the upgrade is to be applied with C(kops reconcile cluster) (see O(reconcile)), or with C(kops update
      cluster) and C(kops rolling-update cluster). V(null) when the module failed before deciding.
  returned: always
  type: bool
  sample: true
kops_version:
  description: The version of the kops binary that ran.
  returned: always
  type: str
  sample: 1.31.0
changes:
  description: The planned (check mode) or applied changes.
  returned: always
  type: list
  elements: dict
  sample: [{item: Cluster, property: KubernetesVersion, old: 1.29.3, new: 1.29.9}]
stdout:
  description: What kops printed on the last run.
  returned: always
  type: str
"""

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_cli import (
    KopsError,
    ROLLING_UPDATE_OPTIONS,
    kops_module,
    parse_upgrade_plan,
    refuse_ignored_rolling_options,
    uses_reconcile,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.validation import (
    not_an_option,
    semantic_version,
)


def main():
    """Run ``kops upgrade cluster``: a preview, then (unless check mode or nothing to upgrade) the apply.

    Fails before kops runs on a ``rolling_update_options`` key that is not a rolling-update option and, when the
    upgrade is to be applied with ``kops reconcile cluster`` (uses_reconcile: the ``reconcile`` option and the kops
    version), on options reconcile would ignore. The preview runs without ``--yes``; a non-zero exit, or a table it
    cannot read, fails the module. Its rows become ``changes`` (item, property, old, new value); ``changed`` is
    whether there are any, and diff mode shows them as before/after lines. With changes and outside check mode kops
    runs again with ``--yes``; a non-zero exit fails the module. Returns ``changes``, ``kops_version``,
    ``reconcile`` (the way the upgrade is to be applied), ``stdout``, ``stderr`` and ``seconds``."""
    module, kops = kops_module(dict(kubernetes_version=dict(type="str"), channel=dict(type="str"),
                                    reconcile=dict(type="str", choices=["auto", "true", "false"], default="false"),
                                    rolling_update_options=dict(type="dict", default={})),
                               rules=[("kubernetes_version", semantic_version), ("channel", not_an_option)],
                               default_timeout=600, supports_check_mode=True)
    unknown = sorted(set(module.params["rolling_update_options"]) - set(ROLLING_UPDATE_OPTIONS))
    if unknown:
        module.fail_json(msg="rolling_update_options: unknown %s (known: %s)" % (
            ", ".join(unknown), ", ".join(ROLLING_UPDATE_OPTIONS)))
    try:
        reconcile = uses_reconcile(module.params["reconcile"], kops.version)
        if reconcile:
            refuse_ignored_rolling_options(module.params["rolling_update_options"], kops.version)
    except KopsError as exc:
        module.fail_json(msg=str(exc), reconcile=None)
    args = ["upgrade", "cluster"]
    if module.params["kubernetes_version"]:
        args += ["--kubernetes-version", module.params["kubernetes_version"]]
    if module.params["channel"]:
        args += ["--channel", module.params["channel"]]
    rc, out, err, seconds = kops.run(*args)
    if rc != 0:
        module.fail_json(msg="kops upgrade cluster failed (rc %d): %s" % (rc, (err or out).strip()[-2000:]),
                         stdout=out, stderr=err)
    try:
        # "No upgrade required" goes to stderr, the table to stdout.
        changes = parse_upgrade_plan(out + "\n" + err)
    except KopsError as exc:
        module.fail_json(msg="kops %s: %s" % (".".join(map(str, kops.version)), exc), stdout=out, stderr=err)
    result = dict(changed=bool(changes), changes=changes, stdout=out, stderr=err, seconds=seconds,
                  kops_version=".".join(map(str, kops.version)), reconcile=reconcile)
    if changes and module._diff:
        result["diff"] = {
            "before": "".join("%s.%s: %s\n" % (c["item"], c["property"], c["old"]) for c in changes),
            "after": "".join("%s.%s: %s\n" % (c["item"], c["property"], c["new"]) for c in changes),
        }
    if changes and not module.check_mode:
        rc, out, err, seconds = kops.run(*(args + ["--yes"]))
        if rc != 0:
            module.fail_json(msg="kops upgrade cluster --yes failed (rc %d): %s" % (rc, (err or out).strip()[-2000:]),
                             **result)
        result.update(stdout=out, stderr=err, seconds=result["seconds"] + seconds)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
