# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a pod could go, and which pods would have to go first: kube-scheduler's filters re-evaluated per node.

The scheduler says *that* a pod does not fit and, per reason, on how many nodes. To prove that removing some old
pods of a Deployment lets the new pod schedule, this module re-runs the scheduler's filters (kube-scheduler 1.34,
default profile, in its order) for one pending pod on every node, with the cluster's non-terminal pods, and again
with a set of pods left out:

  NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit, volumes,
  PodTopologySpread, InterPodAffinity.

Filters that no pod removal can satisfy (cordon, node name, taints, node affinity/selector, pod affinity, spread
on a node without the topology label) are marked ``removable: False``. Whatever this model cannot evaluate
(volumes other than configMap/secret/emptyDir/projected/downwardAPI/hostPath, resource claims, namespace
selectors in affinity terms) is marked ``modelled: False``: a proof never rests on it.

All inputs are API objects as plain dicts; pods are the cluster's non-terminal pods (the scheduler's own pod
informer lists ``status.phase!=Succeeded,status.phase!=Failed``).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.scheduling import (  # noqa: F401 (re-exported)
    host_port_claims,
    node_admits_affinity,
    ports_conflict,
    selector_matches,
    tolerates,
    untolerated_taints,
)

FILTERS = ("NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts", "NodeResourcesFit",
           "Volumes", "PodTopologySpread", "InterPodAffinity")

# The scheduler's own reason strings (kube-scheduler 1.34); resources add "Insufficient <name>" / "Too many pods".
REASON_UNSCHEDULABLE = "node(s) were unschedulable"
REASON_NODE_NAME = "node(s) didn't match the requested node name"
REASON_TAINTS = "node(s) had untolerated taint(s)"
REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
REASON_PORTS = "node(s) didn't have free ports for the requested pod ports"
REASON_SPREAD = "node(s) didn't match pod topology spread constraints"
REASON_SPREAD_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"
REASON_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
REASON_VOLUMES = "volumes this model does not evaluate"
# Nodes a PreFilter result left out (NodeAffinity's required matchFields on metadata.name, as DaemonSet pods have).
REASON_PREFILTER_NODE_AFFINITY = "node(s) didn't satisfy plugin(s) [NodeAffinity]"

# Volume sources that no scheduler filter looks at.
_NEUTRAL_VOLUMES = ("configMap", "secret", "emptyDir", "projected", "downwardAPI", "hostPath")

_DECIMAL = {"n": Fraction(1, 10 ** 9), "u": Fraction(1, 10 ** 6), "m": Fraction(1, 1000), "": Fraction(1),
            "k": Fraction(10 ** 3), "M": Fraction(10 ** 6), "G": Fraction(10 ** 9), "T": Fraction(10 ** 12),
            "P": Fraction(10 ** 15), "E": Fraction(10 ** 18)}
_BINARY = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}


class QuantityError(ValueError):
    """A resource quantity that is not in Kubernetes' quantity syntax."""


def parse_quantity(value):
    """A Kubernetes quantity (``"100m"``, ``"1.5"``, ``"128Mi"``, ``"1e3"``, ``2``) as an exact Fraction."""
    if isinstance(value, bool):
        raise QuantityError("not a quantity: %r" % (value,))
    if isinstance(value, (int, float)):
        return Fraction(value)
    text = str(value).strip()
    if not text:
        raise QuantityError("empty quantity")
    for suffix, factor in _BINARY.items():
        if text.endswith(suffix):
            return _number(text[:-2], text) * factor
    lowered = text.lower()
    if "e" in lowered and not text.endswith("E"):
        mantissa, _sep, exponent = lowered.partition("e")
        try:
            return _number(mantissa, text) * Fraction(10) ** int(exponent)
        except ValueError:
            raise QuantityError("not a quantity: %r" % text)
    suffix = text[-1] if text[-1] in _DECIMAL and not text[-1].isdigit() else ""
    return _number(text[:-1] if suffix else text, text) * _DECIMAL[suffix]


def _number(text, original):
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise QuantityError("not a quantity: %r" % original)


def _scaled(name, quantity):
    """The integer the scheduler compares: milli-units for CPU, whole units (rounded up) for the rest."""
    factor = 1000 if name == "cpu" else 1
    exact = quantity * factor
    return -((-exact.numerator) // exact.denominator)


def _add(total, requests):
    for name, amount in requests.items():
        total[name] = total.get(name, 0) + amount
    return total


def _max(*resource_lists):
    """Per resource, the largest of several requests (kube-scheduler's max of spec and status resources)."""
    merged = {}
    for requests in resource_lists:
        for name, amount in requests.items():
            merged[name] = max(merged.get(name, 0), amount)
    return merged


def _scaled_list(requests):
    return {name: _scaled(name, parse_quantity(value)) for name, value in (requests or {}).items()}


def _container_requests(container, container_status=None):
    """A container's requests; with its status, the larger of the spec and what the kubelet reports
    (status.resources.requests, allocatedResources): while an in-place resize is pending or in progress the
    scheduler (1.33+, resourcehelper.PodRequests with UseStatusResources) reserves the larger."""
    requests = _scaled_list(((container.get("resources") or {}).get("requests")) or {})
    if container_status:
        requests = _max(requests, _scaled_list((container_status.get("resources") or {}).get("requests")),
                        _scaled_list(container_status.get("allocatedResources")))
    return requests


def _statuses_by_name(pod_status, key):
    return dict((s.get("name"), s) for s in (pod_status or {}).get(key) or [] if s.get("name"))


def pod_requests(pod_spec, pod_status=None):
    """What the scheduler reserves for a pod (resourcehelper.PodRequests): the sum of its containers and
    restartable (sidecar) init containers, or the largest regular init container plus the sidecars started
    before it, whichever is more; pod-level requests replace the aggregate per resource; plus overhead.
    With ``pod_status`` (a placed pod), each container counts the larger of its spec and its reported resources
    (in-place resize), as does the pod level."""
    running = _statuses_by_name(pod_status, "containerStatuses")
    initial = _statuses_by_name(pod_status, "initContainerStatuses")
    total = {}
    for container in pod_spec.get("containers") or []:
        _add(total, _container_requests(container, running.get(container.get("name"))))
    sidecars, init_peak = {}, {}
    for container in pod_spec.get("initContainers") or []:
        requests = _container_requests(container, initial.get(container.get("name")))
        if container.get("restartPolicy") == "Always":
            _add(total, requests)
            _add(sidecars, requests)
            requests = dict(sidecars)
        else:
            requests = _add(dict(requests), sidecars)
        for name, amount in requests.items():
            init_peak[name] = max(init_peak.get(name, 0), amount)
    for name, amount in init_peak.items():
        total[name] = max(total.get(name, 0), amount)
    pod_level = _scaled_list(((pod_spec.get("resources") or {}).get("requests")) or {})
    if pod_level and pod_status:
        pod_level = _max(pod_level, _scaled_list(((pod_status.get("resources") or {}).get("requests")) or {}))
    total.update(pod_level)
    _add(total, _scaled_list(pod_spec.get("overhead") or {}))
    return {name: amount for name, amount in total.items() if amount}


def unmodelled_volumes(pod_spec):
    """Names of volumes (and resource claims) whose scheduling filters this model does not evaluate."""
    names = []
    for volume in pod_spec.get("volumes") or []:
        sources = [key for key in volume if key != "name"]
        if any(source not in _NEUTRAL_VOLUMES for source in sources):
            names.append(volume.get("name") or "?")
    names.extend("resourceClaim %s" % (claim.get("name") or "?") for claim in pod_spec.get("resourceClaims") or [])
    return names


def _meta(obj):
    return obj.get("metadata") or {}


def _labels(obj):
    return _meta(obj).get("labels") or {}


def _uid(pod):
    return _meta(pod).get("uid")


class Cluster(object):
    """The nodes and non-terminal pods of a cluster, indexed once for many filter evaluations. What does not
    depend on the pods taken away (per-node usage, per-pod requests, spread counts) is computed once and kept,
    so diagnosing many rollouts of one snapshot costs about the size of the snapshot, not its square."""

    def __init__(self, nodes, pods):
        self.nodes = sorted(nodes, key=lambda n: _meta(n).get("name") or "")
        self.node_by_name = dict((_meta(n).get("name"), n) for n in self.nodes)
        live = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        self.pods = [p for p in live if (p.get("spec") or {}).get("nodeName")]
        # Pods the scheduler has not bound yet: candidates for the room a removal frees, and, when nominated
        # (status.nominatedNodeName, set by preemption), already counted on their node by the scheduler.
        self.waiting = [p for p in live if not (p.get("spec") or {}).get("nodeName")
                        and not _meta(p).get("deletionTimestamp")]
        self._with_nominated = {}
        self.pods_by_node = {}
        for pod in self.pods:
            self.pods_by_node.setdefault(pod["spec"]["nodeName"], []).append(pod)
        self.anti_affinity_pods = [p for p in self.pods if _required_terms(p.get("spec") or {}, "podAntiAffinity")]
        self._by_label = {}
        for pod in self.pods:
            namespace = _meta(pod).get("namespace")
            for item in _labels(pod).items():
                self._by_label.setdefault((namespace,) + item, []).append(pod)
        self.pod_by_uid = dict((_uid(p), p) for p in self.pods if _uid(p))
        self._requests, self._usage, self._spread, self._ports = {}, {}, {}, {}

    def with_nominated(self, pod):
        """The cluster as the scheduler filters ``pod`` (addGENominatedPods), and those pods: every other pod
        nominated to a node with a priority equal to or above the pod's counts as already there. Returns
        ``(cluster, nominated pods)``; the cluster is self when there is no such pod."""
        priority = pod_priority(pod)
        if priority not in self._with_nominated:
            nominated = [p for p in self.waiting if (p.get("status") or {}).get("nominatedNodeName")
                         in self.node_by_name and pod_priority(p) >= priority]
            self._with_nominated[priority] = nominated
        nominated = [p for p in self._with_nominated[priority] if _uid(p) != _uid(pod)]
        if not nominated:
            return self, []
        placed = [dict(p, spec=dict(p.get("spec") or {}, nodeName=p["status"]["nominatedNodeName"]))
                  for p in nominated]
        found = Cluster(self.nodes, self.pods + placed)
        found.waiting = self.waiting
        return found, nominated

    def candidates(self, namespace, selector):
        """Pods that may match ``selector`` in ``namespace`` (None: any namespace): narrowed by one of its
        matchLabels through the label index when it has one; the caller still checks the whole selector."""
        match_labels = (selector or {}).get("matchLabels") or {}
        if namespace is not None and match_labels:
            best = None
            for item in match_labels.items():
                found = self._by_label.get((namespace,) + item, [])
                if best is None or len(found) < len(best):
                    best = found
            return best
        if namespace is not None:
            return [p for p in self.pods if _meta(p).get("namespace") == namespace]
        return self.pods

    def node_of(self, pod):
        return self.node_by_name.get((pod.get("spec") or {}).get("nodeName"))

    def requests_of(self, pod):
        key = _uid(pod) or id(pod)
        if key not in self._requests:
            spec = pod.get("spec") or {}
            self._requests[key] = pod_requests(spec, pod.get("status") if spec.get("nodeName") else None)
        return self._requests[key]

    def ports_of(self, pod):
        key = _uid(pod) or id(pod)
        if key not in self._ports:
            self._ports[key] = host_port_claims(pod.get("spec") or {})
        return self._ports[key]

    def usage(self, node_name, excluded=frozenset()):
        """(pod count, summed requests, host port claims) of the node's pods, without the excluded ones; the
        node's totals are computed once, the excluded pods subtracted (cost: the excluded pods, not the node)."""
        base = self._usage.get(node_name)
        if base is None:
            on_node = self.pods_by_node.get(node_name, [])
            requests, ports = {}, {}
            for pod in on_node:
                _add(requests, self.requests_of(pod))
                for claim in self.ports_of(pod):
                    ports[claim] = ports.get(claim, 0) + 1
            base = self._usage[node_name] = (len(on_node), requests, ports)
        gone = [self.pod_by_uid[uid] for uid in excluded if uid in self.pod_by_uid
                and (self.pod_by_uid[uid].get("spec") or {}).get("nodeName") == node_name]
        count, requests, ports = base
        if gone:
            requests, ports = dict(requests), dict(ports)
            for pod in gone:
                for name, amount in self.requests_of(pod).items():
                    requests[name] = requests.get(name, 0) - amount
                for claim in self.ports_of(pod):
                    ports[claim] -= 1
        return count - len(gone), requests, [claim for claim, n in ports.items() if n > 0]

    def spread_counts(self, pod, index, constraint, selector, keys, excluded):
        """Matching pods per topology value for one hard spread constraint of ``pod`` (memoized)."""
        cache_key = (_uid(pod) or id(pod), index, excluded)
        if cache_key not in self._spread:
            self._spread[cache_key] = _count_spread(pod, constraint, selector, keys, self, excluded)
        return self._spread[cache_key]


def pod_priority(pod):
    """spec.priority as admission sets it from the priority class (absent: 0)."""
    try:
        return int((pod.get("spec") or {}).get("priority") or 0)
    except (TypeError, ValueError):
        return 0


def unmodelled_pod_fields(pod_spec):
    """What about the pod itself makes the model unable to speak for the scheduler: scheduling gates (the pod is
    not even tried), another scheduler, unmodelled volumes and resource claims."""
    reasons = []
    gates = [g.get("name") or "?" for g in pod_spec.get("schedulingGates") or []]
    if gates:
        reasons.append("scheduling gates %s hold the pod back" % ", ".join(gates))
    scheduler = pod_spec.get("schedulerName") or "default-scheduler"
    if scheduler != "default-scheduler":
        reasons.append("the pod asks for scheduler %s, not default-scheduler" % scheduler)
    return reasons


def _required_terms(pod_spec, kind):
    return (((pod_spec.get("affinity") or {}).get(kind) or {})
            .get("requiredDuringSchedulingIgnoredDuringExecution")) or []


def _term_selector(term, owner):
    """A term's labelSelector with matchLabelKeys/mismatchLabelKeys resolved against the owner pod's labels."""
    if term.get("labelSelector") is None:
        return None
    selector = dict(term["labelSelector"])
    expressions = list(selector.get("matchExpressions") or [])
    labels = _labels(owner)
    for key in term.get("matchLabelKeys") or []:
        if key in labels:
            expressions.append({"key": key, "operator": "In", "values": [labels[key]]})
    for key in term.get("mismatchLabelKeys") or []:
        if key in labels:
            expressions.append({"key": key, "operator": "NotIn", "values": [labels[key]]})
    selector["matchExpressions"] = expressions
    return selector


def _term_namespaces(term, owner):
    """The namespaces a term looks at: a set, ``"all"``, or None when it needs namespace labels (not modelled)."""
    namespace_selector = term.get("namespaceSelector")
    namespaces = set(term.get("namespaces") or [])
    if namespace_selector is not None:
        if namespace_selector.get("matchLabels") or namespace_selector.get("matchExpressions"):
            return None
        return "all"
    return namespaces or {_meta(owner).get("namespace")}


def _term_matches(term, owner, target):
    """Does ``target`` fall under ``owner``'s affinity term (selector and namespaces)? None when not modelled."""
    namespaces = _term_namespaces(term, owner)
    if namespaces is None:
        return None
    if namespaces != "all" and _meta(target).get("namespace") not in namespaces:
        return False
    selector = _term_selector(term, owner)
    return selector is not None and selector_matches(selector, _labels(target))


def _same_domain(node_a, node_b, key):
    if node_a is None or node_b is None:
        return False
    labels_a, labels_b = _labels(node_a), _labels(node_b)
    return key in labels_a and key in labels_b and labels_a[key] == labels_b[key]


def _failure(name, reasons, removable, modelled=True):
    return {"filter": name, "reasons": list(reasons), "removable": removable, "modelled": modelled}


def evaluate_node(pod, node, cluster, excluded=frozenset()):
    """Every filter the pod fails on the node, in the scheduler's order, with the pods in ``excluded`` (UIDs)
    taken away. Each failure: ``{filter, reasons, removable, modelled}``. An empty list means the pod fits."""
    spec = pod.get("spec") or {}
    name = _meta(node).get("name")
    node_spec = node.get("spec") or {}
    failures = []
    named = prefilter_node_names(spec)
    if named is not None and name not in named:
        failures.append(_failure("NodeAffinity", [REASON_PREFILTER_NODE_AFFINITY], False))
    if node_spec.get("unschedulable") and not tolerates(
            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}, spec.get("tolerations") or []):
        failures.append(_failure("NodeUnschedulable", [REASON_UNSCHEDULABLE], False))
    if spec.get("nodeName") and spec.get("nodeName") != name:
        failures.append(_failure("NodeName", [REASON_NODE_NAME], False))
    if untolerated_taints(node, spec):
        failures.append(_failure("TaintToleration", [REASON_TAINTS], False))
    if not node_admits_affinity(node, spec):
        failures.append(_failure("NodeAffinity", [REASON_NODE_AFFINITY], False))
    pod_count, used, used_ports = cluster.usage(name, excluded)
    if any(ports_conflict(claim, used_ports) for claim in host_port_claims(spec)):
        failures.append(_failure("NodePorts", [REASON_PORTS], True))
    resources = _resource_failures(cluster.requests_of(pod), node, pod_count, used)
    if resources:
        failures.append(_failure("NodeResourcesFit", resources, True))
    volumes = unmodelled_volumes(spec)
    if volumes:
        failures.append(_failure("Volumes", ["%s: %s" % (REASON_VOLUMES, ", ".join(volumes))], False, False))
    spread = _spread_failure(pod, node, cluster, excluded)
    if spread:
        failures.append(spread)
    affinity = _affinity_failure(pod, node, cluster, excluded)
    if affinity:
        failures.append(affinity)
    return failures


def prefilter_node_names(pod_spec):
    """NodeAffinity's PreFilter: when every required node selector term names nodes (matchFields metadata.name In),
    only those nodes are filtered at all; the others are reported as not satisfying the plugin. None: all nodes."""
    terms = ((((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms")) or []
    if not terms:
        return None
    names = set()
    for term in terms:
        term_names = None
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("operator") == "In":
                values = set(field.get("values") or [])
                term_names = values if term_names is None else term_names & values
        if term_names is None:
            return None
        names |= term_names
    return names


def _resource_failures(wanted, node, pod_count, used):
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    reasons = []
    allowed_pods = _scaled("pods", parse_quantity(allocatable.get("pods", 0)))
    if pod_count + 1 > allowed_pods:
        reasons.append("Too many pods")
    if not wanted:
        return reasons
    for resource in ("cpu", "memory", "ephemeral-storage"):
        # fitsRequest's guard: a resource the pod does not request is never insufficient, however full the node.
        if wanted.get(resource, 0) > 0 and wanted[resource] > _scaled(
                resource, parse_quantity(allocatable.get(resource, 0))) - used.get(resource, 0):
            reasons.append("Insufficient %s" % resource)
    for resource in sorted(wanted):
        if resource in ("cpu", "memory", "ephemeral-storage", "pods"):
            continue
        if resource.startswith("hugepages-") or "/" in resource:
            capacity = _scaled(resource, parse_quantity(allocatable.get(resource, 0)))
            if wanted[resource] > 0 and wanted[resource] > capacity - used.get(resource, 0):
                reasons.append("Insufficient %s" % resource)
    return reasons


def _hard_spread_constraints(pod):
    return [c for c in (pod.get("spec") or {}).get("topologySpreadConstraints") or []
            if (c.get("whenUnsatisfiable") or "DoNotSchedule") == "DoNotSchedule"]


def _spread_failure(pod, node, cluster, excluded):
    constraints = _hard_spread_constraints(pod)
    if not constraints:
        return None
    labels = _labels(node)
    keys = [c.get("topologyKey") for c in constraints]
    if any(key not in labels for key in keys):
        return _failure("PodTopologySpread", [REASON_SPREAD_LABEL], False)
    for index, constraint in enumerate(constraints):
        selector = _term_selector(constraint, pod)
        if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
            continue  # an empty selector matches nothing in the spread plugin
        key = constraint["topologyKey"]
        counts = cluster.spread_counts(pod, index, constraint, selector, keys, excluded)
        if not counts:
            continue
        minimum = min(counts.values())
        if len(counts) < int(constraint.get("minDomains") or 1):
            minimum = 0
        self_match = 1 if selector_matches(selector, _labels(pod)) else 0
        skew = counts.get(labels[key], 0) + self_match - minimum
        if skew > int(constraint.get("maxSkew") or 1):
            return _failure("PodTopologySpread", [REASON_SPREAD], True)
    return None


def _count_spread(pod, constraint, selector, keys, cluster, excluded):
    """PodTopologySpread's PreFilter counts: per topology value of the nodes that qualify (all constraint keys
    present; node affinity honoured and taints ignored unless the constraint says otherwise), the pods of the
    pod's namespace that match, terminating ones left out."""
    spec = pod.get("spec") or {}
    key = constraint["topologyKey"]
    qualifying = {}
    for candidate in cluster.nodes:
        candidate_labels = _labels(candidate)
        if any(k not in candidate_labels for k in keys):
            continue
        if (constraint.get("nodeAffinityPolicy") or "Honor") == "Honor" and not node_admits_affinity(candidate, spec):
            continue
        if (constraint.get("nodeTaintsPolicy") or "Ignore") == "Honor" and untolerated_taints(candidate, spec):
            continue
        qualifying[_meta(candidate).get("name")] = candidate_labels[key]
    counts = dict((value, 0) for value in qualifying.values())
    for other in cluster.candidates(_meta(pod).get("namespace"), selector):
        node_name = (other.get("spec") or {}).get("nodeName")
        if node_name not in qualifying or _uid(other) in excluded or _meta(other).get("deletionTimestamp"):
            continue
        if selector_matches(selector, _labels(other)):
            counts[qualifying[node_name]] += 1
    return counts


def _affinity_failure(pod, node, cluster, excluded):
    spec = pod.get("spec") or {}
    affinity_terms = _required_terms(spec, "podAffinity")
    anti_terms = _required_terms(spec, "podAntiAffinity")

    def live(term):
        namespaces = _term_namespaces(term, pod)
        namespace = next(iter(namespaces)) if isinstance(namespaces, set) and len(namespaces) == 1 else None
        return [p for p in cluster.candidates(namespace, _term_selector(term, pod)) if _uid(p) not in excluded]
    if affinity_terms:
        unmodelled = any(_term_namespaces(t, pod) is None for t in affinity_terms)
        if unmodelled:
            return _failure("InterPodAffinity", ["pod affinity with a namespace selector (not modelled)"], False,
                            False)
        if not _pod_affinity_satisfied(pod, node, cluster, affinity_terms, live(affinity_terms[0])):
            return _failure("InterPodAffinity", [REASON_AFFINITY], False)
    for term in anti_terms:
        key = term.get("topologyKey")
        if key not in _labels(node):
            continue
        for other in live(term):
            match = _term_matches(term, pod, other)
            if match is None:
                return _failure("InterPodAffinity", ["pod anti-affinity with a namespace selector (not modelled)"],
                                False, False)
            if match and _same_domain(cluster.node_of(other), node, key):
                return _failure("InterPodAffinity", [REASON_ANTI_AFFINITY], True)
    for other in cluster.anti_affinity_pods:
        if _uid(other) in excluded:
            continue
        for term in _required_terms(other.get("spec") or {}, "podAntiAffinity"):
            match = _term_matches(term, other, pod)
            if match is None:
                return _failure("InterPodAffinity",
                                ["an existing pod's anti-affinity with a namespace selector (not modelled)"],
                                False, False)
            if match and _same_domain(cluster.node_of(other), node, term.get("topologyKey")):
                return _failure("InterPodAffinity", [REASON_EXISTING_ANTI_AFFINITY], True)
    return None


def _pod_affinity_satisfied(pod, node, cluster, terms, candidates):
    """InterPodAffinity's required pod affinity (satisfyPodAffinity): only existing pods that match ALL the
    terms count, each in the topology domains of every term (updateWithAffinityTerms); the node passes when,
    for every term, such a pod sits in the node's domain of that term's key. The first pod of a group passes
    when no pod matching all terms exists in any such domain and the pod matches all its terms itself."""
    matching = [other for other in candidates
                if all(_term_matches(term, pod, other) for term in terms)]
    counted = set()
    for other in matching:
        other_node = cluster.node_of(other)
        other_labels = _labels(other_node) if other_node is not None else {}
        for term in terms:
            key = term.get("topologyKey")
            if key in other_labels:
                counted.add((key, other_labels[key]))
    node_labels = _labels(node)
    if all(term.get("topologyKey") in node_labels
           and (term.get("topologyKey"), node_labels[term.get("topologyKey")]) in counted for term in terms):
        return True
    return not counted and all(_term_matches(term, pod, pod) for term in terms)


def scheduler_view(pod, cluster):
    """What the scheduler would report for the pod: per node its first failing filter, and the reason counts
    (``{reason: nodes}``) as the scheduler's "0/N nodes are available: ..." message gives them."""
    per_node, counts = {}, {}
    for node in cluster.nodes:
        failures = evaluate_node(pod, node, cluster)
        first = failures[0] if failures else None
        per_node[_meta(node).get("name")] = {"failures": failures, "first": first}
        for reason in (first or {}).get("reasons", []):
            counts[reason] = counts.get(reason, 0) + 1
    return per_node, counts


def normalize_reason(reason):
    """Scheduler reasons as comparable keys: older taint wording and the ``node(s)`` prefix folded."""
    text = " ".join((reason or "").split())
    if text.startswith("node(s) had untolerated taint") or text.startswith("node(s) had taint"):
        return REASON_TAINTS
    if text.startswith("node(s) didn't match node selector"):
        return REASON_NODE_AFFINITY
    return text


def compare_with_scheduler(model_counts, parsed_message, total_nodes):
    """Does the model's reason histogram equal the scheduler's message? Returns (agrees, explanation)."""
    if parsed_message.get("total") is None or not parsed_message.get("blockers"):
        return False, "the scheduler's message could not be read as per-node reasons"
    scheduler_counts = {}
    for blocker in parsed_message["blockers"]:
        if blocker.get("nodes") is None:
            return False, "the scheduler gave a reason without a node count: %s" % blocker.get("reason")
        key = normalize_reason(blocker["reason"])
        scheduler_counts[key] = scheduler_counts.get(key, 0) + blocker["nodes"]
    model = dict((normalize_reason(k), v) for k, v in model_counts.items())
    if parsed_message["total"] != total_nodes:
        return False, "the scheduler looked at %d node(s), the cluster now has %d" % (
            parsed_message["total"], total_nodes)
    if scheduler_counts != model:
        return False, "the scheduler reported %s; the model finds %s" % (
            _histogram(scheduler_counts), _histogram(model))
    return True, "the model reproduces the scheduler's reasons: %s" % _histogram(model)


def _histogram(counts):
    return ", ".join("%d %s" % (n, reason) for reason, n in sorted(counts.items())) or "no failing node"


def smallest_freeing_set(pod, node, cluster, candidates, exhaustive_limit=8):
    """The fewest of ``candidates`` (pods) whose removal makes the pod fit on the node, or None when even all of
    them are not enough. Up to ``exhaustive_limit`` candidates every subset is tried, smallest first (ties go to
    the earlier candidates, so order them by preference); beyond that, all of them and then each one put back
    while the pod still fits (a set no pod can be put back into)."""
    uids = [_uid(p) for p in candidates]
    if evaluate_node(pod, node, cluster, frozenset(uids)):
        return None
    if len(candidates) <= exhaustive_limit:
        for size in range(0, len(candidates) + 1):
            for combo in itertools.combinations(range(len(candidates)), size):
                if not evaluate_node(pod, node, cluster, frozenset(uids[i] for i in combo)):
                    return [candidates[i] for i in combo]
    chosen = list(range(len(candidates)))
    for index in reversed(range(len(candidates))):
        trial = [i for i in chosen if i != index]
        if not evaluate_node(pod, node, cluster, frozenset(uids[i] for i in trial)):
            chosen = trial
    return [candidates[i] for i in chosen]


def relevant_domain_keys(pod):
    """Topology keys along which pods on other nodes can block this pod (anti-affinity and hard spread)."""
    spec = pod.get("spec") or {}
    keys = set(t.get("topologyKey") for t in _required_terms(spec, "podAntiAffinity"))
    keys.update(c.get("topologyKey") for c in _hard_spread_constraints(pod))
    keys.discard(None)
    return keys
