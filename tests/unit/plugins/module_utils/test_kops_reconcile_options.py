# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""No silent option under kops reconcile cluster: each rolling-update setting is either what reconcile does or
refused by name."""

from __future__ import annotations

import pytest

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_cli import (
    ROLLING_UPDATE_OPTIONS,
    KopsError,
    reconcile_ignored_options,
    refuse_ignored_rolling_options,
    uses_reconcile,
)

# What the kops_upgrade role passes with its defaults.
ROLE_DEFAULTS = {"instance_groups": [], "instance_group_roles": [], "cloudonly": False, "validation_timeout": "15m",
                 "validate_count": 2, "fail_on_validate_error": True, "fail_on_drain_error": "",
                 "drain_timeout": "15m", "control_plane_interval": "", "node_interval": "", "post_drain_delay": ""}


def test_the_roles_defaults_and_nothing_given_are_what_reconcile_does():
    assert reconcile_ignored_options(ROLE_DEFAULTS) == []
    assert reconcile_ignored_options({}) == []
    assert reconcile_ignored_options(dict((name, None) for name in ROLLING_UPDATE_OPTIONS)) == []
    # The same duration spelled otherwise, and a list of blanks, are the same setting.
    assert reconcile_ignored_options({"validation_timeout": "900s", "drain_timeout": "0h15m0s",
                                      "node_interval": "15000ms", "instance_groups": [" "]}) == []
    # As ansible-core before 2.19 templates nested values: text.
    assert reconcile_ignored_options({"cloudonly": "False", "validate_count": "2", "fail_on_drain_error": "False",
                                      "instance_group_roles": ""}) == []
    assert reconcile_ignored_options({"cloudonly": "True"}) == [
        "cloudonly=True (--cloudonly; reconcile uses --cloudonly=false)"]


@pytest.mark.parametrize("name, value, expected", [
    ("instance_groups", ["nodes-a", "nodes-b"], "instance_groups=nodes-a,nodes-b (--instance-group; reconcile uses "
                                                "every group that needs it)"),
    ("instance_group_roles", ["Node"], "instance_group_roles=Node (--instance-group-roles;"),
    ("force", True, "force=true (--force; reconcile uses --force=false)"),
    ("cloudonly", True, "cloudonly=true (--cloudonly; reconcile uses --cloudonly=false)"),
    ("validation_timeout", "5m", "validation_timeout=5m (--validation-timeout; reconcile uses --validation-timeout=15m)"),
    ("validate_count", 1, "validate_count=1 (--validate-count; reconcile uses --validate-count=2)"),
    ("fail_on_validate_error", False, "fail_on_validate_error=false (--fail-on-validate-error; reconcile uses "
                                      "--fail-on-validate-error=true)"),
    # kops' rolling-update command line fails on a drain error; the rolling updates inside reconcile do not.
    ("fail_on_drain_error", True, "fail_on_drain_error=true (--fail-on-drain-error; reconcile uses "
                                  "--fail-on-drain-error=false)"),
    ("control_plane_interval", "1s", "control_plane_interval=1s (--control-plane-interval; reconcile uses "
                                     "--control-plane-interval=15s)"),
    ("node_interval", "1m", "node_interval=1m"),
    ("bastion_interval", "30s", "bastion_interval=30s"),
    ("drain_timeout", "1h", "drain_timeout=1h (--drain-timeout; reconcile uses --drain-timeout=15m)"),
    ("post_drain_delay", "1s", "post_drain_delay=1s (--post-drain-delay; reconcile uses --post-drain-delay=5s)"),
])
def test_each_rolling_update_option_that_reconcile_would_ignore_is_named(name, value, expected):
    ignored = reconcile_ignored_options(dict(ROLE_DEFAULTS, **{name: value}))
    assert len(ignored) == 1 and ignored[0].startswith(expected), ignored


def test_every_rolling_update_option_is_covered():
    # kops_rolling_update's options (less progress_file, which is not kops') are exactly the table's.
    from ansible_collections.clusterops.kops_upgrade.plugins.modules import kops_rolling_update
    import yaml
    options = set(yaml.safe_load(kops_rolling_update.DOCUMENTATION)["options"])
    assert options - {"progress_file"} == set(ROLLING_UPDATE_OPTIONS)


def test_refusal_names_all_of_them_and_the_way_out():
    with pytest.raises(KopsError) as error:
        refuse_ignored_rolling_options(dict(ROLE_DEFAULTS, node_interval="1s", validation_timeout="5m"), (1, 31, 0))
    message = str(error.value)
    assert "kops 1.31.0 applies the upgrade with kops reconcile cluster" in message
    assert "validation_timeout=5m" in message and "node_interval=1s" in message
    assert "set reconcile to false" in message
    refuse_ignored_rolling_options(ROLE_DEFAULTS, (1, 32, 0))


@pytest.mark.parametrize("choice, version, expected", [
    ("auto", (1, 30, 2), False), ("auto", (1, 31, 0), True), ("AUTO", (1, 32, 0), True),
    ("false", (1, 32, 0), False), ("true", (1, 31, 0), True), (True, (1, 31, 0), True), (False, (1, 31, 0), False),
])
def test_uses_reconcile(choice, version, expected):
    assert uses_reconcile(choice, version) is expected


def test_reconcile_true_with_an_old_kops_or_a_bad_choice_is_refused():
    with pytest.raises(KopsError, match="needs kops >= 1.31.*1.30.2"):
        uses_reconcile("true", (1, 30, 2))
    with pytest.raises(KopsError, match="auto, true or false"):
        uses_reconcile("sometimes", (1, 31, 0))
