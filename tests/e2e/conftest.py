# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade playbook end to end on real kops releases: tools/testbed (moto as AWS, the local control plane as
the cluster's API, the node agent for the instances, kOps' channels for the addons). Like tests/kops, the session
runs with HOME set to an empty directory that must stay without .kube and .ansible."""

from __future__ import annotations

import pytest

from testbed import kops_world


@pytest.fixture(scope="session", autouse=True)
def untouched_home(tmp_path_factory):
    """HOME is an empty directory for the whole session; see kops_world.untouched_home."""
    yield from kops_world.untouched_home(str(tmp_path_factory.mktemp("session")))
