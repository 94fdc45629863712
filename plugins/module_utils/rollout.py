# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure diagnosis of Deployment rollouts from API objects given as plain dicts.

``diagnose_rollout`` is the one place that decides a rollout's verdict (complete, progressing, stuck, paused,
deadline_exceeded); ``rollout_status`` reports it and ``stale_replicasets`` acts on it.
"""

from __future__ import annotations

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.placement import (
    FILTERS,
    Cluster,
    QuantityError,
    compare_with_scheduler,
    evaluate_node,
    pod_priority,
    relevant_domain_keys,
    scheduler_view,
    smallest_freeing_set,
    unmodelled_pod_fields,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.scheduling import (
    daemonset_budget,
    is_ready,
    parse_scheduler_message,
    pod_is_active,
    predict_rollout_deadlock,
    rollout_budget,
    selector_matches,
)

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


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
    message = scheduler["message"] or (scheduler["event"] or {}).get("message")
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
        "replicas": _spec_replicas(rs),
        "status_replicas": status.get("replicas") or 0,
        "ready_replicas": status.get("readyReplicas") or 0,
        "available_replicas": status.get("availableReplicas") or 0,
        "pod_template_hash": (metadata.get("labels") or {}).get("pod-template-hash"),
        "pods": [describe_pod(p, events_by_pod.get((p.get("metadata") or {}).get("uid"))) for p in own_pods],
    }


def _spec_replicas(obj):
    """spec.replicas as the API serves it (defaulted to 1 when absent; an explicit 0 stays 0)."""
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def _is_unschedulable(pod_summary):
    scheduler = pod_summary.get("scheduler") or {}
    return pod_summary.get("phase") == "Pending" and scheduler.get("scheduled") is False and (
        scheduler.get("reason") == "Unschedulable"
    )


def controller_scale_down(deployment, current, old):
    """How many old pods the deployment controller removes by itself now (rolling.go reconcileOldReplicaSets,
    with spec.replicas everywhere as the controller counts): first unhealthy old pods, then healthy ones while
    more than ``replicas - maxUnavailable`` pods are available; never more than
    ``all pods - minAvailable - unavailable new pods``."""
    if not old:
        return 0
    budget = rollout_budget(deployment)
    min_available = budget["replicas"] - budget["max_unavailable"]
    every = ([current] if current else []) + list(old)
    all_pods = sum(_spec_replicas(rs) for rs in every)
    new_unavailable = 0
    if current:
        new_unavailable = max(0, _spec_replicas(current) - ((current.get("status") or {}).get("availableReplicas") or 0))
    allowance = all_pods - min_available - new_unavailable
    if allowance <= 0:
        return 0
    unhealthy = sum(max(0, _spec_replicas(rs) - ((rs.get("status") or {}).get("availableReplicas") or 0))
                    for rs in old if _spec_replicas(rs) > 0)
    cleaned = min(allowance, unhealthy)
    available = sum(((rs.get("status") or {}).get("availableReplicas") or 0) for rs in every)
    healthy = max(0, min(allowance - cleaned, available - min_available))
    return cleaned + healthy


def _rollout_complete(deployment):
    status = deployment.get("status") or {}
    desired = _spec_replicas(deployment)
    generation = (deployment.get("metadata") or {}).get("generation") or 0
    return (
        (status.get("observedGeneration") or 0) >= generation
        and (status.get("updatedReplicas") or 0) >= desired
        and (status.get("replicas") or 0) == (status.get("updatedReplicas") or 0)
        and (status.get("availableReplicas") or 0) >= (status.get("updatedReplicas") or 0)
    )


def diagnose_rollouts(deployments, replicasets, pods, events, nodes, cluster_pods=None, pdbs=None):
    """Diagnose many Deployments from one snapshot; each object list is indexed once, so the cost grows with
    the number of objects, not with Deployments times objects.

    ``pods`` are the pods that may belong to the Deployments; ``cluster_pods`` every non-terminal pod of the
    cluster (what the scheduler sees on each node; defaults to ``pods``), ``pdbs`` the PodDisruptionBudgets of
    the namespaces involved. Both matter only when a new pod is unschedulable."""
    replicasets_by_owner = index_by_controller(replicasets)
    pods_by_owner = index_by_controller(pods)
    events_by_pod = failed_scheduling_events_by_pod(events)
    context = {"nodes": nodes, "cluster_pods": pods if cluster_pods is None else cluster_pods,
               "pdbs": pdbs or [], "cluster": None, "eligible": {}}
    return [
        _diagnose(d, replicasets_by_owner.get((d.get("metadata") or {}).get("uid"), []), pods_by_owner,
                  events_by_pod, context)
        for d in deployments
    ]


def diagnose_rollout(deployment, replicasets, pods, events, nodes, cluster_pods=None, pdbs=None):
    """Diagnose one Deployment. ``replicasets``, ``pods``, ``events`` may hold objects of other Deployments:
    only what this Deployment controls (by ownerReference UID) is used."""
    return diagnose_rollouts([deployment], replicasets, pods, events, nodes, cluster_pods, pdbs)[0]


def _cluster(context):
    if context["cluster"] is None:
        context["cluster"] = Cluster(context["nodes"], context["cluster_pods"])
    return context["cluster"]


def _diagnose(deployment, owned_replicasets, pods_by_owner, events_by_pod, context):
    """The diagnosis of one Deployment (see diagnose_rollouts): its identity, replica counts, resolved strategy,
    conditions, current and old ReplicaSets (each with its pods), the scheduler's blockers of its new pods, the next
    rollout's deadlock prediction, a ``verdict``, ``why`` (or "") and the ``remedy`` in words (remedy_for).

    The verdict, first match wins: ``paused`` (spec.paused); ``complete`` (the latest generation observed, every
    replica updated and available, no old one left); ``progressing`` while the controller has not observed the
    latest generation; when a pod of the current ReplicaSet is unschedulable, _judge_unschedulable decides between
    ``stuck`` (then with the ``proof``, the step from plan_step as ``plan``, and ``stuck_since``, the earliest time
    the scheduler refused a new pod), ``progressing`` and ``blocked``; ``deadline_exceeded`` when the Progressing
    condition says ProgressDeadlineExceeded; ``progressing`` otherwise.

    ``context`` holds the nodes, the cluster's pods and the PodDisruptionBudgets; the scheduling model (Cluster) is
    built from it on first need and shared by every Deployment of the snapshot, and so are the eligible nodes of
    each distinct node selection (``eligible``, see scheduling.eligible_nodes)."""
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
            "desired": _spec_replicas(deployment),
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
        "proof": None,
        "plan": None,
        "prediction": predict_rollout_deadlock(deployment, context["nodes"], context["eligible"]),
        "remedy": "",
    }

    unschedulable = [p for p in (current_view or {}).get("pods", []) if _is_unschedulable(p)]
    if unschedulable:
        seen = []
        for pod in unschedulable:
            for blocker in pod.get("blockers", []):
                if blocker not in seen:
                    seen.append(blocker)
        result["blockers"] = seen
    settled = (status.get("observedGeneration") or 0) >= (metadata.get("generation") or 0)

    if result["paused"]:
        result["verdict"] = "paused"
    elif _rollout_complete(deployment):
        result["verdict"] = "complete"
    elif not settled:
        result["verdict"] = "progressing"
        result["why"] = "the deployment controller has not yet observed generation %s" % metadata.get("generation")
    elif unschedulable:
        raw_pods = dict(((p.get("metadata") or {}).get("uid"), p) for rs in [current] + old if rs
                        for p in pods_by_owner.get((rs.get("metadata") or {}).get("uid"), []))
        verdict, why, proof = _judge_unschedulable(deployment, current, old, unschedulable, raw_pods, budget,
                                                   context)
        result["verdict"], result["why"], result["proof"] = verdict, why, proof
        if verdict == "stuck":
            result["plan"] = plan_step(deployment, current, old, proof, raw_pods, context["pdbs"])
            since = []
            for pod in unschedulable:
                scheduler = pod["scheduler"]
                since.extend(t for t in (scheduler.get("since"), (scheduler.get("event") or {}).get("first_seen"))
                             if t)
            result["stuck_since"] = min(since) if since else None
    elif progressing.get("reason") == "ProgressDeadlineExceeded" and progressing.get("status") == "False":
        result["verdict"] = "deadline_exceeded"
    else:
        result["verdict"] = "progressing"
    result.setdefault("why", "")
    result["remedy"] = remedy_for(result)
    return result


def _judge_unschedulable(deployment, current, old, unschedulable, raw_pods, budget, context):
    """Verdict for a rollout whose new pod the scheduler refused: ``stuck`` only with a proof that removing
    named old pods of this Deployment lets it schedule and that the controller will not remove them itself;
    ``progressing`` when that will happen anyway; ``blocked`` otherwise (a reason no removal can fix, or one the
    model cannot reproduce). Returns (verdict, why, proof)."""
    old_uids = set(rs["metadata"]["uid"] for rs in old)
    old_pods = [p for p in raw_pods.values() if controller_uid(p) in old_uids]
    active_old = [p for p in old_pods if pod_is_active(p)]
    terminating_old = [p for p in old_pods if (p.get("metadata") or {}).get("deletionTimestamp")]
    if budget["type"] == "Recreate":
        if active_old or terminating_old:
            return "progressing", "strategy Recreate: the old pods are being removed first", None
        return "blocked", "strategy Recreate removed every old pod and the new pod still does not fit", None
    for rs in old:
        active = sum(1 for p in active_old if controller_uid(p) == rs["metadata"]["uid"])
        if active > _spec_replicas(rs):
            return "progressing", "the controller is scaling old ReplicaSet %s down" % rs["metadata"]["name"], None
    allowance = controller_scale_down(deployment, current, old)
    if allowance > 0 and active_old:
        return ("progressing", "the deployment controller may remove %d old pod(s) itself (maxUnavailable %d)"
                % (allowance, budget["max_unavailable"]), None)
    verdict, why, proof = _verdict_from_proof(_oldest(unschedulable), raw_pods, active_old, context)
    if verdict == "stuck":
        never = rollout_cannot_finish(deployment, context["nodes"])
        if never:
            proof.update(verdict="blocked", summary=never)
            return "blocked", never, proof
    return verdict, why, proof


def rollout_cannot_finish(deployment, nodes):
    """Why no removal of old pods can ever finish the rollout, or "" when it can: the new template admits at
    most one (or a hostname spread's maxSkew) pod per node (host ports, required anti-affinity to its own pods,
    a hard hostname spread with fewer nodes than minDomains), and its Ready eligible nodes hold fewer pods than
    its replicas. Removing old pods would then let some new pods in and never all of them."""
    ready = [n for n in nodes if is_ready(n)]
    prediction = predict_rollout_deadlock(deployment, ready)
    per_node, eligible, replicas = prediction["pods_per_node_limit"], prediction["eligible_nodes"], \
        prediction["replicas"]
    if per_node is None or per_node * eligible >= replicas:
        return ""
    return ("the new template cannot fit its %d replica(s): %s allow %d pod(s) per node on the %d Ready node(s) "
            "that admit it, %d in all; removing old pods would let some new pods in and never finish the rollout"
            % (replicas, " and ".join(prediction["exclusive_by"]), per_node, eligible, per_node * eligible))


def _oldest(pod_views):
    return sorted(pod_views, key=lambda p: (p.get("created") or "", p.get("name") or ""))[0]


def _verdict_from_proof(pending, raw_pods, active_old, context):
    """(verdict, why, proof) for the waiting pod ``pending`` (its view) from ``prove_room``."""
    try:
        proof = prove_room(raw_pods[pending["uid"]], pending, active_old, _cluster(context))
    except QuantityError as exc:
        return "blocked", "not proven: a resource quantity could not be read (%s)" % exc, None
    return proof["verdict"], proof["summary"], proof


def _pod_name(pod):
    return (pod.get("metadata") or {}).get("name")


def prove_room(pod, pod_summary, active_old, cluster):
    """Prove, node by node, whether removing some old pods of the Deployment lets ``pod`` schedule.

    The scheduler's own message must be reproduced by the model first (the same reasons on the same number of
    nodes); otherwise nothing is proven. The pod is judged as the scheduler filters it: pods nominated to a node
    (``status.nominatedNodeName``) with its priority or a higher one count as already there. Then for each Ready
    node: if a failing filter is one no removal can fix (taints, node affinity, pod affinity, missing topology
    label, cordon) the node is out; if the pod fits once the pods already terminating (any owner, on Ready nodes)
    are gone, nothing needs removing (``progressing``); else the smallest set of this Deployment's old pods on
    Ready nodes whose removal makes every filter pass is searched (pods on the node, and pods in the same
    topology domain for anti-affinity and spread), terminating pods still counted. Finally the whole filter chain
    is run again for the pod on the freed node with that removal applied (``chain``), and a pending pod of higher
    priority that would fit there instead means no action. Returns the proof with its ``verdict``."""
    message = (pod_summary.get("scheduler") or {}).get("message") or (
        (pod_summary.get("scheduler") or {}).get("event") or {}).get("message")
    proof = {"pod": _pod_name(pod), "scheduler_message": message, "scheduler_agrees": None, "comparison": "",
             "nodes": [], "free_node": None, "remove_pods": [], "chain": None, "verdict": "blocked",
             "summary": ""}
    placed = cluster.pod_by_uid.get((pod.get("metadata") or {}).get("uid"))
    if placed is not None:
        # The cluster's pods are read after the namespace's: the pod was bound in between. Judged against that
        # snapshot it would collide with itself (its own host ports, its own requests) and look blocked.
        proof.update(verdict="progressing", summary="%s was placed on %s since it was listed as unschedulable" % (
            proof["pod"], placed["spec"]["nodeName"]))
        return proof
    cluster, nominated = cluster.with_nominated(pod)
    parsed = parse_scheduler_message(message)
    per_node, counts = scheduler_view(pod, cluster)
    agrees, comparison = compare_with_scheduler(counts, parsed, len(cluster.nodes))
    proof.update(scheduler_agrees=agrees, comparison=comparison)
    unmodelled = sorted(set(reason for view in per_node.values() for f in view["failures"] if not f["modelled"]
                            for reason in f["reasons"]))
    unmodelled = unmodelled_pod_fields(pod.get("spec") or {}) + unmodelled
    ready_nodes = set(n["metadata"]["name"] for n in cluster.nodes if is_ready(n))
    # Pods already on their way out, whoever owns them (old pods, preemption victims, drained pods): the room
    # they hold frees by itself. On a node that is not Ready nobody finishes their deletion.
    leaving = [p for p in cluster.pods if (p.get("metadata") or {}).get("deletionTimestamp")
               and (p.get("spec") or {}).get("nodeName") in ready_nodes]
    leaving_uids = frozenset((p.get("metadata") or {}).get("uid") for p in leaving)
    keys = relevant_domain_keys(pod)
    for old_pod in active_old:
        keys.update(t.get("topologyKey") for t in (((old_pod.get("spec") or {}).get("affinity") or {})
                    .get("podAntiAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or [])
    keys.discard(None)
    removable_old = [p for p in active_old if (p.get("spec") or {}).get("nodeName") in ready_nodes]
    options, once_gone, not_ready_only = [], [], []
    for node in cluster.nodes:
        name = node["metadata"]["name"]
        failures = per_node[name]["failures"]
        entry = {"name": name, "fits_now": not failures, "ready": name in ready_nodes,
                 "blocked_by": [r for f in failures for r in f["reasons"]],
                 "removal_can_help": bool(failures) and all(f["removable"] for f in failures),
                 "frees_with": None}
        proof["nodes"].append(entry)
        if not entry["removal_can_help"]:
            continue
        if not entry["ready"]:
            # A pod placed there never runs, and a graceful delete there never completes.
            if any(_near(cluster.node_of(p), node, keys) for p in active_old):
                not_ready_only.append(name)
            continue
        if leaving_uids and not evaluate_node(pod, node, cluster, leaving_uids):
            entry["frees_with"] = []
            entry["once_terminated"] = sorted(_pod_name(p) for p in leaving)
            once_gone.append((name, []))
            continue
        candidates = [p for p in removable_old if _near(cluster.node_of(p), node, keys)]
        if not candidates:
            if any(_near(cluster.node_of(p), node, keys) for p in active_old):
                not_ready_only.append(name)
            continue
        candidates.sort(key=lambda p: (is_ready(p), _pod_name(p)))
        chosen = smallest_freeing_set(pod, node, cluster, candidates)
        if chosen is None:
            later = smallest_freeing_set(pod, node, _without(cluster, leaving_uids), candidates) \
                if leaving_uids else None
            if later:
                entry["once_terminated"] = sorted(_pod_name(p) for p in leaving)
                once_gone.append((name, later))
            elif len(candidates) < len([p for p in active_old if _near(cluster.node_of(p), node, keys)]):
                not_ready_only.append(name)
            continue
        entry["frees_with"] = [_pod_name(p) for p in chosen]
        options.append((sum(1 for p in chosen if is_ready(p)), len(chosen), name, chosen, node))

    if any(entry["fits_now"] for entry in proof["nodes"]):
        proof["verdict"] = "progressing"
        proof["summary"] = ("the pod fits on %s now; the scheduler will place it on its next attempt"
                            % ", ".join(e["name"] for e in proof["nodes"] if e["fits_now"]))
        return proof
    if unmodelled:
        proof["summary"] = "not proven: %s" % "; ".join(unmodelled)
        return proof
    if not agrees:
        proof["summary"] = "not proven: %s" % comparison
        return proof
    if once_gone:
        name, later = sorted(once_gone, key=lambda item: (len(item[1]), item[0]))[0]
        proof["verdict"] = "progressing"
        proof["free_node"] = name
        terminating = ", ".join(sorted(_pod_name(p) for p in leaving))
        if not later:
            proof["summary"] = "%s fits on %s once the terminating pod(s) %s are gone; nothing needs removing" % (
                proof["pod"], name, terminating)
        else:
            proof["summary"] = ("%s needs the terminating pod(s) %s gone from %s before any removal can help "
                                "(then old pod(s) %s); nothing is removed while they terminate" % (
                                    proof["pod"], terminating, name, ", ".join(_pod_name(p) for p in later)))
        return proof
    if not options:
        if not_ready_only:
            proof["summary"] = ("not proven: the only old pods whose removal could make room are on node(s) that "
                                "are not Ready (%s), or the room is on such a node; a pod there is never deleted "
                                "and a pod placed there never runs, so nothing is removed"
                                % ", ".join(sorted(set(not_ready_only))))
            return proof
        proof["summary"] = ("removing old pods of this Deployment would not let %s schedule on any node: %s"
                            % (proof["pod"], comparison.split(": ", 1)[-1]))
        return proof
    options.sort(key=lambda o: o[:3])
    _available, _count, name, chosen, node = options[0]
    proof["free_node"] = name
    removed = frozenset(p["metadata"]["uid"] for p in chosen)
    chain = {"node": name, "filters": list(FILTERS), "failures": evaluate_node(pod, node, cluster, removed),
             "nominated_pods": sorted(_pod_name(p) for p in nominated),
             "terminating_pods": sorted(_pod_name(p) for p in leaving), "rivals": []}
    proof["chain"] = chain
    if chain["failures"]:
        proof["summary"] = "not proven: on %s with %s removed the pod still fails %s" % (
            name, ", ".join(_pod_name(p) for p in chosen),
            "; ".join(r for f in chain["failures"] for r in f["reasons"]))
        return proof
    after = _without(cluster, removed)
    own = controller_uid(pod)
    for rival in cluster.waiting:
        if pod_priority(rival) <= pod_priority(pod) or (own and controller_uid(rival) == own):
            continue
        if (rival.get("status") or {}).get("nominatedNodeName") in cluster.node_by_name:
            continue  # nominated with a higher priority: already placed on its node above
        rival_failures = evaluate_node(rival, node, after)
        if not rival_failures or not all(f["modelled"] for f in rival_failures):
            chain["rivals"].append({"name": _pod_name(rival), "namespace": (rival.get("metadata") or {}).get(
                "namespace"), "priority": pod_priority(rival), "fits": not rival_failures})
    if chain["rivals"]:
        proof["summary"] = ("not proven: pending pod(s) of higher priority could take %s once it is freed: %s"
                            % (name, ", ".join("%s/%s (priority %d)" % (r["namespace"], r["name"], r["priority"])
                                               for r in chain["rivals"])))
        return proof
    proof["remove_pods"] = [{
        "name": _pod_name(p), "uid": p["metadata"]["uid"], "resource_version": p["metadata"].get("resourceVersion"),
        "node": (p.get("spec") or {}).get("nodeName"), "ready": is_ready(p), "replicaset_uid": controller_uid(p),
        "labels": (p.get("metadata") or {}).get("labels") or {},
    } for p in chosen]
    proof["verdict"] = "stuck"
    proof["summary"] = ("%s cannot schedule (%s) and fits on %s once old pod(s) %s of this Deployment are gone "
                        "(every filter re-run there with them removed); the controller will not remove them itself "
                        "(maxUnavailable spent)"
                        % (proof["pod"], comparison.split(": ", 1)[-1], name,
                           ", ".join(_pod_name(p) for p in chosen)))
    return proof


def _near(pod_node, node, keys):
    """Is a pod on ``pod_node`` able to block a pod on ``node``: the same node, or the same domain of a key."""
    if pod_node is None:
        return False
    if pod_node["metadata"]["name"] == node["metadata"]["name"]:
        return True
    a, b = pod_node["metadata"].get("labels") or {}, node["metadata"].get("labels") or {}
    return any(key in a and key in b and a[key] == b[key] for key in keys)


def _without(cluster, uids):
    if not uids:
        return cluster
    return Cluster(cluster.nodes, [p for p in cluster.pods if (p.get("metadata") or {}).get("uid") not in uids])


# The annotation the ReplicaSet controller reads to choose which pods a scale-down deletes (lowest first), and its
# lowest value (an int32).
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
LOWEST_DELETION_COST = -2147483648
_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


def _scale_down_rank(pod):
    """The ReplicaSet controller's first three criteria for the pods a scale-down deletes (ActivePodsWithRanks in
    pkg/controller/controller_utils.go), lowest first: unassigned before assigned, Pending before Unknown before
    Running, not ready before ready. Its fourth is the deletion cost, then criteria this model does not follow."""
    return (1 if (pod.get("spec") or {}).get("nodeName") else 0,
            _PHASE_ORDER.get((pod.get("status") or {}).get("phase"), 0), 1 if is_ready(pod) else 0)


def _deletion_cost(pod):
    """The pod's deletion cost, or None when the annotation is not an int32 (the controller's ordering is then not
    something this model can follow)."""
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(DELETION_COST)
    if value is None:
        return 0
    try:
        cost = int(str(value).strip())
    except ValueError:
        return None
    return cost if LOWEST_DELETION_COST <= cost <= 2147483647 else None


def removal_by_scale_down(steps, raw_pods, targets, covering_pdbs):
    """Can the step remove its pods by lowering their ReplicaSets first, so that the ReplicaSet controller deletes
    exactly those pods and never creates an old-template replacement (which evicting first and lowering after
    lets it do, in the moment between the two requests)?

    Only where that gives up nothing the eviction would enforce: the controller's delete is a plain DELETE that no
    PodDisruptionBudget is asked about, so every budget covering the pods must promise no healthy pod at all now
    (``status.desiredHealthy`` 0, as kOps' NTH budget ``maxUnavailable: 1`` on one replica does): then no
    concurrent eviction, with or without this step, can take the workload below it. And only where the controller's
    choice is certain: each ReplicaSet has exactly as many active pods as it wants, and either every one of them is
    a target (lowered to 0, the choice is forced) or the targets come first in the controller's order once marked
    with the lowest deletion cost (no other pod ranks before them on assignment, phase and readiness, and none
    already has the lowest cost). Returns ``(how, why, marked)``: ``how`` is "scale-down" or "eviction", ``why``
    the reason in words, ``marked`` the names of the target pods to annotate with the lowest cost first."""
    for pdb in covering_pdbs:
        desired = (pdb.get("status") or {}).get("desiredHealthy")
        if desired != 0:
            return ("eviction", "PodDisruptionBudget %s promises %s healthy pod(s): only an eviction checks it in "
                    "the request that removes the pod" % (pdb["metadata"]["name"], desired), [])
    active_by_rs = {}
    for pod in raw_pods.values():
        if pod_is_active(pod):
            active_by_rs.setdefault(controller_uid(pod), []).append(pod)
    target_uids = set(t["uid"] for t in targets)
    marked = []
    for step in steps:
        active = active_by_rs.get(step["uid"], [])
        if len(active) != step["replicas_before"]:
            return ("eviction", "ReplicaSet %s has %d active pod(s) for %d replica(s): a lowered count would not "
                    "say which pods go" % (step["name"], len(active), step["replicas_before"]), [])
        chosen = [p for p in active if p["metadata"]["uid"] in target_uids]
        others = [p for p in active if p["metadata"]["uid"] not in target_uids]
        if len(chosen) != step["replicas_before"] - step["replicas_after"]:
            return ("eviction", "the pods to remove from ReplicaSet %s are not all active" % step["name"], [])
        if not others:
            continue
        last = max(_scale_down_rank(p) for p in chosen)
        for other in others:
            cost = _deletion_cost(other)
            if _scale_down_rank(other) < last or cost is None or cost == LOWEST_DELETION_COST:
                return ("eviction", "the ReplicaSet controller could choose %s before the pods to remove" %
                        other["metadata"]["name"], [])
        marked.extend(p["metadata"]["name"] for p in chosen)
    return ("scale-down", "no PodDisruptionBudget promises a healthy pod, so the ReplicaSet is lowered first and "
            "its controller deletes exactly the pods to remove, with no replacement", sorted(marked))


def plan_step(deployment, current, old, proof, raw_pods, pdbs):
    """One remediation step for a ``stuck`` rollout: delete exactly the old pods the proof names and lower their
    ReplicaSets' spec.replicas by as many (so nothing replaces them), keeping the rest as rollback history.

    Acts only if the Deployment keeps the availability it promises: at least ``replicas - max(maxUnavailable, 1)``
    pods available afterwards (when the surge pod has no room, the effective maxSurge is 0 and Kubernetes' own
    rule turns maxUnavailable 0 into 1), and no PodDisruptionBudget covering them allows fewer disruptions than
    the ready pods removed. Returns ``{act, reason, replicasets, pods, available, min_available}``."""
    budget = rollout_budget(deployment)
    targets = proof["remove_pods"]
    by_rs = {}
    for target in targets:
        by_rs.setdefault(target["replicaset_uid"], []).append(target)
    steps = []
    for rs in old:
        uid = rs["metadata"]["uid"]
        if uid not in by_rs:
            continue
        replicas = _spec_replicas(rs)
        steps.append({"name": rs["metadata"]["name"], "uid": uid, "revision": revision_of(rs),
                      "replicas_before": replicas, "replicas_after": max(0, replicas - len(by_rs[uid])),
                      "pods": [t["name"] for t in by_rs[uid]]})
    every = [rs for rs in [current] + list(old) if rs]
    owned = [p for p in raw_pods.values() if pod_is_active(p)]
    ready_pods = sum(1 for p in owned if is_ready(p))
    status_available = sum(((rs.get("status") or {}).get("availableReplicas") or 0) for rs in every)
    available = min(ready_pods, status_available)
    removed_ready = sum(1 for t in targets if t["ready"])
    min_available = max(0, budget["replicas"] - max(budget["max_unavailable"], 1))
    plan = {"act": False, "reason": "", "replicasets": steps, "pods": [t["name"] for t in targets],
            "pod_details": [dict((k, t[k]) for k in ("name", "uid", "resource_version", "node", "ready",
                                                     "replicaset_uid", "labels")) for t in targets],
            "node": proof["free_node"], "available": available, "available_after": available - removed_ready,
            "min_available": min_available, "pdbs": [],
            # What the step was planned on: apply_step checks it is still the same object and spec.
            "deployment": dict((k, (deployment.get("metadata") or {}).get(k)) for k in ("name", "uid", "generation"))}
    if len(steps) != len(by_rs):
        plan["reason"] = "a pod to remove belongs to no old ReplicaSet of this Deployment; nothing is done"
        return plan
    if available - removed_ready < min_available:
        plan["reason"] = ("waiting: removing %d ready pod(s) would leave %d available, below the %d the Deployment "
                          "promises (replicas %d, maxUnavailable %d); the next step comes when more new pods are "
                          "available" % (removed_ready, available - removed_ready, min_available,
                                         budget["replicas"], budget["max_unavailable"]))
        return plan
    covering = []
    for pdb in pdbs:
        if (pdb.get("metadata") or {}).get("namespace") != (deployment.get("metadata") or {}).get("namespace"):
            continue
        covered = [t for t in targets if selector_matches((pdb.get("spec") or {}).get("selector"), t["labels"])]
        if not covered:
            continue
        covering.append(pdb)
        pdb_status = pdb.get("status") or {}
        allowed = pdb_status.get("disruptionsAllowed") or 0
        name = pdb["metadata"]["name"]
        plan["pdbs"].append({"name": name, "disruptions_allowed": allowed})
        if (pdb_status.get("observedGeneration") or 0) < (pdb["metadata"].get("generation") or 0):
            plan["reason"] = "waiting: PodDisruptionBudget %s has not observed its latest spec yet" % name
            return plan
        removed = sum(1 for t in covered if t["ready"])
        if removed > allowed:
            plan["reason"] = ("waiting: PodDisruptionBudget %s allows %d disruption(s), the step removes %d ready "
                              "pod(s)" % (name, allowed, removed))
            return plan
    how, why, marked = removal_by_scale_down(steps, raw_pods, targets, covering)
    plan["removal"] = {"how": how, "why": why, "mark": marked}
    for detail in plan["pod_details"]:
        annotations = ((raw_pods.get(detail["uid"]) or {}).get("metadata") or {}).get("annotations")
        detail["annotated"] = annotations is not None
        detail["deletion_cost_before"] = (annotations or {}).get(DELETION_COST)
    plan["act"] = True
    plan["reason"] = "remove %d old pod(s) (%s) to free %s; %d of %d pod(s) stay available (at least %d promised)" % (
        len(targets), ", ".join(plan["pods"]), proof["free_node"], available - removed_ready, budget["replicas"],
        min_available)
    return plan


def _blocker_words(blockers):
    return "; ".join(
        "%s node(s): %s" % (b["nodes"], b["reason"]) if b.get("nodes") is not None else b["reason"]
        for b in blockers
    )


def remedy_for(diagnosis):
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
        plan = diagnosis["plan"]
        steps = "; ".join("scale old ReplicaSet %s (revision %s) from %d to %d, deleting pod(s) %s" % (
            s["name"], s["revision"], s["replicas_before"], s["replicas_after"], ", ".join(s["pods"]))
            for s in plan["replicasets"])
        when = "now" if plan["act"] else "not yet (%s)" % plan["reason"]
        return (
            "%s. Remove exactly %d old pod(s) to free node %s: %s. Safe to do %s; "
            "clusterops.kops_upgrade.stale_replicasets does it with preconditions (deleting the old pod alone does "
            "not help: its ReplicaSet recreates it).%s"
            % (diagnosis["why"], len(plan["pods"]), plan["node"], steps, when, prevent)
        )
    if verdict == "blocked":
        return (
            "New pods of %s cannot be scheduled (%s) and removing old pods of this Deployment would not help (%s). "
            "Do not delete anything: fix what the scheduler names (node selector/affinity, tolerations, pod "
            "affinity, volumes or node capacity), or add a node that fits." % (
                name, _blocker_words(diagnosis["blockers"]) or "no reason given", diagnosis["why"])
        )
    if verdict == "deadline_exceeded":
        return (
            "The rollout of %s made no progress within progressDeadlineSeconds; look at its new pods "
            "(image, crash loops, readiness probes)." % name
        )
    replicas = diagnosis["replicas"]
    why = (" (%s)" % diagnosis["why"]) if diagnosis.get("why") else ""
    return "The rollout of %s is progressing (%d of %d updated, %d available)%s; wait for it.%s" % (
        name, replicas["updated"], replicas["desired"], replicas["available"], why, prevent)


def remediation_targets(diagnoses, among=None, changed=None):
    """What a remediation may act on, from rollout diagnoses: ``{"stuck": [...], "blocked": [...], "prevent":
    [...]}``, the names (``namespace/name`` when the diagnoses span namespaces) of the Deployments proven ``stuck``
    - the only ones a removal may touch - and of those ``blocked`` (to report why they are left alone), each
    restricted to

    - ``among``: Deployment names (None: any; an empty list: none), and
    - ``changed``: the ``namespace/name`` of the Deployments an update started to roll out since a baseline
      (None: no baseline, no restriction);

    and ``prevent``, those among ``among`` whose next rollout is predicted to deadlock (what a prevention patch
    may change; the prediction is about the next rollout, so a baseline does not restrict it).

    The roles pass their values here instead of filtering the diagnoses in Jinja."""
    namespaces = set(d["namespace"] for d in diagnoses)
    allowed = None if among is None else set(among)
    found = {"stuck": [], "blocked": [], "prevent": []}
    for diagnosis in diagnoses:
        key = "%s/%s" % (diagnosis["namespace"], diagnosis["name"])
        if allowed is not None and diagnosis["name"] not in allowed:
            continue
        shown = diagnosis["name"] if len(namespaces) == 1 else key
        if (diagnosis.get("prediction") or {}).get("deadlock"):
            found["prevent"].append(shown)
        if diagnosis["verdict"] not in ("stuck", "blocked"):
            continue
        if changed is not None and key not in changed:
            continue
        found[diagnosis["verdict"]].append(shown)
    return dict((verdict, sorted(names)) for verdict, names in found.items())


# How many eligible node names a returned prediction lists (the first, sorted; ``eligible_nodes`` counts them all).
# A deadlock needs fewer eligible nodes than replicas, so the names matter on few nodes; on a large cluster the same
# hundreds of names would be repeated in every workload's diagnosis (2,000 Deployments on 101 nodes: 3 MB of an
# 8 MB result, and every byte of a result is walked by Ansible's no_log scrubbing, stored in registered variables
# and in AWX's job events).
REPORTED_NODE_NAMES = 10


def reported(diagnoses, limit=REPORTED_NODE_NAMES):
    """The diagnoses as a module returns them (rollout_status, stale_replicasets): each prediction's
    ``eligible_node_names`` cut to its first ``limit`` names. Only the report is cut: the rules (here, in
    scheduling and in precheck) decide on the full list before this runs. Changes the diagnoses in place (the
    name lists they share with the eligible-nodes cache are replaced, not changed) and returns them."""
    for diagnosis in diagnoses:
        prediction = diagnosis.get("prediction") or {}
        names = prediction.get("eligible_node_names")
        if names is not None and len(names) > limit:
            prediction["eligible_node_names"] = names[:limit]
    return diagnoses


def plan_stale_replicaset_removal(diagnosis):
    """The step ``stale_replicasets`` may take for a diagnosed Deployment: only a ``stuck`` verdict with a plan
    that keeps the promised availability acts. Returns ``{act, reason, plan}``."""
    verdict = diagnosis["verdict"]
    if verdict == "complete":
        return {"act": False, "reason": "the rollout is complete; nothing is stale", "plan": None}
    if verdict != "stuck":
        reason = "verdict is %s, not stuck: %s" % (verdict, diagnosis.get("why") or diagnosis["remedy"])
        return {"act": False, "reason": reason, "plan": None}
    plan = diagnosis["plan"]
    return {"act": plan["act"], "reason": plan["reason"], "plan": plan}


# ---------------------------------------------------------------------------------------------------------
# DaemonSets and StatefulSets: the same proof, their own controllers' rules. Verdicts only: see remedy_for_pod_set.

REVISION_HASH = "controller-revision-hash"
TEMPLATE_GENERATION = "pod-template-generation"


def _current_hash(kind, obj, own_pods):
    if kind == "StatefulSet":
        return (obj.get("status") or {}).get("updateRevision")
    generation = str((obj.get("metadata") or {}).get("generation"))
    hashes = set(((p.get("metadata") or {}).get("labels") or {}).get(REVISION_HASH) for p in own_pods
                 if ((p.get("metadata") or {}).get("labels") or {}).get(TEMPLATE_GENERATION) == generation)
    hashes.discard(None)
    return hashes.pop() if len(hashes) == 1 else None


def _pod_set_complete(kind, obj):
    status = obj.get("status") or {}
    settled = (status.get("observedGeneration") or 0) >= ((obj.get("metadata") or {}).get("generation") or 0)
    if kind == "DaemonSet":
        desired = status.get("desiredNumberScheduled") or 0
        return settled and (status.get("updatedNumberScheduled") or 0) >= desired and \
            (status.get("numberAvailable") or 0) >= desired and not status.get("numberUnavailable")
    replicas = _spec_replicas(obj)
    return settled and (status.get("updatedReplicas") or 0) >= replicas and \
        (status.get("readyReplicas") or 0) >= replicas and status.get("currentRevision") == status.get(
            "updateRevision")


def diagnose_pod_sets(kind, objects, pods, events, nodes, cluster_pods=None):
    """Verdicts for DaemonSet or StatefulSet rollouts (``kind``), from one snapshot, with the same proof as for
    Deployments: ``stuck`` only when removing named old pods of the workload lets its waiting new pod schedule and
    its controller will not remove them itself (a surge DaemonSet keeps an available old pod until the new one on
    that node is available; a StatefulSet replaces one pod at a time and waits for it); ``blocked`` otherwise."""
    pods_by_owner = index_by_controller(pods)
    events_by_pod = failed_scheduling_events_by_pod(events)
    context = {"nodes": nodes, "cluster_pods": pods if cluster_pods is None else cluster_pods, "pdbs": [],
               "cluster": None}
    return [_diagnose_pod_set(kind, obj, pods_by_owner.get((obj.get("metadata") or {}).get("uid"), []),
                              events_by_pod, context) for obj in objects]


def _diagnose_pod_set(kind, obj, own_pods, events_by_pod, context):
    metadata, status = obj.get("metadata") or {}, obj.get("status") or {}
    current_hash = _current_hash(kind, obj, own_pods)
    views = [describe_pod(p, events_by_pod.get((p.get("metadata") or {}).get("uid"))) for p in own_pods]
    for view, pod in zip(views, own_pods):
        view["revision_hash"] = ((pod.get("metadata") or {}).get("labels") or {}).get(REVISION_HASH)
        view["updated"] = current_hash is not None and view["revision_hash"] == current_hash
    result = {"kind": kind, "name": metadata.get("name"), "namespace": metadata.get("namespace"),
              "uid": metadata.get("uid"), "generation": metadata.get("generation"),
              "observed_generation": status.get("observedGeneration"), "current_revision_hash": current_hash,
              "strategy": daemonset_budget(obj) if kind == "DaemonSet" else
              dict((obj.get("spec") or {}).get("updateStrategy") or {"type": "RollingUpdate"}),
              "pods": sorted(views, key=lambda v: v["name"] or ""), "verdict": None, "why": "", "blockers": [],
              "proof": None, "remedy": ""}
    unschedulable = [v for v in views if v["updated"] and _is_unschedulable(v)]
    for view in unschedulable:
        for blocker in view.get("blockers", []):
            if blocker not in result["blockers"]:
                result["blockers"].append(blocker)
    if _pod_set_complete(kind, obj):
        result["verdict"] = "complete"
    elif (status.get("observedGeneration") or 0) < (metadata.get("generation") or 0):
        result["verdict"], result["why"] = "progressing", "the controller has not yet observed the new generation"
    elif unschedulable:
        result["verdict"], result["why"], result["proof"] = _judge_pod_set(kind, obj, own_pods, unschedulable,
                                                                           context)
    else:
        result["verdict"] = "progressing"
    result["remedy"] = remedy_for_pod_set(result)
    return result


def _judge_pod_set(kind, obj, own_pods, unschedulable, context):
    raw = dict(((p.get("metadata") or {}).get("uid"), p) for p in own_pods)
    pending = _oldest(unschedulable)
    updated = set(v["uid"] for v in unschedulable)
    old = [p for p in own_pods if (p.get("metadata") or {}).get("uid") not in updated and
           ((p.get("metadata") or {}).get("labels") or {}).get(REVISION_HASH) != _current_hash(kind, obj, own_pods)]
    active_old = [p for p in old if pod_is_active(p)]
    if kind == "DaemonSet":
        budget = daemonset_budget(obj)
        if budget["type"] != "RollingUpdate":
            return "blocked", "updateStrategy OnDelete: old pods are replaced only when someone deletes them", None
        if budget["max_surge"] == 0:
            # Without surge the controller deletes a node's old pod before creating its new one (within
            # maxUnavailable): an old pod still there goes by itself; other nodes' old pods are not ours to judge.
            target = _daemon_target_node(raw[pending["uid"]])
            here = [p for p in active_old if (p.get("spec") or {}).get("nodeName") == target]
            if here:
                return ("progressing", "the DaemonSet controller deletes old pod %s on %s before the new one runs "
                        "there" % (_pod_name(here[0]), target), None)
            active_old = []
        else:
            unavailable_old = [p for p in active_old if not is_ready(p)]
            if unavailable_old:
                return ("progressing", "the DaemonSet controller deletes unavailable old pod(s) %s itself" %
                        ", ".join(_pod_name(p) for p in unavailable_old), None)
    return _verdict_from_proof(pending, raw, active_old, context)


def _daemon_target_node(pod):
    """The node a DaemonSet pod is made for (its required node affinity on metadata.name)."""
    terms = ((((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    for term in terms:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return field["values"][0]
    return None


def remedy_for_pod_set(diagnosis):
    """Words only: the collection removes pods of Deployments, not of DaemonSets or StatefulSets (see README)."""
    name = "%s %s/%s" % (diagnosis["kind"], diagnosis["namespace"], diagnosis["name"])
    verdict = diagnosis["verdict"]
    if verdict == "complete":
        return "Nothing to do: the rollout of %s is complete." % name
    if verdict == "stuck":
        pods = ", ".join(p["name"] for p in diagnosis["proof"]["remove_pods"])
        if diagnosis["kind"] == "DaemonSet":
            return ("%s. Deleting old pod(s) %s frees node %s: the DaemonSet controller then runs only the new pod "
                    "there. This collection does not delete DaemonSet pods itself; do it by hand (kubectl -n %s "
                    "delete pod %s) or set updateStrategy.rollingUpdate.maxSurge to 0." % (
                        diagnosis["why"], pods, diagnosis["proof"]["free_node"], diagnosis["namespace"], pods))
        return ("%s. The StatefulSet controller recreates any pod it owns, so deleting %s does not free the node "
                "for long; reduce what the new revision needs or add a node that fits." % (diagnosis["why"], pods))
    if verdict == "blocked":
        return ("New pods of %s cannot be scheduled and removing its old pods would not help (%s). Do not delete "
                "anything: fix what the scheduler names, or add a node that fits." % (name, diagnosis["why"]))
    return "The rollout of %s is progressing%s; wait for it." % (
        name, (" (%s)" % diagnosis["why"]) if diagnosis["why"] else "")
