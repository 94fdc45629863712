# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The same options, aliases and environment variables as kubernetes.core.k8s_auth_options.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or several joined with C(:), or the kubeconfig as a dictionary.
      - Without it, and without O(host) and credentials, the module uses the in-cluster service account when
        it runs in a pod, else C(~/.kube/config).
      - Can also be given with the E(K8S_AUTH_KUBECONFIG) environment variable.
      - The option is C(no_log), so the module's syslog or journal line says
        C(kubeconfig=NOT_LOGGING_PARAMETER). Given as a dictionary, its credentials are masked in every result
        (C(invocation), failures, C(--diff)), that is every value under C(users[].user) except the file paths
        (C(client-certificate), C(client-key), C(tokenFile)), the impersonation fields (C(as), C(as-uid),
        C(as-groups)), the exec plugin's C(command), C(apiVersion), C(installHint), C(interactiveMode),
        C(provideClusterInfo) and its C(env) names, and the auth provider's C(name); and the C(user:password) of a
        cluster's C(proxy-url). Names, server URLs and CA data stay readable.
    type: raw
  context:
    description:
      - The kubeconfig context to use. Can also be given with E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the API server. Can also be given with E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token for the API. Can also be given with E(K8S_AUTH_API_KEY).
    type: str
  username:
    description:
      - User name for HTTP basic auth. Can also be given with E(K8S_AUTH_USERNAME).
    type: str
  password:
    description:
      - Password for HTTP basic auth. Can also be given with E(K8S_AUTH_PASSWORD).
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's certificate. Can also be given with E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - CA certificate(s) that signed the API server's certificate. Can also be given with E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Client certificate for the API. Can also be given with E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Key of O(client_cert). Can also be given with E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
  proxy:
    description:
      - URL of an HTTP proxy to the API. Can also be given with E(K8S_AUTH_PROXY).
      - Credentials in the URL (C(http://user:password@proxy:3128)) are masked in every result and log; the rest of
        the URL stays readable.
    type: str
  no_proxy:
    description:
      - Comma separated hosts that bypass O(proxy). Can also be given with E(K8S_AUTH_NO_PROXY).
    type: str
  proxy_headers:
    description:
      - Headers for the HTTP proxy.
    type: dict
    suboptions:
      proxy_basic_auth:
        description:
          - C(user:password) for the proxy. Can also be given with E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH).
        type: str
      basic_auth:
        description:
          - C(user:password) basic auth header. Can also be given with E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH).
        type: str
      user_agent:
        description:
          - User agent string. Can also be given with E(K8S_AUTH_PROXY_HEADERS_USER_AGENT).
        type: str
  persist_config:
    description:
      - Save refreshed tokens back to the kubeconfig file. Can also be given with E(K8S_AUTH_PERSIST_CONFIG).
    type: bool
  impersonate_user:
    description:
      - User to impersonate. Can also be given with E(K8S_AUTH_IMPERSONATE_USER).
    type: str
  impersonate_groups:
    description:
      - Groups to impersonate. Can also be given with E(K8S_AUTH_IMPERSONATE_GROUPS), comma separated.
    type: list
    elements: str
requirements:
  - kubernetes >= 24.2.0 (Python library)
notes:
  - The options, their aliases and environment variables are those of kubernetes.core, and the action group
    C(clusterops.kops_upgrade.k8s) extends C(kubernetes.core.k8s), so one C(module_defaults) block for
    C(group/clusterops.kops_upgrade.k8s) configures both collections.
"""
