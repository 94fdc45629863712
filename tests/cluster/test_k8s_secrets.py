# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials given to the Kubernetes modules never reach the logs: a kubeconfig given as a dict (its token,
client key data, password) and the user:password of a proxy URL stay out of the module's syslog "Invoked with" line
and out of every result the -vvv callback prints (`invocation` included, asked for with ANSIBLE_INJECT_INVOCATION),
through a success, a --diff check-mode run, a failure to connect and a failure on bad input; what is no credential
(server URL, the proxy's host) stays readable. Syslog captured at /dev/log (tests/cluster/syslog_capture.py)."""

from __future__ import annotations

import json
import os
import socket
import uuid

from testbed import kube, syslog_capture

PLAYBOOK = """
- name: The Kubernetes modules with a kubeconfig dict and a proxy with credentials
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Status, connected with the kubeconfig given as a dict
      clusterops.kops_upgrade.rollout_status:
        namespace: "{{ ns }}"
        kubeconfig: "{{ kubeconfig_dict }}"
      register: status
    - name: Remediation in check mode with --diff (the Deployment does not exist, so it fails)
      clusterops.kops_upgrade.stale_replicasets:
        name: absent
        namespace: "{{ ns }}"
        kubeconfig: "{{ kubeconfig_dict }}"
      check_mode: true
      diff: true
      ignore_errors: true
    - name: Through a proxy with credentials that does not listen (fails to connect)
      clusterops.kops_upgrade.rollout_status:
        namespace: "{{ ns }}"
        kubeconfig: "{{ kubeconfig_dict }}"
        proxy: "{{ proxy }}"
      ignore_errors: true
    - name: Bad input (fails before connecting)
      clusterops.kops_upgrade.stale_replicasets:
        name: absent
        namespace: "{{ ns }}"
        wait_timeout: -1
        kubeconfig: "{{ kubeconfig_dict }}"
        proxy: "{{ proxy }}"
      ignore_errors: true
    - name: The registered result, as a later task or AWX would show it
      ansible.builtin.debug:
        var: status
"""
MODULE_TASKS = 4


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_kubeconfig_dict_and_proxy_credentials_stay_out_of_syslog_and_results(local_cluster, namespace, tmp_path):
    with open(local_cluster.kubeconfig) as handle:
        kubeconfig = json.load(handle)
    token = kubeconfig["users"][0]["user"]["token"]
    key_data = "S0VZ" + uuid.uuid4().hex
    password = "pw-" + uuid.uuid4().hex
    env_secret = "env-" + uuid.uuid4().hex
    # A second user, not used by the context: its credentials are masked as well.
    kubeconfig["users"].append({"name": "spare", "user": {
        "client-key-data": key_data, "username": "spare", "password": password,
        "exec": {"command": "get-token", "apiVersion": "client.authentication.k8s.io/v1",
                 "env": [{"name": "SOME_UNEXPECTED_NAME", "value": env_secret}]}}})
    proxy_password = "proxy-" + uuid.uuid4().hex
    proxy_port = free_port()
    proxy = "http://puser:%s@127.0.0.1:%d" % (proxy_password, proxy_port)
    server = kubeconfig["clusters"][0]["cluster"]["server"]

    workdir = str(tmp_path)
    playbook = os.path.join(workdir, "playbook.yml")
    with open(playbook, "w") as handle:
        handle.write(PLAYBOOK)
    extra = os.path.join(workdir, "vars.json")
    with open(extra, "w") as handle:
        json.dump({"ns": namespace, "kubeconfig_dict": kubeconfig, "proxy": proxy}, handle)
    env = dict(os.environ, ANSIBLE_HOME=os.path.join(workdir, "ansible-home"),
               ANSIBLE_REMOTE_TMP=os.path.join(workdir, "remote-tmp"), ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "tmp"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_INJECT_INVOCATION="true")
    for name in ("K8S_AUTH_KUBECONFIG", "K8S_AUTH_PROXY"):
        env.pop(name, None)
    argv = kube.ansible_playbook(playbook, "--diff", "-e", "@" + extra, "-vvv")
    proc, messages = syslog_capture.run(argv, workdir, env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "failed=0" in proc.stdout, output[-3000:]
    invoked = [m for m in messages if "Invoked with" in m]
    assert len(invoked) == MODULE_TASKS, messages  # the capture works: one line per module task

    # The three ran as meant: a success, and three failures that say why.
    assert int(proc.stdout.split("ignored=")[1].split()[0]) == 3, proc.stdout[-3000:]
    assert '"deployments": []' in proc.stdout
    assert "Deployment absent not found in namespace %s" % namespace in proc.stdout
    assert "cannot reach the Kubernetes API" in proc.stdout
    assert "wait_timeout must be 0 or more seconds, got -1" in proc.stdout

    for value in (token, key_data, password, env_secret, proxy_password, "puser:" + proxy_password):
        assert value not in output, value
        assert not [m for m in messages if value in m], value
    assert all("kubeconfig=NOT_LOGGING_PARAMETER" in m for m in invoked), invoked
    # `invocation` is there, with what is no credential readable.
    assert '"invocation"' in proc.stdout
    assert '"server": "%s"' % server in proc.stdout
    assert '"SOME_UNEXPECTED_NAME"' in proc.stdout and '"command": "get-token"' in proc.stdout
    assert '"proxy": "http://********@127.0.0.1:%d"' % proxy_port in proc.stdout
