# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials given to the kops modules never reach the logs: the module's syslog "Invoked with" line, the
-vvv callback output (results, `invocation` on ansible-core 2.16-2.18), --diff, a failure before kops even runs
(binary missing) and a failure of kops itself. Real kops against moto; syslog captured at /dev/log."""

from __future__ import annotations

import json
import os
import re
import uuid

from testbed import kops_world, kube, syslog_capture

PLAYBOOK = """
- name: Every kops module, with a credential in its environment
  hosts: localhost
  gather_facts: false
""" + kops_world.KOPS_MODULE_DEFAULTS + """\
  tasks:
    - name: Upgrade (plan, diff)
      clusterops.kops_upgrade.kops_upgrade: {}
    - name: Update (preview against moto, which may fail under load; only what is logged matters here)
      clusterops.kops_upgrade.kops_update: {}
      ignore_errors: true
    - name: Rolling update (plan, cloud only)
      clusterops.kops_upgrade.kops_rolling_update:
        cloudonly: true
      ignore_errors: true
    - name: Validate against an API that is not there (kops fails)
      clusterops.kops_upgrade.kops_validate:
        kubeconfig: "{{ nowhere_kubeconfig }}"
      ignore_errors: true
    - name: Validate with the kops binary missing (fails before kops runs)
      clusterops.kops_upgrade.kops_validate:
        kops_binary: /nonexistent/kops
      ignore_errors: true
"""
TASKS = 5


def nowhere_kubeconfig(directory):
    """A kubeconfig whose context is named after the kOps cluster and whose server does not listen."""
    path = os.path.join(directory, "nowhere.kubeconfig")
    with open(path, "w") as handle:
        json.dump({"apiVersion": "v1", "kind": "Config", "current-context": kops_world.CLUSTER,
                   "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:%d" % kops_world.free_port()}}],
                   "users": [{"name": "u", "user": {"token": "t"}}],
                   "contexts": [{"name": kops_world.CLUSTER, "context": {"cluster": "c", "user": "u"}}]}, handle)
    return path


def run_playbook(world, workdir, environment, verbosity="-vvv", debug=False, process_env=None):
    os.makedirs(workdir)
    playbook = os.path.join(workdir, "playbook.yml")
    with open(playbook, "w") as handle:
        handle.write(PLAYBOOK)
    extra = os.path.join(workdir, "vars.json")
    with open(extra, "w") as handle:
        json.dump(dict(kops_world.playbook_variables(world, environment),
                       nowhere_kubeconfig=nowhere_kubeconfig(workdir)), handle)
    env = dict(os.environ, ANSIBLE_HOME=os.path.join(workdir, "ansible-home"),
               ANSIBLE_REMOTE_TMP=os.path.join(workdir, "remote-tmp"), ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "tmp"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_DEBUG="1" if debug else "0", ANSIBLE_INJECT_INVOCATION="true")
    env.update(process_env or {})
    argv = kube.ansible_playbook(playbook, "--check", "--diff", "-e", "@" + extra, *([verbosity] if verbosity else []))
    proc, messages = syslog_capture.run(argv, workdir, env=env)
    assert proc.returncode == 0 and "failed=0" in proc.stdout, proc.stdout[-3000:] + proc.stderr
    invoked = [m for m in messages if "Invoked with" in m]
    # The capture works: one line per task, each naming its module.
    assert len(invoked) == TASKS, messages
    return proc, messages, invoked


def secret_environment(world):
    secret = "s3cr3t-" + uuid.uuid4().hex
    environment = {k: v for k, v in world.env.items() if k != "KOPS_STATE_STORE"}
    # A credential under a name no pattern knows: it must not show either.
    environment.update(AWS_SECRET_ACCESS_KEY=secret, AWS_SESSION_TOKEN="token-" + uuid.uuid4().hex,
                       DEPLOY_KEY_MATERIAL="material-" + uuid.uuid4().hex)
    return environment, secret


def test_credentials_stay_out_of_syslog_callback_diff_and_failures(world, tmp_path):
    environment, secret = secret_environment(world)
    proc, messages, invoked = run_playbook(world, str(tmp_path / "vvv"), environment)
    for value in (secret, environment["AWS_SESSION_TOKEN"], environment["AWS_ACCESS_KEY_ID"],
                  environment["DEPLOY_KEY_MATERIAL"]):
        assert value not in proc.stdout + proc.stderr
        assert not [m for m in messages if value in m]
    assert all("environment=NOT_LOGGING_PARAMETER" in m for m in invoked), invoked
    # The diff was printed, and kops' output reached the callback: what it says is readable, region included.
    assert "Cluster.KubernetesVersion: 1.29.9" in proc.stdout
    assert "eu-west-1" in proc.stdout and "********a" not in proc.stdout
    # The failures say what went wrong.
    assert "kops not found: '/nonexistent/kops'" in proc.stdout
    # At least the two validations failed (kops missing, no API), each result masked as well.
    assert int(re.search(r"ignored=(\d+)", proc.stdout).group(1)) >= 2
    # As a result (`invocation`: always returned by ansible-core 2.16-2.18, asked for on 2.19 and later), the
    # names of the environment with no value, whatever the name.
    assert '"invocation"' in proc.stdout
    for name in environment:
        assert '"%s": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' % name in proc.stdout, name


def test_ansible_debug_prints_task_arguments_and_the_process_environment_avoids_that(world, tmp_path):
    """ANSIBLE_DEBUG makes ansible-core print every task's arguments on the controller ("done with
    _execute_module (<module>, {<args>})"), for no_log options of any module too (documented: debug output may
    include secrets despite no_log). That line is the only place a credential given in `environment` shows; a
    credential in the controller's own environment (an AWX cloud credential) shows nowhere."""
    environment, secret = secret_environment(world)
    proc, messages = run_playbook(world, str(tmp_path / "debug"), environment, debug=True)[:2]
    leaked = [line for line in (proc.stdout + proc.stderr).splitlines() if secret in line]
    assert leaked and all("done with _execute_module (clusterops.kops_upgrade.kops_" in line for line in leaked)
    assert not [m for m in messages if secret in m]

    del environment["AWS_SECRET_ACCESS_KEY"]
    proc, messages = run_playbook(world, str(tmp_path / "process-env"), environment, debug=True,
                                  process_env={"AWS_SECRET_ACCESS_KEY": secret})[:2]
    assert secret not in proc.stdout + proc.stderr
    assert not [m for m in messages if secret in m]
