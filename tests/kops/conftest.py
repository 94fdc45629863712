# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Session fixtures for the real kops binary: a moto server on 127.0.0.1 (stopped by pid at the end), a kOps
cluster spec in a file:// state store, and a local control plane whose kubeconfig context is named after the
kOps cluster, so `kops validate cluster` and `kops rolling-update cluster` reach a real API."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))

import kopsenv  # noqa: E402  pylint: disable=wrong-import-position
import nthrepro  # noqa: E402  pylint: disable=wrong-import-position

LOCALCLUSTER = os.path.join(kopsenv.ROOT, "tools", "localcluster", "localcluster.py")
# The local control plane of this session: <prefix>-kops (CLUSTEROPS_TEST_CLUSTER_PREFIX, as in tests/cluster).
CLUSTER_NAME = "%s-kops" % os.environ.get("CLUSTEROPS_TEST_CLUSTER_PREFIX", "pytest")
# The account's home directory whatever HOME says (the session below replaces HOME).
ACCOUNT_HOME = pwd.getpwuid(os.getuid()).pw_dir


def home_state(home):
    """What a run must not change in a home directory: the sha256 of .kube/config (None when absent) and which of
    .kube and .ansible exist."""
    config = os.path.join(home, ".kube", "config")
    digest = None
    if os.path.exists(config):
        with open(config, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
    return {"kube_config_sha256": digest,
            "present": sorted(d for d in (".kube", ".ansible") if os.path.exists(os.path.join(home, d)))}


@pytest.fixture(scope="session", autouse=True)
def untouched_home(tmp_path_factory):
    """The whole session runs with HOME set to an empty directory of its own; at the end that directory must still
    have no .kube or .ansible (every kops run has its KUBECONFIG and HOME in its KopsWorld, ansible its
    ANSIBLE_HOME), and the account's own ~/.kube/config must be byte for byte what it was. The binary cache is
    pinned first (CLUSTEROPS_CACHE), so a fresh HOME still finds it."""
    os.environ.setdefault("CLUSTEROPS_CACHE", kopsenv.CACHE)
    os.environ.setdefault("ANSIBLE_HOME", str(tmp_path_factory.mktemp("ansible-home")))
    before = home_state(ACCOUNT_HOME)
    previous = os.environ.get("HOME")
    canary = str(tmp_path_factory.mktemp("home"))
    os.environ["HOME"] = canary
    yield canary
    if previous is not None:
        os.environ["HOME"] = previous
    assert home_state(canary)["present"] == [], "a kops or ansible run wrote into HOME (%s): %s" % (
        canary, os.listdir(canary))
    # Only the config file itself: other sessions on a shared machine may create an empty ~/.kube.
    assert home_state(ACCOUNT_HOME)["kube_config_sha256"] == before["kube_config_sha256"], \
        "%s/.kube/config changed during the kops tests" % ACCOUNT_HOME


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


def kops_module(name, world, check=False, diff=False, **args):
    """Run a kops module of the collection against ``world`` (its state store and moto environment)."""
    environment = {k: v for k, v in world.env.items() if k != "KOPS_STATE_STORE"}
    params = dict(cluster_name=kopsenv.CLUSTER, state_store=world.state, kops_binary=world.kops,
                  environment=environment)
    params.update(args)
    return nthrepro.run_module("clusterops.kops_upgrade.%s" % name, params, check=check, diff=diff)
