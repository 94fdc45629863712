# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The option checks shared by the modules."""

from __future__ import annotations

import pytest

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.validation import (
    dns1123_label,
    dns1123_subdomain,
    each,
    environment_variables,
    existing_file,
    writable_file,
    go_duration,
    int_range,
    not_an_option,
    problems,
    semantic_version,
    state_store,
)


@pytest.mark.parametrize("value", ["kube-system", "a", "a" * 63, "t-1f2e"])
def test_good_labels(value):
    assert dns1123_label(value) is None


@pytest.mark.parametrize("value, says", [
    ("", "must be a non-empty name, got ''"), ("a" * 64, "must be at most 63 characters, got 64"),
    ("Kube", "must be a DNS-1123 label"), ("-a", "DNS-1123 label"), ("a.b", "DNS-1123 label"),
    ("a_b", "DNS-1123 label"), (" ", "non-empty name"), ({"a": 1}, "non-empty name"), (5, "non-empty name"),
])
def test_bad_labels(value, says):
    assert says in dns1123_label(value)


@pytest.mark.parametrize("value", ["aws-node-termination-handler", "x.k8s.local", "a" * 253])
def test_good_subdomains(value):
    assert dns1123_subdomain(value) is None


@pytest.mark.parametrize("value, says", [("", "non-empty"), ("a" * 254, "at most 253 characters, got 254"),
                                         ("A.b", "DNS-1123 subdomain"), ("a..b", "DNS-1123 subdomain"),
                                         ("a.", "DNS-1123 subdomain"), ("Bad_Name!", "DNS-1123 subdomain")])
def test_bad_subdomains(value, says):
    assert says in dns1123_subdomain(value)


def test_long_values_are_shortened_in_messages():
    assert "... (300 characters)" in go_duration("A" * 300)


def test_int_range():
    check = int_range(1, 10)
    assert check(1) is None and check(10) is None
    assert check(0) == "must be 1 or more, got 0"
    assert check(11) == "must be 10 or less, got 11"
    assert "whole number" in check(True) and "whole number" in check("3")
    assert int_range()(-(10 ** 12)) is None


@pytest.mark.parametrize("value, good", [("30s", True), ("1h30m", True), ("500ms", True), ("1.5h", True),
                                         ("30", False), ("", False), ("-5s", False), ("5 s", False)])
def test_go_duration(value, good):
    assert (go_duration(value) is None) is good


@pytest.mark.parametrize("value, good", [("1.29.9", True), ("v1.30.2", True), ("1.31.0-beta.1", True),
                                         ("1.29", False), ("latest", False), ("--yes", False)])
def test_semantic_version(value, good):
    assert (semantic_version(value) is None) is good


@pytest.mark.parametrize("value, says", [
    ("s3://bucket", None), ("file:///tmp/state", None), ("gs://b/p", None), ("bucket", "must be a state store URL"),
    ("ftp://x", "must use a state store scheme kops knows"), ("s3://", "must name a bucket or path"),
    ("", "must be a state store URL"),
])
def test_state_store(value, says):
    problem = state_store(value)
    assert problem is None if says is None else says in problem


def test_not_an_option_and_each():
    assert not_an_option("stable") is None
    assert "must not start with '-'" in not_an_option("--yes")
    assert not_an_option(" ") == "must not be empty"
    assert each(not_an_option)(["a", "--yes"]) == ("element 2 must not start with '-' (it would be read as a flag), "
                                                   "got '--yes'")
    assert each(not_an_option)([]) is None


def test_environment_variables_never_show_values():
    assert environment_variables({"AWS_REGION": "eu-west-1", "N": 3}) is None
    assert "must have environment variable names" in environment_variables({"bad key": "v"})
    problem = environment_variables({"AWS_SECRET_ACCESS_KEY": {"nested": "s3cr3t"}})
    assert "must have text or numbers as values, got a dict" in problem and "s3cr3t" not in problem
    assert environment_variables("x") == "must be a dict of environment variables"


def test_problems_names_each_option_and_skips_unset():
    params = {"namespace": "Bad", "name": None, "timeout": -1}
    found = problems(params, [("namespace", dns1123_label), ("name", dns1123_subdomain),
                              ("timeout", int_range(0))])
    assert found == ["namespace must be a DNS-1123 label (lower-case letters, digits, '-'), starting and ending with a "
                     "letter or digit, got 'Bad'", "timeout must be 0 or more, got -1"]


def test_existing_file(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text("x")
    assert existing_file(str(path)) is None
    assert "must be a file that exists" in existing_file(str(tmp_path / "nope"))
    assert "must be a file, got the directory" in existing_file(str(tmp_path))
    assert existing_file("") == "must be a path to a file"


def test_writable_file(tmp_path):
    assert writable_file(str(tmp_path / "new.kubeconfig")) is None  # kops writes it
    assert "must be a file, got the directory" in writable_file(str(tmp_path))
    assert "in a directory that exists" in writable_file(str(tmp_path / "no" / "such" / "file"))
    assert writable_file("") == "must be a path to a file"
