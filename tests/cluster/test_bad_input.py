# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input to the Kubernetes modules, generated from their documented options (bad_input.py), on the real
control plane: never a traceback; a kubeconfig that is missing, empty, not YAML, a directory, or points at
nothing listening fails with one sentence saying so; namespaces and Deployments that do not exist are reported."""

from __future__ import annotations

import json
import os
import socket

import pytest

from testbed import bad_input
from testbed.kube import NTH, deploy_nth, rollout_complete, wait_deployment

MODULES = ("clusterops.kops_upgrade.rollout_status", "clusterops.kops_upgrade.stale_replicasets")


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kubeconfigs(cluster, directory):
    """Broken kubeconfigs, by what is wrong with them -> (path, what the message must say)."""
    with open(cluster.kubeconfig) as handle:
        good = json.load(handle)
    nowhere = json.loads(json.dumps(good))
    nowhere["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:%d" % closed_port()
    files = {"empty file": ("", "is empty"), "not YAML": ("{{{: [", "is not YAML"),
             "not listening": (json.dumps(nowhere), "cannot reach the Kubernetes API"),
             "no current context": (json.dumps(dict(good, **{"current-context": ""})), "has no current-context"),
             "a list, not a kubeconfig": ("[1, 2]", "is not a kubeconfig")}
    found = {"missing": (os.path.join(directory, "absent.kubeconfig"), "does not exist"),
             "a directory": (directory, "is a directory")}
    for label, (text, says) in files.items():
        path = os.path.join(directory, label.replace(" ", "-").replace(",", "") + ".kubeconfig")
        with open(path, "w") as handle:
            handle.write(text)
        found[label] = (path, says)
    return found


@pytest.fixture
def healthy_nth(cluster, namespace, host_ports):
    deploy_nth(cluster.api, namespace, "v1.18.3", liveness_port=host_ports[0], metrics_port=host_ports[1])
    wait_deployment(cluster.api, namespace, NTH, rollout_complete)
    return namespace


def test_bad_input_to_the_kubernetes_modules(cluster, healthy_nth, tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("K8S_AUTH_")]:
        monkeypatch.delenv(name)
    env = dict(os.environ)
    options = bad_input.module_options(MODULES, env)
    base = {"kubeconfig": cluster.kubeconfig, "namespace": healthy_nth, "name": NTH}
    cases = []
    for module in MODULES:
        for option, label, value in bad_input.option_cases(options[module]):
            cases.append({"module": module, "option": option, "label": label, "args": dict(base, **{option: value}),
                          "aliases": options[module][option].get("aliases") or [], "check_mode": True})
        for label, (path, says) in kubeconfigs(cluster, str(tmp_path)).items():
            cases.append({"module": module, "option": "kubeconfig", "label": "kubeconfig " + label, "says": says,
                          "args": dict(base, kubeconfig=path), "check_mode": True})
        cases.append({"module": module, "option": "context", "label": "context that does not exist",
                      "says": "context 'nope' not found", "args": dict(base, context="nope"), "check_mode": True})
        cases.append({"module": module, "option": "namespace", "label": "namespace that does not exist",
                      "args": dict(base, namespace="no-such-namespace"), "check_mode": True})
        cases.append({"module": module, "option": "name", "label": "Deployment that does not exist",
                      "args": dict(base, name="no-such-deployment"), "check_mode": True})
    results = bad_input.run_cases(cases)
    print("\n%d cases\n%s" % (len(results), bad_input.table(results)))
    for case in results:
        if case["outcome"] == "ok" or case["option"] in ("namespace", "name"):
            print("  %-17s %-15s %-30s %-9s %s" % (
                case["module"].split(".")[-1], case["option"], case["label"], case["outcome"], case["message"][:150]))
    crashed = ["%s %s %s: %s" % (c["module"], c["option"], c["label"], c["message"]) for c in results
               if c["outcome"] == "traceback"]
    assert not crashed, crashed
    unclear = ["%s %s: %s %s" % (c["module"], c["label"], c["outcome"], c["message"]) for c in results
               if c.get("says") and (c["outcome"] == "ok" or c["says"] not in c["message"])]
    assert not unclear, unclear
