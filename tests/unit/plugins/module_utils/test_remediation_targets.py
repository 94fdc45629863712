# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a remediation may act on (rollout.remediation_targets): what the roles used to filter in Jinja."""

from __future__ import annotations

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout import remediation_targets


def diagnosis(name, verdict, namespace="kube-system"):
    return {"name": name, "namespace": namespace, "verdict": verdict}


KUBE_SYSTEM = [diagnosis("aws-node-termination-handler", "stuck"), diagnosis("cilium-operator", "stuck"),
               diagnosis("coredns", "complete"), diagnosis("ebs-csi-controller", "blocked"),
               diagnosis("kops-controller", "progressing")]


def test_any_deployment_when_among_is_not_given():
    assert remediation_targets(KUBE_SYSTEM) == {
        "stuck": ["aws-node-termination-handler", "cilium-operator"], "blocked": ["ebs-csi-controller"], "prevent": []}


def test_among_names_what_may_be_touched_and_an_empty_list_is_nothing():
    assert remediation_targets(KUBE_SYSTEM, among=["aws-node-termination-handler", "coredns"]) == {
        "stuck": ["aws-node-termination-handler"], "blocked": [], "prevent": []}
    assert remediation_targets(KUBE_SYSTEM, among=[]) == {"stuck": [], "blocked": [], "prevent": []}


def test_with_a_baseline_only_what_the_update_started_to_roll():
    changed = ["kube-system/cilium-operator", "kube-system/ebs-csi-controller"]
    assert remediation_targets(KUBE_SYSTEM, changed=changed) == {
        "stuck": ["cilium-operator"], "blocked": ["ebs-csi-controller"], "prevent": []}
    assert remediation_targets(KUBE_SYSTEM, among=["aws-node-termination-handler"], changed=changed) == {
        "stuck": [], "blocked": [], "prevent": []}


def test_across_namespaces_the_names_carry_their_namespace():
    diagnoses = [diagnosis("web", "stuck", "a"), diagnosis("web", "complete", "b")]
    assert remediation_targets(diagnoses) == {"stuck": ["a/web"], "blocked": [], "prevent": []}


def test_prevent_names_the_predicted_deadlocks_among_the_names_whatever_the_baseline():
    diagnoses = [dict(diagnosis("aws-node-termination-handler", "complete"), prediction={"deadlock": True}),
                 dict(diagnosis("cilium-operator", "stuck"), prediction={"deadlock": True}),
                 dict(diagnosis("coredns", "complete"), prediction={"deadlock": False})]
    assert remediation_targets(diagnoses)["prevent"] == ["aws-node-termination-handler", "cilium-operator"]
    assert remediation_targets(diagnoses, among=["cilium-operator", "coredns"])["prevent"] == ["cilium-operator"]
    assert remediation_targets(diagnoses, changed=[])["prevent"] == [
        "aws-node-termination-handler", "cilium-operator"]
    assert remediation_targets(diagnoses, among=[])["prevent"] == []
