# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  cluster_name:
    description: Name of the kOps cluster (C(--name)).
    type: str
    required: true
    aliases: [name]
  state_store:
    description:
      - kOps state store (C(--state)), for example C(s3://my-kops-state). Without it E(KOPS_STATE_STORE) must be set.
    type: str
    aliases: [state]
  kops_binary:
    description: Name or path of the kops binary. kops 1.26 or later is required.
    type: str
    default: kops
  environment:
    description:
      - Extra environment for kops, for example C(AWS_PROFILE), C(AWS_REGION) or C(AWS_ENDPOINT_URL).
      - The option is C(no_log), so the module's syslog or journal line says C(environment=NOT_LOGGING_PARAMETER),
        and every value is masked from the moment the module starts, so a failure before kops runs (say, kops not
        found) shows none of them.
      - No value is ever shown in a result. C(invocation) lists the variable names, each with the value
        C(VALUE_SPECIFIED_IN_NO_LOG_PARAMETER), whatever the name (a credential under any name stays hidden).
      - The values of keys that name a credential (containing C(SECRET), C(TOKEN), C(PASSWORD), C(CREDENTIAL),
        C(ACCESS_KEY), C(PRIVATE) or C(AUTH), for example C(AWS_SECRET_ACCESS_KEY) and C(AWS_SESSION_TOKEN)) are
        also masked wherever they appear in kops' output, C(--diff) and failures. Other values (region, profile,
        endpoint) are not, so that kops' output keeps its zone and resource names.
      - With E(ANSIBLE_DEBUG) set, ansible-core itself prints every task's arguments on the controller, C(no_log)
        options included. To keep credentials out of that too, give them to the controller's environment (for
        example an AWX cloud credential, or E(AWS_PROFILE)) instead of this option; kops inherits it.
    type: dict
    default: {}
  command_timeout:
    description:
      - Seconds one kops command may run. When it is up, kops and whatever it started are stopped (SIGTERM, then
        SIGKILL 10 seconds later) and the module fails saying so, with C(timed_out=true) and what kops printed.
      - Unset, it is 300 for each attempt of M(clusterops.kops_upgrade.kops_validate), 600 for
        M(clusterops.kops_upgrade.kops_upgrade) and M(clusterops.kops_upgrade.kops_addon_templates), 1800 for
        M(clusterops.kops_upgrade.kops_update) and 14400 (four
        hours) for M(clusterops.kops_upgrade.kops_rolling_update). At most 86400.
      - A kops ended by a signal from elsewhere (say, killed by the OOM killer) fails the module with the signal's name.
      - A kops that failed only because the AWS SDK for Go lost a response it was reading (C(deserialization failed,
        failed to decode response body ... use of closed network connection), aws/aws-sdk-go-v2#1825) is run once
        more, with a warning; each attempt has this limit. Every kops command the collection runs is declarative.
    type: int
  kubeconfig:
    description:
      - Kubeconfig file kops uses to reach the cluster's API (kops gets it as E(KUBECONFIG)). Can also be given with
        E(K8S_AUTH_KUBECONFIG), as for the Kubernetes modules.
      - kops uses the context named after the cluster. When the file has that context and O(context) names no other,
        kops gets the file as it is. So does M(clusterops.kops_upgrade.kops_update) with C(admin) or
        C(create_kube_config), for kops to write the cluster's context into it (the file may not exist yet).
      - Otherwise kops gets a private temporary kubeconfig with O(context) (or the file's current context) renamed to
        the cluster's name. It is written with mode 0600 into the module's temporary directory, removed when the module
        exits, and its content is never returned or logged.
      - Without O(kubeconfig), O(context) and O(host), kops reads its own E(KUBECONFIG) or C(~/.kube/config).
    type: path
  context:
    description:
      - The kubeconfig context to use; kops gets it under the cluster's name (see O(kubeconfig)). Can also be given
        with E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the cluster's API server, for a connection without a kubeconfig (as AWX's bearer-token credential
        gives it). Can also be given with E(K8S_AUTH_HOST). Needs O(api_key), or O(client_cert) and O(client_key).
      - kops then gets a private temporary kubeconfig (mode 0600, context named after the cluster, removed when the
        module exits, never logged) with this server and credential. It wins over O(kubeconfig).
    type: str
  api_key:
    description:
      - Bearer token for O(host). Can also be given with E(K8S_AUTH_API_KEY); masked in every result either way.
    type: str
  validate_certs:
    description:
      - With O(host), V(false) skips verifying the API server's certificate. Can also be given with E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - With O(host), the CA certificate that signed the API server's certificate. Can also be given with
        E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - With O(host), a client certificate instead of O(api_key). Can also be given with E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Key of O(client_cert). Can also be given with E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
requirements:
  - kops >= 1.26 on the controller (or execution environment)
"""

    # The modules that stream kops' progress while it applies (kops_reconcile, kops_rolling_update).
    PROGRESS = r"""
options:
  progress_file:
    description:
      - File to which each line kops prints while it applies (a klog line as C(HH:MM:SS message)) is appended as it
        comes, with credentials masked; these lines are what the action plugin shows.
      - The action plugin of this module sets it when the module runs on the controller (a local connection, as
        in the collection's playbooks) and shows each new line in the output of C(ansible-playbook) and AWX while
        kops runs. There is no need to set it yourself.
    type: path
"""
