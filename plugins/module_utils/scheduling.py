# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions about where a Deployment's pods can go: the scheduler's verdict read back into data,
the nodes a pod template admits, Kubernetes' rolling-update arithmetic, and the deadlock prediction.

Every function takes API objects as plain dicts, exactly as the API serves them (camelCase keys).
"""

from __future__ import annotations

import json
import math
import re

HOSTNAME_KEY = "kubernetes.io/hostname"

# Scheduler filter messages (kube-scheduler plugins, 1.25+ wording, and older wording where it differed),
# matched against one "N node(s) <reason>" item of a FailedScheduling / PodScheduled message.
# Order matters: the first pattern that matches names the kind.
_BLOCKER_PATTERNS = (
    ("host_ports", re.compile(r"free ports", re.I)),
    ("pod_anti_affinity", re.compile(r"existing pods anti-affinity|pod anti-affinity|anti-affinity rules", re.I)),
    ("pod_affinity", re.compile(r"pod affinity rules", re.I)),
    ("topology_spread_label", re.compile(r"topology spread constraints \(missing required label\)", re.I)),
    ("topology_spread", re.compile(r"topology spread", re.I)),
    ("node_affinity", re.compile(r"node affinity/selector|node selector|satisfy plugin\(s\) \[NodeAffinity\]", re.I)),
    ("taints", re.compile(r"taint", re.I)),
    ("resources", re.compile(r"^insufficient |^too many pods", re.I)),
    ("unschedulable_node", re.compile(r"were unschedulable", re.I)),
    ("node_name", re.compile(r"requested node name", re.I)),
    ("volumes", re.compile(r"volume|persistent|disk|pvc", re.I)),
)
# Blocker kinds that removing pods can ever resolve; every other kind (and anything unparsed) never makes a
# rollout stuck.
REMOVABLE_KINDS = ("host_ports", "pod_anti_affinity", "topology_spread", "resources")
_ITEM = re.compile(r"^\s*(\d+)\s+(.*?)\s*$")
_SUMMARY = re.compile(r"(\d+)/(\d+) nodes are available", re.I)


def parse_scheduler_message(message):
    """Split a scheduler message into blockers.

    ``0/3 nodes are available: 1 node(s) didn't have free ports for the requested pod ports,
    2 node(s) didn't match Pod's node affinity/selector. preemption: ...`` becomes
    ``{"available": 0, "total": 3, "blockers": [{"kind": "host_ports", "nodes": 1, "reason": ...}, ...]}``.
    The preemption part is left out: it says what preemption could do, not why the pod does not fit.
    """
    result = {"available": None, "total": None, "blockers": []}
    if not message:
        return result
    head = re.split(r"\.?\s*preemption:", message, maxsplit=1, flags=re.I)[0]
    # The item list is the first sentence; later ones (e.g. 1.34's "no new claims to deallocate") are not blockers.
    head = head.split(". ", 1)[0]
    summary = _SUMMARY.search(head)
    if summary:
        result["available"] = int(summary.group(1))
        result["total"] = int(summary.group(2))
        head = head[summary.end():].lstrip(": ")
    head = head.rstrip(". ")
    for item in _split_items(head):
        match = _ITEM.match(item)
        nodes, reason = (int(match.group(1)), match.group(2)) if match else (None, item.strip())
        if not reason:
            continue
        kind = classify_reason(reason)
        result["blockers"].append({"kind": kind, "nodes": nodes, "reason": reason,
                                   "removable": kind in REMOVABLE_KINDS})
    return result


def _split_items(text):
    """Split on commas that are not inside braces (taint items look like ``{key: value}``)."""
    items, depth, current = [], 0, []
    for char in text:
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item for item in (i.strip() for i in items) if item]


def classify_reason(reason):
    """Name the kind of a scheduler reason: host_ports, pod_anti_affinity, pod_affinity, topology_spread,
    topology_spread_label, node_affinity, taints, resources, unschedulable_node, node_name, volumes or other."""
    text = re.sub(r"^\d+\s+", "", reason.strip())
    text = re.sub(r"^node\(s\)\s+", "", text, flags=re.I)
    for kind, pattern in _BLOCKER_PATTERNS:
        if pattern.search(text):
            return kind
    return "other"


# ---------------------------------------------------------------------------------------------------------
# Rolling-update arithmetic (k8s.io/kubernetes/pkg/controller/deployment/util.ResolveFenceposts)


def scaled_value(value, total, round_up):
    """intstr.GetScaledValueFromIntOrPercent: an int stays, ``"25%"`` scales to ``total`` and rounds."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("invalid int-or-percent value: %r" % value)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        percent = int(text[:-1])
        exact = percent * total / 100.0
        return int(math.ceil(exact)) if round_up else int(math.floor(exact))
    return int(text)


def rollout_budget(deployment):
    """Resolve a Deployment's strategy into ``{type, max_surge, max_unavailable, replicas}``.

    Kubernetes' own rules (deploymentutil.ResolveFenceposts, MaxUnavailable): defaults 25%/25%; surge rounds up,
    unavailable rounds down; when both resolve to 0, unavailable becomes 1; unavailable is then clamped to the
    replica count (0 replicas: 0). Recreate has no surge: every old pod goes before a new one is made.
    """
    spec = deployment.get("spec") or {}
    replicas = spec.get("replicas")
    replicas = 1 if replicas is None else int(replicas)
    strategy = spec.get("strategy") or {}
    kind = strategy.get("type") or "RollingUpdate"
    if kind == "Recreate":
        return {"type": kind, "max_surge": 0, "max_unavailable": replicas, "replicas": replicas}
    rolling = strategy.get("rollingUpdate") or {}
    surge = scaled_value(rolling.get("maxSurge", "25%"), replicas, round_up=True)
    unavailable = scaled_value(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    unavailable = max(0, min(unavailable, replicas))
    return {"type": kind, "max_surge": surge, "max_unavailable": unavailable, "replicas": replicas}


def daemonset_budget(daemonset, desired=None):
    """A DaemonSet's update strategy as its controller resolves it (daemon/util SurgeCount, UnavailableCount and
    updatedDesiredNodeCounts): API defaults maxUnavailable 1 and maxSurge 0; both scaled against the number of
    nodes that should run the pod (``desired``; default status.desiredNumberScheduled), both rounding up; when
    both resolve to 0, maxUnavailable becomes 1. OnDelete (or any other type) replaces nothing by itself.
    Returns ``{type, max_surge, max_unavailable, desired}``. The one DaemonSet budget of the collection."""
    spec, status = daemonset.get("spec") or {}, daemonset.get("status") or {}
    strategy = spec.get("updateStrategy") or {}
    kind = strategy.get("type") or "RollingUpdate"
    if desired is None:
        desired = status.get("desiredNumberScheduled") or 0
    if kind != "RollingUpdate":
        return {"type": kind, "max_surge": 0, "max_unavailable": 0, "desired": desired}
    rolling = strategy.get("rollingUpdate") or {}
    surge = rolling.get("maxSurge")
    unavailable = rolling.get("maxUnavailable")
    surge = scaled_value(0 if surge is None else surge, desired, round_up=True)
    unavailable = scaled_value(1 if unavailable is None else unavailable, desired, round_up=True)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return {"type": kind, "max_surge": surge, "max_unavailable": unavailable, "desired": desired}


# ---------------------------------------------------------------------------------------------------------
# Which nodes admit a pod template


def label_requirement_matches(labels, requirement):
    key, operator = requirement.get("key"), requirement.get("operator")
    values = requirement.get("values") or []
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt"):
        try:
            have, want = int(labels[key]), int(values[0])
        except (KeyError, IndexError, ValueError):
            return False
        return have > want if operator == "Gt" else have < want
    return False


def _field_requirement_matches(node, requirement):
    if requirement.get("key") != "metadata.name":
        return False
    return label_requirement_matches({"metadata.name": node["metadata"]["name"]}, requirement)


def node_admits_affinity(node, pod_spec):
    """nodeSelector and requiredDuringSchedulingIgnoredDuringExecution node affinity."""
    labels = node.get("metadata", {}).get("labels") or {}
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    for term in terms:
        expressions = term.get("matchExpressions") or []
        fields = term.get("matchFields") or []
        if not expressions and not fields:
            continue
        if all(label_requirement_matches(labels, r) for r in expressions) and all(
            _field_requirement_matches(node, r) for r in fields
        ):
            return True
    return False


def tolerates(taint, tolerations):
    for toleration in tolerations:
        effect = toleration.get("effect")
        if effect and effect != taint.get("effect"):
            continue
        key = toleration.get("key")
        operator = toleration.get("operator") or "Equal"
        if not key:
            if operator == "Exists":
                return True
            continue
        if key != taint.get("key"):
            continue
        if operator == "Exists" or (toleration.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def untolerated_taints(node, pod_spec):
    """The NoSchedule/NoExecute taints of a node that the pod template does not tolerate."""
    tolerations = pod_spec.get("tolerations") or []
    taints = (node.get("spec") or {}).get("taints") or []
    return [
        t for t in taints if t.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(t, tolerations)
    ]


def is_ready(obj):
    """Whether the Ready condition of a node or a pod is True."""
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def pod_is_active(pod):
    """What controllers count as an active pod: not terminating, not Succeeded/Failed."""
    return not (pod.get("metadata") or {}).get("deletionTimestamp") and (pod.get("status") or {}).get(
        "phase") not in ("Succeeded", "Failed")


def eligible_nodes(nodes, pod_spec, cache=None):
    """Names of the nodes a pod of this template may be placed on, before looking at other pods: schedulable,
    matching node selector and required node affinity, every blocking taint tolerated.

    ``cache``: a dict the caller keeps for one ``nodes`` list; templates that select nodes alike (the same node
    selector, node affinity and tolerations: all this reads of the template) are then evaluated once."""
    key = None
    if cache is not None:
        try:
            key = json.dumps([pod_spec.get("nodeSelector"), (pod_spec.get("affinity") or {}).get("nodeAffinity"),
                              pod_spec.get("tolerations")], sort_keys=True)
        except (TypeError, ValueError):
            key = None  # not JSON data: evaluated without the cache
        if key in cache:
            return list(cache[key])
    names = []
    for node in nodes:
        if (node.get("spec") or {}).get("unschedulable"):
            continue
        if not node_admits_affinity(node, pod_spec):
            continue
        if untolerated_taints(node, pod_spec):
            continue
        names.append(node["metadata"]["name"])
    names.sort()
    if key is not None:
        cache[key] = list(names)
    return names


# ---------------------------------------------------------------------------------------------------------
# What makes two pods of one template exclusive on a node


def host_port_claims(pod_spec):
    """(hostIP, protocol, port) of every host port a pod holds, as the NodePorts filter counts them
    (schedutil.GetHostPorts / NodeInfo.AddPod): its containers and its restartable (sidecar) init containers only,
    since a regular init container has finished before the pod runs; hostIP as given (empty: 0.0.0.0); with
    hostNetwork API defaulting makes every containerPort a hostPort. The one host-port rule of the collection:
    the precheck's prediction and the rollout proof both use it."""
    host_network = bool(pod_spec.get("hostNetwork"))
    containers = list(pod_spec.get("containers") or [])
    containers += [c for c in pod_spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    claims = []
    for container in containers:
        for port in container.get("ports") or []:
            number = port.get("hostPort") or (port.get("containerPort") if host_network else None)
            try:
                number = int(number or 0)
            except (TypeError, ValueError):
                continue
            if number > 0:
                claims.append((port.get("hostIP") or "0.0.0.0", port.get("protocol") or "TCP", number))
    return claims


def ports_conflict(wanted, used):
    """HostPortInfo.CheckConflict: the same protocol and port, and the same hostIP or either of them 0.0.0.0."""
    ip, protocol, port = wanted
    for used_ip, used_protocol, used_port in used:
        if used_protocol != protocol or used_port != port:
            continue
        if ip == "0.0.0.0" or used_ip == "0.0.0.0" or used_ip == ip:
            return True
    return False


def host_ports(pod_spec):
    """The (port, protocol) pairs of ``host_port_claims``, sorted and without duplicates: what a pod template
    holds on its node. Two pods of one template always collide on them (same hostIP, protocol and port)."""
    return sorted(set((port, protocol) for _ip, protocol, port in host_port_claims(pod_spec)))


def selector_matches(selector, labels):
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(label_requirement_matches(labels, r) for r in selector.get("matchExpressions") or [])


def self_anti_affinity_on_hostname(pod_template):
    """True when required pod anti-affinity on the hostname key matches the template's own labels."""
    labels = (pod_template.get("metadata") or {}).get("labels") or {}
    spec = pod_template.get("spec") or {}
    anti = ((spec.get("affinity") or {}).get("podAntiAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or []
    for term in anti:
        if term.get("topologyKey") == HOSTNAME_KEY and selector_matches(term.get("labelSelector"), labels):
            return True
    return False


def hostname_spread_limit(pod_template, eligible_count):
    """Pods per node that a DoNotSchedule spread on the hostname key allows, or None when it sets no hard cap.

    With at least ``minDomains`` eligible nodes the global minimum can always rise, so the spread never blocks
    a surge pod by itself; with fewer, the scheduler takes the global minimum as 0 and caps each node at maxSkew.
    """
    labels = (pod_template.get("metadata") or {}).get("labels") or {}
    limits = []
    for constraint in (pod_template.get("spec") or {}).get("topologySpreadConstraints") or []:
        if constraint.get("topologyKey") != HOSTNAME_KEY:
            continue
        if constraint.get("whenUnsatisfiable", "DoNotSchedule") != "DoNotSchedule":
            continue
        if not selector_matches(constraint.get("labelSelector"), labels):
            continue
        if eligible_count < int(constraint.get("minDomains") or 1):
            limits.append(int(constraint.get("maxSkew") or 1))
    return min(limits) if limits else None


def predict_rollout_deadlock(deployment, nodes, cache=None):
    """Would the Deployment's next rollout deadlock on these nodes?

    A rollout with maxUnavailable 0 must start a new pod before an old one goes. If every eligible node is
    already full for this template (host ports, self anti-affinity on the hostname, or a hostname spread cap),
    the surge pod has nowhere to go and the rollout waits forever. ``cache``: see eligible_nodes (one dict per
    ``nodes`` list, shared by the Deployments judged on it).
    """
    template = (deployment.get("spec") or {}).get("template") or {}
    pod_spec = template.get("spec") or {}
    budget = rollout_budget(deployment)
    replicas = budget["replicas"]
    eligible = eligible_nodes(nodes, pod_spec, cache)
    ports = host_ports(pod_spec)
    exclusive = []
    if ports:
        exclusive.append("host ports %s" % ", ".join("%d/%s" % p for p in ports))
    if self_anti_affinity_on_hostname(template):
        exclusive.append("required pod anti-affinity on %s" % HOSTNAME_KEY)
    per_node = 1 if exclusive else None
    spread_cap = hostname_spread_limit(template, len(eligible))
    if spread_cap is not None:
        exclusive.append("DoNotSchedule topology spread on %s with fewer nodes than minDomains" % HOSTNAME_KEY)
        per_node = spread_cap if per_node is None else min(per_node, spread_cap)
    slots = None if per_node is None else per_node * len(eligible)
    prediction = {
        "deadlock": False,
        "reason": "",
        "replicas": replicas,
        "strategy": budget["type"],
        "max_surge": budget["max_surge"],
        "max_unavailable": budget["max_unavailable"],
        "eligible_nodes": len(eligible),
        "eligible_node_names": eligible,
        "pods_per_node_limit": per_node,
        "host_ports": [p[0] for p in ports],
        "exclusive_by": exclusive,
    }
    if replicas == 0:
        prediction["reason"] = "the Deployment is scaled to 0 replicas: a rollout starts no pod"
    elif budget["type"] == "Recreate":
        prediction["reason"] = "strategy Recreate removes old pods before creating new ones"
    elif budget["max_unavailable"] >= 1:
        prediction["reason"] = (
            "maxUnavailable resolves to %d: the controller may remove an old pod before a new one is ready"
            % budget["max_unavailable"]
        )
    elif not eligible:
        prediction["deadlock"] = True
        prediction["reason"] = (
            "no node admits the pod template (node selector/affinity, taints or cordons): no new pod can be placed"
        )
    elif slots is None:
        prediction["reason"] = (
            "no per-node limit (no host ports, no self anti-affinity or hostname spread cap): "
            "a surge pod can share a node with the old pods"
        )
    elif slots > replicas:
        prediction["reason"] = (
            "%d eligible node(s) give %d slot(s) for %d replica(s) plus the surge pod"
            % (len(eligible), slots, replicas)
        )
    else:
        prediction["deadlock"] = True
        prediction["reason"] = (
            "maxSurge %d / maxUnavailable 0: a new pod must start before an old one goes, but %s allow only "
            "%d pod(s) per node and %d eligible node(s) are all taken by the %d current replica(s)"
            % (budget["max_surge"], " and ".join(exclusive), per_node, len(eligible), replicas)
        )
    return prediction
