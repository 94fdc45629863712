# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kops reaches the cluster's API through the connection the user gives the collection, as the Kubernetes modules
do: AWX's bearer-token credential (K8S_AUTH_HOST, K8S_AUTH_API_KEY, K8S_AUTH_VERIFY_SSL, K8S_AUTH_SSL_CA_CERT)
with no kubeconfig anywhere, or a kubeconfig whose context is not named after the kOps cluster. Real kops (validate,
which needs the API) against moto and a local control plane."""

from __future__ import annotations

import glob
import os

from testbed import kops_world, kube
from testbed.awx_job import kubernetes_credential


def params(world, **more):
    """The kops module's parameters for ``world`` with no kubeconfig in kops' environment (the world's own
    KUBECONFIG, whose context is named after the cluster, is left out)."""
    environment = dict((k, v) for k, v in world.env.items() if k not in ("KOPS_STATE_STORE", "KUBECONFIG"))
    result = dict(cluster_name=kops_world.CLUSTER, state_store=world.state, kops_binary=world.kops,
                  environment=environment, timeout=0, fail_on_invalid=False)
    result.update(more)
    return result


def private_kubeconfigs():
    return glob.glob(os.path.join(os.environ.get("ANSIBLE_REMOTE_TEMP", os.path.expanduser("~/.ansible/tmp")),
                                  "*", "kops-kubeconfig-*"))


def reached_the_api_and_the_cloud(result):
    # "is missing from the cloud provider": kops read the cloud (moto: no instances yet) and, to get that far,
    # listed the API's nodes; without a usable kubeconfig it prints no report at all.
    return (result["failed"] is False and result["valid"] is False
            and {f["kind"] for f in result["failures"]} == {"instancegroup"})


def test_validate_with_only_awx_bearer_token_credential(world, kops_api_cluster):
    credential = kubernetes_credential(kops_api_cluster["admin"])
    result = kube.run_module("clusterops.kops_upgrade.kops_validate", params(world), env=credential)
    assert reached_the_api_and_the_cloud(result), result
    # The token is a credential: masked in the result, and the private kubeconfig that carried it is gone.
    assert credential["K8S_AUTH_API_KEY"] not in str(result)
    assert private_kubeconfigs() == []

    # The same without the credential: kops has no way to the API, and says so.
    result = kube.run_module("clusterops.kops_upgrade.kops_validate", params(world))
    assert result["failed"] is True and "printed no JSON report" in result["msg"], result


def test_validate_with_a_kubeconfig_whose_context_is_not_the_clusters(world, kops_api_cluster):
    admin = kops_api_cluster["admin"]  # its context is the local control plane's name, not x.k8s.local
    result = kube.run_module("clusterops.kops_upgrade.kops_validate", params(world, kubeconfig=admin))
    assert reached_the_api_and_the_cloud(result), result
    # As K8S_AUTH_KUBECONFIG, exactly as kubernetes.core reads it.
    result = kube.run_module("clusterops.kops_upgrade.kops_validate", params(world), kubeconfig=admin)
    assert reached_the_api_and_the_cloud(result), result
    assert private_kubeconfigs() == []

    # Handed to kops as it is (what the collection did before), kops looks for a context named after the cluster.
    result = kube.run_module("clusterops.kops_upgrade.kops_validate", params(
        world, environment=dict(params(world)["environment"], KUBECONFIG=admin)))
    assert result["failed"] is True and "printed no JSON report" in result["msg"], result
