# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade as users run it, against a KopsCloud (tests/e2e): ``ansible-playbook clusterops.kops_upgrade.upgrade``
with the connection as playbook variables, and the AWX job template through ansible-runner with AWX's credentials;
kops behind a recorder, so a test can check what every kops invocation received."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from testbed import awx_job, kops_world, kube
from testbed.kops_cloud import KopsCloud

PREFIX = os.environ.get("CLUSTEROPS_TEST_CLUSTER_PREFIX", "pytest")


def kops_cloud(tmp_path_factory, suffix, control_planes, state_store="file"):
    """A KopsCloud for one test module; ``state_store`` "s3" keeps kops' state in moto's S3, as users keep it."""
    workdir = str(tmp_path_factory.mktemp("kops-cloud-" + suffix))
    with KopsCloud(workdir, "%s-e2e-%s" % (PREFIX, suffix), control_planes=control_planes,
                   nodes=2, state_store=state_store) as cloud:
        yield cloud
        print("\n=== timings, %s (%d control-plane node(s))" % (suffix, control_planes))
        for phase, seconds in cloud.timings.items():
            print("  %-60s %7.1fs" % (phase, seconds))


def recorder_for(cloud, kops_version):
    """A KopsRecorder in front of the real kops ``kops_version``, its log emptied for the run about to start."""
    recorder = kops_world.KopsRecorder(os.path.join(cloud.workdir, "recorder-" + kops_version),
                                       kops_world.kops_binary(kops_version)[0])
    recorder.clear()
    return recorder


def keep_invocations(cloud, recorder, kops_version):
    """What each kops invocation of the run received, as ``cloud.invocations``, printed and written to
    ``<workdir>/kops-invocations-<version>.txt``."""
    cloud.invocations = recorder.invocations()
    table = kops_world.invocation_table(cloud.invocations)
    with open(os.path.join(cloud.workdir, "kops-invocations-%s.txt" % kops_version), "w") as handle:
        handle.write("\n".join(table) + "\n")
    print("\n=== kops invocations, kops %s (command, AWS profile, kubeconfig)\n%s" % (kops_version, "\n".join(table)))


def run_playbook(cloud, kops_version, kubernetes_version, options=(), **extra):
    """ansible-playbook clusterops.kops_upgrade.upgrade against ``cloud`` with the kops release ``kops_version``;
    returns (rc, output, seconds). Its output streams to the terminal (progress) and is kept for the asserts.

    The user's path: the process environment has no AWS_*, KOPS_*, K8S_AUTH_* or KUBECONFIG variable; the
    cluster's kubeconfig, the state store and kops' AWS profile (whose endpoint_url alone reaches this cloud's moto)
    are playbook variables. kops is a recorder in front of the real binary: ``cloud.invocations`` is what each kops
    invocation of this run received (keep_invocations).

    ``options``: more ansible-playbook arguments (--check, --tags ...)."""
    recorder = recorder_for(cloud, kops_version)
    variables = cloud.upgrade_variables(kops_version, kubernetes_version)
    variables["kops_binary"] = recorder.path
    variables.update(extra)
    env = kops_world.without_connection_variables(os.environ)
    env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_DEPRECATION_WARNINGS": "false",
                "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
                "HOME": os.environ["HOME"]})
    argv = kube.ansible_playbook("clusterops.kops_upgrade.upgrade", "-e", json.dumps(variables), *options)
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        sys.stdout.write(line)
    rc = proc.wait()
    seconds = time.monotonic() - started
    keep_invocations(cloud, recorder, kops_version)
    return rc, "".join(lines), seconds


# What AWX's "Amazon Web Services" credential injects into the job's environment.
AWX_AWS_CREDENTIAL = {"AWS_ACCESS_KEY_ID": "testing-awx", "AWS_SECRET_ACCESS_KEY": "testing"}


def awx_test_bed_aws(cloud):
    """What the AWX job adds for the test bed in kops_upgrade_environment: moto's endpoint and region (a real AWS
    credential needs neither)."""
    return {"AWS_ENDPOINT_URL": cloud.moto.url, "AWS_REGION": cloud.world.env["AWS_REGION"]}


def awx_identity(cloud):
    """The AWS settings each kops invocation of the AWX job must get (kops_world.connection_problems)."""
    return dict(AWX_AWS_CREDENTIAL, **awx_test_bed_aws(cloud))


def run_awx_job(cloud, kops_version, kubernetes_version, workdir):
    """The AWX job template "kops | upgrade": the AWX project's upgrade.yml through ansible-runner, as AWX runs
    it, with the cluster's API given only as AWX's bearer-token credential injects it (K8S_AUTH_HOST,
    K8S_AUTH_API_KEY, K8S_AUTH_VERIFY_SSL, K8S_AUTH_SSL_CA_CERT: no kubeconfig anywhere, kops gets one written
    from those) and kops' AWS identity as AWX's Amazon Web Services credential injects it (AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY). The test bed's own part is in kops_upgrade_environment, as extra variables: moto's
    endpoint and region, the assets server, kops' HOME.

    Returns (runner result as awx_job.run gives it, seconds); ``cloud.invocations`` is what each kops invocation
    received (keep_invocations)."""
    recorder = recorder_for(cloud, kops_version)
    variables = cloud.upgrade_variables(kops_version, kubernetes_version)
    del variables["k8s_kubeconfig"]
    variables["kops_binary"] = recorder.path
    variables["kops_upgrade_environment"] = dict(
        awx_test_bed_aws(cloud), AWS_EC2_METADATA_DISABLED="true", KOPS_BASE_URL=cloud.assets.url,
        HOME=cloud.world.env["HOME"], **cloud.world.state_environment)
    credential = dict(awx_job.kubernetes_credential(cloud.admin), **AWX_AWS_CREDENTIAL)
    started = time.monotonic()
    result = awx_job.run(workdir, "upgrade.yml", credential, extravars=variables)
    seconds = time.monotonic() - started
    sys.stdout.write(result["stdout"])
    keep_invocations(cloud, recorder, kops_version)
    return result, seconds


def assert_every_kops_call_got_its_connection(cloud, identity=None):
    """Each kops invocation of the last run got its AWS ``identity`` (default: this cloud's AWS profile; see
    kops_world.connection_problems) and, where it reaches the API, a private kubeconfig with the cluster's context;
    those kubeconfigs are gone afterwards; every kops module ran."""
    if identity is None:
        profile, config, dummy = cloud.aws_profile()
        identity = kops_world.profile_identity(profile, config)
    problems = kops_world.connection_problems(cloud.invocations, identity, kops_world.CLUSTER, cloud.state_store())
    assert not problems, "\n".join(problems)
    commands = set(kops_world.kops_command(i) for i in cloud.invocations)
    expected = {"kops validate cluster", "kops upgrade cluster", "kops update cluster", "kops reconcile cluster"}
    assert expected <= commands, "kops commands run: %s" % sorted(commands)
    private = set(i["kubeconfig"]["path"] for i in cloud.invocations if i.get("kubeconfig"))
    assert cloud.admin not in private  # its context is not the cluster's: kops got a copy under the cluster's name
    assert [path for path in private if os.path.exists(path)] == [], "temporary kubeconfigs left behind"
