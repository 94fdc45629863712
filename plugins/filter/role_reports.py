# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' reports as filters: remediation_report, merge_remediation_reports, validation_problems
(module_utils/role_reports.py holds the logic; each filter's documentation is the YAML file of its name here)."""

from __future__ import annotations

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.role_reports import (
    merge_remediation_reports,
    remediation_report,
    validation_problems,
)


class FilterModule(object):
    """remediation_report, merge_remediation_reports, validation_problems."""

    def filters(self):
        return {
            "remediation_report": remediation_report,
            "merge_remediation_reports": merge_remediation_reports,
            "validation_problems": validation_problems,
        }
