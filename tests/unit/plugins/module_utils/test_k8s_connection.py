# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Auth option resolution (kubernetes.core's names and K8S_AUTH_* variables) and error messages."""

from __future__ import annotations

import json
import re

import pytest
import urllib3
from kubernetes.client.rest import ApiException

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.k8s_connection import (
    K8sConnectionError,
    api_client,
    auth_settings,
    build_configuration,
    explain_api_error,
    kubeconfig_secret_values,
    readable_kubeconfig_values,
    url_credentials,
)

KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "one",
    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443", "insecure-skip-tls-verify": True}}],
    "users": [{"name": "u", "user": {"token": "secret-token"}}],
    "contexts": [{"name": "one", "context": {"cluster": "c", "user": "u"}},
                 {"name": "two", "context": {"cluster": "c", "user": "u", "namespace": "x"}}],
}


def test_options_win_over_environment():
    env = {"K8S_AUTH_CONTEXT": "from-env", "K8S_AUTH_HOST": "https://env:6443/"}
    settings = auth_settings({"context": "from-option"}, env)
    assert settings == {"context": "from-option", "host": "https://env:6443"}


def test_environment_names_of_options_and_client_attributes():
    env = {"K8S_AUTH_VERIFY_SSL": "no", "K8S_AUTH_SSL_CA_CERT": "/ca.pem", "K8S_AUTH_CERT_FILE": "/c.pem",
           "K8S_AUTH_KEY_FILE": "/k.pem", "K8S_AUTH_IMPERSONATE_GROUPS": "a,b",
           "K8S_AUTH_PROXY_HEADERS_USER_AGENT": "me/1", "K8S_AUTH_PERSIST_CONFIG": "true"}
    settings = auth_settings({}, env)
    assert settings == {"validate_certs": False, "ca_cert": "/ca.pem", "client_cert": "/c.pem",
                        "client_key": "/k.pem", "impersonate_groups": ["a", "b"],
                        "proxy_headers": {"user_agent": "me/1"}, "persist_config": True}


def test_kubeconfig_file_and_context(tmp_path):
    path = tmp_path / "config"
    path.write_text(json.dumps(KUBECONFIG))
    configuration = build_configuration(auth_settings({"kubeconfig": str(path), "context": "two"}, {}))
    assert configuration.host == "https://127.0.0.1:6443"
    assert configuration.auth_settings()["BearerToken"]["value"] == "Bearer secret-token"


def test_kubeconfig_as_dict_and_api_key_override():
    configuration = build_configuration(auth_settings({"kubeconfig": KUBECONFIG, "api_key": "other"}, {}))
    assert configuration.auth_settings()["BearerToken"]["value"] == "Bearer other"


def test_options_stay_over_the_kubeconfig_after_each_refresh(tmp_path):
    """The kubeconfig loader's refresh hook (client >= 25) reloads server and token before each request: the
    host and api_key options must still win afterwards."""
    path = tmp_path / "config"
    path.write_text(json.dumps(KUBECONFIG))
    configuration = build_configuration(auth_settings(
        {"kubeconfig": str(path), "context": "two", "host": "https://10.0.0.1:443", "api_key": "other"}, {}))
    # Each auth_settings() runs the refresh hook, as each request does.
    assert [configuration.auth_settings()["BearerToken"]["value"] for request in (1, 2)] == ["Bearer other"] * 2
    assert configuration.host == "https://10.0.0.1:443"


@pytest.mark.parametrize("content, message", [
    ("", "is empty"),
    ("{{{: [", "is not YAML"),
    ("[1, 2]", "is not a kubeconfig: a mapping with clusters, contexts and users was expected, found a list"),
    (json.dumps(dict(KUBECONFIG, **{"current-context": ""})), "has no current-context: set context"),
])
def test_a_file_that_is_no_kubeconfig_is_one_clear_message(tmp_path, content, message):
    path = tmp_path / "config"
    path.write_text(content)
    with pytest.raises(K8sConnectionError, match=re.escape(message)):
        build_configuration(auth_settings({"kubeconfig": str(path)}, {}))
    with pytest.raises(K8sConnectionError, match="is a directory, not a kubeconfig file"):
        build_configuration(auth_settings({"kubeconfig": str(tmp_path)}, {}))


def test_missing_kubeconfig_is_one_clear_message(tmp_path):
    with pytest.raises(K8sConnectionError, match="kubeconfig file .*/nope does not exist"):
        build_configuration(auth_settings({"kubeconfig": str(tmp_path / "nope")}, {}))


def test_unknown_context_is_named(tmp_path):
    path = tmp_path / "config"
    path.write_text(json.dumps(KUBECONFIG))
    with pytest.raises(K8sConnectionError, match="context 'three' not found"):
        build_configuration(auth_settings({"kubeconfig": str(path), "context": "three"}, {}))


def test_nothing_configured(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    from kubernetes.config import kube_config
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(tmp_path / ".kube" / "config"))
    with pytest.raises(K8sConnectionError, match="no Kubernetes API configured"):
        build_configuration({})


def test_impersonation_headers_repeat_per_group():
    client = api_client({"host": "https://127.0.0.1:6443", "api_key": "t", "impersonate_user": "alice",
                         "impersonate_groups": ["g1", "g2"]})
    groups = [v for k, v in client.default_headers.items() if k == "Impersonate-Group" or str(k) == "Impersonate-Group"]
    assert groups == ["g1", "g2"]
    assert client.default_headers["Impersonate-User"] == "alice"


def api_exception(status, reason, message):
    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps({"kind": "Status", "message": message})
    return exc


def test_forbidden_names_verb_and_resource():
    exc = api_exception(403, "Forbidden", 'replicasets.apps "x" is forbidden: User "limited" cannot delete '
                                          'resource "replicasets" in API group "apps"')
    text = explain_api_error(exc, "delete", "replicasets", "kube-system", "x")
    assert text.startswith("403 Forbidden: not allowed to delete replicasets x in namespace kube-system (the "
                           "collection's rbac/remediate.yml grants it): replicasets.apps")
    text = explain_api_error(exc, "list", "nodes")
    assert text.startswith("403 Forbidden: not allowed to list nodes (the collection's rbac/diagnose.yml grants it)")


@pytest.mark.parametrize("status, start", [(401, "401 Unauthorized"), (404, "404 Not Found"),
                                           (409, "409 Conflict"), (500, "API error 500")])
def test_other_statuses(status, start):
    assert explain_api_error(api_exception(status, "r", "m"), "list", "pods").startswith(start)


def test_connection_refused():
    exc = urllib3.exceptions.MaxRetryError(None, "/apis", reason=ConnectionRefusedError("[Errno 111] refused"))
    assert explain_api_error(exc, "list", "deployments", "kube-system").startswith(
        "cannot reach the Kubernetes API to list deployments in namespace kube-system")


def _ansible_no_log_values(value):
    """What ansible-core itself puts into no_log_values for a no_log option (the set k8s_module() trims)."""
    from ansible.module_utils.common.parameters import _list_no_log_values
    return _list_no_log_values({"kubeconfig": {"type": "raw", "no_log": True}}, {"kubeconfig": value})


def test_kubeconfig_dict_credentials_stay_masked_and_nothing_else():
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config", "current-context": "one",
        "clusters": [{"name": "c", "cluster": {"server": "https://api.example:6443", "certificate-authority-data": "Q0E=",
                                               "proxy-url": "http://proxyuser:pr%40xy@proxy:3128"}}],
        "users": [
            {"name": "admin", "user": {"token": "tok-1", "client-key-data": "S0VZ", "client-certificate": "/c.pem",
                                       "password": "pw", "username": "alice", "as": "bob", "x-unknown": "u-1"}},
            {"name": "eks", "user": {"exec": {"command": "aws", "apiVersion": "client.authentication.k8s.io/v1beta1",
                                              "args": ["eks", "get-token", "--token=arg-secret"],
                                              "env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": "env-secret"}]}}},
            {"name": "oidc", "user": {"auth-provider": {"name": "oidc", "config": {"id-token": "id-1"}}}},
        ],
        "contexts": [{"name": "one", "context": {"cluster": "c", "user": "admin"}}],
    }
    secrets = kubeconfig_secret_values(kubeconfig)
    assert {"tok-1", "S0VZ", "pw", "alice", "u-1", "--token=arg-secret", "env-secret", "id-1",
            "proxyuser:pr%40xy", "pr%40xy", "pr@xy"} <= secrets
    readable = readable_kubeconfig_values(kubeconfig)
    assert readable.isdisjoint(secrets)
    assert {"v1", "Config", "https://api.example:6443", "Q0E=", "/c.pem", "bob", "aws", "AWS_SECRET_ACCESS_KEY",
            "oidc", "admin"} <= readable
    # What stays masked after k8s_module() trims ansible-core's set: the credentials, nothing more.
    assert _ansible_no_log_values(kubeconfig) - readable == secrets & _ansible_no_log_values(kubeconfig)


def test_kubeconfig_path_is_readable_and_pasted_text_is_not():
    assert readable_kubeconfig_values("/home/u/.kube/config") == {"/home/u/.kube/config"}
    assert readable_kubeconfig_values("apiVersion: v1\nusers:\n- user: {token: t}\n") == set()
    assert readable_kubeconfig_values(None) == set() and kubeconfig_secret_values("/path") == set()


@pytest.mark.parametrize("url, secrets", [
    ("http://user:pass@proxy:3128", {"user:pass", "pass"}),
    ("http://us%3Aer:p%40ss@proxy:3128/", {"us%3Aer:p%40ss", "p%40ss", "p@ss"}),
    ("http://user@proxy:3128", set()),
    ("http://proxy:3128", set()),
    ("not a url [", set()),
])
def test_proxy_credentials(url, secrets):
    assert url_credentials(url) == secrets


@pytest.mark.parametrize("host", ["127.0.0.1:6443", "api.example.com", "ftp://api.example.com", "https:// bad"])
def test_a_host_that_is_no_api_server_url_is_one_clear_message(host):
    """urllib3 would take a host without its scheme with only a FutureWarning (an error from urllib3 3.0)."""
    with pytest.raises(K8sConnectionError, match=r"^host \(or K8S_AUTH_HOST\) must be the API server's URL"):
        build_configuration({"host": host, "api_key": "t"})
