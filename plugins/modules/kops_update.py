#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kops_update
short_description: Run kops update cluster, previewing first
version_added: 0.1.0
description:
  - Runs C(kops update cluster) without C(--yes) to preview, and with C(--yes) when the preview shows changes and
    not in check mode. C(changed) follows what kops reports (C(No changes need to be applied) means no change).
  - On control-plane nodes, protokube applies the new addon manifests within about a minute of the update, which is
    when the aws-node-termination-handler rollout (and its deadlock) starts.
author:
  - clusterops maintainers (@clusterops)
options:
  admin:
    description: Export an admin kubeconfig for this long (C(--admin=<duration>), for example C(18h)).
    type: str
  create_kube_config:
    description: Write the kubeconfig (C(--create-kube-config)).
    type: bool
  instance_groups:
    description: Only these instance groups (C(--instance-group)); needs kops 1.31 or later.
    type: list
    elements: str
    default: []
  instance_group_roles:
    description: Only instance groups of these roles (C(--instance-group-roles)); needs kops 1.31 or later.
    type: list
    elements: str
    default: []
  allow_kops_downgrade:
    description: C(--allow-kops-downgrade).
    type: bool
    default: false
extends_documentation_fragment:
  - clusterops.kops_upgrade.kops
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
"""

EXAMPLES = r"""
- name: Apply the upgraded spec to the cloud
  clusterops.kops_upgrade.kops_update:
    cluster_name: my.k8s.local
    state_store: s3://my-kops-state
    admin: 18h
  register: update
"""

RETURN = r"""
needs_rolling_update:
  description: Whether kops says instances need a rolling update (C(Changes may require instances to restart)).
  returned: always
  type: bool
  sample: true
preview:
  description: What the preview printed.
  returned: always
  type: str
stdout:
  description: What the last kops run printed.
  returned: always
  type: str
stderr:
  description: kops' log (klog lines) of the last run.
  returned: always
  type: str
seconds:
  description: Seconds kops ran (preview and apply).
  returned: always
  type: float
  sample: 4.1
"""

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_releases import (
    UPDATE_INSTANCE_GROUP_FLAGS_SINCE,
    text,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_cli import (
    KopsError,
    kops_module,
    update_outcome,
    update_preview_outcome,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.validation import (
    dns1123_subdomain,
    each,
    go_duration,
    not_an_option,
)


def main():
    """Run ``kops update cluster``: a preview, then (unless check mode or nothing changes) the apply.

    ``instance_groups`` and ``instance_group_roles`` need kops >= 1.31 (checked before kops runs). The preview runs
    without ``--yes``; a non-zero exit, or a preview that reads neither as changes nor as none
    (update_preview_outcome), fails the module. ``changed`` is whether it shows changes and ``needs_rolling_update``
    whether kops says instances must be replaced. With changes and outside check mode kops runs again with ``--yes``
    (and ``--admin``, ``--create-kube-config`` when set); a non-zero exit fails the module, otherwise ``stdout``,
    ``stderr`` and ``seconds`` include the apply and ``needs_rolling_update`` is true when the preview or the apply
    says so. Returns also ``preview``."""
    module, kops = kops_module(dict(
        admin=dict(type="str"),
        create_kube_config=dict(type="bool"),
        instance_groups=dict(type="list", elements="str", default=[]),
        instance_group_roles=dict(type="list", elements="str", default=[]),
        allow_kops_downgrade=dict(type="bool", default=False),
    ), rules=[("admin", go_duration), ("instance_groups", each(dns1123_subdomain)),
              ("instance_group_roles", each(not_an_option))], default_timeout=1800, supports_check_mode=True)
    params = module.params
    args = ["update", "cluster"]
    if params["instance_groups"] or params["instance_group_roles"]:
        if not kops.supports(UPDATE_INSTANCE_GROUP_FLAGS_SINCE):
            module.fail_json(msg="instance_groups and instance_group_roles need kops >= %s; this kops is %s"
                             % (text(UPDATE_INSTANCE_GROUP_FLAGS_SINCE), text(kops.version)))
        for group in params["instance_groups"]:
            args += ["--instance-group", group]
        for role in params["instance_group_roles"]:
            args += ["--instance-group-roles", role]
    if params["allow_kops_downgrade"]:
        args.append("--allow-kops-downgrade")
    rc, preview, err, seconds = kops.run(*args)
    if rc != 0:
        module.fail_json(msg="kops update cluster (preview) failed (rc %d): %s" % (rc, (err or preview).strip()[-2000:]),
                         stdout=preview, stderr=err)
    try:
        outcome = update_preview_outcome(preview + err, "kops update cluster (preview)")
    except KopsError as exc:
        module.fail_json(msg="kops %s: %s" % (".".join(map(str, kops.version)), exc), stdout=preview, stderr=err)
    result = dict(changed=not outcome["no_changes"], preview=preview, stdout=preview, stderr=err,
                  needs_rolling_update=outcome["needs_rolling_update"], seconds=seconds)
    if result["changed"] and not module.check_mode:
        apply_args = args + ["--yes"]
        if params["admin"]:
            apply_args.append("--admin=%s" % params["admin"])
        if params["create_kube_config"] is not None:
            apply_args.append("--create-kube-config=%s" % str(params["create_kube_config"]).lower())
        rc, out, err, seconds = kops.run(*apply_args)
        if rc != 0:
            module.fail_json(msg="kops update cluster --yes failed (rc %d): %s" % (rc, (err or out).strip()[-2000:]),
                             **result)
        applied = update_outcome(out + err)
        result.update(stdout=out, stderr=err, seconds=result["seconds"] + seconds,
                      needs_rolling_update=applied["needs_rolling_update"] or result["needs_rolling_update"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
