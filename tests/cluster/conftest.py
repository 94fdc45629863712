# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Session fixtures: real local control planes (tools/localcluster), started once per session and stopped by
their pids at the end (set CLUSTEROPS_KEEP_CLUSTER=1 or pass --keep-cluster to leave them running), and a fresh
namespace per test."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import uuid

import pytest
from kubernetes import client

sys.path.insert(0, os.path.dirname(__file__))

import nthrepro  # noqa: E402  pylint: disable=wrong-import-position

LOCALCLUSTER = os.path.join(nthrepro.ROOT, "tools", "localcluster", "localcluster.py")
_PORTS = itertools.count(20000, 2)


def pytest_addoption(parser):
    parser.addoption("--keep-cluster", action="store_true", help="leave the local control planes running")


class LocalCluster:
    def __init__(self, name, kubeconfig):
        self.name = name
        self.kubeconfig = kubeconfig
        self.limited_kubeconfig = os.path.join(os.path.dirname(kubeconfig), "limited.kubeconfig")
        self.api = nthrepro.api(kubeconfig)


def _cluster(request, name, control_planes, workers):
    env = dict(os.environ, CLUSTER_NAME=name)
    up = subprocess.run([sys.executable, LOCALCLUSTER, "up", "--name", name, "--control-plane-nodes",
                         str(control_planes), "--workers", str(workers)], env=env, capture_output=True, text=True)
    if up.returncode != 0:
        raise RuntimeError("local cluster %s did not start: %s" % (name, up.stderr[-3000:]))
    kubeconfig = up.stdout.strip().splitlines()[-1].split("=", 1)[1]
    cluster = LocalCluster(name, kubeconfig)
    yield cluster
    if not (request.config.getoption("--keep-cluster") or os.environ.get("CLUSTEROPS_KEEP_CLUSTER")):
        subprocess.run([sys.executable, LOCALCLUSTER, "down", "--name", name], check=True)


@pytest.fixture(scope="session")
def cluster(request):
    """One control-plane node (labelled and tainted) and two workers: the topology that deadlocks."""
    yield from _cluster(request, "pytest-1cp", 1, 2)


@pytest.fixture(scope="session")
def three_cp_cluster(request):
    """Three control-plane nodes and one worker: NTH has a spare node for its surge pod."""
    yield from _cluster(request, "pytest-3cp", 3, 1)


def _namespace(api_client):
    core = client.CoreV1Api(api_client)
    name = "t-" + uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


@pytest.fixture
def namespace(cluster):
    yield from _namespace(cluster.api)


@pytest.fixture
def three_cp_namespace(three_cp_cluster):
    yield from _namespace(three_cp_cluster.api)


@pytest.fixture
def host_ports():
    """A (liveness, metrics) port pair of its own per test: host ports are per node across namespaces."""
    first = next(_PORTS)
    return first, first + 1
