# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input to the roles: every variable of their meta/argument_specs.yml tried with the values of the modules'
table (bad_input.VALUES) against the argument spec, as ansible-core checks it when a role starts (a value of the
wrong type is refused naming the variable); and values that pass the spec but name nothing (namespaces,
Deployments, kops) run through the roles against the real control plane: a message each, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess

import yaml

from testbed import bad_input, kube
from testbed.kube import ROOT

ROLES = ("precheck", "remediate", "validate", "kops_upgrade")
# Values of the wrong type, which ansible-core's argument spec refuses by itself (ranges it cannot express).
WRONG_TYPE = {"int": ("text", "fraction", "empty", "list"), "bool": ("not a bool", "list", "number 2"),
              "dict": ("text", "list")}

# Each generated case against the role's own argument spec, as ansible-core checks it when the role starts (the
# validate_argument_spec action the role runs first): one task, one loop, on the controller.
SPEC_PLAY = """
- name: Bad input to the roles' argument specs
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Validate each case
      ansible.builtin.validate_argument_spec:
        argument_spec: "{{ specs[item.role] }}"
        provided_arguments: "{{ required[item.role] | combine({item.option: item.value}) }}"
      loop: "{{ cases }}"
      loop_control:
        label: "{{ item.role }} {{ item.option }} {{ item.label }}"
      register: validations
      ignore_errors: true
    - name: Outcomes
      ansible.builtin.copy:
        content: "{{ validations.results | map(attribute='msg', default='') | zip(validations.results
                     | map(attribute='failed', default=false)) | list | to_json }}"
        dest: "{{ outcomes_file }}"
        mode: "0600"
"""
# Values that pass the argument spec but name something that is not there: the roles run for real against the
# control plane and must end with a message, not a traceback.
RUN_PLAY = """
- name: "{label}"
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/clusterops.kops_upgrade.k8s:
      kubeconfig: "{kubeconfig}"
  tasks:
    - name: Case
      block:
        - name: Role
          ansible.builtin.include_role:
            name: clusterops.kops_upgrade.{role}
          vars: {vars}
        - name: Accepted
          ansible.builtin.set_fact:
            role_outcomes: "{{{{ role_outcomes | default([]) + [{{'label': '{label}', 'failed': false}}] }}}}"
      rescue:
        - name: Refused
          ansible.builtin.set_fact:
            role_outcomes: >-
              {{{{ role_outcomes | default([]) + [{{'label': '{label}', 'failed': true,
                  'msg': ansible_failed_result.msg | default('') | string,
                  'crash': (ansible_failed_result.module_stderr | default('')
                            ~ ansible_failed_result.exception | default('')) | string}}] }}}}
"""
WRITE_PLAY = """
- name: Write the outcomes
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Outcomes
      ansible.builtin.copy:
        content: "{{ role_outcomes | to_json }}"
        dest: "{{ outcomes_file }}"
        mode: "0600"
"""


def role_specs():
    specs = {}
    for role in ROLES:
        with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")) as handle:
            specs[role] = yaml.safe_load(handle)["argument_specs"]["main"].get("options") or {}
    return specs


def playbook_env(tmp_path):
    env = dict(os.environ, ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_REMOTE_TMP=str(tmp_path / "rtmp"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    env.pop("K8S_AUTH_KUBECONFIG", None)
    return env


def ansible_playbook(path, extra, env):
    return subprocess.run(kube.ansible_playbook(path, "-e", json.dumps(extra)), capture_output=True, text=True, env=env, check=False)


def test_bad_input_to_the_role_argument_specs(tmp_path):
    specs = role_specs()
    cases = []
    for role in ROLES:
        for variable, label, value in bad_input.option_cases(specs[role]):
            cases.append({"role": role, "option": variable, "label": label, "value": value,
                          "type": specs[role][variable].get("type", "str")})
    path = tmp_path / "specs.yml"
    path.write_text(SPEC_PLAY)
    outcomes_file = tmp_path / "outcomes.json"
    # Valid values of the required variables, so that each case shows what its own value does.
    required = dict((role, dict((name, "x.k8s.local") for name, spec in specs[role].items() if spec.get("required")))
                    for role in ROLES)
    proc = ansible_playbook(path, {"cases": cases, "specs": specs, "required": required,
                                   "outcomes_file": str(outcomes_file)}, playbook_env(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    outcomes = json.loads(outcomes_file.read_text())
    assert len(outcomes) == len(cases)
    for case, (message, failed) in zip(cases, outcomes):
        case["module"] = "role " + case["role"]
        case["message"] = " ".join(str(message).split())
        case["outcome"] = ("rejected" if case["option"] in case["message"] else "failed") if failed else "ok"
    print("\n%d cases\n%s" % (len(cases), bad_input.table(cases)))
    wrong_type = [(c["role"], c["option"], c["label"], c["outcome"], c["message"][:200]) for c in cases
                  if c["label"] in WRONG_TYPE.get(c["type"], ()) and c["outcome"] != "rejected"]
    assert not wrong_type, wrong_type
    unnamed = [(c["role"], c["option"], c["label"], c["message"][:200]) for c in cases if c["outcome"] == "failed"]
    assert not unnamed, unnamed


def test_roles_given_names_of_nothing_end_with_a_message(cluster, namespace, tmp_path):
    cases = {
        "remediate namespace that does not exist": ("remediate", {"remediate_namespace": "no-such-namespace"}),
        "remediate namespace with invalid characters": ("remediate", {"remediate_namespace": "Bad_Name!"}),
        "remediate Deployment that does not exist": ("remediate", {"remediate_namespace": namespace,
                                                                   "remediate_deployments": "no-such-deployment"}),
        "validate namespace that does not exist": ("validate", {"validate_rollout_namespace": "no-such-namespace",
                                                                "validate_with_kops": False}),
        "precheck kops that does not exist": ("precheck", {"precheck_cluster_name": "x.k8s.local",
                                                           "precheck_kops_binary": "/nonexistent/kops"}),
        "kops_upgrade kops that does not exist": ("kops_upgrade", {"kops_upgrade_cluster_name": "x.k8s.local",
                                                                   "kops_upgrade_kops_binary": "/nonexistent/kops"}),
    }
    plays = [RUN_PLAY.format(label=label, kubeconfig=cluster.kubeconfig, role=role, vars=json.dumps(variables))
             for label, (role, variables) in cases.items()]
    path = tmp_path / "roles.yml"
    path.write_text("".join(plays) + WRITE_PLAY)
    outcomes_file = tmp_path / "outcomes.json"
    proc = ansible_playbook(path, {"outcomes_file": str(outcomes_file)}, playbook_env(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    outcomes = json.loads(outcomes_file.read_text())
    assert [o["label"] for o in outcomes] == list(cases)
    for outcome in outcomes:
        print("  %-48s %-8s %s" % (outcome["label"], "failed" if outcome["failed"] else "ok",
                                   " ".join(outcome.get("msg", "").split())[:160]))
    crashed = [o for o in outcomes if "Traceback" in o.get("crash", "")]
    assert not crashed, crashed
