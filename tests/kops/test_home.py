# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kops and ansible never touch the user's home: every kops command that writes or reads a kubeconfig (update
--yes, --admin, export kubeconfig, get instances, rolling-update, validate) uses the KopsWorld's KUBECONFIG, and
ansible its ANSIBLE_HOME. Run with HOME set to a fresh directory, which must stay without .kube and .ansible."""

from __future__ import annotations

import json
import os

from testbed import kops_world
from testbed.kops_world import ACCOUNT_HOME, home_state, kops_module


def test_kops_flows_write_nothing_into_home(world, tmp_path, monkeypatch):
    home = tmp_path / "fresh-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    account_before = home_state(ACCOUNT_HOME)
    world_kubeconfig = world.env["KUBECONFIG"]

    # Before the cluster exists in the cloud, kops finds its context in the world's kubeconfig (no API there).
    assert json.loads(world.run("get", "instances", "--name", kops_world.CLUSTER, "-o", "json").stdout) == []
    assert kops_module("kops_upgrade", world)["changed"] is True
    applied = kops_module("kops_update", world, admin="1h")
    assert applied["failed"] is False and applied["changed"] is True, applied.get("msg")
    exported = world.run("export", "kubeconfig", "--name", kops_world.CLUSTER, "--admin=1h")
    assert exported.returncode == 0
    assert len(json.loads(world.run("get", "instances", "--name", kops_world.CLUSTER, "-o", "json").stdout)) == 3
    preview = kops_module("kops_rolling_update", world, check=True, cloudonly=True, force=True)
    assert preview["failed"] is False, preview.get("msg")
    # The API at the cluster's (moto) load balancer name does not exist: validation fails, as it should.
    validated = kops_module("kops_validate", world, timeout=0, fail_on_invalid=False)
    assert validated.get("valid") is not True

    # kops wrote the cluster's endpoint and admin credentials where KUBECONFIG said...
    with open(world_kubeconfig) as handle:
        text = handle.read()
    assert "current-context: %s" % kops_world.CLUSTER in text and "client-certificate-data" in text
    # ...and nothing into either home.
    assert home_state(str(home))["present"] == [], os.listdir(str(home))
    assert home_state(ACCOUNT_HOME)["kube_config_sha256"] == account_before["kube_config_sha256"]
