# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Session fixtures for the real kops binary: a moto server on 127.0.0.1 (stopped by pid at the end), a kOps
cluster spec in a file:// state store, and a local control plane whose kubeconfig context is named after the
kOps cluster, so `kops validate cluster` and `kops rolling-update cluster` reach a real API."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from testbed import kops_world, kube
from testbed.local_cluster import SCRIPT as LOCALCLUSTER

# The local control plane of this session: <prefix>-kops (CLUSTEROPS_TEST_CLUSTER_PREFIX, as in tests/cluster).
CLUSTER_NAME = "%s-kops" % os.environ.get("CLUSTEROPS_TEST_CLUSTER_PREFIX", "pytest")


@pytest.fixture(scope="session", autouse=True)
def untouched_home(tmp_path_factory):
    """HOME is an empty directory for the whole session; see kops_world.untouched_home."""
    yield from kops_world.untouched_home(str(tmp_path_factory.mktemp("session")))


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    server = kops_world.MotoServer(str(tmp_path_factory.mktemp("moto")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def assets(tmp_path_factory):
    server = kops_world.AssetsServer(str(tmp_path_factory.mktemp("assets")))
    yield server
    server.stop()


@pytest.fixture
def world(moto, assets, tmp_path):
    moto.reset()
    world = kops_world.KopsWorld(str(tmp_path), moto.url, assets.url)
    world.create_cluster()
    return world


@pytest.fixture(scope="session")
def kops_api_cluster(tmp_path_factory):
    """A local control plane reachable as the kOps cluster kops_world.CLUSTER (a kubeconfig context of that name)."""
    up = subprocess.run([sys.executable, LOCALCLUSTER, "up", "--name", CLUSTER_NAME], capture_output=True,
                        text=True, check=False)
    if up.returncode != 0:
        raise RuntimeError("local cluster did not start: %s" % up.stderr[-3000:])
    admin = up.stdout.strip().splitlines()[-1].split("=", 1)[1]
    config = json.load(open(admin))
    config["contexts"][0]["name"] = kops_world.CLUSTER
    config["current-context"] = kops_world.CLUSTER
    path = str(tmp_path_factory.mktemp("kubeconfig") / "kubeconfig")
    with open(path, "w") as handle:
        json.dump(config, handle)
    yield {"kubeconfig": path, "admin": admin, "api": kube.api(admin)}
    if not os.environ.get("CLUSTEROPS_KEEP_CLUSTER"):
        subprocess.run([sys.executable, LOCALCLUSTER, "down", "--name", CLUSTER_NAME], check=True)
