#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kops_validate
short_description: Validate a kOps cluster, with retries, and say what each failure is about
version_added: 0.1.0
description:
  - Runs C(kops validate cluster -o json) until the cluster is valid or O(timeout) runs out, every O(interval)
    seconds, and reports every attempt.
  - Each failure is classified; a pending (or not ready) system-critical pod names its namespace, pod, and the
    ReplicaSet and Deployment that own it, so a stuck rollout can be handed to
    M(clusterops.kops_upgrade.stale_replicasets).
  - Exit code 1 with a JSON report is a result (the cluster is not valid), not a crash; concatenated JSON documents
    (as C(--wait) prints them) are read one by one.
  - Read-only; runs in check mode too.
author:
  - clusterops maintainers (@clusterops)
options:
  timeout:
    description: Seconds to keep retrying; 0 validates once.
    type: int
    default: 0
  interval:
    description: Seconds between attempts.
    type: int
    default: 30
  count:
    description: Consecutive successful attempts needed (like C(kops validate cluster --count)).
    type: int
    default: 1
  fail_on_invalid:
    description: Fail when the cluster is still not valid at the end; with V(false) the result says so instead.
    type: bool
    default: true
extends_documentation_fragment:
  - clusterops.kops_upgrade.kops
  - clusterops.kops_upgrade.attributes
  - clusterops.kops_upgrade.attributes.KOPS_GROUP
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Wait up to 10 minutes for the cluster to validate
  clusterops.kops_upgrade.kops_validate:
    cluster_name: my.k8s.local
    state_store: s3://my-kops-state
    timeout: 600
    interval: 30
  register: validation

- name: Pending system-critical pods and the Deployments behind them
  ansible.builtin.debug:
    msg: "{{ validation.failures | selectattr('deployment', 'defined') | map(attribute='deployment') | list }}"
"""

RETURN = r"""
valid:
  description: Whether the last attempt found no failure.
  returned: always
  type: bool
  sample: false
failures:
  description:
    - Failures of the last attempt as kops reports them (C(type), C(name), C(message), C(instanceGroup)), plus
      C(kind) (C(pod_pending), C(pod_not_ready), C(pod_unknown_phase), C(node), C(machine), C(instancegroup),
      C(dns), ...).
    - For a system-critical pod also C(priority), C(namespace), C(pod), C(replicaset) and C(deployment) (the
      last two from the pod name; V(null) when it is not a Deployment's pod), and C(containers) when not ready.
    - For an instance group failure, C(instance_group) (its name; kops puts the whole object in C(instanceGroup)).
  returned: always
  type: list
  elements: dict
  sample:
    - type: Pod
      name: kube-system/aws-node-termination-handler-5485d796b5-tjnw9
      message: system-cluster-critical pod "aws-node-termination-handler-5485d796b5-tjnw9" is pending
      kind: pod_pending
      priority: system-cluster-critical
      namespace: kube-system
      pod: aws-node-termination-handler-5485d796b5-tjnw9
      replicaset: aws-node-termination-handler-5485d796b5
      deployment: aws-node-termination-handler
    - type: InstanceGroup
      name: nodes-eu-west-1a
      message: InstanceGroup "nodes-eu-west-1a" did not have enough nodes 1 vs 2
      kind: instancegroup
      instance_group: nodes-eu-west-1a
      instanceGroup: {metadata: {name: nodes-eu-west-1a}, spec: {role: Node, minSize: 2, maxSize: 2}}
nodes:
  description: Nodes of the last attempt (name, zone, role, hostname, status).
  returned: always
  type: list
  elements: dict
attempts:
  description: One entry per attempt, with its time, whether it was valid and its failure messages.
  returned: always
  type: list
  elements: dict
  sample: [{attempt: 1, seconds: 2.1, valid: false, failures: ["..."]}]
"""

import time

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_cli import (
    kops_module,
    parse_json_documents,
    summarise_validation,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.validation import int_range


def main():
    module, kops = kops_module(dict(
        timeout=dict(type="int", default=0),
        interval=dict(type="int", default=30),
        count=dict(type="int", default=1),
        fail_on_invalid=dict(type="bool", default=True),
    ), rules=[("timeout", int_range(0, 86400)), ("interval", int_range(1, 3600)), ("count", int_range(1, 100))],
        default_timeout=300, supports_check_mode=True)
    params = module.params
    started = time.monotonic()
    attempts, streak, last = [], 0, None
    while True:
        rc, out, err, seconds = kops.run("validate", "cluster", "-o", "json")
        documents = parse_json_documents(out)
        if not documents:
            module.fail_json(msg="kops validate cluster printed no JSON report (rc %d): %s" % (rc, (err or out)[-2000:]),
                             attempts=attempts)
        last = summarise_validation(documents[-1])
        streak = streak + 1 if last["valid"] else 0
        attempts.append({"attempt": len(attempts) + 1, "seconds": seconds, "valid": last["valid"], "rc": rc,
                         "failures": [f["message"] for f in last["failures"]]})
        if streak >= params["count"] or time.monotonic() - started + params["interval"] > params["timeout"]:
            break
        time.sleep(params["interval"])
    result = dict(changed=False, valid=streak >= params["count"], failures=last["failures"], nodes=last["nodes"],
                  attempts=attempts, seconds=round(time.monotonic() - started, 1))
    if not result["valid"] and params["fail_on_invalid"]:
        module.fail_json(msg="cluster %s did not validate after %d attempt(s): %s" % (
            params["cluster_name"], len(attempts), "; ".join(attempts[-1]["failures"]) or "not enough valid attempts"),
            **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
