# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One version parser and one Go duration parser (issue 17, finding 10): the precheck, the kops wrapper and the
modules' input validation read them the same way."""

from __future__ import annotations

import pytest

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils import kops_cli, precheck, validation
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.versions import (
    find_version,
    parse_go_duration,
    parse_version,
)


@pytest.mark.parametrize("text, version", [
    ("v1.34.4", (1, 34, 4)), ("1.30", (1, 30, 0)), ("v1.29.3-eks-1", (1, 29, 3)), ("1.29.9+build.5", (1, 29, 9)),
    ("1.30.0-alpha.1+abc", (1, 30, 0)), (" 1.31.0 ", (1, 31, 0)),
])
def test_versions(text, version):
    assert parse_version(text) == version
    assert precheck.parse_version(text) == version


@pytest.mark.parametrize("text", ["", "1", "v", "1.x", "1.2.3.4", "1.29.9-", "latest", None, "v1.29.3 extra"])
def test_not_versions(text):
    assert parse_version(text) is None
    with pytest.raises(precheck.PrecheckInputError):
        precheck.parse_version(text)


def test_only_text_is_a_version():
    assert parse_version(1.3) is None  # YAML's 1.30 is the float 1.3: the caller decides what to make of it


def test_the_module_input_rule_needs_a_patch_number_the_precheck_does_not():
    assert validation.semantic_version("1.30") is not None
    assert parse_version("1.30") == (1, 30, 0)
    assert validation.semantic_version("v1.30.2") is None
    assert validation.semantic_version("1.29.9-rc.1+meta") is None


def test_a_version_in_tool_output():
    assert find_version("Client version: 1.30.2 (git-v1.30.2)") == (1, 30, 2)
    assert kops_cli.parse_version("Client version: 1.30.2 (git-v1.30.2)") == (1, 30, 2)
    assert find_version("no version here") is None and find_version(None) is None


@pytest.mark.parametrize("text, seconds", [
    ("15m", 900.0), ("1h30m", 5400.0), ("90s", 90.0), ("500ms", 0.5), ("1.5s", 1.5), ("0", 0.0),
    ("1500us", 0.0015), ("2h0m0s", 7200.0), ("100ns", 1e-7), (".5s", 0.5),
])
def test_go_durations(text, seconds):
    assert parse_go_duration(text) == pytest.approx(seconds)
    assert validation.go_duration(text) is None
    assert precheck.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "15", "m", "1d", "-5m", "1h 30m", "5 m", None, 15, "1.2.3s"])
def test_not_go_durations(text):
    assert parse_go_duration(text) is None
    assert validation.go_duration(text) is not None


def test_the_precheck_also_takes_plain_seconds():
    assert precheck.parse_duration("900") == 900.0
    assert precheck.parse_duration(900) == 900.0
    with pytest.raises(precheck.PrecheckInputError):
        precheck.parse_duration("1d")
