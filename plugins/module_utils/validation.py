# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of option values that ansible-core's argument spec cannot express: Kubernetes names, number ranges,
Go durations, kops arguments. Each check is a pure function ``check(value) -> None or what the value must be``
("must be ..., got ..."); :func:`validate` runs a list of them against a module's params and fails with every
problem at once, each after its option name ("namespace must be a DNS-1123 label ..."), before the module talks to
anything. k8s_module.object_name_problems is the same checks for the Kubernetes modules' names.

    from ...module_utils.validation import validate, dns1123_label, dns1123_subdomain, int_range
    validate(module, [("namespace", dns1123_label), ("name", dns1123_subdomain),
                      ("wait_timeout", int_range(0, 86400))])

A check sees only values that are set (not None); whether an option is required is the argument spec's job.
"""

from __future__ import annotations

import os
import re

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.versions import (
    parse_go_duration,
    parse_version,
)

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# kops' state store schemes (kops/util/pkg/vfs).
STATE_STORE_SCHEMES = ("s3", "gs", "swift", "oss", "azureblob", "do", "scw", "file", "memfs")


def _text(value):
    return "%r" % (value,) if len(str(value)) <= 80 else "%r... (%d characters)" % (str(value)[:60], len(str(value)))


def dns1123_label(value):
    """A namespace (or any RFC 1123 label): 1-63 lowercase letters, digits and '-', starting and ending with a
    letter or digit."""
    return _name(value, 63, _LABEL, "DNS-1123 label (lower-case letters, digits, '-')")


def dns1123_subdomain(value):
    """A Deployment, ReplicaSet or kOps cluster name (RFC 1123 subdomain): at most 253 characters, lowercase
    letters, digits, '-' and '.'."""
    return _name(value, 253, _SUBDOMAIN, "DNS-1123 subdomain (lower-case letters, digits, '-', '.')")


def _name(value, limit, pattern, kind):
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty name, got %s" % _text(value)
    if len(value) > limit:
        return "must be at most %d characters, got %d" % (limit, len(value))
    if not pattern.match(value):
        return "must be a %s, starting and ending with a letter or digit, got %s" % (kind, _text(value))
    return None


def int_range(minimum=None, maximum=None):
    """A check that an int lies in [minimum, maximum] (either end open when None)."""

    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be a whole number, got %s" % _text(value)
        if minimum is not None and value < minimum:
            return "must be %d or more, got %d" % (minimum, value)
        if maximum is not None and value > maximum:
            return "must be %d or less, got %d" % (maximum, value)
        return None

    return check


def go_duration(value):
    """A duration as kops takes it (Go's time.ParseDuration): 30s, 5m, 1h30m, 500ms."""
    if parse_go_duration(value) is None:
        return "must be a duration such as 30s, 10m or 1h30m, got %s" % _text(value)
    return None


def semantic_version(value):
    """A Kubernetes version: 1.29.9 or v1.29.9 (pre-release and build suffixes allowed)."""
    if parse_version(value, require_patch=True) is None:
        return "must be a version such as 1.29.9, got %s" % _text(value)
    return None


def state_store(value):
    """A kops state store URL: <scheme>://<path> with a scheme kops knows."""
    if not isinstance(value, str) or "://" not in value:
        return "must be a state store URL such as s3://my-kops-state, got %s" % _text(value)
    scheme, rest = value.split("://", 1)
    if scheme not in STATE_STORE_SCHEMES:
        return "must use a state store scheme kops knows (%s), got %s" % (", ".join(STATE_STORE_SCHEMES), _text(value))
    if not rest.strip("/"):
        return "must name a bucket or path, got %s" % _text(value)
    return None


def not_an_option(value):
    """A value passed to a command line as a word of its own: non-empty, and not something that reads as a flag."""
    if not isinstance(value, str) or not value.strip():
        return "must not be empty"
    if value.startswith("-"):
        return "must not start with '-' (it would be read as a flag), got %s" % _text(value)
    return None


def existing_file(value):
    """A path to a file that exists (not a directory)."""
    if not isinstance(value, str) or not value:
        return "must be a path to a file"
    if not os.path.exists(value):
        return "must be a file that exists, got %s" % _text(value)
    if os.path.isdir(value):
        return "must be a file, got the directory %s" % _text(value)
    return None


def writable_file(value):
    """A path to a file that exists or can be created in an existing directory (kops writes its kubeconfig)."""
    if not isinstance(value, str) or not value:
        return "must be a path to a file"
    if os.path.isdir(value):
        return "must be a file, got the directory %s" % _text(value)
    if not os.path.exists(value) and not os.path.isdir(os.path.dirname(os.path.abspath(value))):
        return "must be a file in a directory that exists, got %s" % _text(value)
    return None


def not_empty(value):
    """Text that is not empty (a context name, say: anything else the server or kubeconfig decides)."""
    if not isinstance(value, str) or not value.strip():
        return "must not be empty"
    return None


def api_server_url(value):
    """An API server address: http(s)://host[:port][/path]."""
    if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+", value) or any(c.isspace() for c in value):
        return "must be the API server's URL (https://host[:port]), got %s" % _text(value)
    return None


_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=:-]+$")


def bearer_token(value):
    """A bearer token: not empty, only the characters tokens are made of (JWT, base64), no spaces. The value is
    never shown; whether it is valid only the API server can tell."""
    if not isinstance(value, str) or not value:
        return "must be a bearer token, got nothing"
    if not _TOKEN.match(value):
        return "must be a bearer token (letters, digits and . _ ~ + / = : -, no spaces)"
    return None


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def environment_variables(value):
    """A dict of environment variables: names of letters, digits and '_', values that are text or numbers."""
    if not isinstance(value, dict):
        return "must be a dict of environment variables"
    for name in sorted(value, key=str):
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            return "must have environment variable names (letters, digits and '_'), got %s" % _text(name)
        if isinstance(value[name], (dict, list)) or value[name] is None:
            # The value itself is not shown: it may be a credential.
            return "must have text or numbers as values, got a %s for %s" % (type(value[name]).__name__, name)
    return None


def each(check):
    """A check applied to every element of a list option."""

    def check_all(values):
        for index, value in enumerate(values or []):
            problem = check(value)
            if problem:
                return "element %d %s" % (index + 1, problem)
        return None

    return check_all


def problems(params, rules):
    """Pure: ``["<option> <problem>", ...]`` for the ``(option, check)`` rules whose value is set and wrong."""
    found = []
    for option, check in rules:
        value = params.get(option)
        if value is None:
            continue
        problem = check(value)
        if problem:
            found.append("%s %s" % (option, problem))
    return found


def validate(module, rules, params=None):
    """fail_json with every problem of ``rules`` (see :func:`problems`) in one message; returns when all hold.
    ``params``: the values to check when the module's params show some masked (default: the module's params)."""
    found = problems(module.params if params is None else params, rules)
    if found:
        module.fail_json(msg="invalid option%s: %s" % ("s" if len(found) > 1 else "", "; ".join(found)))
