# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Session fixtures for the real kops binary: a moto server on 127.0.0.1 (stopped by pid at the end), a kOps
cluster spec in a file:// state store, and a local control plane whose kubeconfig context is named after the
kOps cluster, so `kops validate cluster` and `kops rolling-update cluster` reach a real API."""

from __future__ import annotations

import json
import os
import re
import pwd
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
# kopsenv (the real kops offline: moto, assets server, state store) lives in the project's tools.
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "kopscloud"))

import kopsenv  # noqa: E402  pylint: disable=wrong-import-position
import nthrepro  # noqa: E402  pylint: disable=wrong-import-position

LOCALCLUSTER = os.path.join(kopsenv.ROOT, "tools", "localcluster", "localcluster.py")
# The local control plane of this session: <prefix>-kops (CLUSTEROPS_TEST_CLUSTER_PREFIX, as in tests/cluster).
CLUSTER_NAME = "%s-kops" % os.environ.get("CLUSTEROPS_TEST_CLUSTER_PREFIX", "pytest")
ACCOUNT_HOME = pwd.getpwuid(os.getuid()).pw_dir
home_state = kopsenv.home_state


@pytest.fixture(scope="session", autouse=True)
def untouched_home(tmp_path_factory):
    """HOME is an empty directory for the whole session; see kopsenv.untouched_home."""
    yield from kopsenv.untouched_home(str(tmp_path_factory.mktemp("session")))


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    server = kopsenv.MotoServer(str(tmp_path_factory.mktemp("moto")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def assets(tmp_path_factory):
    server = kopsenv.AssetsServer(str(tmp_path_factory.mktemp("assets")))
    yield server
    server.stop()


@pytest.fixture
def kops_world(moto, assets, tmp_path):
    moto.reset()
    world = kopsenv.KopsWorld(str(tmp_path), moto.url, assets.url)
    world.create_cluster()
    return world


@pytest.fixture(scope="session")
def kops_api_cluster(tmp_path_factory):
    """A local control plane reachable as the kOps cluster kopsenv.CLUSTER (a kubeconfig context of that name)."""
    up = subprocess.run([sys.executable, LOCALCLUSTER, "up", "--name", CLUSTER_NAME], capture_output=True,
                        text=True, check=False)
    if up.returncode != 0:
        raise RuntimeError("local cluster did not start: %s" % up.stderr[-3000:])
    admin = up.stdout.strip().splitlines()[-1].split("=", 1)[1]
    config = json.load(open(admin))
    config["contexts"][0]["name"] = kopsenv.CLUSTER
    config["current-context"] = kopsenv.CLUSTER
    path = str(tmp_path_factory.mktemp("kubeconfig") / "kubeconfig")
    with open(path, "w") as handle:
        json.dump(config, handle)
    yield {"kubeconfig": path, "admin": admin, "api": nthrepro.api(admin)}
    if not os.environ.get("CLUSTEROPS_KEEP_CLUSTER"):
        subprocess.run([sys.executable, LOCALCLUSTER, "down", "--name", CLUSTER_NAME], check=True)


MOTO_TRANSPORT_ERROR = re.compile(r"deserialization failed, failed to decode response body|use of closed network "
                                  r"connection|connection reset by peer")


def kops_module(name, world, check=False, diff=False, **args):
    """Run a kops module of the collection against ``world`` (its state store and moto environment)."""
    environment = {k: v for k, v in world.env.items() if k != "KOPS_STATE_STORE"}
    params = dict(cluster_name=kopsenv.CLUSTER, state_store=world.state, kops_binary=world.kops,
                  environment=environment)
    params.update(args)
    result = nthrepro.run_module("clusterops.kops_upgrade.%s" % name, params, check=check, diff=diff)
    if result.get("failed") and MOTO_TRANSPORT_ERROR.search(str(result.get("msg", "")) + str(result.get("stderr", ""))):
        # moto (a test stand-in, not AWS) now and then cuts a response short under load; kops' SDK does not retry
        # a body it could not decode. One more run, and only for that error: anything else fails the test.
        print("moto cut a response short (%s); running %s once more" % (
            MOTO_TRANSPORT_ERROR.search(str(result.get("msg", "")) + str(result.get("stderr", ""))).group(0), name))
        result = nthrepro.run_module("clusterops.kops_upgrade.%s" % name, params, check=check, diff=diff)
    return result
