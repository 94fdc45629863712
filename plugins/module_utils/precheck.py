# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure checks of a cluster before a kOps upgrade: every reason the upgrade would stop, as findings.

A finding is a dict ``{code, severity, message, objects, remedy}``: ``code`` is stable (documented in the
upgrade_precheck module), ``severity`` is ``error`` (blocks the upgrade), ``warning`` (informs) or ``info``
(says what was checked and found safe), ``objects`` names what is involved (``kind``, ``namespace``, ``name``),
and ``remedy`` says what to do, in words.

Every function takes API objects as plain dicts, exactly as the API serves them (camelCase keys), and returns
plain dicts; nothing here talks to the API (see precheck_api.py).
"""

from __future__ import annotations

import re

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils import kops_releases, versions
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.addon_templates import (
    differs,
    next_workload,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.scheduling import (
    daemonset_budget,
    eligible_nodes,
    host_ports,
    is_ready,
    pod_is_active,
    predict_rollout_deadlock,
    selector_matches,
)

SEVERITIES = ("error", "warning", "info")
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"

# Kubernetes API versions removed by each release (kubernetes.io/docs/reference/using-api/deprecation-guide),
# with the version that replaces them ("-": no replacement). Only resources that can be listed are here.
_REMOVED_APIS_TABLE = """
group/version                         resource                         removed_in  replacement
extensions/v1beta1                    deployments                      1.16        apps/v1
extensions/v1beta1                    daemonsets                       1.16        apps/v1
extensions/v1beta1                    replicasets                      1.16        apps/v1
extensions/v1beta1                    networkpolicies                  1.16        networking.k8s.io/v1
extensions/v1beta1                    podsecuritypolicies              1.16        policy/v1beta1
apps/v1beta1                          deployments                      1.16        apps/v1
apps/v1beta1                          statefulsets                     1.16        apps/v1
apps/v1beta2                          deployments                      1.16        apps/v1
apps/v1beta2                          daemonsets                       1.16        apps/v1
apps/v1beta2                          replicasets                      1.16        apps/v1
apps/v1beta2                          statefulsets                     1.16        apps/v1
admissionregistration.k8s.io/v1beta1  mutatingwebhookconfigurations    1.22        admissionregistration.k8s.io/v1
admissionregistration.k8s.io/v1beta1  validatingwebhookconfigurations  1.22        admissionregistration.k8s.io/v1
apiextensions.k8s.io/v1beta1          customresourcedefinitions        1.22        apiextensions.k8s.io/v1
apiregistration.k8s.io/v1beta1        apiservices                      1.22        apiregistration.k8s.io/v1
certificates.k8s.io/v1beta1           certificatesigningrequests       1.22        certificates.k8s.io/v1
coordination.k8s.io/v1beta1           leases                           1.22        coordination.k8s.io/v1
extensions/v1beta1                    ingresses                        1.22        networking.k8s.io/v1
networking.k8s.io/v1beta1             ingresses                        1.22        networking.k8s.io/v1
networking.k8s.io/v1beta1             ingressclasses                   1.22        networking.k8s.io/v1
rbac.authorization.k8s.io/v1beta1     clusterroles                     1.22        rbac.authorization.k8s.io/v1
rbac.authorization.k8s.io/v1beta1     clusterrolebindings              1.22        rbac.authorization.k8s.io/v1
rbac.authorization.k8s.io/v1beta1     roles                            1.22        rbac.authorization.k8s.io/v1
rbac.authorization.k8s.io/v1beta1     rolebindings                     1.22        rbac.authorization.k8s.io/v1
scheduling.k8s.io/v1beta1             priorityclasses                  1.22        scheduling.k8s.io/v1
storage.k8s.io/v1beta1                csidrivers                       1.22        storage.k8s.io/v1
storage.k8s.io/v1beta1                csinodes                         1.22        storage.k8s.io/v1
storage.k8s.io/v1beta1                storageclasses                   1.22        storage.k8s.io/v1
storage.k8s.io/v1beta1                volumeattachments                1.22        storage.k8s.io/v1
batch/v1beta1                         cronjobs                         1.25        batch/v1
discovery.k8s.io/v1beta1              endpointslices                   1.25        discovery.k8s.io/v1
events.k8s.io/v1beta1                 events                           1.25        events.k8s.io/v1
autoscaling/v2beta1                   horizontalpodautoscalers         1.25        autoscaling/v2
policy/v1beta1                        poddisruptionbudgets             1.25        policy/v1
policy/v1beta1                        podsecuritypolicies              1.25        -
node.k8s.io/v1beta1                   runtimeclasses                   1.25        node.k8s.io/v1
flowcontrol.apiserver.k8s.io/v1beta1  flowschemas                      1.26        flowcontrol.apiserver.k8s.io/v1beta3
flowcontrol.apiserver.k8s.io/v1beta1  prioritylevelconfigurations      1.26        flowcontrol.apiserver.k8s.io/v1beta3
autoscaling/v2beta2                   horizontalpodautoscalers         1.26        autoscaling/v2
storage.k8s.io/v1beta1                csistoragecapacities             1.27        storage.k8s.io/v1
flowcontrol.apiserver.k8s.io/v1beta2  flowschemas                      1.29        flowcontrol.apiserver.k8s.io/v1
flowcontrol.apiserver.k8s.io/v1beta2  prioritylevelconfigurations      1.29        flowcontrol.apiserver.k8s.io/v1
flowcontrol.apiserver.k8s.io/v1beta3  flowschemas                      1.32        flowcontrol.apiserver.k8s.io/v1
flowcontrol.apiserver.k8s.io/v1beta3  prioritylevelconfigurations      1.32        flowcontrol.apiserver.k8s.io/v1
"""


def _removed_api_rows(table):
    """The rows of a table like _REMOVED_APIS_TABLE (its first line names the columns) as dicts: group, version,
    resource, removed_in, replacement."""
    rows = []
    for line in table.strip().splitlines()[1:]:
        group_version, resource, removed_in, replacement = line.split()
        group, version = group_version.rsplit("/", 1)
        rows.append({"group": group, "version": version, "resource": resource, "removed_in": removed_in,
                     "replacement": "" if replacement == "-" else replacement})
    return tuple(rows)


BUILTIN_REMOVED_APIS = _removed_api_rows(_REMOVED_APIS_TABLE)

# Autoscalers that add nodes during the upgrade (kops#16907): matched on container image or well-known labels.
AUTOSCALERS = (
    ("cluster-autoscaler", re.compile(r"(^|/)cluster-autoscaler(:|@|$)")),
    ("karpenter", re.compile(r"(^|/)karpenter/controller(:|@|$)|(^|/)karpenter(:|@|$)")),
)
_AUTOSCALER_LABELS = ("app.kubernetes.io/name", "k8s-app", "app")


class PrecheckInputError(ValueError):
    """A value the user gave cannot be understood; the message says which and why."""


def finding(code, severity, message, objects=(), remedy=""):
    if severity not in SEVERITIES:
        raise ValueError("unknown severity %r" % severity)
    return {"code": code, "severity": severity, "message": message, "objects": list(objects), "remedy": remedy}


def ref(obj, kind=None):
    """``{kind, namespace, name}`` of an API object (namespace left out for cluster-scoped objects)."""
    metadata = obj.get("metadata") or {}
    result = {"kind": kind or obj.get("kind") or "", "name": metadata.get("name", "")}
    if metadata.get("namespace"):
        result["namespace"] = metadata["namespace"]
    return result


def qualified(obj):
    metadata = obj.get("metadata") or {}
    if metadata.get("namespace"):
        return "%s/%s" % (metadata["namespace"], metadata.get("name", ""))
    return metadata.get("name", "")


# ---------------------------------------------------------------------------------------------------------
# Versions

def parse_version(text, what="version"):
    """``v1.34.4``, ``1.30``, ``v1.29.3-eks-1`` -> ``(1, 34, 4)``; raises PrecheckInputError when unreadable."""
    version = versions.parse_version(str(text or ""))
    if version is None:
        raise PrecheckInputError("%s %r is not a version like 1.30.2 or v1.30" % (what, text))
    return version


def minor_text(version):
    return "%d.%d" % version[:2]


def kubelet_skew_limit(target):
    """How many minor versions a kubelet may be older than the API server: 3 from Kubernetes 1.28, 2 before."""
    return 3 if target[:2] >= (1, 28) else 2


def is_control_plane(node):
    labels = (node.get("metadata") or {}).get("labels") or {}
    return any(label in labels for label in CONTROL_PLANE_LABELS)


def kubelet_version(node):
    return ((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion") or ""


def check_kops_release(kops_version_text, minimum=None):
    """The kops release that will run the upgrade, from ``kops_version_text`` (``1.30.2`` or what `kops version`
    prints): ``(version text or "", findings)``. Older than ``minimum`` (text; default: the oldest release the
    collection supports, kops_releases.OLDEST_SUPPORTED) is ``kops_too_old`` (error); text with no version in it is
    ``kops_version_unknown`` (warning) and the kops checks are left out."""
    if not (kops_version_text or "").strip():
        return "", []
    found = versions.find_version(kops_version_text)
    if found is None:
        return "", [finding("kops_version_unknown", "warning",
                            "no kops version in %r: the kops checks are left out" % kops_version_text.strip()[:200],
                            [], "Check what `kops version` prints with the kops the upgrade will use.")]
    oldest = (parse_version(minimum, "minimum kops version") if minimum else kops_releases.OLDEST_SUPPORTED)[:3]
    text = kops_releases.text(found[:3])
    if found[:3] < oldest:
        return text, [finding(
            "kops_too_old", "error", "kops %s is older than %s, the oldest this collection supports" % (
                text, kops_releases.text(oldest)), [], "Install kops %s or newer." % kops_releases.text(oldest))]
    return text, []


def check_versions(server_version, target_version, nodes, kops_version=None):
    """Version skew: the control plane moves one minor at a time and never down; kubelets stay within the
    supported skew of the target; no kubelet is newer than the API server; kops knows the target."""
    findings = []
    server = parse_version(server_version, "API server version")
    target = parse_version(target_version, "target Kubernetes version") if target_version else None
    by_version = {}
    for node in nodes:
        text = kubelet_version(node)
        if text:
            by_version.setdefault(text, []).append(node)
    for text, group in sorted(by_version.items()):
        try:
            version = parse_version(text, "kubelet version")
        except PrecheckInputError:
            continue
        refs = [ref(n, "Node") for n in group]
        names = ", ".join(sorted(r["name"] for r in refs))
        if version > server:
            findings.append(finding(
                "kubelet_newer_than_apiserver", "error",
                "kubelet %s on %s is newer than the API server %s: Kubernetes does not support kubelets newer "
                "than kube-apiserver" % (text, names, server_version), refs,
                "Bring the control plane to at least %s before anything else (or replace these nodes with ones "
                "at the API server's version)." % minor_text(version)))
        if target and target[0] == version[0] and target[1] - version[1] > kubelet_skew_limit(target):
            findings.append(finding(
                "kubelet_skew", "error",
                "kubelet %s on %s is %d minor versions behind the target %s; Kubernetes supports %d" % (
                    text, names, target[1] - version[1], target_version, kubelet_skew_limit(target)), refs,
                "Upgrade or replace these nodes (kops rolling-update) to within %d minor versions of %s first, "
                "or choose a nearer target." % (kubelet_skew_limit(target), minor_text(target))))
    if target:
        if target < server:
            findings.append(finding(
                "version_downgrade", "error",
                "target %s is older than the API server %s: kops never downgrades Kubernetes" % (
                    target_version, server_version), [], "Choose a target at or above %s." % server_version))
        elif target[0] != server[0] or target[1] - server[1] > 1:
            findings.append(finding(
                "version_minor_skip", "error",
                "target %s is %d minor versions above the API server %s: the control plane upgrades one minor "
                "version at a time" % (target_version, target[1] - server[1], server_version), [],
                "Upgrade to %d.%d first, then on from there." % (server[0], server[1] + 1)))
    if kops_version and target:
        kops = parse_version(kops_version, "kops version")
        if target[:2] > kops[:2]:
            findings.append(finding(
                "kops_too_old_for_target", "error",
                "kops %s does not support Kubernetes %s: kops refuses versions newer than its own minor "
                "(\"This version of kubernetes is not yet supported; upgrading kops is required\")" % (
                    kops_version, target_version), [],
                "Install kops %s or newer before upgrading." % minor_text(target)))
        elif kops[1] - target[1] > 5:
            findings.append(finding(
                "kops_target_unsupported", "warning",
                "kops %s may no longer support Kubernetes %s (kops 1.30 supports 1.25 and later)" % (
                    kops_version, target_version), [],
                "Use a kops release that supports %s, or a newer target." % minor_text(target)))
    return findings


# ---------------------------------------------------------------------------------------------------------
# Removed APIs

def removed_api_table(extra=None):
    """The built-in table plus the user's entries, each checked and normalised."""
    table = [dict(entry) for entry in BUILTIN_REMOVED_APIS]
    for index, entry in enumerate(extra or []):
        missing = [key for key in ("version", "resource", "removed_in") if not entry.get(key)]
        if missing or "group" not in entry:
            raise PrecheckInputError("removed_apis[%d] needs group, version, resource and removed_in; missing %s" % (
                index, ", ".join(missing or ["group"])))
        parse_version(entry["removed_in"], "removed_apis[%d].removed_in" % index)
        table.append({"group": entry["group"] or "", "version": entry["version"], "resource": entry["resource"],
                      "removed_in": str(entry["removed_in"]), "replacement": entry.get("replacement") or ""})
    return table


def group_version(entry):
    return "%s/%s" % (entry["group"], entry["version"]) if entry["group"] else entry["version"]


def removed_apis_to_check(table, server_version, target_version, served_group_versions):
    """Entries removed after the running version and at or before the target, whose group/version the API server
    still serves: those are worth a list call each."""
    server = parse_version(server_version, "API server version")[:2]
    target = parse_version(target_version, "target Kubernetes version")[:2]
    served = set(served_group_versions)
    return [e for e in table
            if server < parse_version(e["removed_in"])[:2] <= target and group_version(e) in served]


def _written_through(obj, api_version):
    """Field managers that wrote the object through ``api_version``, and whether kubectl's last-applied
    configuration names it."""
    managers = sorted({m.get("manager") or "?" for m in (obj.get("metadata") or {}).get("managedFields") or []
                       if m.get("apiVersion") == api_version})
    annotation = ((obj.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED_ANNOTATION) or ""
    if '"apiVersion":"%s"' % api_version in annotation.replace(" ", ""):
        managers.append("kubectl apply (last-applied-configuration)")
    return managers


def check_removed_api_objects(entry, objects, served_group_versions, target_version):
    """Objects listed under a group/version the target removes.

    Without a served replacement the objects are reachable only through that version: after the upgrade they
    are gone from the API (error). With one, the objects stay (they are stored once, served under every
    version), but whoever wrote them through the old version will fail after the upgrade (warning)."""
    if not objects:
        return []
    gv = group_version(entry)
    kind = entry["resource"]
    replacement = entry.get("replacement") or ""
    served = set(served_group_versions)
    if not replacement or replacement not in served:
        return [finding(
            "removed_api_objects", "error",
            "%d %s are served only under %s, which Kubernetes %s removes (target %s)%s" % (
                len(objects), kind, gv, entry["removed_in"], target_version,
                "" if not replacement else "; the replacement %s is not served yet" % replacement),
            [dict(ref(o, kind), apiVersion=gv) for o in objects],
            ("Migrate them to %s (upgrade to a release that serves it first)" % replacement if replacement else
             "Export and remove them, or replace what uses them") + " before upgrading to %s." % target_version)]
    writers = []
    for obj in objects:
        managers = _written_through(obj, gv)
        if managers:
            writers.append(dict(ref(obj, kind), apiVersion=gv, managers=managers))
    if not writers:
        return []
    return [finding(
        "removed_api_writers", "warning",
        "%d %s were written through %s, which Kubernetes %s removes: the objects stay (served as %s) but the "
        "clients and manifests that wrote them (%s) will fail after the upgrade" % (
            len(writers), kind, gv, entry["removed_in"], replacement,
            ", ".join(sorted({m for w in writers for m in w["managers"]}))),
        writers, "Change those manifests and clients to %s." % replacement)]


_METRIC_LINE = re.compile(r"^apiserver_requested_deprecated_apis\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)")
_METRIC_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_deprecated_api_metric(text):
    """The ``apiserver_requested_deprecated_apis`` series of a Prometheus text exposition, as dicts
    ``{group, version, resource, subresource, removed_release}`` (series with value 0 are left out)."""
    series = []
    for line in (text or "").splitlines():
        match = _METRIC_LINE.match(line.strip())
        if not match:
            continue
        try:
            if float(match.group("value")) == 0:
                continue
        except ValueError:
            continue
        labels = dict(_METRIC_LABEL.findall(match.group("labels")))
        series.append({key: labels.get(key, "") for key in
                       ("group", "version", "resource", "subresource", "removed_release")})
    return series


def check_deprecated_api_requests(series, target_version):
    """Clients that called deprecated APIs, from the API server's gauge. The gauge is per API server and starts
    empty at each restart: no series proves nothing about clients that called another API server, or before."""
    findings = []
    target = parse_version(target_version, "target Kubernetes version")[:2] if target_version else None
    note = " (seen by this API server since its last restart)"
    for item in sorted(series, key=lambda s: (s["group"], s["version"], s["resource"], s["subresource"])):
        gv = group_version(item)
        what = item["resource"] + ("/" + item["subresource"] if item["subresource"] else "")
        obj = {"kind": "APIResource", "name": what, "apiVersion": gv, "removed_release": item["removed_release"]}
        removed = None
        if item["removed_release"]:
            try:
                removed = parse_version(item["removed_release"])[:2]
            except PrecheckInputError:
                removed = None
        if removed and target and removed <= target:
            findings.append(finding(
                "removed_api_requested", "error",
                "clients requested %s %s, which Kubernetes %s removes (target %s)%s" % (
                    gv, what, item["removed_release"], target_version, note), [obj],
                "Find the clients (API server audit log, annotation k8s.io/deprecated) and move them to the "
                "replacement version before upgrading."))
        elif item["removed_release"]:
            findings.append(finding(
                "deprecated_api_requested", "warning",
                "clients requested deprecated %s %s, removed in Kubernetes %s%s" % (
                    gv, what, item["removed_release"], note), [obj],
                "Move those clients to the replacement version before upgrading to %s." % item["removed_release"]))
        else:
            # Deprecated with no removal announced (v1 Endpoints since 1.33, a CRD version marked deprecated):
            # nothing breaks on this upgrade.
            findings.append(finding(
                "deprecated_api_requested", "info",
                "clients requested deprecated %s %s (no removal release announced)%s" % (gv, what, note), [obj]))
    return findings


# ---------------------------------------------------------------------------------------------------------
# Drain blockers (kops drains with force, delete-emptydir-data and ignore-daemonsets; evictions honour PDBs)

def parse_duration(text):
    """A Go duration (``15m``, ``1h30m``, ``90s``) or a number of seconds, as seconds (float)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    value = str(text or "").strip()
    if re.match(r"^\d+(\.\d+)?$", value):
        return float(value)
    seconds = versions.parse_go_duration(value)
    if seconds is None:
        raise PrecheckInputError("drain timeout %r is not a duration like 15m, 1h30m or 900s" % text)
    return seconds


def _controller(pod):
    for owner in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if owner.get("controller"):
            return owner
    return None


def drainable_pods(pods):
    """Pods a drain would evict: bound to a node, not finished, not mirror pods, not DaemonSet pods."""
    result = []
    for pod in pods:
        spec, metadata = pod.get("spec") or {}, pod.get("metadata") or {}
        if not spec.get("nodeName") or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        if MIRROR_POD_ANNOTATION in (metadata.get("annotations") or {}):
            continue
        owner = _controller(pod)
        if owner and owner.get("kind") == "DaemonSet":
            continue
        result.append(pod)
    return result


def check_drain(nodes, pods, pdbs, drain_timeout, fail_on_drain_error=True):
    """Per node: pods whose eviction a PodDisruptionBudget refuses (0 disruptions allowed: the drain retries until
    the drain timeout, then the rolling update fails), pods no controller recreates, pods with emptyDir data,
    pods whose grace period outlasts the drain timeout."""
    timeout = parse_duration(drain_timeout)
    timeout_text = str(drain_timeout)
    blocking = {}
    for budget in pdbs:
        if (budget.get("status") or {}).get("disruptionsAllowed", 0) == 0:
            blocking.setdefault(budget["metadata"].get("namespace"), []).append(budget)
    by_node = {}
    for pod in drainable_pods(pods):
        by_node.setdefault(pod["spec"]["nodeName"], []).append(pod)
    known = {n["metadata"]["name"] for n in nodes}
    findings = []
    for node_name in sorted(by_node):
        node_ref = {"kind": "Node", "name": node_name}
        if node_name not in known:
            continue
        refused, unmanaged, emptydir, slow = [], [], [], []
        for pod in sorted(by_node[node_name], key=qualified):
            metadata = pod["metadata"]
            labels = metadata.get("labels") or {}
            for pdb in blocking.get(metadata.get("namespace"), []):
                if selector_matches((pdb.get("spec") or {}).get("selector"), labels):
                    refused.append((pod, pdb))
            if not _controller(pod):
                unmanaged.append(pod)
            volumes = [v["name"] for v in (pod["spec"].get("volumes") or []) if "emptyDir" in v]
            if volumes:
                emptydir.append((pod, volumes))
            grace = pod["spec"].get("terminationGracePeriodSeconds")
            if grace is not None and float(grace) > timeout:
                slow.append((pod, grace))
        if refused:
            pdb_names = sorted({qualified(budget) for pod, budget in refused})
            findings.append(finding(
                "drain_pdb_blocks", "error" if fail_on_drain_error else "warning",
                "draining %s: PodDisruptionBudget %s allows 0 disruptions, so evicting %s is refused; the drain "
                "retries for the drain timeout (%s), then the rolling update %s" % (
                    node_name, ", ".join(pdb_names), ", ".join(qualified(pod) for pod, budget in refused), timeout_text,
                    "fails" if fail_on_drain_error else "moves on without draining"),
                [node_ref] + [ref(pod, "Pod") for pod, budget in refused]
                + [ref(pdb, "PodDisruptionBudget") for pdb in {qualified(budget): budget for pod, budget in refused}.values()],
                "Before the upgrade, add replicas (or fix the unhealthy ones) so the budget allows a disruption, "
                "or relax the budget (maxUnavailable 1) for the upgrade."))
        if unmanaged:
            findings.append(finding(
                "drain_unmanaged_pods", "warning",
                "draining %s deletes %s: no controller recreates them (kops drains with force)" % (
                    node_name, ", ".join(qualified(p) for p in unmanaged)),
                [node_ref] + [ref(p, "Pod") for p in unmanaged],
                "Run them under a Deployment, StatefulSet or Job, or save what they do before the upgrade."))
        if emptydir:
            findings.append(finding(
                "drain_emptydir_data", "warning",
                "draining %s deletes the emptyDir data of %s (kops drains with delete-emptydir-data)" % (
                    node_name, ", ".join("%s (%s)" % (qualified(p), ", ".join(v)) for p, v in emptydir)),
                [node_ref] + [ref(pod, "Pod") for pod, volumes in emptydir],
                "Keep data that must survive on persistent volumes."))
        if slow:
            findings.append(finding(
                "drain_grace_exceeds_timeout", "warning",
                "draining %s: %s may take longer to stop than the drain timeout (%s)" % (
                    node_name, ", ".join("%s (terminationGracePeriodSeconds %s)" % (qualified(p), g)
                                         for p, g in slow), timeout_text),
                [node_ref] + [ref(pod, "Pod") for pod, grace in slow],
                "Raise the rolling update's drain timeout above the longest grace period, or shorten it."))
    return findings


# ---------------------------------------------------------------------------------------------------------
# Admission webhooks that would refuse the upgrade's new kube-system pods

def _rule_matches_pod_create(rule):
    groups = rule.get("apiGroups") or []
    resources = rule.get("resources") or []
    operations = rule.get("operations") or []
    return (("" in groups or "*" in groups)
            and ("pods" in resources or "*" in resources or "*/*" in resources)
            and ("CREATE" in operations or "*" in operations)
            and rule.get("scope", "*") in ("*", "Namespaced"))


def _ready_endpoints(endpoint_slices, namespace, name, port=None):
    count = 0
    for eps in endpoint_slices:
        metadata = eps.get("metadata") or {}
        if metadata.get("namespace") != namespace or \
                (metadata.get("labels") or {}).get("kubernetes.io/service-name") != name:
            continue
        for endpoint in eps.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready", True) is not False:
                count += len(endpoint.get("addresses") or [])
    return count


def check_webhooks(configurations, endpoint_slices, namespace_obj, pods):
    """Webhooks with ``failurePolicy: Fail`` whose rules, namespace selector and object selector match the pods of
    ``namespace_obj`` (kube-system) and whose service has no ready endpoint: every such pod the upgrade recreates
    would be refused. ``configurations`` are Validating and Mutating WebhookConfigurations (with ``kind``)."""
    labels = dict((namespace_obj.get("metadata") or {}).get("labels") or {})
    namespace = (namespace_obj.get("metadata") or {}).get("name", "kube-system")
    labels.setdefault("kubernetes.io/metadata.name", namespace)
    namespace_pods = [p for p in pods if (p.get("metadata") or {}).get("namespace") == namespace]
    findings = []
    for config in configurations:
        for webhook in config.get("webhooks") or []:
            if webhook.get("failurePolicy", "Fail") != "Fail":
                continue
            if not any(_rule_matches_pod_create(rule) for rule in webhook.get("rules") or []):
                continue
            if not selector_matches(webhook.get("namespaceSelector") or {}, labels):
                continue
            object_selector = webhook.get("objectSelector") or {}
            matched = [p for p in namespace_pods
                       if selector_matches(object_selector, (p.get("metadata") or {}).get("labels") or {})]
            if object_selector and not matched:
                continue
            service = (webhook.get("clientConfig") or {}).get("service")
            if not service:
                continue  # a URL: outside the cluster, nothing to count
            ready = _ready_endpoints(endpoint_slices, service.get("namespace"), service.get("name"))
            if ready:
                continue
            findings.append(finding(
                "webhook_unavailable", "error",
                "%s %s, webhook %s: failurePolicy Fail, matches %s pods%s, and its service %s/%s has no ready "
                "endpoint: every %s pod the upgrade recreates will be refused" % (
                    config.get("kind", "WebhookConfiguration"), config["metadata"]["name"], webhook.get("name"),
                    namespace, (" (%d now)" % len(matched)) if object_selector else "", service.get("namespace"),
                    service.get("name"), namespace),
                [ref(config), {"kind": "Service", "namespace": service.get("namespace"), "name": service.get("name")}]
                + [ref(p, "Pod") for p in matched][:20],
                "Bring the webhook's backend up, or set failurePolicy Ignore, or exclude %s with its "
                "namespaceSelector before the upgrade." % namespace))
    return findings


# ---------------------------------------------------------------------------------------------------------
# Autoscalers

def find_autoscalers(deployments):
    """cluster-autoscaler and Karpenter Deployments (by image or well-known labels)."""
    found = []
    for deployment in deployments:
        template = (deployment.get("spec") or {}).get("template") or {}
        images = [c.get("image") or "" for c in (template.get("spec") or {}).get("containers") or []]
        labels = dict((deployment.get("metadata") or {}).get("labels") or {})
        labels.update((template.get("metadata") or {}).get("labels") or {})
        names = {labels.get(key) for key in _AUTOSCALER_LABELS}
        for kind, pattern in AUTOSCALERS:
            image_match = any(pattern.search(image.split("@")[0]) for image in images)
            if image_match or kind in names or (kind == "cluster-autoscaler" and "aws-cluster-autoscaler" in names):
                replicas = (deployment.get("spec") or {}).get("replicas")
                found.append({"type": kind, "kind": "Deployment",
                              "namespace": deployment["metadata"]["namespace"],
                              "name": deployment["metadata"]["name"],
                              "replicas": 1 if replicas is None else int(replicas)})
                break
    return sorted(found, key=lambda a: (a["namespace"], a["name"]))


def running_autoscalers(autoscalers):
    """The autoscalers (find_autoscalers) that run - replicas above 0: those to warn about, and those the precheck
    role pauses for the upgrade and the upgrade playbook resumes."""
    return [a for a in autoscalers if a["replicas"] > 0]


def check_autoscalers(autoscalers):
    active = running_autoscalers(autoscalers)
    if not active:
        return []
    return [finding(
        "autoscaler_present", "warning",
        "%s can add or remove nodes while the control plane rolls, which breaks kops' validation (kops#16907)" % (
            ", ".join("%s %s/%s (%d replicas)" % (a["type"], a["namespace"], a["name"], a["replicas"])
                      for a in active)),
        [{"kind": "Deployment", "namespace": a["namespace"], "name": a["name"]} for a in active],
        "Scale them to 0 for the upgrade and back afterwards (precheck role: precheck_pause_autoscalers: true; "
        "the upgrade playbook restores them).")]


# ---------------------------------------------------------------------------------------------------------
# Rollouts: every control-plane-pinned workload judged from its own strategy

def control_plane_names(nodes):
    return {n["metadata"]["name"] for n in nodes if is_control_plane(n)}


def pinned_to_control_plane(eligible, control_planes):
    return bool(eligible) and set(eligible) <= control_planes


def predict_daemonset_deadlock(daemonset, nodes, cache=None):
    """Would the DaemonSet's next rolling update deadlock? With maxSurge the controller starts the new pod on a
    node before removing the old one there; if the pod claims host ports (hostNetwork makes every container port
    one), the old pod holds them and the new pod never schedules on that node. ``cache``: a dict shared across
    calls on the same nodes."""
    pod_spec = (((daemonset.get("spec") or {}).get("template") or {}).get("spec")) or {}
    eligible = eligible_nodes(nodes, pod_spec, cache)
    scheduled = (daemonset.get("status") or {}).get("desiredNumberScheduled")
    budget = daemonset_budget(daemonset, len(eligible) if scheduled is None else int(scheduled))
    ports = host_ports(pod_spec)
    prediction = {"deadlock": False, "reason": "", "strategy": budget["type"], "max_surge": budget["max_surge"],
                  "max_unavailable": budget["max_unavailable"], "eligible_nodes": len(eligible),
                  "eligible_node_names": eligible, "host_ports": [p[0] for p in ports]}
    if budget["type"] != "RollingUpdate":
        prediction["reason"] = "strategy %s: pods are replaced only when deleted" % budget["type"]
    elif budget["max_surge"] == 0:
        prediction["reason"] = ("maxUnavailable %d: the controller removes the old pod on a node before starting "
                                "the new one" % budget["max_unavailable"])
    elif not ports:
        prediction["reason"] = "maxSurge %d without host ports: the new pod can run beside the old one" % (
            budget["max_surge"])
    elif not eligible:
        prediction["reason"] = "no node admits the pod template: nothing to roll"
    else:
        prediction["deadlock"] = True
        prediction["reason"] = (
            "maxSurge %d: the new pod must start on a node before the old one there goes, but both claim host "
            "ports %s, so the new pod never schedules" % (
                budget["max_surge"], ", ".join("%d/%s" % p for p in ports)))
    return prediction


def check_rollouts(diagnoses, daemonsets, nodes, fail_on_predicted_deadlock=False):
    """Deployments (diagnosed by rollout.diagnose_rollouts) and DaemonSets: stuck now (error), predicted to
    deadlock on their next rollout, and, for control-plane-pinned workloads, a word that they are safe."""
    control_planes = control_plane_names(nodes)
    deadlock_severity = "error" if fail_on_predicted_deadlock else "warning"
    findings = []
    for diagnosis in diagnoses:
        obj = {"kind": "Deployment", "namespace": diagnosis["namespace"], "name": diagnosis["name"]}
        name = "%s/%s" % (diagnosis["namespace"], diagnosis["name"])
        prediction = diagnosis["prediction"]
        if diagnosis.get("verdict") in ("stuck", "blocked"):
            findings.append(finding(
                "rollout_stuck", "error", "Deployment %s is %s now: %s" % (
                    name, diagnosis["verdict"], "; ".join(b.get("reason", "") for b in diagnosis.get("blockers")
                                                          or []) or "its new pods cannot be scheduled"),
                [obj], diagnosis.get("remedy") or "Remediate it (clusterops.kops_upgrade.remediate) first."))
        if prediction.get("deadlock"):
            findings.append(finding(
                "rollout_deadlock", deadlock_severity,
                "Deployment %s: next rollout will deadlock: %s" % (name, prediction["reason"]), [obj],
                "Set strategy.rollingUpdate to maxSurge 0 / maxUnavailable 1 with a field manager of your own "
                "(clusterops.kops_upgrade.remediate, remediate_prevent: true), or let the kops_upgrade role "
                "remove the stale ReplicaSet when the rollout sticks."))
        elif pinned_to_control_plane(prediction.get("eligible_node_names") or [], control_planes):
            findings.append(finding(
                "rollout_safe", "info",
                "Deployment %s (control-plane-pinned, %d replica(s)) rolls without deadlock: %s" % (
                    name, prediction.get("replicas", 0), prediction["reason"]), [obj]))
    cache = {}
    for daemonset in sorted(daemonsets, key=qualified):
        prediction = predict_daemonset_deadlock(daemonset, nodes, cache)
        obj = ref(daemonset, "DaemonSet")
        if prediction["deadlock"]:
            findings.append(finding(
                "daemonset_deadlock", deadlock_severity,
                "DaemonSet %s: next rolling update will deadlock: %s" % (qualified(daemonset), prediction["reason"]),
                [obj], "Set updateStrategy.rollingUpdate to maxSurge 0 / maxUnavailable 1 before the upgrade."))
        elif prediction["host_ports"] and pinned_to_control_plane(prediction["eligible_node_names"], control_planes):
            findings.append(finding(
                "daemonset_safe", "info",
                "DaemonSet %s (control-plane-pinned, host ports) rolls without deadlock: %s" % (
                    qualified(daemonset), prediction["reason"]), [obj]))
    return findings


# ---------------------------------------------------------------------------------------------------------
# health: what the validate role requires after an upgrade

CRITICAL_PRIORITY_CLASSES = ("system-cluster-critical", "system-node-critical")


def check_health(nodes, pods, kubelet_target="", critical_priority_classes=CRITICAL_PRIORITY_CLASSES):
    """After an upgrade: every kubelet at ``kubelet_target`` (exactly, with a leading v; empty skips it) -
    ``kubelet_not_at_version``; every node Ready - ``node_not_ready``; every pod of ``critical_priority_classes``
    Running and Ready - ``critical_pod_not_ready`` (one per pod). All errors, nodes and pods in name order."""
    findings = []
    if kubelet_target:
        wanted = "v" + kubelet_target.lstrip("v")
        behind = sorted((n for n in nodes if kubelet_version(n) != wanted), key=qualified)
        if behind:
            findings.append(finding(
                "kubelet_not_at_version", "error", "nodes not at %s: %s" % (
                    wanted, ", ".join(n["metadata"]["name"] for n in behind)), [ref(n, "Node") for n in behind],
                "Roll those nodes (kops rolling-update cluster) and validate again."))
    not_ready = sorted((n for n in nodes if not is_ready(n)), key=qualified)
    if not_ready:
        findings.append(finding(
            "node_not_ready", "error", "nodes not Ready: %s" % ", ".join(n["metadata"]["name"] for n in not_ready),
            [ref(n, "Node") for n in not_ready], "Look at the nodes' conditions and kubelets."))
    classes = set(critical_priority_classes)
    for pod in sorted(pods, key=qualified):
        running = (pod.get("status") or {}).get("phase") == "Running"
        if (pod.get("spec") or {}).get("priorityClassName") in classes and not (running and is_ready(pod)):
            findings.append(finding(
                "critical_pod_not_ready", "error", "system-critical pod not Running/Ready: %s" % qualified(pod),
                [ref(pod, "Pod")], "Describe the pod: its events say why it is not running."))
    return findings


def _old_pods_per_node(workload, pods):
    """node name -> how many active pods of ``workload`` (by its selector, in its namespace) run there."""
    metadata = workload.get("metadata") or {}
    selector = (workload.get("spec") or {}).get("selector")
    counts = {}
    for pod in pods:
        pod_metadata = pod.get("metadata") or {}
        node = (pod.get("spec") or {}).get("nodeName")
        if (not node or pod_metadata.get("namespace") != metadata.get("namespace") or not pod_is_active(pod)
                or not selector_matches(selector, pod_metadata.get("labels") or {})):
            continue
        counts[node] = counts.get(node, 0) + 1
    return counts


def _where_the_old_pods_are(prediction, kind, workload, pods):
    """The running template's rules assume the old pods sit on the nodes the template admits. A new template may
    admit other nodes (kOps 1.36 pins cilium-operator to the control plane): a deadlock predicted by the template
    alone is lifted when the old pods leave enough room there - for a Deployment, free slots on the admitted nodes
    (per-node limit minus its old pods there, every old pod counted as conflicting) for every replica; for a
    DaemonSet, no admitted node holding an old pod. Otherwise the prediction stands."""
    if not prediction["deadlock"] or not prediction.get("eligible_node_names"):
        return prediction
    old = _old_pods_per_node(workload, pods)
    eligible = prediction["eligible_node_names"]
    if kind == "Deployment":
        per_node = prediction.get("pods_per_node_limit")
        if per_node is None:
            return prediction
        free = sum(max(0, per_node - old.get(name, 0)) for name in eligible)
        if free < max(1, prediction.get("replicas") or 0):
            return prediction
        reason = ("the new template admits %d node(s) with %d free slot(s) for %d replica(s): its old pods run on "
                  "other nodes" % (len(eligible), free, prediction.get("replicas") or 0))
    else:
        if any(old.get(name) for name in eligible):
            return prediction
        reason = "no node the new template admits runs an old pod: each new pod starts beside none"
    return dict(prediction, deadlock=False, reason=reason)


def predict_incoming_rollouts(addons, applied, deployments, daemonsets, nodes, pods=()):
    """What applying the rendered ``addons`` (addon_templates.rendered_addons) will do to the workloads that run:
    one entry per Deployment or DaemonSet of an addon whose manifest hash differs from the one channels applied
    (``applied``, addon_templates.applied_addons), ``{kind, namespace, name, addon, changes, deadlock, reason}``.
    ``changes`` is whether the manifest changes what runs (addon_templates.differs on the pod template, replicas
    and strategy); when it does, the rollout of the workload as it will be (addon_templates.next_workload) is
    predicted on the current nodes, by the same rules as the running template's, then against where its old
    ``pods`` run (_where_the_old_pods_are). A workload the manifest adds (not running yet) rolls nothing and is
    left out."""
    live = dict(((o.get("kind") or kind, (o.get("metadata") or {}).get("namespace") or "",
                  (o.get("metadata") or {}).get("name") or ""), o)
                for kind, objects in (("Deployment", deployments), ("DaemonSet", daemonsets)) for o in objects)
    predictions = []
    cache = {}
    for addon in addons or []:
        if addon.get("workloads") is None or applied.get(addon.get("name")) == addon.get("manifest_hash"):
            continue
        for rendered in addon["workloads"]:
            metadata = rendered.get("metadata") or {}
            key = (rendered.get("kind"), metadata.get("namespace") or "kube-system", metadata.get("name") or "")
            current = live.get(key)
            if current is None:
                continue
            entry = {"kind": key[0], "namespace": key[1], "name": key[2], "addon": addon.get("name") or "",
                     "changes": False, "deadlock": False, "reason": "the manifest leaves what runs as it is"}
            wanted = rendered.get("spec") or {}
            compared = [k for k in ("template", "replicas", "strategy", "updateStrategy") if k in wanted]
            if any(differs(wanted[k], (current.get("spec") or {}).get(k)) for k in compared):
                entry["changes"] = True
                upcoming = next_workload(rendered, current)
                if key[0] == "Deployment":
                    prediction = predict_rollout_deadlock(upcoming, nodes)
                else:
                    prediction = predict_daemonset_deadlock(upcoming, nodes, cache)
                prediction = _where_the_old_pods_are(prediction, key[0], current, pods)
                entry.update(deadlock=prediction["deadlock"], reason=prediction["reason"])
            predictions.append(entry)
    return predictions


def check_incoming_rollouts(predictions, release, fail_on_predicted_deadlock=False):
    """Findings for predict_incoming_rollouts' ``predictions`` of the addons of kOps ``release``: a rollout that
    will deadlock (warning, or error with ``fail_on_predicted_deadlock``), one that rolls safely (info)."""
    findings = []
    for entry in predictions:
        if not entry["changes"]:
            continue
        name = "%s %s/%s" % (entry["kind"], entry["namespace"], entry["name"])
        obj = {"kind": entry["kind"], "namespace": entry["namespace"], "name": entry["name"]}
        if entry["deadlock"]:
            findings.append(finding(
                "incoming_deadlock", "error" if fail_on_predicted_deadlock else "warning",
                "%s: the template kops %s will apply (addon %s) will deadlock: %s" % (
                    name, release, entry["addon"], entry["reason"]), [obj],
                "Let the kops_upgrade role remove the stale ReplicaSet once the rollout sticks (it proves the old "
                "pods hold what the new one needs first), or prevent it: strategy maxSurge 0 / maxUnavailable 1 "
                "with a field manager of your own (clusterops.kops_upgrade.remediate, remediate_prevent: true)."))
        else:
            findings.append(finding(
                "incoming_safe", "info", "%s: the template kops %s will apply (addon %s) rolls safely: %s" % (
                    name, release, entry["addon"], entry["reason"]), [obj]))
    return findings


# ---------------------------------------------------------------------------------------------------------
# NTH, cluster facts, inputs from the role, and the verdict

NTH_SELECTOR_LABEL = ("k8s-app", "aws-node-termination-handler")


def nth_summary(deployments, daemonsets):
    """aws-node-termination-handler's mode (queue-processor Deployment or IMDS DaemonSet), host network and IRSA."""
    key, value = NTH_SELECTOR_LABEL

    def is_nth(obj):
        return ((obj.get("metadata") or {}).get("labels") or {}).get(key) == value

    nth_deployments = [d for d in deployments if is_nth(d)]
    nth_daemonsets = [d for d in daemonsets if is_nth(d)]
    chosen = (nth_deployments + nth_daemonsets)[:1]
    if not chosen:
        return {"present": False, "mode": "absent", "host_network": False, "irsa": False, "objects": []}
    pod_spec = ((chosen[0].get("spec") or {}).get("template") or {}).get("spec") or {}
    env_names = {e.get("name") for c in pod_spec.get("containers") or [] for e in c.get("env") or []}
    host_network = bool(pod_spec.get("hostNetwork"))
    return {
        "present": True,
        "mode": "queue-processor (SQS Deployment)" if nth_deployments else "IMDS (DaemonSet)",
        "host_network": host_network,
        "irsa": "AWS_ROLE_ARN" in env_names or not host_network,
        "objects": [ref(d, "Deployment") for d in nth_deployments] + [ref(d, "DaemonSet") for d in nth_daemonsets],
    }


# What an interrupted rolling update leaves for `kops validate cluster` to find (kops_validate's ``kind``):
# instances not yet joined, nodes not ready, instance groups short of ready nodes, system-critical pods waiting.
_ROLL_EXPLAINED = ("machine", "node", "instancegroup", "pod_pending", "pod_not_ready", "pod_unknown_phase")


def upgrade_in_progress(nodes, target_version, rolling_plan):
    """Whether an upgrade is under way, so that running the upgrade again finishes it, and why:
    {in_progress, reasons}. Signs: kubelets at two or more versions (the newest at the target, when one is
    given), or instance groups that `kops rolling-update cluster` (its preview, ``rolling_plan`` as
    kops_rolling_update returns it) says need updating. Without either, a cluster that fails validation is broken,
    not half-way through an upgrade."""
    reasons = []
    by_version = {}
    for node in nodes:
        by_version.setdefault(kubelet_version(node), []).append((node.get("metadata") or {}).get("name") or "?")
    versions = []
    for text in by_version:
        try:
            versions.append((parse_version(text, "kubelet version"), text))
        except PrecheckInputError:
            continue
    versions.sort()
    target = parse_version(target_version, "target Kubernetes version") if target_version else None
    if len(versions) > 1 and (target is None or versions[-1][0][:2] == target[:2]):
        reasons.append("nodes at %d kubelet versions (%s)" % (len(versions), "; ".join(
            "%s: %s" % (text, ", ".join(sorted(by_version[text]))) for dummy, text in versions)))
    needing = [row.get("name") for row in rolling_plan or []
               if (row.get("status") or "Ready") != "Ready" or (row.get("needupdate") or 0) > 0]
    if needing:
        reasons.append("instance groups needing update: %s" % ", ".join(str(name) for name in needing))
    return {"in_progress": bool(reasons), "reasons": reasons}


def kops_validation_findings(failures, in_progress=None):
    """`kops validate cluster` failures (as kops_validate returns them): the rolling update validates the cluster
    before and between instance groups, so each one stops it. While an upgrade is in progress (``in_progress``,
    see upgrade_in_progress), the failures an interrupted rolling update explains are warnings instead: running the
    upgrade again is what finishes it."""
    findings = []
    resuming = bool(in_progress and in_progress.get("in_progress"))
    if resuming:
        findings.append(finding(
            "upgrade_in_progress", "warning",
            "an upgrade is in progress: %s" % "; ".join(in_progress["reasons"]), [],
            "Run the upgrade playbook again to finish it (its kops upgrade finds nothing more to change; the update "
            "and the rolling update carry on), or only its last phases: --tags rolling_update,validate."))
    for failure in failures or []:
        kind = failure.get("type") or "Object"
        if resuming and (failure.get("kind") or "") in _ROLL_EXPLAINED:
            findings.append(finding(
                "kops_validation_upgrade_in_progress", "warning",
                "kops validate cluster: %s (expected until the upgrade in progress has rolled every group)" % (
                    failure.get("message") or kind),
                [{"kind": kind, "name": failure.get("name") or ""}],
                "Finish the upgrade (run it again); if this stays after the rolling update, look at it."))
            continue
        findings.append(finding(
            "kops_validation_failure", "error",
            "kops validate cluster: %s" % (failure.get("message") or kind),
            [{"kind": kind, "name": failure.get("name") or ""}],
            "Make the cluster validate before upgrading (a stuck rollout: clusterops.kops_upgrade.remediate)."))
    return findings


def check_tools(tools):
    """``tool_missing`` (error) for each command-line tool the upgrade needs that did not run: ``tools`` is a list
    of ``{name, path, result}``, ``result`` what running it returned (an Ansible task result: ``rc``, ``stderr``,
    ``msg``). A skipped result (the tool was not probed) says nothing."""
    findings = []
    for index, tool in enumerate(tools or []):
        if not isinstance(tool, dict) or not tool.get("name") or not isinstance(tool.get("result"), dict):
            raise PrecheckInputError("tools[%d] needs name and result (what running the tool returned)" % index)
        result = tool["result"]
        if result.get("skipped") or result.get("rc") == 0:
            continue
        path = tool.get("path") or tool["name"]
        why = (result.get("msg") or result.get("stderr") or "exit code %s" % result.get("rc", "unknown")).strip()
        findings.append(finding(
            "tool_missing", "error", "%s not found or not working: %s %s" % (tool["name"], path, why[:300]),
            [{"kind": "Executable", "name": path}],
            "Install %s on the machine that runs the upgrade, or give its path." % tool["name"]))
    return findings


def kops_validation_outcome(result):
    """What a ``kops_validate`` result (as registered; None or skipped when not run) says, the one reading of it
    for the precheck and the validate role: ``not_run``; ``no_report`` (kops ran but gave no verdict: the state
    store, the credentials or the cluster name were wrong); ``valid`` (valid, no failure); ``invalid``."""
    if not result or result.get("skipped"):
        return "not_run"
    if "valid" not in result:
        return "no_report"
    return "valid" if result.get("valid") is True and not result.get("failures") else "invalid"


def check_kops_validation_ran(result):
    """``kops_validate_error`` (error) when `kops validate cluster` ran (``result``: what kops_validate returned)
    but did not report a verdict (kops_validation_outcome ``no_report``). Not run says nothing; the verdict itself
    is the validate role's to judge."""
    if kops_validation_outcome(result) != "no_report":
        return []
    return [finding("kops_validate_error", "error",
                    "kops validate cluster did not report: %s" % (result.get("msg") or "").strip(), [],
                    "Check the cluster name, the state store and the AWS credentials kops uses.")]


def external_findings(items):
    """Findings from elsewhere (``extra_findings``), checked like our own."""
    result = []
    for index, item in enumerate(items or []):
        if not isinstance(item, dict) or not item.get("code") or not item.get("message"):
            raise PrecheckInputError("extra_findings[%d] needs at least code and message" % index)
        severity = item.get("severity", "error")
        if severity not in SEVERITIES:
            raise PrecheckInputError("extra_findings[%d].severity must be one of %s, got %r" % (
                index, ", ".join(SEVERITIES), severity))
        result.append(finding(item["code"], severity, item["message"], item.get("objects") or [],
                              item.get("remedy") or ""))
    return result


def cluster_facts(server_version, nodes):
    kubelets = {}
    for node in nodes:
        kubelets.setdefault(kubelet_version(node) or "unknown", []).append(node["metadata"]["name"])
    return {
        "server_version": server_version,
        "nodes": len(nodes),
        "control_plane_nodes": len(control_plane_names(nodes)),
        "kubelet_versions": {version: sorted(names) for version, names in sorted(kubelets.items())},
    }


_ORDER = {"error": 0, "warning": 1, "info": 2}


def verdict(findings):
    """Sort the findings (errors first) and sum them up: ``fail`` when any error, ``warn`` when any warning,
    else ``pass``."""
    ordered = sorted(findings, key=lambda f: (_ORDER[f["severity"]], f["code"], f["message"]))
    errors = [f for f in ordered if f["severity"] == "error"]
    warnings = [f for f in ordered if f["severity"] == "warning"]
    return {
        "verdict": "fail" if errors else ("warn" if warnings else "pass"),
        "findings": ordered,
        "error_messages": ["%s: %s" % (f["code"], f["message"]) for f in errors],
        "warning_messages": ["%s: %s" % (f["code"], f["message"]) for f in warnings],
        "counts": {s: sum(1 for f in ordered if f["severity"] == s) for s in SEVERITIES},
        "codes": sorted({f["code"] for f in ordered}),
    }
