# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input to the roles, generated from their meta/argument_specs.yml (the same value table as the modules',
badinput.VALUES): one play per case in one ansible-playbook run, the case's variable as a play variable, the role
included in a block whose rescue records what the user would read. The Kubernetes API is the real control plane
(so a value that passes the argument spec meets the real modules), kops is absent (roles stop at it, never run it).

Never a traceback; a value of the wrong type is refused by the argument spec with a message naming the variable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

import badinput
from nthrepro import ROOT

ROLES = ("precheck", "remediate", "validate", "kops_upgrade")
# Values of the wrong type, which ansible-core's argument spec refuses by itself (ranges it cannot express).
WRONG_TYPE = {"int": ("text", "fraction", "empty", "list"), "bool": ("not a bool", "list", "number 2"),
              "dict": ("text", "list")}

PLAY = """
- name: "{label}"
  hosts: localhost
  gather_facts: false
  vars: {vars}
  module_defaults:
    group/clusterops.kops_upgrade.k8s:
      kubeconfig: "{kubeconfig}"
  tasks:
    - name: Case
      block:
        - name: Role
          ansible.builtin.include_role:
            name: clusterops.kops_upgrade.{role}
        - name: Accepted
          ansible.builtin.set_fact:
            bad_input_outcomes: "{{{{ bad_input_outcomes | default([]) + [{{'case': {index}, 'failed': false}}] }}}}"
      rescue:
        - name: Refused
          ansible.builtin.set_fact:
            bad_input_outcomes: >-
              {{{{ bad_input_outcomes | default([]) + [{{'case': {index}, 'failed': true,
                  'task': ansible_failed_task.name | default(''), 'msg': ansible_failed_result.msg | default('') | string,
                  'crash': (ansible_failed_result.module_stderr | default('')
                            ~ ansible_failed_result.exception | default('')) | string}}] }}}}
"""
WRITE = """
- name: Write the outcomes
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Outcomes
      ansible.builtin.copy:
        content: "{{ bad_input_outcomes | to_json }}"
        dest: "{{ outcomes_file }}"
        mode: "0600"
"""


def role_cases():
    cases = []
    for role in ROLES:
        with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")) as handle:
            options = yaml.safe_load(handle)["argument_specs"]["main"].get("options") or {}
        for variable, label, value in badinput.option_cases(options):
            cases.append({"role": role, "option": variable, "label": label, "value": value,
                          "type": options[variable].get("type", "str")})
    return cases


def test_bad_input_to_the_roles(cluster, namespace, tmp_path):
    cases = role_cases()
    plays = []
    for index, case in enumerate(cases):
        variables = {case["option"]: case["value"], "remediate_namespace": namespace,
                     "validate_rollout_namespace": namespace}
        if case["option"] == "remediate_namespace":
            variables.pop("remediate_namespace")
        variables.setdefault("precheck_kops_binary", "/nonexistent/kops")
        variables.setdefault("validate_kops_binary", "/nonexistent/kops")
        variables.setdefault("kops_upgrade_kops_binary", "/nonexistent/kops")
        plays.append(PLAY.format(label="%d %s %s %s" % (index, case["role"], case["option"], case["label"]),
                                 vars=json.dumps(variables), kubeconfig=cluster.kubeconfig, role=case["role"],
                                 index=index))
    playbook = tmp_path / "bad-input.yml"
    playbook.write_text("".join(plays) + WRITE)
    outcomes_file = tmp_path / "outcomes.json"
    env = dict(os.environ, ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_REMOTE_TMP=str(tmp_path / "rtmp"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    env.pop("K8S_AUTH_KUBECONFIG", None)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(playbook),
                           "-e", "outcomes_file=%s" % outcomes_file], capture_output=True, text=True, env=env,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    outcomes = json.loads(outcomes_file.read_text())
    assert sorted(o["case"] for o in outcomes) == list(range(len(cases)))
    for outcome in outcomes:
        case = cases[outcome["case"]]
        if not outcome["failed"]:
            case["outcome"], case["message"] = "ok", ""
        elif outcome["crash"] and "Traceback" in outcome["crash"]:
            case["outcome"], case["message"] = "traceback", outcome["crash"][-1500:]
        else:
            named = case["option"] in outcome["msg"]
            case["outcome"] = "rejected" if named else "failed"
            case["message"] = "%s: %s" % (outcome["task"], " ".join(outcome["msg"].split())[:300])
        case["module"] = "role " + case["role"]
    print("\n%d cases\n%s" % (len(cases), badinput.table(cases)))
    for case in cases:
        if case["outcome"] != "rejected":
            print("  %-12s %-34s %-22s %-8s %s" % (case["role"], case["option"], case["label"], case["outcome"],
                                                case["message"][:150]))
    crashed = [(c["role"], c["option"], c["label"], c["message"]) for c in cases if c["outcome"] == "traceback"]
    assert not crashed, crashed
    untyped = [(c["role"], c["option"], c["label"], c["outcome"], c["message"]) for c in cases
               if c["label"] in WRONG_TYPE.get(c["type"], ()) and c["outcome"] != "rejected"]
    assert not untyped, untyped
