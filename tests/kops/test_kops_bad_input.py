# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input to the kops modules, generated from their documented options (tests/cluster/bad_input.py), with the
real kops binary: never a traceback, and a value that cannot be right is refused with a message naming its option
before kops runs."""

from __future__ import annotations

import os

from testbed import bad_input, kops_world

MODULES = ("clusterops.kops_upgrade.kops_validate", "clusterops.kops_upgrade.kops_upgrade",
           "clusterops.kops_upgrade.kops_update", "clusterops.kops_upgrade.kops_rolling_update")
# Values some options may take even though the generator calls them bad: kops itself then says what is wrong
# (a channel or kubeconfig it cannot find, a role it does not know).
# A bearer token of 300 characters, or one that starts with '-', is a token all the same: only the API server can say
# it is wrong (it reaches kops in a private kubeconfig, never on the command line).
KOPS_DECIDES = {("channel", "300 characters"), ("channel", "invalid characters"), ("channel", "dict"),
                ("instance_group_roles", "300-character element"), ("instance_group_roles", "invalid characters"),
                ("api_key", "300 characters"), ("api_key", "leading dash")}


def test_bad_input_to_the_kops_modules(tmp_path, monkeypatch):
    kops = kops_world.kops_binary()[0]
    monkeypatch.delenv("KOPS_STATE_STORE", raising=False)
    options = bad_input.module_options(MODULES, dict(os.environ))
    base = {"cluster_name": kops_world.CLUSTER, "state_store": "file://%s/state" % tmp_path, "kops_binary": kops}
    cases = []
    for module in MODULES:
        for option, label, value in bad_input.option_cases(options[module]):
            cases.append({"module": module, "option": option, "label": label, "args": dict(base, **{option: value}),
                          "aliases": options[module][option].get("aliases") or [], "check_mode": True})
    results = bad_input.run_cases(cases)
    print("\n%d cases\n%s" % (len(results), bad_input.table(results)))
    for case in results:
        if case["outcome"] != "rejected":
            print("  %-20s %-22s %-24s %-8s %s" % (
                case["module"].split(".")[-1], case["option"], case["label"], case["outcome"], case["message"][:140]))
    crashed = [(c["module"], c["option"], c["label"], c["message"]) for c in results if c["outcome"] == "traceback"]
    assert not crashed, crashed
    accepted = [(c["module"], c["option"], c["label"]) for c in results if c["outcome"] == "ok"]
    assert not accepted, accepted
    unnamed = [(c["module"], c["option"], c["label"], c["message"][:300]) for c in results
               if c["outcome"] == "failed" and (c["option"], c["label"]) not in KOPS_DECIDES]
    assert not unnamed, unnamed
