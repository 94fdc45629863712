# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade playbook end to end on real kops releases: tools/kopscloud (moto as AWS, the local control plane as
the cluster's API, the node agent for the instances, kOps' channels for the addons). Like tests/kops, the session
runs with HOME set to an empty directory that must stay without .kube and .ansible."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "kopscloud"))

import cloud as kopscloud  # noqa: E402  pylint: disable=wrong-import-position
import kopsenv  # noqa: E402  pylint: disable=wrong-import-position

PREFIX = os.environ.get("CLUSTEROPS_TEST_CLUSTER_PREFIX", "pytest")


@pytest.fixture(scope="session", autouse=True)
def untouched_home(tmp_path_factory):
    """HOME is an empty directory for the whole session; see kopsenv.untouched_home."""
    yield from kopsenv.untouched_home(str(tmp_path_factory.mktemp("session")))


def kops_cloud(tmp_path_factory, suffix, control_planes):
    workdir = str(tmp_path_factory.mktemp("kops-cloud-" + suffix))
    with kopscloud.KopsCloud(workdir, "%s-e2e-%s" % (PREFIX, suffix), control_planes=control_planes,
                             nodes=2) as cloud:
        yield cloud
        print("\n=== timings, %s (%d control-plane node(s))" % (suffix, control_planes))
        for phase, seconds in cloud.timings.items():
            print("  %-60s %7.1fs" % (phase, seconds))


def run_playbook(cloud, kops_version, kubernetes_version, **extra):
    """ansible-playbook clusterops.kops_upgrade.upgrade against ``cloud`` with the kops release ``kops_version``;
    returns (rc, output, seconds). Its output streams to the terminal (progress) and is kept for the asserts."""
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    variables = cloud.upgrade_variables(kops_version, kubernetes_version)
    variables.update(extra)
    env = dict(os.environ)
    env.update(cloud.environment())
    env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_DEPRECATION_WARNINGS": "false",
                "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
                "HOME": os.environ["HOME"]})
    argv = [beside if os.access(beside, os.X_OK) else "ansible-playbook", "clusterops.kops_upgrade.upgrade",
            "-e", json.dumps(variables)]
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        sys.stdout.write(line)
    rc = proc.wait()
    return rc, "".join(lines), time.monotonic() - started
