# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Versions and Go durations, read one way everywhere: the precheck, the kops CLI wrapper and the modules'
input validation all use these functions (pure, no exceptions: None means "not one")."""

from __future__ import annotations

import re

# v1.34.4, 1.30, v1.29.3-eks-1, 1.29.9+build: major.minor[.patch] with optional pre-release/build suffix.
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_VERSION_IN_TEXT = re.compile(r"(\d+)\.(\d+)\.(\d+)")
# Go's time.ParseDuration: a sequence of decimal numbers, each with a unit (ns, us, µs, ms, s, m, h).
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                   "h": 3600.0}


def parse_version(text, require_patch=False):
    """``v1.34.4``, ``1.30``, ``v1.29.3-eks-1`` -> ``(1, 34, 4)`` (a missing patch is 0); None when ``text`` is
    not a version (or, with ``require_patch``, has no patch number)."""
    if not isinstance(text, str):
        return None
    match = _VERSION.match(text.strip())
    if not match or (require_patch and match.group(3) is None):
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def find_version(text):
    """The first ``x.y.z`` in a tool's output (``Client version: 1.30.2 (git-v1.30.2)``), or None."""
    match = _VERSION_IN_TEXT.search(text or "") if isinstance(text, str) else None
    return tuple(int(x) for x in match.groups()) if match else None


def parse_go_duration(text):
    """A Go duration (``15m``, ``1h30m``, ``1.5s``, ``500ms``, ``0``) in seconds (float); None when it is not one.
    A sign is not accepted: every duration the collection takes is a timeout or an interval."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    if value == "0":
        return 0.0
    parts = _DURATION_PART.findall(value)
    if not value or "".join(number + unit for number, unit in parts) != value:
        return None
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)
