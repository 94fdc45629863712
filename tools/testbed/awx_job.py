# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the AWX project playbooks (extensions/awx/project) the way AWX does: with ansible-runner (pinned in
tests/awx-constraints.txt, venv from tools/awx-venv.sh), a private data directory, and the cluster credential
injected only as AWX's Kubernetes credential type injects it (K8S_AUTH_HOST, K8S_AUTH_API_KEY,
K8S_AUTH_VERIFY_SSL, K8S_AUTH_SSL_CA_CERT). No kubeconfig anywhere: HOME is an empty directory of its own."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys

import yaml

from testbed import kops_world
from testbed.local_cluster import ROOT

PROJECT = os.path.join(ROOT, "extensions", "awx", "project")


def awx_venv():
    return subprocess.run(["bash", os.path.join(ROOT, "tools", "awx-venv.sh")], capture_output=True, text=True,
                          check=True).stdout.strip().splitlines()[-1]


def kubernetes_credential(kubeconfig):
    """What AWX's "OpenShift or Kubernetes API Bearer Token" credential injects, read from an admin kubeconfig:
    the API URL, the bearer token, TLS verification on, and the CA certificate as a file."""
    with open(kubeconfig) as handle:
        config = yaml.safe_load(handle)
    cluster = config["clusters"][0]["cluster"]
    user = config["users"][0]["user"]
    ca_file = cluster.get("certificate-authority")
    if not ca_file:
        raise AssertionError("the kubeconfig has no certificate-authority file")
    return {"K8S_AUTH_HOST": cluster["server"], "K8S_AUTH_API_KEY": user["token"],
            "K8S_AUTH_VERIFY_SSL": "True", "K8S_AUTH_SSL_CA_CERT": ca_file}


def run(private_dir, playbook, credential, extravars=None, inventory=None, limit=None):
    """ansible-runner run of one project playbook. Returns ``{rc, status, stats, artifacts, stdout}`` where
    ``artifacts`` is what AWX would store as the job's artifacts (the set_stats data of the stats event)."""
    os.makedirs(os.path.join(private_dir, "env"), exist_ok=True)
    project = os.path.join(private_dir, "project")
    if not os.path.isdir(project):
        shutil.copytree(PROJECT, project)
    home = os.path.join(private_dir, "home")
    os.makedirs(home, exist_ok=True)
    python = sys.executable
    venv_bin = os.path.dirname(python)
    env = dict(credential)
    env.update({
        "HOME": home,
        "ANSIBLE_HOME": os.path.join(home, ".ansible"),
        "ANSIBLE_COLLECTIONS_PATH": os.environ.get("ANSIBLE_COLLECTIONS_PATH", ""),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_PYTHON_INTERPRETER": python,
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_DEPRECATION_WARNINGS": "false",
    })
    with open(os.path.join(private_dir, "env", "envvars"), "w") as handle:
        yaml.safe_dump(env, handle)
    with open(os.path.join(private_dir, "env", "extravars"), "w") as handle:
        yaml.safe_dump(extravars or {}, handle)
    os.makedirs(os.path.join(private_dir, "inventory"), exist_ok=True)
    with open(os.path.join(private_dir, "inventory", "hosts.yml"), "w") as handle:
        yaml.safe_dump(inventory or {"all": {"hosts": {"localhost": {"ansible_connection": "local"}}}}, handle)
    awx = awx_venv()
    # ansible-runner from its own venv, ansible-playbook from the tests' venv (as in an execution environment,
    # where both are on PATH). The runner's own environment has no kubeconfig, K8S_AUTH_*, AWS_* or KOPS_* either:
    # the job gets only what its credentials inject.
    outer = kops_world.without_connection_variables(os.environ)
    outer.update({"PATH": os.pathsep.join([os.path.join(awx, "bin"), venv_bin, outer.get("PATH", "")]),
                  "HOME": home})
    ident = "run-%d" % len(glob.glob(os.path.join(private_dir, "artifacts", "*")))
    cmd = [os.path.join(awx, "bin", "ansible-runner"), "run", private_dir, "-p", playbook, "--ident", ident]
    if limit:
        cmd += ["--limit", limit]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=outer, check=False)
    artifacts_dir = os.path.join(private_dir, "artifacts", ident)
    stats = {}
    for path in sorted(glob.glob(os.path.join(artifacts_dir, "job_events", "*.json"))):
        with open(path) as handle:
            event = json.load(handle)
        if event.get("event") == "playbook_on_stats":
            stats = event.get("event_data") or {}
    status_path = os.path.join(artifacts_dir, "status")
    status = open(status_path).read().strip() if os.path.exists(status_path) else "missing"
    return {"rc": proc.returncode, "status": status, "stats": stats, "artifacts": stats.get("artifact_data") or {},
            "stdout": proc.stdout + proc.stderr}
