# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure diagnosis of Deployment rollouts from API objects given as plain dicts.

``diagnose_rollout`` is the one place that decides a rollout's verdict (complete, progressing, stuck, paused,
deadline_exceeded); ``rollout_status`` reports it and ``stale_replicasets`` acts on it.
"""

from __future__ import annotations

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.scheduling import (
    parse_scheduler_message,
    predict_rollout_deadlock,
    rollout_budget,
)

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
VERDICTS = ("complete", "progressing", "stuck", "paused", "deadline_exceeded")
# Blockers that old pods can hold: removing them frees the node for the new pod.
BLOCKERS_HELD_BY_PODS = ("host_ports", "pod_affinity", "topology_spread", "resources")


def revision_of(obj):
    try:
        return int(((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION))
    except (TypeError, ValueError):
        return None


def controller_uid(obj):
    """UID of the object's controller (the ownerReference with controller: true), or None."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller") and ref.get("uid"):
            return ref["uid"]
    return None


def is_controlled_by(obj, owner):
    """True when ``obj`` names ``owner`` (by UID) as its controller in ownerReferences."""
    uid = controller_uid(obj)
    return uid is not None and uid == (owner.get("metadata") or {}).get("uid")


def index_by_controller(objects):
    """Map each controller UID to the objects whose ownerReferences name it as controller."""
    index = {}
    for obj in objects:
        uid = controller_uid(obj)
        if uid:
            index.setdefault(uid, []).append(obj)
    return index


def split_replicasets(deployment, replicasets):
    """Return ``(current, old)``: the ReplicaSets the Deployment controls (by ownerReference UID), the current
    one being the one whose revision annotation equals the Deployment's. Labels are never trusted: a ReplicaSet
    whose labels match but that another owner (or nobody) controls is neither."""
    owned = [rs for rs in replicasets if is_controlled_by(rs, deployment)]
    wanted = revision_of(deployment)
    current = None
    for rs in owned:
        if wanted is not None and revision_of(rs) == wanted:
            current = rs
    old = [rs for rs in owned if rs is not current]
    old.sort(key=lambda rs: (revision_of(rs) or 0), reverse=True)
    return current, old


def _condition(obj, kind):
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def normalize_time(value):
    """An API timestamp (RFC 3339, with or without microseconds) as ``YYYY-MM-DDTHH:MM:SSZ``; others unchanged."""
    if not value or not isinstance(value, str) or len(value) < 19 or value[10] != "T":
        return value
    return value[:19] + "Z"


def _event_time(event):
    series = event.get("series") or {}
    return normalize_time(
        series.get("lastObservedTime")
        or event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def _event_first_time(event):
    return normalize_time(
        event.get("firstTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def failed_scheduling_events_by_pod(events):
    """Group FailedScheduling events by the UID of the pod they are about, newest first."""
    grouped = {}
    for event in events:
        if event.get("reason") != "FailedScheduling":
            continue
        uid = (event.get("involvedObject") or event.get("regarding") or {}).get("uid")
        if uid:
            grouped.setdefault(uid, []).append(event)
    for items in grouped.values():
        items.sort(key=_event_time, reverse=True)
    return grouped


def describe_pod(pod, events_for_pod=None):
    """A pod's phase, readiness and, when Pending, the scheduler's verdict with its blockers."""
    metadata = pod.get("metadata") or {}
    status = pod.get("status") or {}
    ready = _condition(pod, "Ready")
    summary = {
        "name": metadata.get("name"),
        "uid": metadata.get("uid"),
        "phase": status.get("phase"),
        "ready": bool(ready and ready.get("status") == "True"),
        "node": (pod.get("spec") or {}).get("nodeName"),
        "terminating": bool(metadata.get("deletionTimestamp")),
        "created": metadata.get("creationTimestamp"),
    }
    if status.get("phase") != "Pending":
        return summary
    scheduled = _condition(pod, "PodScheduled") or {}
    newest = (events_for_pod or [None])[0]
    scheduler = {
        "scheduled": scheduled.get("status") == "True" if scheduled else None,
        "reason": scheduled.get("reason"),
        "message": scheduled.get("message"),
        "since": normalize_time(scheduled.get("lastTransitionTime")),
        "event": None,
    }
    if newest is not None:
        scheduler["event"] = {
            "reason": newest.get("reason"),
            "message": newest.get("message") or newest.get("note"),
            "count": (newest.get("series") or {}).get("count") or newest.get("count") or 1,
            "first_seen": _event_first_time(newest),
            "last_seen": _event_time(newest),
        }
    message = (scheduler["event"] or {}).get("message") or scheduler["message"]
    parsed = parse_scheduler_message(message)
    summary["scheduler"] = scheduler
    summary["nodes_available"] = parsed["available"]
    summary["nodes_total"] = parsed["total"]
    summary["blockers"] = parsed["blockers"]
    return summary


def _describe_replicaset(rs, pods_by_owner, events_by_pod):
    metadata = rs.get("metadata") or {}
    status = rs.get("status") or {}
    own_pods = list(pods_by_owner.get(metadata.get("uid"), []))
    own_pods.sort(key=lambda p: (p.get("metadata") or {}).get("name") or "")
    return {
        "name": metadata.get("name"),
        "uid": metadata.get("uid"),
        "resource_version": metadata.get("resourceVersion"),
        "revision": revision_of(rs),
        "replicas": (rs.get("spec") or {}).get("replicas", 1),
        "ready_replicas": status.get("readyReplicas") or 0,
        "available_replicas": status.get("availableReplicas") or 0,
        "pod_template_hash": (metadata.get("labels") or {}).get("pod-template-hash"),
        "pods": [describe_pod(p, events_by_pod.get((p.get("metadata") or {}).get("uid"))) for p in own_pods],
    }


def _is_unschedulable(pod_summary):
    scheduler = pod_summary.get("scheduler") or {}
    return pod_summary.get("phase") == "Pending" and scheduler.get("scheduled") is False and (
        scheduler.get("reason") == "Unschedulable"
    )


def scale_down_allowance(deployment, current, old):
    """How many old pods the deployment controller may remove now (reconcileOldReplicaSets):
    all pods - (desired - maxUnavailable) - unavailable pods of the new ReplicaSet."""
    budget = rollout_budget(deployment)
    min_available = budget["replicas"] - budget["max_unavailable"]
    all_pods = sum(((rs.get("status") or {}).get("replicas") or 0) for rs in ([current] if current else []) + old)
    new_unavailable = 0
    if current:
        new_unavailable = ((current.get("spec") or {}).get("replicas") or 0) - (
            (current.get("status") or {}).get("availableReplicas") or 0
        )
    return all_pods - min_available - max(0, new_unavailable)


def _rollout_complete(deployment):
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    desired = spec.get("replicas", 1)
    generation = (deployment.get("metadata") or {}).get("generation") or 0
    return (
        (status.get("observedGeneration") or 0) >= generation
        and (status.get("updatedReplicas") or 0) >= desired
        and (status.get("replicas") or 0) == (status.get("updatedReplicas") or 0)
        and (status.get("availableReplicas") or 0) >= (status.get("updatedReplicas") or 0)
    )


def diagnose_rollouts(deployments, replicasets, pods, events, nodes):
    """Diagnose many Deployments from one snapshot; each object list is indexed once, so the cost grows with
    the number of objects, not with Deployments times objects."""
    replicasets_by_owner = index_by_controller(replicasets)
    pods_by_owner = index_by_controller(pods)
    events_by_pod = failed_scheduling_events_by_pod(events)
    return [
        _diagnose(d, replicasets_by_owner.get((d.get("metadata") or {}).get("uid"), []), pods_by_owner,
                  events_by_pod, nodes)
        for d in deployments
    ]


def diagnose_rollout(deployment, replicasets, pods, events, nodes):
    """Diagnose one Deployment. ``replicasets``, ``pods``, ``events`` may hold objects of other Deployments:
    only what this Deployment controls (by ownerReference UID) is used."""
    return diagnose_rollouts([deployment], replicasets, pods, events, nodes)[0]


def _diagnose(deployment, owned_replicasets, pods_by_owner, events_by_pod, nodes):
    metadata = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    current, old = split_replicasets(deployment, owned_replicasets)
    current_view = _describe_replicaset(current, pods_by_owner, events_by_pod) if current else None
    old_views = [_describe_replicaset(rs, pods_by_owner, events_by_pod) for rs in old]
    budget = rollout_budget(deployment)
    progressing = _condition(deployment, "Progressing") or {}

    result = {
        "name": metadata.get("name"),
        "namespace": metadata.get("namespace"),
        "uid": metadata.get("uid"),
        "revision": revision_of(deployment),
        "generation": metadata.get("generation"),
        "observed_generation": status.get("observedGeneration"),
        "paused": bool(spec.get("paused")),
        "replicas": {
            "desired": spec.get("replicas", 1),
            "current": status.get("replicas") or 0,
            "updated": status.get("updatedReplicas") or 0,
            "ready": status.get("readyReplicas") or 0,
            "available": status.get("availableReplicas") or 0,
            "unavailable": status.get("unavailableReplicas") or 0,
        },
        "strategy": budget,
        "conditions": [
            {k: c.get(k) for k in ("type", "status", "reason", "message", "lastUpdateTime", "lastTransitionTime")}
            for c in status.get("conditions") or []
        ],
        "current_replicaset": current_view,
        "old_replicasets": old_views,
        "verdict": None,
        "stuck_since": None,
        "blockers": [],
        "prediction": predict_rollout_deadlock(deployment, nodes),
        "remedy": "",
    }

    unschedulable = [p for p in (current_view or {}).get("pods", []) if _is_unschedulable(p)]
    old_pods = [p for rs in old_views for p in rs["pods"] if not p["terminating"]]
    admitting = set(result["prediction"]["eligible_node_names"])
    old_pods_on_eligible_nodes = [p for p in old_pods if p.get("node") in admitting]
    held = [
        b for p in unschedulable for b in p.get("blockers", []) if b["kind"] in BLOCKERS_HELD_BY_PODS
    ]
    blocked_by_old_pods = bool(unschedulable and old_pods_on_eligible_nodes and held)
    settled = (status.get("observedGeneration") or 0) >= (metadata.get("generation") or 0)
    cannot_make_room = scale_down_allowance(deployment, current, old) <= 0

    if unschedulable:
        seen = []
        for pod in unschedulable:
            for blocker in pod.get("blockers", []):
                if blocker not in seen:
                    seen.append(blocker)
        result["blockers"] = seen

    if result["paused"]:
        result["verdict"] = "paused"
    elif _rollout_complete(deployment):
        result["verdict"] = "complete"
    elif settled and blocked_by_old_pods and cannot_make_room:
        result["verdict"] = "stuck"
        since = []
        for pod in unschedulable:
            scheduler = pod["scheduler"]
            since.extend(t for t in (scheduler.get("since"), (scheduler.get("event") or {}).get("first_seen")) if t)
        result["stuck_since"] = min(since) if since else None
    elif progressing.get("reason") == "ProgressDeadlineExceeded" and progressing.get("status") == "False":
        result["verdict"] = "deadline_exceeded"
    else:
        result["verdict"] = "progressing"
    result["remedy"] = remedy_for(result, unschedulable)
    return result


def _blocker_words(blockers):
    return "; ".join(
        "%s node(s): %s" % (b["nodes"], b["reason"]) if b.get("nodes") is not None else b["reason"]
        for b in blockers
    )


def remedy_for(diagnosis, unschedulable=()):
    """What a person should do about a diagnosed rollout, in words they can act on."""
    name = "%s/%s" % (diagnosis["namespace"], diagnosis["name"])
    verdict = diagnosis["verdict"]
    prediction = diagnosis["prediction"]
    prevent = ""
    if prediction.get("deadlock") and prediction.get("eligible_nodes"):
        prevent = (
            " To keep the next rollout from deadlocking, set spec.strategy.rollingUpdate to maxSurge 0 and "
            "maxUnavailable 1 with a field manager other than kops (the remediate role's prevention mode does this)."
        )
    if verdict == "paused":
        return "The rollout of %s is paused; resume it (kubectl -n %s rollout resume deployment/%s)." % (
            name, diagnosis["namespace"], diagnosis["name"])
    if verdict == "complete":
        if prediction.get("deadlock"):
            return "Nothing to do now: the rollout is complete. But the next one will deadlock: %s.%s" % (
                prediction["reason"], prevent)
        return "Nothing to do: the rollout of %s is complete." % name
    if verdict == "stuck":
        holders = ", ".join(
            "%s (revision %s)" % (rs["name"], rs["revision"])
            for rs in diagnosis["old_replicasets"] if rs["pods"]
        )
        return (
            "The new pod of %s cannot be scheduled (%s) while the old pods hold what it needs. Remove the old "
            "ReplicaSet(s) %s: clusterops.kops_upgrade.stale_replicasets does it safely (kubectl -n %s delete "
            "replicaset by hand); deleting the old pod alone does not help, its ReplicaSet recreates it.%s"
            % (name, _blocker_words(diagnosis["blockers"]), holders, diagnosis["namespace"], prevent)
        )
    if unschedulable:
        return (
            "New pods of %s cannot be scheduled (%s), and removing old pods would not make room: fix the node "
            "selector/affinity, tolerations or node capacity." % (name, _blocker_words(diagnosis["blockers"]))
        )
    if verdict == "deadline_exceeded":
        return (
            "The rollout of %s made no progress within progressDeadlineSeconds; look at its new pods "
            "(image, crash loops, readiness probes)." % name
        )
    replicas = diagnosis["replicas"]
    return "The rollout of %s is progressing (%d of %d updated, %d available); wait for it.%s" % (
        name, replicas["updated"], replicas["desired"], replicas["available"], prevent)


def plan_stale_replicaset_removal(diagnosis, force=False):
    """Decide which ReplicaSets to remove for a diagnosed Deployment.

    Only old ReplicaSets the Deployment controls that still want or have pods are candidates: the current
    ReplicaSet is never one, and old ReplicaSets already at 0 replicas are rollback history, left alone.
    Nothing is chosen unless the verdict is ``stuck`` (or ``force`` is set and the rollout is not complete).
    Returns ``{"act": bool, "reason": str, "targets": [replicaset views]}``.
    """
    verdict = diagnosis["verdict"]
    candidates = [rs for rs in diagnosis["old_replicasets"] if rs["replicas"] or rs["pods"]]
    if verdict == "complete":
        return {"act": False, "reason": "the rollout is complete; nothing is stale", "targets": []}
    if verdict == "paused" and not force:
        return {"act": False, "reason": "the rollout is paused; resume it instead", "targets": []}
    if verdict != "stuck" and not force:
        return {
            "act": False,
            "reason": "verdict is %s, not stuck: old ReplicaSets are left to the deployment controller "
                      "(use force to remove them anyway)" % verdict,
            "targets": [],
        }
    if diagnosis["current_replicaset"] is None:
        return {"act": False, "reason": "the Deployment has no current ReplicaSet yet; nothing is safe to remove",
                "targets": []}
    if not candidates:
        return {"act": False, "reason": "no old ReplicaSet still has pods", "targets": []}
    return {"act": True, "reason": "verdict %s%s" % (verdict, " (forced)" if verdict != "stuck" else ""),
            "targets": candidates}
