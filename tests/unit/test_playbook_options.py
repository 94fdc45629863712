# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input to the collection's playbooks, before any work: each playbook's first play checks its own options
(the playbook_options role: its argument spec and checks) and ends the run with a message naming the variable (never an ansible-core
traceback, never a Jinja `is undefined`); an inventory pattern that matches no host fails instead of exiting 0
having done nothing; required cluster variables are named by argument-spec validation. No cluster is needed:
every case stops before the first Kubernetes or kops call (the main play never starts)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from testbed.kube import ansible_playbook

PLAYBOOKS = ("precheck", "upgrade", "remediate", "validate", "recover")
INVENTORY = """\
kops_clusters:
  hosts:
    localhost:
      ansible_connection: local
      cluster_name: my.k8s.example.com
"""


def run(tmp_path, playbook, *args, inventory_text=INVENTORY):
    inventory = tmp_path / "clusters.yml"
    inventory.write_text(inventory_text)
    env = dict(os.environ)
    env.update({"HOME": str(tmp_path), "ANSIBLE_HOME": str(tmp_path / ".ansible"), "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_PYTHON_INTERPRETER": sys.executable})
    env.pop("KUBECONFIG", None)
    result = subprocess.run(ansible_playbook("-i", inventory, "clusterops.kops_upgrade." + playbook, *args),
                            cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300, check=False)
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "Unexpected Exception" not in output, output[-3000:]
    assert "is undefined" not in output, output[-3000:]
    return result.returncode, output


def plays_started(output):
    return [line.split("]")[0] + "]" for line in output.splitlines() if line.startswith("PLAY [")]


@pytest.mark.parametrize("playbook", PLAYBOOKS)
@pytest.mark.parametrize("serial", ["abc", "-1"])
def test_bad_serial_is_named_before_any_work(tmp_path, playbook, serial):
    rc, output = run(tmp_path, playbook, "-e", "kops_upgrade_serial=" + serial)
    assert rc != 0
    assert "kops_upgrade_serial must be an integer, a percentage such as 25%, or a list of them" in output, output
    assert plays_started(output) == ["PLAY [Check the playbook's options before any work]"], output


@pytest.mark.parametrize("value,message", [
    # ansible-core 2.21 names the type "str"; the lowest supported release prints "<class 'str'>".
    ("abc", re.compile(r"argument 'kops_upgrade_max_fail_percentage' is of type (str|<class 'str'>) and we were "
                       r"unable to convert to int")),
    ("120", "kops_upgrade_max_fail_percentage must be between 0 and 100; got 120"),
    ("-5", "kops_upgrade_max_fail_percentage must be between 0 and 100; got -5"),
])
def test_bad_max_fail_percentage_is_named(tmp_path, value, message):
    rc, output = run(tmp_path, "upgrade", "-e", "kops_upgrade_max_fail_percentage=" + value)
    found = message.search(output) if hasattr(message, "search") else message in output
    assert rc != 0 and found, output
    assert len(plays_started(output)) == 1, output


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_a_pattern_matching_no_host_fails_clearly(tmp_path, playbook):
    rc, output = run(tmp_path, playbook, "-e", "kops_upgrade_hosts=kops_clsters")
    assert rc != 0
    assert ("kops_upgrade_hosts 'kops_clsters' matches no host of the inventory (1 hosts; groups: kops_clusters)"
            in output), output
    assert len(plays_started(output)) == 1, output


def test_upgrade_names_a_missing_cluster_name(tmp_path):
    rc, output = run(tmp_path, "upgrade", inventory_text="all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    assert rc != 0
    assert "missing required arguments: cluster_name" in output, output
    assert "PLAY [Upgrade a kOps cluster" in output and "TASK [Precheck" not in output, output


def test_the_kops_upgrade_role_requires_its_cluster_name(tmp_path):
    """No default of "" hides the role's required variable: argument-spec validation names it."""
    play = tmp_path / "play.yml"
    play.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                    "    - ansible.builtin.include_role:\n        name: clusterops.kops_upgrade.kops_upgrade\n")
    env = dict(os.environ, HOME=str(tmp_path), ANSIBLE_HOME=str(tmp_path / ".ansible"), ANSIBLE_NOCOLOR="1")
    result = subprocess.run(ansible_playbook("-i", "localhost,", "-c", "local", play), cwd=str(tmp_path), env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode != 0
    assert "missing required arguments: kops_upgrade_cluster_name" in result.stdout, result.stdout[-3000:]


def test_good_options_pass_the_check_without_warnings(tmp_path):
    """With an inventory, the documented form of the commands: the check play passes and the run opens with no
    `No inventory was parsed` / `provided hosts list is empty` warning (it then stops at the missing API)."""
    rc, output = run(tmp_path, "precheck", "-e", '{"kops_upgrade_serial": [1, "25%"]}', "-e",
                     "kops_upgrade_hosts=kops_clusters", "-e", "kops_upgrade_max_fail_percentage=0")
    assert "No inventory was parsed" not in output and "provided hosts list is empty" not in output, output
    assert len(plays_started(output)) == 2, output
    assert "no Kubernetes API configured" in output, output


def test_the_fleet_summary_counts_no_controller_play(tmp_path):
    """The option checks run on the controller: the fleet_summary callback does not count them as a cluster, and
    reports their failure under the controller's name."""
    os.environ["ANSIBLE_CALLBACKS_ENABLED"] = "clusterops.kops_upgrade.fleet_summary"
    try:
        rc, output = run(tmp_path, "precheck", "-e", "kops_upgrade_serial=abc")
    finally:
        del os.environ["ANSIBLE_CALLBACKS_ENABLED"]
    assert rc != 0
    assert "FLEET SUMMARY: 1 cluster(s): 1 failed" in output, output[-3000:]
    assert "Playbook options | Check the batches (kops_upgrade_serial)': kops_upgrade_serial must be" \
        in output, output[-3000:]
