# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kops failing the ways it does in the field, each a bounded, named failure of the module: kops wedged (a
stand-in that sleeps, with and without honouring SIGTERM: the only place a kops stand-in is used), the real kops
killed by a signal mid-run, and a state store that cannot be read (a bucket that does not exist, a cluster spec
that is not YAML, a path that is a file)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

from testbed import kops_world, kube

WEDGED = """#!/bin/sh
# A wedged kops: answers `version` as the real one does, then hangs. Records its pid for the test.
case "$1" in version) exec %(kops)s "$@";; esac
echo $$ > %(pidfile)s
%(trap)s
sleep 3600 &
echo $! >> %(pidfile)s
wait
"""


def wedged_kops(tmp_path, kops, ignore_term):
    script = tmp_path / ("kops-wedged-%s" % ("stubborn" if ignore_term else "plain"))
    pidfile = tmp_path / (script.name + ".pids")
    script.write_text(WEDGED % {"kops": kops, "pidfile": pidfile, "trap": "trap '' TERM" if ignore_term else ""})
    script.chmod(0o755)
    return str(script), pidfile


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().split()[2] != "Z"
    except OSError:
        return False


def run(module, params, check=False):
    started = time.monotonic()
    result = kube.run_module("clusterops.kops_upgrade.%s" % module, params, check=check)
    return result, time.monotonic() - started


def test_a_wedged_kops_is_stopped_at_command_timeout(tmp_path):
    kops = kops_world.kops_binary()[0]
    for ignore_term, how, bound in ((False, "stopped (SIGTERM)", 20), (True, "stopped (SIGKILL after 10 s)", 30)):
        binary, pidfile = wedged_kops(tmp_path, kops, ignore_term)
        result, seconds = run("kops_validate", {"cluster_name": kops_world.CLUSTER, "kops_binary": binary,
                                                "state_store": "file://%s/state" % tmp_path, "command_timeout": 3})
        assert result["failed"] is True, result
        assert result["msg"].startswith("kops validate cluster did not finish within 3 s (command_timeout) and was "
                                        + how), result["msg"]
        assert result["timed_out"] is True
        assert seconds < bound, seconds
        # Nothing is left running: the stand-in and the process it started are gone.
        pids = [int(p) for p in pidfile.read_text().split()]
        assert len(pids) == 2 and not [p for p in pids if alive(p)]


def hanging_api(tmp_path):
    """A kubeconfig whose server accepts connections and never answers (a wedged API or load balancer)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    path = tmp_path / "hanging.kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": kops_world.CLUSTER,
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:%d" % server.getsockname()[1],
                                               "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": kops_world.CLUSTER, "context": {"cluster": "c", "user": "u"}}]}))
    return server, str(path)


def kops_children(marker):
    """Pids of kops validate processes whose program path contains ``marker``."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if argv and marker.encode() in argv[0] and b"validate" in argv:
            found.append(int(pid))
    return found


def test_kops_killed_mid_run_is_named(world, tmp_path):
    server, kubeconfig = hanging_api(tmp_path)
    victim = tmp_path / "kops-victim"
    victim.symlink_to(world.kops)
    try:
        outcome = {}
        params = {"cluster_name": kops_world.CLUSTER, "state_store": world.state, "kops_binary": str(victim),
                  "environment": {k: v for k, v in world.env.items() if k != "KOPS_STATE_STORE"},
                  "kubeconfig": kubeconfig, "command_timeout": 120}

        def validate():
            outcome["result"], outcome["seconds"] = run("kops_validate", params)

        thread = threading.Thread(target=validate)
        thread.start()
        deadline = time.monotonic() + 60
        while not kops_children(str(victim)) and time.monotonic() < deadline:
            time.sleep(0.2)
        victims = kops_children(str(victim))
        assert victims, "kops validate never started"
        time.sleep(1)
        for pid in victims:
            os.kill(pid, 9)
        thread.join(60)
        assert not thread.is_alive()
    finally:
        server.close()
    result = outcome["result"]
    assert result["failed"] is True
    assert result["msg"].startswith("kops validate cluster was killed by signal SIGKILL (9) after "), result["msg"]
    assert result["timed_out"] is False
    assert outcome["seconds"] < 60


def test_a_state_store_that_cannot_be_read_is_a_named_failure(world, tmp_path):
    environment = {k: v for k, v in world.env.items() if k != "KOPS_STATE_STORE"}
    spec = os.path.join(world.state[len("file://"):], kops_world.CLUSTER, "config")
    with open(spec, "w") as handle:
        handle.write("{{{ this is not a cluster spec")
    not_a_directory = tmp_path / "a-file"
    not_a_directory.write_text("x")
    cases = {
        "bucket that does not exist": ("s3://clusterops-no-such-bucket", "Could not retrieve location for AWS bucket"),
        "cluster spec that is not YAML": (world.state, "error parsing"),
        "state store path that is a file": ("file://%s" % not_a_directory, "not a directory"),
    }
    for label, (store, says) in cases.items():
        result, seconds = run("kops_upgrade", {"cluster_name": kops_world.CLUSTER, "state_store": store,
                                               "kops_binary": world.kops, "environment": environment,
                                               "command_timeout": 120}, check=True)
        assert result["failed"] is True, (label, result)
        assert result["msg"].startswith("kops upgrade cluster failed (rc 1): "), (label, result["msg"])
        print(label, round(seconds, 1), result["msg"][:300])
        assert says in result["msg"], (label, result["msg"])
        assert seconds < 60, (label, seconds)
