# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What this collection knows about kOps releases, in one place. The modules' version gates read these facts;
the parser tests run every release of RECORDED over its recorded output (tests/unit/fixtures/kops, written by
tests/kops/capture_fixtures.py). Adding a kOps release is one entry in RECORDED, its fixtures, and whatever its
output changed (the parser tests say what)."""

from __future__ import annotations

# The oldest kops the modules run (older releases print and behave differently in ways never tested).
OLDEST_SUPPORTED = (1, 26, 0)
# `kops reconcile cluster`, and `kops update cluster --instance-group/--instance-group-roles`, exist from 1.31.
RECONCILE_SINCE = (1, 31, 0)
UPDATE_INSTANCE_GROUP_FLAGS_SINCE = (1, 31, 0)
# The releases whose real output (upgrade, update, rolling-update, reconcile, validate, version) was recorded and
# is parsed by the unit tests, oldest first. The Go module proxy serves no 1.33.0, 1.34.0 or 1.34.1.
RECORDED = ("1.30.2", "1.31.0", "1.32.0", "1.33.1", "1.35.0", "1.36.2")


def text(version):
    """(1, 31, 0) -> '1.31.0'."""
    return ".".join(str(part) for part in version)
