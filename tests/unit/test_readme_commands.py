# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README's own user commands, read from README.md (so they cannot drift) and run as written, as a new user
would: the collection installed from its built tarball into an empty HOME (no checkout on any path), the README's
inventory, then every documented ansible-playbook command. No cluster and no kops here: each run must get through
the installed collection's playbook and its option checks and stop at the first call that needs the cluster or
kops, with a message, no traceback and no inventory warning. Every shell line of the README is either run here or
listed in NOT_RUN with the reason, so a new command cannot go unchecked."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)
# README lines not run here, by prefix, and why.
NOT_RUN = {
    "make ": "developer targets (docs/testing.md); .ci/run runs make test",
    "ansible-galaxy collection install 'kubernetes.core": "needs Galaxy; the test copies kubernetes.core instead",
    "python3 -m pip install": "needs PyPI (or the downloaded wheels); the test's venv has both packages",
    "cd offline && ": "needs the download made online first",
    "kops export kubeconfig": "needs a kOps cluster on AWS",
    "kubectl apply": "needs a cluster; tests/cluster/test_rbac.py applies these files",
    "ansible-builder build": "needs a container engine; make ee runs ansible-builder create on the same file",
}


def readme_blocks(language):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    return re.findall(r"^```%s\n(.*?)^```" % re.escape(language), text, re.S | re.M)


def readme_commands():
    commands = []
    for block in readme_blocks("sh"):
        for line in block.splitlines():
            if line.strip():
                commands.append(line.strip())
    return commands


def is_not_run(command):
    return any(command.startswith(prefix) for prefix in NOT_RUN)


def to_run(kind):
    return [c for c in readme_commands() if not is_not_run(c) and c.startswith(kind)]


def test_every_readme_command_is_run_or_accounted_for():
    commands = readme_commands()
    assert commands
    unaccounted = [c for c in commands if not is_not_run(c) and not c.startswith(
        ("ansible-galaxy collection install clusterops-kops_upgrade-", "ansible-playbook "))]
    assert not unaccounted, "README commands neither run by this test nor in NOT_RUN: %s" % unaccounted
    assert len(to_run("ansible-playbook ")) >= 5


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A new user's directory and HOME, with the collection installed by the README's tarball command."""
    work = tmp_path_factory.mktemp("user")
    home = work / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ANSIBLE_", "K8S_AUTH_", "AWS_", "KOPS_")) and key not in ("KUBECONFIG", "PYTHONPATH")}
    env.update({"HOME": str(home), "PATH": BIN + os.pathsep + env.get("PATH", ""), "ANSIBLE_NOCOLOR": "1"})
    # The one setting a new user would not have: ansible-core's local connection finds the module's temporary
    # directory with `echo ~<user>` (the passwd entry, not HOME), so without it every run writes to the real
    # ~/.ansible/tmp of whoever runs the tests.
    env["ANSIBLE_REMOTE_TEMP"] = str(home / ".ansible" / "tmp")
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(work), ROOT],
                   env=env, check=True, capture_output=True, text=True)
    installs = to_run("ansible-galaxy collection install clusterops-kops_upgrade-")
    assert installs, "the README has no install command for the tarball"
    for command in installs:
        result = subprocess.run(shlex.split(command), cwd=str(work), env=env, capture_output=True, text=True,
                                timeout=300, check=False)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        installed = home / ".ansible" / "collections" / "ansible_collections" / "clusterops" / "kops_upgrade"
        assert (installed / "MANIFEST.json").is_file(), (command, result.stdout)
    # kubernetes.core: the README installs it from Galaxy, which this machine cannot reach; the same release as the
    # test bed's, copied where ansible-galaxy would put it.
    core = os.path.join(ROOT, "..", "..", "kubernetes", "core")
    shutil.copytree(core, str(home / ".ansible" / "collections" / "ansible_collections" / "kubernetes" / "core"))
    inventory = [b for b in readme_blocks("yaml") if b.startswith("# clusters.yml\n")]
    assert len(inventory) == 1
    (work / "clusters.yml").write_text(inventory[0])
    assert yaml.safe_load(inventory[0])["all"]["hosts"]["localhost"]["cluster_name"]
    shutil.copy(os.path.join(ROOT, "extensions", "awx", "project", "inventory", "fleet.example.yml"),
                str(work / "fleet.yml"))
    return work, env


@pytest.mark.parametrize("command", to_run("ansible-playbook "))
def test_readme_playbook_command(user, command):
    work, env = user
    result = subprocess.run(shlex.split(command), cwd=str(work), env=env, capture_output=True, text=True,
                            timeout=600, check=False)
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "is undefined" not in output, output[-4000:]
    assert "No inventory was parsed" not in output and "provided hosts list is empty" not in output, output[-4000:]
    plays = [line.split("]")[0] + "]" for line in result.stdout.splitlines() if line.startswith("PLAY [")]
    # The option checks passed and the collection's playbook started, from the collection installed in HOME.
    assert len(plays) == 2 and plays[0] == "PLAY [Check the playbook's options before any work]", output[-4000:]
    # Then the first call that needs the cluster or kops stops it, saying which.
    assert result.returncode != 0
    failures = re.findall(r'^fatal: \[[^]]+\]: FAILED! => .*"msg": "(.*?)"', result.stdout, re.M)
    assert failures and all(re.search(r"kubeconfig|kops", f) for f in failures), output[-4000:]
