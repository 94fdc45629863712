# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the kops_rolling_update module and shows kops' progress while it runs (see plugin_utils.kops_progress)."""

from __future__ import annotations

from ansible_collections.clusterops.kops_upgrade.plugins.plugin_utils.kops_progress import KopsProgressAction


class ActionModule(KopsProgressAction):
    """The kops_rolling_update module, with kops' progress in the output while it runs."""
