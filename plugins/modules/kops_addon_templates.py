#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kops_addon_templates
short_description: Render the addons a kops release would apply, without applying anything
version_added: 0.6.0
description:
  - Renders the cluster with C(kops update cluster --target=terraform --out <temporary directory>
    --create-kube-config=false) and reads from the output the bootstrap channel and the addon manifests the
    release would write to the state store, matched by their sha256 (C(manifestHash)). Returns each addon's
    Deployments and DaemonSets as the manifest writes them, for the O(clusterops.kops_upgrade.upgrade_precheck#module:incoming_addons)
    option of M(clusterops.kops_upgrade.upgrade_precheck), which predicts the deadlocks the new templates would
    bring before C(kops update cluster --yes) (or C(kops reconcile cluster)) applies them.
  - Run it after C(kops upgrade cluster --yes) with the kops release that will apply the upgrade, so the spec
    rendered is the upgraded one.
  - Nothing is applied and nothing is written to the cloud, the cluster or the state store. The Terraform target
    only writes files; the tasks that write the state store whatever the target (C(Keypair), C(Secret),
    C(MirrorKeystore), C(MirrorSecrets)) run with C(--lifecycle-overrides ...=ExistsAndWarnIfChanges), so they
    only find what is there. A release that would add a keypair or secret therefore cannot be rendered before
    its update; the module then says so (O(ignore:rendered) false) instead of writing it.
  - Needs an S3 or GCS state store - kops renders the state store's files for Terraform from those only. With
    another store, or when kops cannot render, O(ignore:rendered) is false with the O(ignore:reason), a warning,
    and no failure; the prediction from the running templates still stands.
author:
  - clusterops maintainers (@clusterops)
options: {}
extends_documentation_fragment:
  - clusterops.kops_upgrade.kops
  - clusterops.kops_upgrade.attributes
  - clusterops.kops_upgrade.attributes.KOPS_GROUP
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Upgrade the spec, then see what the new release's addons will do before applying them
  clusterops.kops_upgrade.kops_upgrade:
    cluster_name: my.k8s.local
    state_store: s3://my-kops-state
    kops_binary: /usr/local/bin/kops-1.36.2

- name: Render the addons kops 1.36.2 will apply
  clusterops.kops_upgrade.kops_addon_templates:
    cluster_name: my.k8s.local
    state_store: s3://my-kops-state
    kops_binary: /usr/local/bin/kops-1.36.2
  register: incoming

- name: Predict their rollouts on the cluster as it is
  clusterops.kops_upgrade.upgrade_precheck:
    checks: [rollouts]
    incoming_addons: "{{ incoming.addons }}"
    incoming_release: "{{ incoming.kops_version }}"
  register: prediction
"""

RETURN = r"""
rendered:
  description: Whether the addons were rendered.
  returned: always
  type: bool
  sample: true
reason:
  description: Why not, when O(ignore:rendered) is false; empty otherwise.
  returned: always
  type: str
  sample: kops renders the state store's files for Terraform only from an S3 or GCS state store, not file://
kops_version:
  description: The kops release that rendered them.
  returned: always
  type: str
  sample: 1.36.2
addons:
  description:
    - The addons of the rendered bootstrap channel, in its order - C(name), C(manifest) (its path in the state
      store), C(manifest_hash) (sha256) and C(workloads), the Deployments and DaemonSets of its manifest as plain
      API objects (V(null) when the manifest was not among the rendered files).
    - Empty when O(ignore:rendered) is false.
  returned: always
  type: list
  elements: dict
  sample: [{name: node-termination-handler.aws, manifest: node-termination-handler.aws/k8s-1.11.yaml,
            manifest_hash: 81c38275..., workloads: [{kind: Deployment, metadata: {name: aws-node-termination-handler}}]}]
seconds:
  description: Seconds kops ran.
  returned: always
  type: float
  sample: 1.2
stderr:
  description: kops' log of the rendering (its last 4000 characters).
  returned: always
  type: str
"""

import os
import shutil
import tempfile

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.addon_templates import (
    render_arguments,
    rendered_addons,
    unrenderable_store,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_cli import kops_module
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_releases import text


def read_tree(directory):
    """name -> bytes of every file under ``directory`` (Terraform's ``data/``)."""
    files = {}
    for root, dummy, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                files[os.path.relpath(path, directory)] = handle.read()
    return files


def render(module, kops, result):
    """Render with kops (render_arguments) into a private temporary directory and read the addons from its
    ``data/`` (rendered_addons) into ``result``; the directory is removed. Returns why the addons could not be
    rendered (an unrenderable state store, a kops failure, output without a bootstrap channel), or ""."""
    reason = unrenderable_store(kops.environ.get("KOPS_STATE_STORE") or os.environ.get("KOPS_STATE_STORE"))
    if reason:
        return reason
    out_dir = tempfile.mkdtemp(prefix="kops-render-", dir=module.tmpdir)
    try:
        rc, out, err, seconds = kops.run(*render_arguments(out_dir))
        result.update(seconds=seconds, stderr=err[-4000:])
        if rc != 0:
            return "kops update cluster --target=terraform failed (rc %d): %s" % (
                rc, " ".join((err or out).strip().splitlines()[-3:])[-1500:])
        try:
            result["addons"] = rendered_addons(read_tree(os.path.join(out_dir, "data")))
        except ValueError as exc:
            return "kops %s's Terraform output: %s" % (result["kops_version"], exc)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return ""


def main():
    """render(); when it could not, ``rendered`` false, the reason and a warning - not a failure."""
    module, kops = kops_module({}, default_timeout=600, supports_check_mode=True)
    result = dict(changed=False, rendered=False, reason="", kops_version=text(kops.version), addons=[],
                  seconds=0.0, stderr="")
    reason = render(module, kops, result)
    if reason:
        module.warn("the addons of kops %s cannot be rendered: %s" % (result["kops_version"], reason))
        result.update(reason=reason, addons=[])
    result["rendered"] = not reason
    module.exit_json(**result)


if __name__ == "__main__":
    main()
