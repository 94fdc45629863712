#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kops_reconcile
short_description: Run kops reconcile cluster (kops 1.31 and later)
version_added: 0.1.0
description:
  - Runs C(kops reconcile cluster), the way kOps 1.31 and later recommend applying an upgrade. The control plane's
    configuration is updated and the control plane rolled, then the nodes' configuration updated and the nodes
    rolled, then resources no longer used are pruned. Each rolling update validates the cluster between groups.
  - Without C(--yes) kops previews the update (the same as C(kops update cluster)); when the preview shows no
    change and no instance group needs rolling, nothing runs and C(changed) is false.
  - Returns the instance groups rolled in each phase with the instances kops replaced and the seconds each group
    took, read from kops' log, and the last validation failures kops logged.
author:
  - clusterops maintainers (@clusterops)
options:
  allow_kops_downgrade:
    description: C(--allow-kops-downgrade).
    type: bool
    default: false
  rolling_update_options:
    description:
      - Rolling-update settings the caller means to apply, named as the options of
        M(clusterops.kops_upgrade.kops_rolling_update); V(null) or an empty value means kops' default.
      - C(kops reconcile cluster) takes no rolling-update flag and rolls with kops' defaults (every group that needs
        it, validation timeout 15m, two validations, intervals 15s, drain timeout 15m, post-drain delay 5s). A
        setting that differs is refused by name before kops runs, instead of being ignored.
    type: dict
    default: {}
  force_roll:
    description:
      - Run the reconcile even when the preview shows no change to the cloud (the rolling updates inside then
        replace only instances that need it).
    type: bool
    default: false
extends_documentation_fragment:
  - clusterops.kops_upgrade.kops
  - clusterops.kops_upgrade.kops.PROGRESS
  - clusterops.kops_upgrade.attributes
  - clusterops.kops_upgrade.attributes.KOPS_GROUP
attributes:
  check_mode:
    support: full
    details: Runs the preview only.
  diff_mode:
    support: none
  idempotent:
    support: full
notes:
  - Needs kops 1.31 or later; with an older kops the module fails and says so (use
    M(clusterops.kops_upgrade.kops_update) and M(clusterops.kops_upgrade.kops_rolling_update)).
  - kops takes no instance group, role, drain, validation or interval flags for the rolling updates inside a
    reconcile; it uses its defaults (validation timeout 15m, two validations, 15s between instances). Give the
    settings you mean in O(rolling_update_options) to have those kops would not honour refused.
"""

EXAMPLES = r"""
- name: Apply the upgraded spec, control plane first
  clusterops.kops_upgrade.kops_reconcile:
    cluster_name: my.k8s.local
    state_store: s3://my-kops-state
  register: reconciled
"""

RETURN = r"""
preview:
  description: What the preview (C(kops reconcile cluster) without C(--yes)) printed.
  returned: always
  type: str
phases:
  description:
    - The phases kops went through, in order, each with the instance groups it rolled (C(name), C(instances)
      replaced, C(seconds)). Phases are C(control plane configuration), C(wait for the API) (kops 1.32),
      C(control plane rolling update), C(node configuration), C(node rolling update) and C(prune).
    - Output without any phase this module knows (a kops release that words them differently) fails the module
      with what kops printed, rather than reporting nothing rolled.
  returned: when kops ran with C(--yes)
  type: list
  elements: dict
  sample:
    - {phase: control plane rolling update, groups: [{name: control-plane-eu-west-1a, instances: [i-0a1b2c3d], seconds: 98.2}]}
groups:
  description: Every instance group rolled, in order, over all phases.
  returned: always
  type: list
  elements: dict
  sample: [{name: control-plane-eu-west-1a, instances: [i-0a1b2c3d], seconds: 98.2}]
validation_failures:
  description: The last validation failures kops logged during the rolling updates, as in M(clusterops.kops_upgrade.kops_rolling_update).
  returned: when kops ran with C(--yes)
  type: list
  elements: dict
validation_timed_out:
  description: Whether a rolling update inside gave up because the cluster did not validate in time.
  returned: when kops ran with C(--yes)
  type: bool
seconds:
  description: Seconds kops ran (preview and reconcile).
  returned: always
  type: float
stdout:
  description: What the last kops run printed.
  returned: always
  type: str
stderr:
  description: kops' log (klog lines) of the last run.
  returned: always
  type: str
"""

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_releases import RECONCILE_SINCE, text
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_cli import (
    ROLLING_UPDATE_OPTIONS,
    KopsError,
    kops_module,
    refuse_ignored_rolling_options,
    reconcile_phases,
    rolling_failure_message,
    rolling_update_validation,
    update_preview_outcome,
)


def main():
    """Run ``kops reconcile cluster``: a preview, then (unless check mode) the apply, which rolls the instances.

    Fails before kops runs when kops is older than 1.31, on a ``rolling_update_options`` key that is not a
    rolling-update option, and on one reconcile would ignore (refuse_ignored_rolling_options). The preview runs
    without ``--yes`` (with ``--allow-kops-downgrade`` when asked); a non-zero exit, or a preview that reads neither
    as changes nor as none (update_preview_outcome), fails the module. ``changed`` is whether it shows changes, or
    ``force_roll``; check mode stops there. Otherwise kops runs again with ``--yes``, its lines going to
    ``progress_file`` as they come; its output is split into ``phases`` and the ``groups`` they rolled
    (reconcile_phases: unreadable after a success fails the module) and the cluster validation failures it reported
    are read. A non-zero exit fails the module, naming the last phase reached. ``changed`` then follows what kops did
    (groups rolled, or changes previewed). Returns ``preview``, ``stdout``, ``stderr``, ``seconds`` and, after an
    apply, ``phases``, ``groups``, ``validation_failures`` and ``validation_timed_out``."""
    module, kops = kops_module(dict(
        allow_kops_downgrade=dict(type="bool", default=False),
        force_roll=dict(type="bool", default=False),
        rolling_update_options=dict(type="dict", default={}),
        progress_file=dict(type="path"),
    ), supports_check_mode=True)
    if not kops.supports(RECONCILE_SINCE):
        module.fail_json(msg="kops reconcile cluster needs kops >= %s; this kops is %s (use kops_update and "
                             "kops_rolling_update)" % (text(RECONCILE_SINCE), text(kops.version)))
    unknown = sorted(set(module.params["rolling_update_options"]) - set(ROLLING_UPDATE_OPTIONS))
    if unknown:
        module.fail_json(msg="rolling_update_options: unknown %s (known: %s)" % (
            ", ".join(unknown), ", ".join(ROLLING_UPDATE_OPTIONS)))
    try:
        refuse_ignored_rolling_options(module.params["rolling_update_options"], kops.version)
    except KopsError as exc:
        module.fail_json(msg=str(exc))
    args = ["reconcile", "cluster"]
    if module.params["allow_kops_downgrade"]:
        args.append("--allow-kops-downgrade")
    rc, preview, err, seconds = kops.run(*args)
    if rc != 0:
        module.fail_json(msg="kops reconcile cluster (preview) failed (rc %d): %s" % (rc, (err or preview).strip()[-2000:]),
                         stdout=preview, stderr=err)
    try:
        outcome = update_preview_outcome(preview + err, "kops reconcile cluster (preview)")
    except KopsError as exc:
        module.fail_json(msg="kops %s: %s" % (".".join(map(str, kops.version)), exc), stdout=preview, stderr=err)
    changed = not outcome["no_changes"] or module.params["force_roll"]
    result = dict(changed=changed, preview=preview, stdout=preview, stderr=err, groups=[], seconds=seconds)
    if changed and not module.check_mode:
        rc, out, err, seconds = kops.run(*(args + ["--yes"]), progress=True)
        try:
            phases = reconcile_phases(out, err)
        except KopsError as exc:
            if rc == 0:
                module.fail_json(msg="kops %s: %s" % (".".join(map(str, kops.version)), exc), stdout=out, stderr=err)
            phases = []  # failed before its first phase: the error below says why
        validation = rolling_update_validation(err)
        result.update(stdout=out, stderr=err, seconds=round(result["seconds"] + seconds, 2), phases=phases,
                      groups=[g for p in phases for g in p["groups"]], validation_failures=validation["failures"],
                      validation_timed_out=validation["timed_out"])
        if rc != 0:
            command = "kops reconcile cluster (phase %s)" % (phases[-1]["phase"] if phases else "(none)")
            module.fail_json(msg=rolling_failure_message(command, rc, out, err, validation), **result)
        # The reconcile may have found nothing to roll: changed follows what kops did.
        result["changed"] = bool(result["groups"]) or not outcome["no_changes"]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
