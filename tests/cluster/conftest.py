# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Session fixtures: real local control planes (tools/localcluster/up.sh), started once per session and stopped
by their pids at the end with tools/localcluster/down.sh (pass --keep-cluster or set CLUSTEROPS_KEEP_CLUSTER=1 to
leave them running; the next session then reuses them), and a fresh namespace per test.

Fixtures (see tools/localcluster/README.md):
- ``local_cluster`` (alias ``cluster``): 1 control-plane node + 2 workers, the topology that deadlocks.
- ``two_cp_cluster``: 2 control-plane nodes + 1 worker (NTH replicas 2: deadlocks too).
- ``three_cp_cluster``: 3 control-plane nodes + 1 worker (NTH replicas 2: the rollout completes).
- ``audit_cluster``: as ``local_cluster``, with kube-apiserver's audit log (``audit_log``).
  Each yields a ``LocalCluster``: name, kubeconfig, limited_kubeconfig, api (kubernetes ApiClient, admin),
  limited_api (ApiClient as the limited identity), control_plane_nodes, workers, state_dir.
- ``fault_cluster``: 1 control-plane node + 2 workers of its own, whose kube-apiserver tools/testbed/faults.py
  kills and restarts.
- ``precheck_cluster``: 1 control-plane node + 2 workers of its own, for the upgrade precheck tests, which create
  cluster-wide objects (nodes, webhooks, CRDs) that must not reach the other tests' clusters.
- ``namespace`` / ``two_cp_namespace`` / ``three_cp_namespace`` / ``fault_namespace`` / ``precheck_namespace``: a fresh namespace name
  on that cluster, deleted after the test.
- ``host_ports``: a (liveness, metrics) host-port pair of the test's own. Host ports are per node across
  namespaces, so NTH-shaped Deployments of different tests must not share them.

Cluster names are ``<prefix>-1cp`` etc., prefix from CLUSTEROPS_TEST_CLUSTER_PREFIX (default ``pytest``), so two
sessions at once (say, CI and a developer) can use different clusters.
"""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import uuid

import pytest
from kubernetes import client

from testbed import kube

TOOLS = os.path.join(kube.ROOT, "tools", "localcluster")
# Host ports from a random base, so a session reusing a kept cluster does not meet a previous session's pods.
_PORTS = itertools.count(20000 + 2 * random.randrange(0, 10000), 2)


def pytest_addoption(parser):
    parser.addoption("--keep-cluster", action="store_true",
                     help="leave the local control planes running at the end (also CLUSTEROPS_KEEP_CLUSTER=1)")


class LocalCluster:
    """A running local control plane, as the fixtures yield it."""

    def __init__(self, name, kubeconfig, control_planes, workers):
        self.name = name
        self.kubeconfig = kubeconfig
        self.state_dir = os.path.dirname(kubeconfig)
        self.limited_kubeconfig = os.path.join(self.state_dir, "limited.kubeconfig")
        self.control_plane_nodes = control_planes
        self.workers = workers
        self.api = kube.api(kubeconfig)
        self.limited_api = kube.api(self.limited_kubeconfig)

    def __repr__(self):
        return "LocalCluster(%s: %d control-plane + %d workers, %s)" % (
            self.name, self.control_plane_nodes, self.workers, self.kubeconfig)


def cluster_name(suffix):
    return "%s-%s" % (os.environ.get("CLUSTEROPS_TEST_CLUSTER_PREFIX", "pytest"), suffix)


def _cluster(request, suffix, control_planes, workers, **extra_env):
    name = cluster_name(suffix)
    env = dict(os.environ, CLUSTER_NAME=name, CONTROL_PLANE_NODES=str(control_planes), WORKER_NODES=str(workers),
               **extra_env)
    up = subprocess.run(["bash", os.path.join(TOOLS, "up.sh")], env=env, capture_output=True, text=True,
                        check=False)
    if up.returncode != 0:
        raise RuntimeError("local cluster %s did not start (rc %d): %s" % (name, up.returncode, up.stderr[-3000:]))
    last = up.stdout.strip().splitlines()[-1]
    assert last.startswith("KUBECONFIG="), up.stdout
    cluster = LocalCluster(name, last.split("=", 1)[1], control_planes, workers)
    try:
        yield cluster
    finally:
        if not (request.config.getoption("--keep-cluster") or os.environ.get("CLUSTEROPS_KEEP_CLUSTER")):
            subprocess.run(["bash", os.path.join(TOOLS, "down.sh")], env=env, check=True)


def _session_cluster(suffix, control_planes, workers):
    """The session fixture of the local control plane ``<prefix>-<suffix>``."""

    @pytest.fixture(scope="session")
    def session_cluster(request):
        yield from _cluster(request, suffix, control_planes, workers)

    return session_cluster


# One control-plane node (labelled and tainted) and two workers: the topology that deadlocks.
local_cluster = _session_cluster("1cp", 1, 2)
# Two control-plane nodes and one worker: NTH runs 2 replicas, still no spare node for the surge pod.
two_cp_cluster = _session_cluster("2cp", 2, 1)
# Three control-plane nodes and one worker: NTH has a spare node for its surge pod.
three_cp_cluster = _session_cluster("3cp", 3, 1)
# One control-plane node and two workers whose kube-apiserver the fault tests stop and start again.
fault_cluster = _session_cluster("faults", 1, 2)
# One control-plane node and two workers for the upgrade precheck tests alone.
precheck_cluster = _session_cluster("pc", 1, 2)


@pytest.fixture(scope="session")
def cluster(local_cluster):
    """Alias of local_cluster."""
    return local_cluster


@pytest.fixture(scope="session")
def audit_cluster(request):
    """The one-control-plane topology with kube-apiserver's audit log on (tests/cluster/audit-policy.yaml):
    ``audit_log`` is its path."""
    policy = os.path.join(os.path.dirname(__file__), "audit-policy.yaml")
    for cluster in _cluster(request, "audit", 1, 2, AUDIT_POLICY=policy):
        cluster.audit_log = os.path.join(cluster.state_dir, "logs", "audit.log")
        yield cluster


def _namespace_on(cluster_fixture):
    """The fixture of a fresh namespace on the cluster of the fixture ``cluster_fixture``, deleted after the test."""

    @pytest.fixture
    def fresh_namespace(request):
        core = client.CoreV1Api(request.getfixturevalue(cluster_fixture).api)
        name = "t-" + uuid.uuid4().hex[:8]
        core.create_namespace({"metadata": {"name": name}})
        yield name
        core.delete_namespace(name)

    return fresh_namespace


namespace = _namespace_on("local_cluster")
two_cp_namespace = _namespace_on("two_cp_cluster")
three_cp_namespace = _namespace_on("three_cp_cluster")
fault_namespace = _namespace_on("fault_cluster")
precheck_namespace = _namespace_on("precheck_cluster")


@pytest.fixture
def host_ports():
    """A (liveness, metrics) port pair of its own per test: host ports are per node across namespaces."""
    first = next(_PORTS)
    return first, first + 1
