# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of rollout_api: what a refused eviction says."""

from __future__ import annotations

import json

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout_api import eviction_refusal

# The Status kube-apiserver answers a refused eviction with (pkg/registry/core/pod/storage/eviction.go).
REFUSED = {
    "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "TooManyRequests", "code": 429,
    "message": "Cannot evict pod as it would violate the pod's disruption budget.",
    "details": {"causes": [{"reason": "DisruptionBudget",
                            "message": "The disruption budget nth-pdb needs 1 healthy pods and has 1 currently"}]},
}


def test_a_refused_eviction_names_the_budget_and_what_it_needs():
    refusal = eviction_refusal(json.dumps(REFUSED))
    assert refusal["budgets"] == ["nth-pdb"]
    assert refusal["message"] == ("Cannot evict pod as it would violate the pod's disruption budget. "
                                  "The disruption budget nth-pdb needs 1 healthy pods and has 1 currently")


def test_a_budget_still_being_processed_is_named_too():
    body = dict(REFUSED, details={"causes": [{"reason": "DisruptionBudget", "message":
                                              "The disruption budget web is still being processed by the server."}]})
    assert eviction_refusal(json.dumps(body).encode())["budgets"] == ["web"]


def test_a_body_that_is_no_status_still_gives_a_sentence():
    for body in (None, "", "not json", "[1]"):
        refusal = eviction_refusal(body)
        assert refusal == {"message": "Cannot evict pod as it would violate the pod's disruption budget.",
                           "budgets": []}
