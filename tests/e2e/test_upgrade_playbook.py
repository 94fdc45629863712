# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`ansible-playbook clusterops.kops_upgrade.upgrade` from start to end with real kops releases: a cluster
created by kops 1.30.2 on Kubernetes 1.30 with aws-node-termination-handler pinned to v1.18.3 (the image kOps 1.29
ships), upgraded with kops 1.31.0 to Kubernetes 1.31 (NTH unpinned: kops' default v1.22.0, the kops#16870
deadlock on one control-plane node), then with kops 1.32.0 to Kubernetes 1.32; the same on three
control-plane nodes, where nothing deadlocks and nothing is removed; and the newest path: a cluster created by
kops 1.35.0 on Kubernetes 1.35 with kops' default NTH (v1.22.0), upgraded with kops 1.36.2 to Kubernetes 1.36,
whose default NTH is v1.25.5 - the kops#16870 deadlock with no pinning at all."""

from __future__ import annotations

import re
import time

import pytest
from kubernetes import client, config

from testbed.upgrade_runs import assert_every_kops_call_got_its_connection, awx_identity, kops_cloud, run_awx_job, run_playbook

NTH = "aws-node-termination-handler"
CILIUM_OPERATOR = "cilium-operator"
OLD, MIDDLE, NEW = ("v1.30.2", "1.30.5"), ("v1.31.0", "1.31.3"), ("v1.32.0", "1.32.0")
# The newest path: kops 1.35.0 on Kubernetes 1.35 (1.35.2: the 1.35 patch whose hashes kops 1.35.0 knows), then
# kops 1.36.2 to 1.36.1, on an API server that really runs those minors: kube-apiserver 1.35.4 (the 1.35 patch the
# Go module proxy serves), then 1.36.1 once kops has rolled the control-plane instance (build.sh
# kubernetes-releases).
NEWEST_FROM, NEWEST_TO = ("v1.35.0", "1.35.2"), ("v1.36.2", "1.36.1")
NEWEST_API_FROM = "v1.35.4"


@pytest.fixture(scope="module")
def one_cp(tmp_path_factory):
    yield from kops_cloud(tmp_path_factory, "1cp", 1)


@pytest.fixture(scope="module")
def three_cp(tmp_path_factory):
    yield from kops_cloud(tmp_path_factory, "3cp", 3)


@pytest.fixture(scope="module")
def newest(tmp_path_factory):
    # kops' state in S3 (moto), as users keep it: the kops_upgrade role renders the new release's addons from it.
    yield from kops_cloud(tmp_path_factory, "newest", 1, state_store="s3")


def api(cloud):
    return config.new_client_from_config(config_file=cloud.admin)


def kubelet_versions(cloud):
    nodes = client.CoreV1Api(api(cloud)).list_node(label_selector="clusterops.io/node-agent=true").items
    return {n.metadata.name: n.status.node_info.kubelet_version for n in nodes}


def nth_image(cloud):
    deployment = client.AppsV1Api(api(cloud)).read_namespaced_deployment(NTH, "kube-system")
    return deployment.spec.template.spec.containers[0].image


def unpin_nth(cloud, kops_version):
    """What the operator changes with the upgrade: NTH back to kops' default (v1.22.0)."""
    spec = cloud.cluster_spec(kops_version)
    spec["spec"].get("nodeTerminationHandler", {}).pop("version", None)
    cloud.replace_cluster_spec(kops_version, spec)


def move_to_the_control_plane(cloud, name):
    """Put the Deployment ``name``'s pods on the control-plane node, as the scheduler may have on a real cluster:
    the workers are cordoned, the pods deleted (their ReplicaSet makes new ones, which only the control-plane node
    can take), then the workers are uncordoned. Nothing in the Deployment changes, so its revision stays."""
    core, apps = client.CoreV1Api(api(cloud)), client.AppsV1Api(api(cloud))
    selector = ",".join("%s=%s" % item for item in
                        apps.read_namespaced_deployment(name, "kube-system").spec.selector.match_labels.items())
    workers = [n.metadata.name for n in core.list_node().items
               if "node-role.kubernetes.io/control-plane" not in (n.metadata.labels or {})]
    for worker in workers:
        core.patch_node(worker, {"spec": {"unschedulable": True}})
    try:
        for pod in core.list_namespaced_pod("kube-system", label_selector=selector).items:
            core.delete_namespaced_pod(pod.metadata.name, "kube-system", grace_period_seconds=0)
        deadline = time.monotonic() + 120
        while True:
            pods = [p for p in core.list_namespaced_pod("kube-system", label_selector=selector).items
                    if not p.metadata.deletion_timestamp]
            if pods and all(p.spec.node_name and p.spec.node_name not in workers and p.status.phase == "Running"
                            for p in pods):
                return [p.spec.node_name for p in pods]
            assert time.monotonic() < deadline, "%s did not come back on the control-plane node: %s" % (
                name, [(p.metadata.name, p.spec.node_name, p.status.phase) for p in pods])
            time.sleep(1)
    finally:
        for worker in workers:
            core.patch_node(worker, {"spec": {"unschedulable": False}})


def summary_line(output, phase):
    found = re.findall(r'"%s: ([^"]*)"' % re.escape(phase), output)
    assert found, "no %s line in the summary" % phase
    return found[-1]


def test_one_control_plane_1_30_to_1_31_to_1_32(one_cp):
    cloud = one_cp
    cloud.create(OLD[0], OLD[1], nth_version="v1.18.3")
    cloud.wait_valid(OLD[0])
    assert set(kubelet_versions(cloud).values()) == {"v" + OLD[1]}
    assert nth_image(cloud).endswith(":v1.18.3")

    # 1.30.2 -> 1.31.0, Kubernetes 1.30 -> 1.31, NTH v1.18.3 -> v1.22.0 on one control-plane node.
    unpin_nth(cloud, OLD[0])
    # First in check mode (without the validation, which would rightly find the nodes still at 1.30): it changes
    # nothing and says which previews it cannot give.
    spec = cloud.cluster_spec(OLD[0])
    rc, output, seconds = run_playbook(cloud, MIDDLE[0], MIDDLE[1], options=["--check", "--skip-tags", "validate"])
    cloud.timings["playbook --check %s -> %s (1 control plane)" % (OLD[0], MIDDLE[0])] = seconds
    assert rc == 0, output[-5000:]
    assert_every_kops_call_got_its_connection(cloud)
    text = " ".join(output.split())
    assert "Check mode: the kops upgrade cluster plan above is real (" in text, output[-5000:]
    assert "cannot show what the upgrade would change" in text
    assert "Check mode previews every step" not in text
    assert cloud.cluster_spec(OLD[0]) == spec
    assert set(kubelet_versions(cloud).values()) == {"v" + OLD[1]}
    rc, output, seconds = run_playbook(cloud, MIDDLE[0], MIDDLE[1])
    cloud.timings["playbook %s -> %s (1 control plane)" % (OLD[0], MIDDLE[0])] = seconds
    assert rc == 0, output[-5000:]
    assert_every_kops_call_got_its_connection(cloud)
    # kops >= 1.31: reconcile (auto), control plane updated first, the addon watch before any instance goes.
    assert "applied with kops reconcile cluster" in " ".join(output.split())
    assert NTH in summary_line(output, "precheck")  # predicted deadlock
    assert "stuck: %s" % NTH in summary_line(output, "remediation")
    assert "rolling update: control-plane-eu-west-1a, nodes-eu-west-1a" in summary_line(output, "kops upgrade")
    assert "cluster valid" in summary_line(output, "validation")
    assert set(kubelet_versions(cloud).values()) == {"v" + MIDDLE[1]}
    assert nth_image(cloud).endswith(":v1.22.0")

    # 1.31.0 -> 1.32.0: the NTH manifest is the same, the other addons roll without getting stuck.
    rc, output, seconds = run_playbook(cloud, NEW[0], NEW[1])
    cloud.timings["playbook %s -> %s (1 control plane)" % (MIDDLE[0], NEW[0])] = seconds
    assert rc == 0, output[-5000:]
    assert_every_kops_call_got_its_connection(cloud)
    assert "applied with kops reconcile cluster" in " ".join(output.split())
    assert "not needed" in summary_line(output, "remediation")
    assert "rolling update: control-plane-eu-west-1a, nodes-eu-west-1a" in summary_line(output, "kops upgrade")
    assert "cluster valid" in summary_line(output, "validation")
    assert set(kubelet_versions(cloud).values()) == {"v" + NEW[1]}


def test_three_control_planes_nothing_stuck_nothing_removed(three_cp):
    """Three control-plane nodes: NTH rolls without help. The upgrade also stops half-way and is run again, as an
    operator would after a failure: the first run rolls the control plane only (kops rolling-update
    --instance-group) and fails its validation with the nodes still at the old kubelet; the second, the plain
    command, finds the upgrade in progress (a warning, not an error), rolls what is left and validates."""
    cloud = three_cp
    cloud.create(OLD[0], OLD[1], nth_version="v1.18.3")
    cloud.wait_valid(OLD[0])
    unpin_nth(cloud, OLD[0])
    control_planes = ",".join("control-plane-eu-west-1%s" % zone for zone in "abc")
    rc, output, seconds = run_playbook(cloud, MIDDLE[0], MIDDLE[1], kops_upgrade_reconcile="false",
                                       kops_upgrade_instance_groups=control_planes)
    cloud.timings["playbook %s -> %s, control plane only (3 control planes)" % (OLD[0], MIDDLE[0])] = seconds
    assert rc != 0, output[-5000:]
    # Validation fails on the kubelets still behind, and on nothing else: that an upgrade is in progress is a
    # warning of the health checks, not a problem.
    assert "problems: nodes not at v%s: " % MIDDLE[1] in summary_line(output, "validation")
    assert "in progress" not in summary_line(output, "validation"), summary_line(output, "validation")
    assert "rolling update: %s" % control_planes.replace(",", ", ") in summary_line(output, "kops upgrade")
    assert "predicted deadlocks: none" in summary_line(output, "precheck")
    assert "not needed" in summary_line(output, "remediation")
    versions = kubelet_versions(cloud)
    assert sorted(versions.values()) == ["v" + OLD[1]] * 2 + ["v" + MIDDLE[1]] * 3, versions

    rc, output, seconds = run_playbook(cloud, MIDDLE[0], MIDDLE[1])
    cloud.timings["playbook %s -> %s, run again (3 control planes)" % (OLD[0], MIDDLE[0])] = seconds
    assert rc == 0, output[-5000:]
    assert_every_kops_call_got_its_connection(cloud)
    assert "an upgrade is in progress: " in output
    assert "not needed" in summary_line(output, "remediation")
    rolled = summary_line(output, "kops upgrade").split("rolling update: ")[1].split(";")[0].split(", ")
    assert rolled and all(group.startswith("nodes-") for group in rolled), summary_line(output, "kops upgrade")
    assert "cluster valid" in summary_line(output, "validation")
    assert set(kubelet_versions(cloud).values()) == {"v" + MIDDLE[1]}
    assert nth_image(cloud).endswith(":v1.22.0")


def test_one_control_plane_1_35_to_1_36_default_nth(newest, tmp_path):
    """kOps 1.36 renders NTH v1.25.5 where 1.35 rendered v1.22.0, and the NTH Deployment still has no strategy
    block: upgrading a one-control-plane cluster deadlocks by default. Nothing is pinned or edited here.

    cilium-operator (kOps' default networking): one replica, maxSurge 1 / maxUnavailable 0, hostNetwork with host
    port 9963 and a required anti-affinity on the hostname; 1.36 adds a required control-plane node affinity, so
    when its old pod runs on the one control-plane node the new one can never start. Its old pod is put there
    first (the scheduler may put it anywhere); the same proof clears it, by no name list. The precheck judges the
    template that runs (1.35's, which may use the workers) and predicts NTH's deadlock only; after `kops upgrade
    cluster` the role renders kops 1.36.2's addons (kops_addon_templates, from the S3 state store, nothing
    written) and predicts both deadlocks from the templates about to be applied, before anything rolls.

    Run as AWX runs the "kops | upgrade" job template (ansible-runner, the AWX project's upgrade.yml, the cluster
    and AWS credentials as AWX injects them, no kubeconfig): the 1.30 -> 1.32 test runs ansible-playbook."""
    cloud = newest
    cloud.create(NEWEST_FROM[0], NEWEST_FROM[1])
    cloud.wait_valid(NEWEST_FROM[0])
    assert set(kubelet_versions(cloud).values()) == {"v" + NEWEST_FROM[1]}
    # No stand-in: the API server is the release the cluster runs, so the precheck's version checks run too.
    assert cloud.api_is_real and cloud.api_version() == NEWEST_API_FROM
    assert nth_image(cloud).endswith(":v1.22.0")
    move_to_the_control_plane(cloud, CILIUM_OPERATOR)
    job, seconds = run_awx_job(cloud, NEWEST_TO[0], NEWEST_TO[1], str(tmp_path / "awx"))
    cloud.timings["AWX job %s -> %s (1 control plane)" % (NEWEST_FROM[0], NEWEST_TO[0])] = seconds
    output = job["stdout"]
    assert job["rc"] == 0 and job["status"] == "successful", output[-5000:]
    assert_every_kops_call_got_its_connection(cloud, awx_identity(cloud))
    assert "applied with kops reconcile cluster" in " ".join(output.split())
    assert NTH in summary_line(output, "precheck")  # predicted deadlock
    # Predicted from kops 1.36.2's own templates before the update applied them: both.
    assert "new addons predicted to deadlock: kube-system/%s, kube-system/%s;" % (NTH, CILIUM_OPERATOR) \
        in summary_line(output, "kops upgrade"), summary_line(output, "kops upgrade")
    assert re.search(r"kops 1\.36\.2's addons: .*Deployment kube-system/cilium-operator: the template kops 1\.36\.2 "
                     r"will apply \(addon networking\.cilium\.io\) will deadlock: ", " ".join(output.split()))
    # The precheck's version checks ran (no stand-in to leave them out for) against the API server's own version.
    assert "Cluster: %s, 3 nodes (1 control plane), target %s" % (NEWEST_API_FROM, NEWEST_TO[1]) in output
    stuck = summary_line(output, "remediation").split("stuck: ")[1].split(";")[0].split(", ")
    assert sorted(stuck) == sorted([NTH, CILIUM_OPERATOR]), summary_line(output, "remediation")
    assert "rolling update: control-plane-eu-west-1a, nodes-eu-west-1a" in summary_line(output, "kops upgrade")
    assert "cluster valid" in summary_line(output, "validation")
    # What AWX stores as the job's artifacts.
    summary = job["artifacts"]["clusterops_summary"]["localhost"]
    assert sorted(summary["remediation"]["stuck"]) == sorted([NTH, CILIUM_OPERATOR]), summary
    assert summary["validation"]["verdict"] == "valid", summary
    assert summary["upgrade"]["addons_rendered"] is True, summary
    assert sorted(summary["upgrade"]["incoming_deadlocks"]) == sorted(["kube-system/" + CILIUM_OPERATOR,
                                                                       "kube-system/" + NTH]), summary
    assert set(kubelet_versions(cloud).values()) == {"v" + NEWEST_TO[1]}
    # The control-plane instance kops rolled came back on 1.36.1, and so did the API server (same etcd).
    assert cloud.api_version() == "v" + NEWEST_TO[1]
    assert nth_image(cloud).endswith(":v1.25.5")
