# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The precheck's table of check groups (precheck_api.CHECK_GROUPS) holds every finding code the precheck can
report, once, and the module's documentation names each group and code: adding a check is its pure function,
one table entry and its codes in the documentation, and this test says which one is missing."""

from __future__ import annotations

import os
import re

import yaml

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils import precheck_api
from ansible_collections.clusterops.kops_upgrade.plugins.modules import upgrade_precheck

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE_UTILS = os.path.join(HERE, "..", "..", "..", "..", "plugins", "module_utils")


def reported_codes():
    codes = set()
    for name in ("precheck.py", "precheck_api.py"):
        with open(os.path.join(MODULE_UTILS, name)) as handle:
            codes.update(re.findall(r'finding\(\s*"([a-z_]+)"', handle.read()))
    return codes


def test_every_code_belongs_to_one_group_or_to_every_run():
    owners = {}
    for group in precheck_api.CHECK_GROUPS:
        for code in group.codes:
            owners.setdefault(code, []).append(group.name)
    for code in precheck_api.ALWAYS_CODES:
        owners.setdefault(code, []).append("(always)")
    assert dict((c, o) for c, o in owners.items() if len(o) > 1) == {}
    assert sorted(reported_codes() - set(owners)) == [], "codes no group of CHECK_GROUPS lists"
    assert sorted(set(owners) - reported_codes()) == [], "codes in the table that nothing reports"


def test_the_module_documents_every_group_and_code():
    documentation = yaml.safe_load(upgrade_precheck.DOCUMENTATION)
    checks = documentation["options"]["checks"]
    assert checks["choices"] == list(precheck_api.CHECKS)
    assert checks["default"] == list(precheck_api.DEFAULT_CHECKS)
    text = " ".join(documentation["description"])
    for group in precheck_api.CHECK_GROUPS:
        assert "B(%s)" % group.name in text, group.name
        for code in group.codes:
            assert "C(%s)" % code in text, (group.name, code)
    for code in precheck_api.ALWAYS_CODES:
        assert "C(%s)" % code in text, code
