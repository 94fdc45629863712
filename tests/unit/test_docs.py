# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The user documentation generated from the roles' argument specs (tools/argspec_docs.py) is what the specs say:
the role READMEs and the README's playbook variables table. A spec or playbook changed without regenerating fails
here, naming the files (fix: python3 tools/argspec_docs.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GENERATOR = os.path.join(ROOT, "tools", "argspec_docs.py")


def generate(check):
    return subprocess.run([sys.executable, GENERATOR] + (["--check"] if check else []), cwd=ROOT,
                          capture_output=True, text=True, check=False)


def test_generated_docs_match_the_argument_specs():
    result = generate(check=True)
    assert result.returncode == 0, result.stderr


def test_every_role_has_a_readme_naming_every_option():
    for role in sorted(os.listdir(os.path.join(ROOT, "roles"))):
        with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")) as handle:
            specs = yaml.safe_load(handle)["argument_specs"]
        with open(os.path.join(ROOT, "roles", role, "README.md")) as handle:
            readme = handle.read()
        for entry, spec in specs.items():
            assert "## Entry point `%s`" % entry in readme, (role, entry)
            for option in spec.get("options", {}):
                assert "| `%s` |" % option in readme, (role, option)


def test_drift_is_detected(tmp_path):
    """The check fails when a spec changes and the docs do not (on a copy of the files it reads)."""
    import shutil
    copy = tmp_path / "collection"
    for part in ("roles", "playbooks", "tools"):
        shutil.copytree(os.path.join(ROOT, part), copy / part)
    shutil.copy(os.path.join(ROOT, "README.md"), copy / "README.md")
    spec_path = copy / "roles" / "remediate" / "meta" / "argument_specs.yml"
    spec_path.write_text(spec_path.read_text().replace("default: scale_down", "default: delete"))
    result = subprocess.run([sys.executable, str(copy / "tools" / "argspec_docs.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "roles/remediate/README.md" in result.stderr
