# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which kubeconfig kops gets for the Kubernetes connection a user gives (options or K8S_AUTH_*)."""

from __future__ import annotations

import pytest

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_kubeconfig import (
    KubeconfigError,
    connection_settings,
    kops_kubeconfig,
)

CLUSTER = "x.k8s.local"


def kubeconfig(current, *contexts):
    return {"apiVersion": "v1", "kind": "Config", "current-context": current,
            "contexts": [{"name": name, "context": {"cluster": "c-" + name, "user": "u-" + name}} for name in contexts],
            "clusters": [{"name": "c-" + name, "cluster": {"server": "https://%s:6443" % name,
                                                           "certificate-authority": "ca-%s.crt" % name}}
                         for name in contexts],
            "users": [{"name": "u-" + name, "user": {"client-certificate": "/abs/%s.crt" % name,
                                                     "client-key": "keys/%s.key" % name}} for name in contexts]}


def loader(files):
    return files.get


def test_settings_read_k8s_auth_variables_as_kubernetes_core_does():
    environ = {"K8S_AUTH_HOST": "https://api.example:6443/", "K8S_AUTH_API_KEY": "t0ken",
               "K8S_AUTH_VERIFY_SSL": "false", "K8S_AUTH_SSL_CA_CERT": "/ca.crt", "K8S_AUTH_CONTEXT": "ctx",
               "K8S_AUTH_KUBECONFIG": "/k", "K8S_AUTH_USERNAME": "not-for-kops"}
    assert connection_settings({}, environ) == {
        "host": "https://api.example:6443", "api_key": "t0ken", "validate_certs": False, "ca_cert": "/ca.crt",
        "context": "ctx", "kubeconfig": "/k"}
    # Options win over the environment.
    assert connection_settings({"kubeconfig": "/mine", "context": None}, environ)["kubeconfig"] == "/mine"


def test_no_connection_given_leaves_kops_to_its_own_kubeconfig():
    assert kops_kubeconfig({}, CLUSTER, loader({})) == (None, None)


def test_bearer_token_becomes_a_kubeconfig_with_the_clusters_context():
    path, config = kops_kubeconfig({"host": "https://api.example:6443", "api_key": "t0ken", "validate_certs": False},
                                   CLUSTER, loader({}))
    assert path is None
    assert config["current-context"] == CLUSTER
    assert config["contexts"] == [{"name": CLUSTER, "context": {"cluster": CLUSTER, "user": CLUSTER}}]
    assert config["clusters"] == [{"name": CLUSTER, "cluster": {"server": "https://api.example:6443",
                                                                "insecure-skip-tls-verify": True}}]
    assert config["users"] == [{"name": CLUSTER, "user": {"token": "t0ken"}}]
    # With a CA, the certificate is verified against it.
    dummy, config = kops_kubeconfig({"host": "https://h", "api_key": "t", "ca_cert": "/etc/ca.crt"}, CLUSTER,
                                    loader({}))
    assert config["clusters"][0]["cluster"] == {"server": "https://h", "certificate-authority": "/etc/ca.crt"}


def test_host_without_a_credential_kops_can_use_is_refused():
    with pytest.raises(KubeconfigError, match="without credentials kops can use"):
        kops_kubeconfig({"host": "https://h"}, CLUSTER, loader({}))


def test_a_file_with_the_clusters_context_is_given_as_it_is():
    files = {"/k": kubeconfig("other", "other", CLUSTER)}
    assert kops_kubeconfig({"kubeconfig": "/k"}, CLUSTER, loader(files)) == ("/k", None)
    assert kops_kubeconfig({"kubeconfig": "/k", "context": CLUSTER}, CLUSTER, loader(files)) == ("/k", None)


def test_a_file_that_does_not_exist_yet_is_passed_on_for_kops_to_write():
    assert kops_kubeconfig({"kubeconfig": "/new"}, CLUSTER, loader({})) == ("/new", None)
    with pytest.raises(KubeconfigError, match="does not exist"):
        kops_kubeconfig({"kubeconfig": "/new", "context": "ctx"}, CLUSTER, loader({}))


def test_another_context_is_renamed_after_the_cluster_with_its_files_made_absolute():
    files = {"/dir/k": kubeconfig("admin", "admin", "other")}
    for settings in ({"kubeconfig": "/dir/k"}, {"kubeconfig": "/dir/k", "context": "admin"}):
        path, config = kops_kubeconfig(settings, CLUSTER, loader(files))
        assert path is None
        assert config["current-context"] == CLUSTER
        assert config["contexts"] == [{"name": CLUSTER, "context": {"cluster": "c-admin", "user": "u-admin"}}]
        assert config["clusters"] == [{"name": "c-admin", "cluster": {"server": "https://admin:6443",
                                                                      "certificate-authority": "/dir/ca-admin.crt"}}]
        assert config["users"] == [{"name": "u-admin", "user": {"client-certificate": "/abs/admin.crt",
                                                                "client-key": "/dir/keys/admin.key"}}]
    # A named context wins over the cluster's own.
    files = {"/k": kubeconfig(CLUSTER, "other", CLUSTER)}
    dummy, config = kops_kubeconfig({"kubeconfig": "/k", "context": "other"}, CLUSTER, loader(files))
    assert config["contexts"][0]["context"]["cluster"] == "c-other"


def test_several_files_merge_first_wins_and_only_a_context_reads_kubeconfig_from_the_environment():
    files = {"/a": {"contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}]},
             "/b": {"current-context": "ctx", "clusters": [{"name": "c", "cluster": {"server": "https://b"}}],
                    "users": [{"name": "u", "user": {"token": "x"}}],
                    "contexts": [{"name": "ctx", "context": {"cluster": "ignored"}}]}}
    dummy, config = kops_kubeconfig({"context": "ctx"}, CLUSTER, loader(files), environ={"KUBECONFIG": "/a:/b"})
    assert config["contexts"][0]["context"] == {"cluster": "c", "user": "u"}
    assert config["clusters"][0]["cluster"]["server"] == "https://b"


@pytest.mark.parametrize("files, settings, message", [
    ({"/k": kubeconfig("", "a")}, {"kubeconfig": "/k"}, "no context named x.k8s.local"),
    ({"/k": kubeconfig("a", "a")}, {"kubeconfig": "/k", "context": "b"}, r"context 'b' not found .*contexts: a"),
    ({"/k": ["not", "a", "mapping"]}, {"kubeconfig": "/k"}, "is not a kubeconfig"),
    ({"/k": {"contexts": [{"name": "a", "context": {"cluster": "gone"}}]}}, {"kubeconfig": "/k", "context": "a"},
     "names cluster 'gone', which is not in it"),
])
def test_connections_that_cannot_work_say_why(files, settings, message):
    with pytest.raises(KubeconfigError, match=message):
        kops_kubeconfig(settings, CLUSTER, loader(files))


def test_dictionary_kubeconfig_is_refused_for_kops():
    with pytest.raises(KubeconfigError, match="not a dictionary"):
        kops_kubeconfig({"kubeconfig": {"clusters": []}}, CLUSTER, loader({}))


def test_default_path_when_only_a_context_is_given():
    seen = []
    with pytest.raises(KubeconfigError, match="does not exist"):
        kops_kubeconfig({"context": "c"}, CLUSTER, seen.append, environ={})
    assert seen == ["~/.kube/config"]
