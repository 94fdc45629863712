# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record real kops output for the parser unit tests: runs the real binary (tools/localcluster/versions.env) against
a file:// state store, moto on 127.0.0.1 and a local control plane with a stuck aws-node-termination-handler, and
writes each command's output to tests/unit/fixtures/kops/<name>.txt, with the command in index.json.

    python tests/kops/capture_fixtures.py      (from the collection root, with the project venv)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
# kopsenv (the real kops offline: moto, assets server, state store) lives in the project's tools.
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "kopscloud"))

import kopsenv  # noqa: E402  pylint: disable=wrong-import-position
import nthrepro  # noqa: E402  pylint: disable=wrong-import-position

OUT = os.path.join(kopsenv.ROOT, "tests", "unit", "fixtures", "kops")
LOCALCLUSTER = os.path.join(kopsenv.ROOT, "tools", "localcluster", "localcluster.py")


def main():
    os.makedirs(OUT, exist_ok=True)
    work = tempfile.mkdtemp()
    index = {}
    up = subprocess.run([sys.executable, LOCALCLUSTER, "up", "--name", "capture"], capture_output=True, text=True,
                        check=True)
    admin = up.stdout.strip().splitlines()[-1].split("=", 1)[1]
    config = json.load(open(admin))
    config["contexts"][0]["name"] = config["current-context"] = kopsenv.CLUSTER
    with open(os.path.join(work, "kubeconfig"), "w") as handle:
        json.dump(config, handle)
    moto = kopsenv.MotoServer(work)
    assets = kopsenv.AssetsServer(work)
    try:
        world = kopsenv.KopsWorld(work, moto.url, assets.url, kubeconfig=os.path.join(work, "kubeconfig"))
        world.create_cluster()
        api = nthrepro.api(admin)
        nthrepro.deploy_nth(api, "kube-system", "v1.18.3")
        nthrepro.wait_deployment(api, "kube-system", nthrepro.NTH, nthrepro.rollout_complete)
        nthrepro.deploy_nth(api, "kube-system", "v1.22.0")
        nthrepro.wait_unschedulable(api, "kube-system")

        def record(name, stream, *args):
            proc = world.run(*args, check=False)
            text = proc.stdout if stream == "stdout" else proc.stderr
            with open(os.path.join(OUT, name + ".txt"), "w") as handle:
                handle.write(text)
            index[name] = {"command": "kops " + " ".join(args), "stream": stream, "rc": proc.returncode,
                           "kops": world.kops_version}
            if proc.returncode and stream == "stdout":
                index[name]["stderr_tail"] = proc.stderr.strip().splitlines()[-1:]

        name = ("--name", kopsenv.CLUSTER)
        record("version", "stdout", "version")
        record("upgrade_plan", "stdout", "upgrade", "cluster", *name)
        record("upgrade_apply", "stdout", "upgrade", "cluster", "--yes", *name)
        record("upgrade_nothing", "stderr", "upgrade", "cluster", *name)
        record("rolling_update_preview", "stdout", "rolling-update", "cluster", *name)
        record("validate_json", "stdout", "validate", "cluster", "-o", "json", *name)
        record("validate_wait_json", "stdout", "validate", "cluster", "-o", "json", "--wait", "12s",
               "--interval", "5s", *name)
        record("validate_wait_stderr", "stderr", "validate", "cluster", "-o", "json", "--wait", "6s",
               "--interval", "5s", *name)
        # update and rolling-update against moto (after the upgrade above: Kubernetes 1.29.3 -> 1.29.9). No
        # --admin here: it implies writing the kubeconfig, which would replace the local API context.
        record("update_preview", "stdout", "update", "cluster", *name)
        record("update_apply", "stdout", "update", "cluster", "--yes", "--create-kube-config=false",
               *name)
        record("update_again", "stdout", "update", "cluster", *name)
        record("rolling_update_preview_after_update", "stdout", "rolling-update", "cluster", *name)
        # kubernetes/kops#16870: validation before the control-plane group fails on the pending NTH pod.
        record("rolling_update_validation_fails", "stderr", "rolling-update", "cluster", "--yes", "--force",
               "--validation-timeout=5s", *name)
        record("rolling_update_cloudonly_force_preview", "stdout", "rolling-update", "cluster", "--cloudonly",
               "--force", *name)
        record("get_instances_before", "stdout", "get", "instances", *name)
        record("rolling_update_cloudonly_force_apply", "stderr", "rolling-update", "cluster", "--cloudonly",
               "--force", "--yes", "--control-plane-interval=1s", "--node-interval=1s", *name)
        record("get_instances_after", "stdout", "get", "instances", *name)
    finally:
        assets.stop()
        moto.stop()
        subprocess.run([sys.executable, LOCALCLUSTER, "down", "--name", "capture"], check=False)
    with open(os.path.join(OUT, "index.json"), "w") as handle:
        json.dump(index, handle, indent=1, sort_keys=True)
        handle.write("\n")
    print("recorded %d outputs in %s" % (len(index), OUT))


if __name__ == "__main__":
    main()
