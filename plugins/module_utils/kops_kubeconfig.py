# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubeconfig kops gets: the same Kubernetes connection as the collection's Kubernetes modules.

kops reaches a cluster's API only through a kubeconfig (E(KUBECONFIG)), and only through the context named after
the cluster (its kube client overrides the current context with the cluster name). The user gives the connection
the kubernetes.core way: ``kubeconfig`` and ``context`` options or ``K8S_AUTH_KUBECONFIG``/``K8S_AUTH_CONTEXT``, or
``host`` with a bearer token or client certificate (``K8S_AUTH_HOST``, ``K8S_AUTH_API_KEY``,
``K8S_AUTH_VERIFY_SSL``, ``K8S_AUTH_SSL_CA_CERT``: what AWX's bearer-token credential injects). This module decides,
purely, which kubeconfig kops gets: the user's own file as it is when it already has the cluster's context, or a
kubeconfig to write (privately, for one module run) with the chosen connection under a context named after the
cluster.
"""

from __future__ import annotations

import copy
import os

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.k8s_connection import AUTH_ARG_SPEC, auth_settings

# The Kubernetes connection options of every kops module: kubernetes.core's names, aliases and K8S_AUTH_* variables
# (auth_settings reads the environment), limited to what a kubeconfig for kops can carry.
# kubeconfig is a file here (kops reads it), a file or a dict for the Kubernetes modules; the others are theirs.
KOPS_K8S_ARG_SPEC = dict(
    [("kubeconfig", dict(type="path"))]
    + [(name, copy.deepcopy(AUTH_ARG_SPEC[name]))
       for name in ("context", "host", "api_key", "validate_certs", "ca_cert", "client_cert", "client_key")]
)
_CONNECTION_OPTIONS = tuple(KOPS_K8S_ARG_SPEC)
# Fields of kubeconfig entries that name files, relative to the kubeconfig that holds them.
_FILE_FIELDS = {"cluster": ("certificate-authority",), "user": ("client-certificate", "client-key", "tokenFile")}


class KubeconfigError(Exception):
    """The connection given cannot be turned into a kubeconfig for kops; the message says why, for the user."""


def connection_settings(params, environ=None):
    """The Kubernetes connection options that are set, from ``params`` first and then ``K8S_AUTH_*`` in
    ``environ``, exactly as the Kubernetes modules resolve them (k8s_connection.auth_settings)."""
    given = dict((name, params.get(name)) for name in _CONNECTION_OPTIONS)
    settings = auth_settings(given, environ)
    return dict((name, value) for name, value in settings.items() if name in _CONNECTION_OPTIONS)


def _direct_kubeconfig(settings, cluster_name):
    cluster = {"server": settings["host"]}
    if settings.get("ca_cert"):
        cluster["certificate-authority"] = os.path.abspath(os.path.expanduser(settings["ca_cert"]))
    if settings.get("validate_certs") is False:
        cluster["insecure-skip-tls-verify"] = True
    if settings.get("api_key"):
        user = {"token": settings["api_key"]}
    elif settings.get("client_cert") and settings.get("client_key"):
        user = {"client-certificate": os.path.abspath(os.path.expanduser(settings["client_cert"])),
                "client-key": os.path.abspath(os.path.expanduser(settings["client_key"]))}
    else:
        raise KubeconfigError("host %s is given without credentials kops can use: give api_key (K8S_AUTH_API_KEY), or "
                              "client_cert and client_key, or a kubeconfig" % settings["host"])
    return {"apiVersion": "v1", "kind": "Config", "current-context": cluster_name,
            "clusters": [{"name": cluster_name, "cluster": cluster}],
            "users": [{"name": cluster_name, "user": user}],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}]}


def _absolute(entry, kind, directory):
    body = dict(entry.get(kind) or {})
    for field in _FILE_FIELDS[kind]:
        if body.get(field) and not os.path.isabs(os.path.expanduser(body[field])):
            body[field] = os.path.normpath(os.path.join(directory, body[field]))
    return dict(entry, **{kind: body})


def _merge(documents):
    """kubectl's merge of several kubeconfig files: the first file that names a context, cluster or user (or sets
    current-context) wins. ``documents`` are (path, loaded mapping)."""
    merged = {"contexts": {}, "clusters": {}, "users": {}, "current-context": None}
    for path, document in documents:
        directory = os.path.dirname(os.path.abspath(path))
        for section, kind in (("contexts", None), ("clusters", "cluster"), ("users", "user")):
            for entry in document.get(section) or []:
                if isinstance(entry, dict) and entry.get("name") and entry["name"] not in merged[section]:
                    merged[section][entry["name"]] = _absolute(entry, kind, directory) if kind else entry
        if not merged["current-context"] and document.get("current-context"):
            merged["current-context"] = document["current-context"]
    return merged


def kops_kubeconfig(settings, cluster_name, load, environ=None, default_path="~/.kube/config"):
    """Which kubeconfig kops gets, for the connection ``settings`` (connection_settings) and the cluster
    ``cluster_name``: ``(path, None)`` to give kops a kubeconfig file as it is, ``(None, config)`` for a kubeconfig
    to write (the chosen connection under a context named ``cluster_name``), or ``(None, None)`` when no connection
    is given (kops reads its own KUBECONFIG or ~/.kube/config; ``environ`` is where that is looked up when
    only a context is given). ``load(path)`` returns a kubeconfig file as a
    mapping, or None when there is no such file; KubeconfigError for a connection that cannot work."""
    if settings.get("host"):
        return None, _direct_kubeconfig(settings, cluster_name)
    kubeconfig, context = settings.get("kubeconfig"), settings.get("context")
    if not kubeconfig and not context:
        return None, None
    if isinstance(kubeconfig, dict):
        raise KubeconfigError("kops needs a kubeconfig file: give kubeconfig as a path, not a dictionary")
    environ = os.environ if environ is None else environ
    paths = (kubeconfig or environ.get("KUBECONFIG") or default_path).split(os.pathsep)
    documents = []
    for path in paths:
        document = load(path)
        if document is not None and not isinstance(document, dict):
            raise KubeconfigError("kubeconfig file %s is not a kubeconfig (a mapping with clusters, contexts and users)"
                                  % path)
        if document is not None:
            documents.append((path, document))
    if not documents:
        if context:
            raise KubeconfigError("context %r was given but kubeconfig %s does not exist" % (context, ":".join(paths)))
        # `kops update cluster --create-kube-config` or `--admin` writes a kubeconfig that does not exist yet.
        return kubeconfig, None
    merged = _merge(documents)
    chosen = context or (cluster_name if cluster_name in merged["contexts"] else merged["current-context"])
    if chosen == cluster_name and cluster_name in merged["contexts"]:
        return ":".join(paths), None
    if not chosen:
        raise KubeconfigError("kubeconfig %s has no context named %s (kops uses the context named after the cluster) "
                              "and no current-context: set context (or K8S_AUTH_CONTEXT)" % (
                                  ":".join(paths), cluster_name))
    entry = merged["contexts"].get(chosen)
    if entry is None:
        raise KubeconfigError("context %r not found in kubeconfig %s (contexts: %s)" % (
            chosen, ":".join(paths), ", ".join(sorted(merged["contexts"])) or "none"))
    body = entry.get("context") or {}
    config = {"apiVersion": "v1", "kind": "Config", "current-context": cluster_name,
              "contexts": [{"name": cluster_name, "context": dict(body)}], "clusters": [], "users": []}
    for section, key in (("clusters", "cluster"), ("users", "user")):
        name = body.get(key)
        if name and name in merged[section]:
            config[section].append(merged[section][name])
        elif key == "cluster":
            raise KubeconfigError("context %r of kubeconfig %s names cluster %r, which is not in it" % (
                chosen, ":".join(paths), name))
    return None, config
