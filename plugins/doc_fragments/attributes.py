# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
"""

    K8S_GROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/clusterops.kops_upgrade.k8s) in C(module_defaults) to set auth options once.
    support: full
    membership:
      - clusterops.kops_upgrade.k8s
"""

    KOPS_GROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/clusterops.kops_upgrade.kops) in C(module_defaults) to set kops options once.
    support: full
    membership:
      - clusterops.kops_upgrade.kops
"""
