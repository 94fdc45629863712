# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""addon_templates and the precheck's prediction of the rollouts a release's addons start, over what kops 1.36.2
really rendered (`kops update cluster --target=terraform`, a one-control-plane cluster upgraded from kops 1.35.0 to
Kubernetes 1.36.1, recorded in tests/unit/fixtures/kops/render_v1_36_2 under the names Terraform gave them)."""

from __future__ import annotations

import copy
import glob
import hashlib
import json
import os

import pytest

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils import addon_templates, precheck
from testbed.api_objects import node

RENDERED = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "kops", "render_v1_36_2")
NTH = ("Deployment", "kube-system", "aws-node-termination-handler")
OPERATOR = ("Deployment", "kube-system", "cilium-operator")


def rendered_files():
    files = {}
    for path in glob.glob(os.path.join(RENDERED, "*")):
        with open(path, "rb") as handle:
            files[os.path.basename(path)] = handle.read()
    return files


@pytest.fixture(scope="module")
def addons():
    return addon_templates.rendered_addons(rendered_files())


def workload(addons, key):
    for addon in addons:
        for obj in addon["workloads"] or []:
            if (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]) == key:
                return addon, obj
    raise AssertionError("%s not rendered" % (key,))


def one_control_plane():
    return [node("cp-1", control_plane=True), node("w-1"), node("w-2")]


def as_served(obj, **changes):
    """``obj`` as the API server holds it after an earlier apply: defaults filled in, status; ``changes`` applied
    to its pod spec's first container."""
    live = copy.deepcopy(obj)
    live.setdefault("spec", {}).setdefault("revisionHistoryLimit", 10)
    containers = live["spec"]["template"]["spec"]["containers"]
    for container in containers:
        container.setdefault("imagePullPolicy", "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
    containers[0].update(changes)
    live["status"] = {"replicas": 1, "readyReplicas": 1}
    return live


def old_pod(live, node_name):
    """A running pod of ``live`` (its selector's labels) on ``node_name``."""
    return {"metadata": {"name": live["metadata"]["name"] + "-old", "namespace": live["metadata"]["namespace"],
                         "labels": dict(live["spec"]["selector"]["matchLabels"])},
            "spec": {"nodeName": node_name}, "status": {"phase": "Running"}}


def namespace_applied(**hashes):
    return {"metadata": {"name": "kube-system", "annotations": dict(
        ("addons.k8s.io/" + name, json.dumps({"version": "9.99.0", "manifestHash": value}))
        for name, value in hashes.items())}}


def test_the_channel_and_manifests_are_matched_by_hash_not_name(addons):
    names = [a["name"] for a in addons]
    assert "node-termination-handler.aws" in names and "networking.cilium.io" in names
    found = dict((a["name"], a) for a in addons)
    # Only three files were recorded: the others are listed, their workloads unknown (None).
    assert found["coredns.addons.k8s.io"]["workloads"] is None
    nth = found["node-termination-handler.aws"]
    assert nth["manifest"] == "node-termination-handler.aws/k8s-1.11.yaml"
    assert [w["metadata"]["name"] for w in nth["workloads"]] == ["aws-node-termination-handler"]
    assert nth["workloads"][0]["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v1.25.5")
    # Renamed files are found all the same.
    renamed = dict(("file-%d" % i, content) for i, content in enumerate(rendered_files().values()))
    assert addon_templates.rendered_addons(renamed) == addons


def test_no_channel_among_the_files_is_an_error():
    with pytest.raises(ValueError, match="no bootstrap channel"):
        addon_templates.rendered_addons({"a": b"kind: ConfigMap\n", "b": b"\x00\x01 not yaml: ["})


def test_which_stores_render():
    assert addon_templates.unrenderable_store("s3://bucket/path") == ""
    assert addon_templates.unrenderable_store("gs://bucket") == ""
    assert "not file://" in addon_templates.unrenderable_store("file:///tmp/state")
    assert "no state store" in addon_templates.unrenderable_store("")


def test_the_render_writes_nothing_but_files():
    args = addon_templates.render_arguments("/tmp/out")
    assert args[:3] == ["update", "cluster", "--target=terraform"] and "--yes" not in args
    assert "--create-kube-config=false" in args
    overrides = args[args.index("--lifecycle-overrides") + 1].split(",")
    assert sorted(overrides) == sorted("%s=ExistsAndWarnIfChanges" % t for t in
                                       ("Keypair", "Secret", "MirrorKeystore", "MirrorSecrets"))


def test_applied_hashes_come_from_the_namespace_records():
    namespace = namespace_applied(**{"node-termination-handler.aws": "abc"})
    namespace["metadata"]["annotations"]["addons.k8s.io/broken"] = "{not json"
    namespace["metadata"]["annotations"]["other/annotation"] = "x"
    assert addon_templates.applied_addons(namespace) == {"node-termination-handler.aws": "abc", "broken": ""}
    assert addon_templates.applied_addons(None) == {}


@pytest.mark.parametrize("wanted, live, expected", [
    ({"a": 1}, {"a": 1, "b": 2}, False),            # server defaults beside the manifest's values
    ({"a": "1"}, {"a": 1}, False),                  # the same value written another way
    ({"a": [1, 2]}, {"a": [1]}, True),              # a list of another length
    ({"a": {"b": None}}, {"a": {}}, False),         # null in the manifest sets nothing
    ({"a": {"b": 1}}, {"a": "x"}, True),
    ({"image": "nth:v1.25.5"}, {"image": "nth:v1.22.0"}, True),
])
def test_differs(wanted, live, expected):
    assert addon_templates.differs(wanted, live) is expected


def test_new_nth_template_on_one_control_plane_is_predicted_to_deadlock(addons):
    addon, rendered = workload(addons, NTH)
    live = as_served(rendered, image="public.ecr.aws/aws-ec2/aws-node-termination-handler:v1.22.0")
    predictions = precheck.predict_incoming_rollouts(addons, {}, [live], [], one_control_plane(),
                                                     [old_pod(live, "cp-1")])
    entry = [p for p in predictions if p["name"] == NTH[2]][0]
    assert entry["changes"] and entry["deadlock"], entry
    assert "host ports" in entry["reason"] and entry["addon"] == addon["name"]
    findings = precheck.check_incoming_rollouts(predictions, "1.36.2")
    assert [f["code"] for f in findings] == ["incoming_deadlock"]
    assert findings[0]["severity"] == "warning" and "kops 1.36.2" in findings[0]["message"]
    assert precheck.check_incoming_rollouts(predictions, "1.36.2", True)[0]["severity"] == "error"


def test_the_operator_deadlocks_only_with_the_new_control_plane_affinity(addons):
    """cilium-operator: kops 1.36 adds a required control-plane node affinity. With its old pod on the one
    control-plane node, the new one can never start; with the old pod on a worker it starts on the control plane;
    the same template without the affinity could use the workers either way."""
    dummy, rendered = workload(addons, OPERATOR)
    live = as_served(rendered, image="quay.io/cilium/operator:v1.17.0")
    entry = precheck.predict_incoming_rollouts(addons, {}, [live], [], one_control_plane(), [old_pod(live, "cp-1")])
    entry = [p for p in entry if p["name"] == OPERATOR[2]][0]
    assert entry["changes"] and entry["deadlock"], entry
    entry = precheck.predict_incoming_rollouts(addons, {}, [live], [], one_control_plane(), [old_pod(live, "w-1")])
    entry = [p for p in entry if p["name"] == OPERATOR[2]][0]
    assert entry["changes"] and not entry["deadlock"], entry
    assert "its old pods run on other nodes" in entry["reason"]
    without_affinity = copy.deepcopy(addons)
    dummy, operator = workload(without_affinity, OPERATOR)
    del operator["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
    operator["spec"]["template"]["spec"]["tolerations"] = [{"operator": "Exists"}]
    entry = precheck.predict_incoming_rollouts(without_affinity, {}, [live], [], one_control_plane(),
                                               [old_pod(live, "cp-1")])
    entry = [p for p in entry if p["name"] == OPERATOR[2]][0]
    assert entry["changes"] and not entry["deadlock"], entry


def test_an_addon_applied_with_the_same_hash_is_not_applied_again(addons):
    dummy, rendered = workload(addons, NTH)
    live = as_served(rendered, image="nth:v1.22.0")
    applied = dict((a["name"], a["manifest_hash"]) for a in addons)
    assert precheck.predict_incoming_rollouts(addons, applied, [live], [], one_control_plane()) == []


def test_a_manifest_that_changes_nothing_that_runs_rolls_nothing(addons):
    dummy, rendered = workload(addons, NTH)
    live = as_served(rendered)  # the same template, with the server's defaults
    predictions = precheck.predict_incoming_rollouts(addons, {}, [live], [], one_control_plane())
    entry = [p for p in predictions if p["name"] == NTH[2]][0]
    assert not entry["changes"] and not entry["deadlock"]
    assert precheck.check_incoming_rollouts(predictions, "1.36.2") == []


def test_a_workload_the_release_adds_is_left_out(addons):
    assert precheck.predict_incoming_rollouts(addons, {}, [], [], one_control_plane()) == []


def test_a_user_strategy_the_manifest_does_not_set_is_kept(addons):
    """The NTH manifest sets no strategy: a maxSurge 0 / maxUnavailable 1 the user set (remediate_prevent) stays,
    and the new template then rolls without deadlock."""
    dummy, rendered = workload(addons, NTH)
    assert "strategy" not in rendered["spec"]
    live = as_served(rendered, image="nth:v1.22.0")
    live["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    entry = [p for p in precheck.predict_incoming_rollouts(addons, {}, [live], [], one_control_plane(),
                                                           [old_pod(live, "cp-1")]) if p["name"] == NTH[2]][0]
    assert entry["changes"] and not entry["deadlock"], entry


def test_recorded_files_are_what_kops_wrote():
    """The fixtures are kops' own bytes: the channel's manifestHash of each recorded manifest is its sha256."""
    files = rendered_files()
    channel = addon_templates.find_channel(files)
    hashes = set(hashlib.sha256(content).hexdigest() for content in files.values())
    recorded = [a for a in channel["spec"]["addons"] if a["manifestHash"] in hashes]
    assert sorted(a["name"] for a in recorded) == ["networking.cilium.io", "node-termination-handler.aws"]


def test_a_daemonset_deadlocks_only_where_an_old_pod_holds_its_ports():
    """maxSurge 1 with host ports: on each node the new pod must start beside the old one. A new node selector
    that admits only nodes without an old pod rolls; one that admits a node holding an old pod does not."""
    def daemonset(image, selector):
        return {"kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "kube-system"},
                "spec": {"selector": {"matchLabels": {"app": "agent"}},
                         "updateStrategy": {"type": "RollingUpdate",
                                            "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                         "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {
                             "hostNetwork": True, "nodeSelector": selector,
                             "containers": [{"name": "agent", "image": image,
                                             "ports": [{"containerPort": 9100, "hostPort": 9100}]}]}}}}

    live = as_served(daemonset("agent:1", {"kubernetes.io/hostname": "w-1"}))
    live["status"] = {"desiredNumberScheduled": 1}
    pods = [old_pod(live, "w-1")]
    for selector, deadlock in (({"kubernetes.io/hostname": "w-1"}, True), ({"kubernetes.io/hostname": "w-2"}, False)):
        addons = [{"name": "agent", "manifest_hash": "new", "workloads": [daemonset("agent:2", selector)]}]
        entry = precheck.predict_incoming_rollouts(addons, {"agent": "old"}, [], [live], one_control_plane(), pods)
        assert len(entry) == 1 and entry[0]["changes"] and entry[0]["deadlock"] is deadlock, (selector, entry)
