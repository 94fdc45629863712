# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kops' progress in the output while it runs: a rolling update (real kops against moto) shows each instance it
stops as kops logs it, in ansible-playbook's output, long before the task's result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import kopsenv

PLAYBOOK = """
- name: A rolling update with progress
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/clusterops.kops_upgrade.kops:
      cluster_name: "{{ cluster }}"
      state_store: "{{ state_store }}"
      kops_binary: "{{ kops }}"
      environment: "{{ kops_environment }}"
  tasks:
    - name: Update (moto launches the instances)
      clusterops.kops_upgrade.kops_update: {}
    - name: Roll every instance, cloud only, 4 seconds apart
      clusterops.kops_upgrade.kops_rolling_update:
        cloudonly: true
        force: true
        control_plane_interval: 4s
        node_interval: 4s
      register: rolled
    - name: The result
      ansible.builtin.debug:
        msg: "ROLLED {{ rolled.groups | map(attribute='instances') | flatten | join(',') }}"
"""


def test_rolling_update_progress_is_shown_while_kops_runs(kops_world, tmp_path):
    playbook = tmp_path / "progress.yml"
    playbook.write_text(PLAYBOOK)
    variables = {"cluster": kopsenv.CLUSTER, "state_store": kops_world.state, "kops": kops_world.kops,
                 "kops_environment": dict((k, v) for k, v in kops_world.env.items() if k != "KOPS_STATE_STORE")}
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    env = dict(kopsenv.without_connection_variables(os.environ), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_DEPRECATION_WARNINGS="false")
    proc = subprocess.Popen([beside, str(playbook), "-e", json.dumps(variables)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    arrived = []  # (seconds since start, line), as ansible-playbook printed them
    started = time.monotonic()
    for line in proc.stdout:
        arrived.append((time.monotonic() - started, line.rstrip("\n")))
    output = "\n".join(line for dummy, line in arrived)
    assert proc.wait() == 0, output[-4000:]
    rolled = [line for dummy, line in arrived if "ROLLED " in line][0].split("ROLLED ", 1)[1].strip('"').split(",")
    assert len(rolled) == 3, output[-4000:]
    stopping = [(at, line) for at, line in arrived if "] kops: " in line and "Stopping instance" in line]
    # A line per instance, as kops logs it, each naming the instance and its group.
    assert sorted(i for i in rolled if any(i in line for dummy, line in stopping)) == sorted(rolled), output[-4000:]
    assert all(line.startswith("[localhost] kops: ") for dummy, line in stopping)
    assert any("Rolling update completed" in line for dummy, line in arrived if "] kops: " in line)
    # Shown while kops ran: the first instance's line came out at least one interval (4 s) before the task's result.
    result = next(at for at, line in arrived if line.startswith(("changed: [localhost]", "ok: [localhost]"))
                  and arrived.index((at, line)) > arrived.index(stopping[0]))
    assert result - stopping[0][0] >= 4, [(round(at, 1), line) for at, line in arrived[-40:]]
