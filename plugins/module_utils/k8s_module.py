# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every Kubernetes module of this collection shares: the auth argument spec and a connected API layer."""

from __future__ import annotations

import copy
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.validation import (
    dns1123_label,
    dns1123_subdomain,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.k8s_connection import (
    AUTH_ARG_SPEC,
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    K8sConnectionError,
    api_client,
    auth_settings,
    readable_kubeconfig_values,
    url_credentials,
)


def k8s_module(argument_spec, **kwargs):
    """An AnsibleModule whose spec is ``argument_spec`` plus the kubernetes.core auth options."""
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(argument_spec)
    try:
        module = AnsibleModule(argument_spec=spec, **kwargs)
    except TypeError:
        # ansible-core (2.16 to 2.21 at least) crashes with a TypeError in its sub-option validation when a dict
        # option with sub-options (proxy_headers) is given a list: take such options as they are, masked (their
        # sub-options may be credentials), and refuse a list with a sentence.
        nested = dict((option, sorted(option_spec["options"])) for option, option_spec in spec.items()
                      if option_spec.get("type") == "dict" and option_spec.get("options"))
        for option in nested:
            spec[option] = dict(type="raw", no_log=True, aliases=spec[option].get("aliases", []))
        module = AnsibleModule(argument_spec=spec, **kwargs)
        malformed = [option for option in sorted(nested) if not isinstance(module.params.get(option), (dict, type(None)))]
        if not malformed:
            raise
        module.fail_json(msg="; ".join("%s: must be a dict (%s), got %s" % (
            option, ", ".join(nested[option]), type(module.params[option]).__name__) for option in malformed))
    mask_credentials(module)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(KUBERNETES_IMPORT_ERROR))
    return module


def mask_credentials(module):
    """Masked in every result from here on: the credentials of a kubeconfig dict and of a proxy URL (option or
    K8S_AUTH_PROXY), and nothing else of them (ansible-core masked every value of the no_log kubeconfig)."""
    module.no_log_values -= readable_kubeconfig_values(module.params.get("kubeconfig"))
    proxy = module.params.get("proxy") or os.environ.get("K8S_AUTH_PROXY")
    if proxy:
        module.no_log_values |= url_credentials(proxy)


def connect(module, api_class):
    """An ``api_class`` (an ApiReader: rollout_api.RolloutApi, precheck_api.PrecheckApi) on a client for the
    module's auth settings, or fail_json with a readable message."""
    try:
        return api_class(api_client(auth_settings(module.params)))
    except K8sConnectionError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # the kubernetes client raises plain exceptions for unreadable kubeconfigs
        module.fail_json(msg="could not configure the Kubernetes client: %s" % exc)


def object_name_problems(option, value, required=False, label=False):
    """Why ``value`` is not a valid object name (a DNS-1123 subdomain, or label for namespaces), as messages
    naming the option; an empty list when it is fine. ``None`` is fine unless ``required``.
    The checks are module_utils.validation's, shared with every module."""
    if value is None:
        return ["%s is required and must be a non-empty name" % option] if required else []
    problem = (dns1123_label if label else dns1123_subdomain)(value)
    return ["%s %s" % (option, problem)] if problem else []
