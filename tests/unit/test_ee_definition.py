# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The example execution environment (extensions/ee) follows what the collection is tested with: kops is the newest
release of the supported set (tools/localcluster/versions.env KOPS_RELEASES), kubectl the test control plane's
Kubernetes, no pre-release of a collection can enter, and the collection comes from the definition's own context
(tools/ee-create.sh runs ansible-builder create on it, from a checkout and from an installed copy)."""

from __future__ import annotations

import os
import re

import yaml

from testbed.local_cluster import versions

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EE = os.path.join(ROOT, "extensions", "ee")


def definition():
    with open(os.path.join(EE, "execution-environment.yml")) as handle:
        return yaml.safe_load(handle)


def build_args():
    steps = definition()["additional_build_steps"]["append_final"]
    return dict(re.match(r"^ARG (\w+)=(\S+)$", s).groups() for s in steps if s.startswith("ARG "))


def test_kops_is_the_newest_supported_release():
    releases = versions()["KOPS_RELEASES"].split(",")
    assert build_args()["KOPS_VERSION"] == releases[-1]


def test_kubectl_is_the_tested_kubernetes():
    assert build_args()["KUBECTL_VERSION"] == versions()["KUBERNETES_VERSION"]


def test_no_pre_releases():
    spec = definition()
    assert "--pre" not in str(spec.get("build_arg_defaults", {}))
    with open(os.path.join(EE, "requirements.yml")) as handle:
        collections = yaml.safe_load(handle)["collections"]
    galaxy = [c for c in collections if c.get("type", "galaxy") == "galaxy"]
    assert [c["name"] for c in galaxy] == ["kubernetes.core"]
    for collection in galaxy:
        # A version range of releases: every bound a plain X.Y.Z (a pinned pre-release would let one in).
        for bound in collection["version"].split(","):
            assert re.fullmatch(r"\s*(>=|<|<=|>|==)?\d+\.\d+\.\d+\s*", bound), collection


def test_the_collection_comes_from_the_context():
    spec = definition()
    with open(os.path.join(EE, "requirements.yml")) as handle:
        ours = [c for c in yaml.safe_load(handle)["collections"] if c.get("type") == "dir"]
    assert ours == [{"name": "/build/collections/kops_upgrade", "type": "dir"}]
    copied = {entry["src"] for entry in spec["additional_build_files"]}
    # Everything the collection needs at run time and for introspection is copied; the test bed is not.
    for part in ("galaxy.yml", "meta", "plugins", "roles", "playbooks", "requirements.txt", "bindep.txt"):
        assert "../../" + part in copied, part
    for entry in spec["additional_build_files"]:
        assert entry["dest"].startswith("collections/kops_upgrade"), entry
        assert not re.search(r"tools|tests|Makefile|molecule", entry["src"]), entry
