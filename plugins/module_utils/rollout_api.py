# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API side of rollout diagnosis and remediation: reads a consistent set of objects with a constant number
of list calls, deletes or scales ReplicaSets with preconditions, and watches a rollout to its end.
Everything returned is plain dicts as the API serves them; the decisions are made in rollout.py."""

from __future__ import annotations

import json
import re
import time

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.k8s_connection import (
    ApiError,
    ApiException,
    ApiReader,
    explain_api_error,
    paused_gc,
    read_json,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.rollout import (
    DELETION_COST,
    LOWEST_DELETION_COST,
    controller_uid,
    diagnose_pod_sets,
    diagnose_rollouts,
)

# The workload kinds diagnose_kinds diagnoses; rollout_status offers them as the choices of its kinds option.
KINDS = ("Deployment", "DaemonSet", "StatefulSet")

try:
    from kubernetes import client as k8s_client
    from kubernetes import watch as k8s_watch
except ImportError:  # pragma: no cover - k8s_connection reports the missing library
    k8s_client = None
    k8s_watch = None


def label_selector_string(selector):
    """A metav1.LabelSelector (dict) as the string form list calls take."""
    parts = ["%s=%s" % (k, v) for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for requirement in selector.get("matchExpressions") or []:
        key, operator = requirement["key"], requirement["operator"]
        values = ",".join(requirement.get("values") or [])
        if operator == "In":
            parts.append("%s in (%s)" % (key, values))
        elif operator == "NotIn":
            parts.append("%s notin (%s)" % (key, values))
        elif operator == "Exists":
            parts.append(key)
        elif operator == "DoesNotExist":
            parts.append("!" + key)
    return ",".join(parts)


_BUDGET_NAME = re.compile(r"disruption budget (\S+?)(?: needs| is|[.,;]|$)")


def eviction_refusal(body):
    """What a 429 from pods/eviction says, from its Status body (JSON text): ``{"message", "budgets"}``, the
    message joined with its causes (which name the budget and what it needs, e.g. "The disruption budget nth
    needs 1 healthy pods and has 1 currently") and the names of the budgets found in them."""
    try:
        status = json.loads(body) if isinstance(body, (str, bytes)) else (body or {})
    except ValueError:
        status = {}
    if not isinstance(status, dict):
        status = {}
    parts = [status.get("message") or "Cannot evict pod as it would violate the pod's disruption budget."]
    for cause in (status.get("details") or {}).get("causes") or []:
        if isinstance(cause, dict) and cause.get("message") and cause["message"] not in parts:
            parts.append(cause["message"])
    message = " ".join(part.strip() for part in parts)
    budgets = []
    for name in _BUDGET_NAME.findall(message):
        if name not in budgets:
            budgets.append(name)
    return {"message": message, "budgets": budgets}


# kubectl's copy of the object as last applied: an annotation as large as the manifest, read by nobody here.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# What of a pod nothing here reads, besides the above. Its containers are read for their name, resources, ports and
# restartPolicy, their statuses for name, resources and allocatedResources (placement.pod_requests), its volumes
# for which source each has (placement.unmodelled_volumes), its conditions for Ready and PodScheduled (rollout.
# describe_pod, scheduling.is_ready).
_POD_CONTAINER_UNREAD = ("env", "envFrom", "command", "args", "workingDir", "volumeMounts", "volumeDevices",
                         "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "securityContext",
                         "terminationMessagePath", "terminationMessagePolicy", "image", "imagePullPolicy")
_POD_CONTAINER_STATUS_UNREAD = ("state", "lastState", "image", "imageID", "containerID", "volumeMounts")
_POD_STATUS_UNREAD = ("podIP", "podIPs", "hostIP", "hostIPs", "startTime", "qosClass")
_POD_CONDITIONS_READ = ("Ready", "PodScheduled")
_POD_VOLUME_CONTENTS_UNREAD = ("projected", "configMap", "secret", "downwardAPI", "emptyDir")


def compact_object(obj):
    """Drop from a listed object, in place, what nothing that reads a snapshot reads - rollout.py, placement.py,
    scheduling.py, and so nothing rollout_status or stale_replicasets return or act on: ``metadata.managedFields``
    (a third to a half of an object as served) and kubectl's last-applied-configuration annotation. A compacted
    snapshot is diagnosed exactly as the whole one (test_snapshot_reading holds them equal). The precheck reads
    managedFields (check_removed_api_writers) from reads of its own, never compacted."""
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)
    return obj


def compact_pod(pod):
    """compact_object, and of a pod what nothing reads besides (see _POD_CONTAINER_UNREAD and the others): its
    containers' environment, commands, probes and mounts, their statuses' state and image, the contents of its
    configMap, secret, projected, downwardAPI and emptyDir volumes (which kind a volume is stays), its conditions
    other than Ready and PodScheduled, its IPs, start time and QoS class."""
    compact_object(pod)
    spec = pod.get("spec") if isinstance(pod, dict) else None
    if isinstance(spec, dict):
        for key in ("containers", "initContainers"):
            for container in _dicts(spec.get(key)):
                for field in _POD_CONTAINER_UNREAD:
                    container.pop(field, None)
        for volume in _dicts(spec.get("volumes")):
            for source in _POD_VOLUME_CONTENTS_UNREAD:
                if isinstance(volume.get(source), dict):
                    volume[source] = {}
    status = pod.get("status") if isinstance(pod, dict) else None
    if isinstance(status, dict):
        for field in _POD_STATUS_UNREAD:
            status.pop(field, None)
        for key in ("containerStatuses", "initContainerStatuses"):
            for container in _dicts(status.get(key)):
                for field in _POD_CONTAINER_STATUS_UNREAD:
                    container.pop(field, None)
        if isinstance(status.get("conditions"), list):
            status["conditions"] = [c for c in status["conditions"]
                                    if not isinstance(c, dict) or c.get("type") in _POD_CONDITIONS_READ]
    return pod


def _dicts(value):
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


class RolloutApi(ApiReader):
    """Reads and changes the objects of Deployment rollouts through one ApiClient."""

    def snapshot(self, namespace, name=None, label_selectors=None, kinds=("Deployment",)):
        """Deployments matching the selection, with the ReplicaSets, Pods, FailedScheduling Events and Nodes
        needed to diagnose them, and -- only when a pod is waiting for the scheduler -- every non-terminal pod of
        the cluster (what the scheduler sees on each node) and the PodDisruptionBudgets of the namespace.
        At most seven lists, however many Deployments match, plus one per other workload kind asked for
        (DaemonSet, StatefulSet); each list is parsed as it arrives and compacted object by object
        (k8s_connection.stream_list, compact_pod, compact_object). ``namespace=None`` means all namespaces."""
        kwargs = {}
        if label_selectors:
            kwargs["label_selector"] = ",".join(label_selectors)
        if name:
            kwargs["field_selector"] = "metadata.name=%s" % name
        deployments = []
        if "Deployment" in kinds:
            deployments = self._read("deployments", namespace, **kwargs)
        snapshot = {"deployments": deployments, "replicasets": [], "pods": [], "events": [], "nodes": [],
                    "cluster_pods": None, "pdbs": [], "daemonsets": [], "statefulsets": []}
        if "DaemonSet" in kinds:
            snapshot["daemonsets"] = self._read("daemonsets", namespace, **kwargs)
        if "StatefulSet" in kinds:
            snapshot["statefulsets"] = self._read("statefulsets", namespace, **kwargs)
        if not (deployments or snapshot["daemonsets"] or snapshot["statefulsets"]):
            return snapshot
        narrow = {}
        if len(deployments) == 1 and not (snapshot["daemonsets"] or snapshot["statefulsets"]):
            # One Deployment: its own selector narrows ReplicaSets and Pods (ownership is still checked by UID).
            selector = label_selector_string((deployments[0].get("spec") or {}).get("selector") or {})
            if selector:
                narrow["label_selector"] = selector
            namespace = deployments[0]["metadata"]["namespace"]
        if deployments:
            snapshot["replicasets"] = self._read("replicasets", namespace, **narrow)
        snapshot["pods"] = self._read("pods", namespace, **narrow)
        waiting = [p for p in snapshot["pods"] if (p.get("status") or {}).get("phase") == "Pending"
                   and not (p.get("spec") or {}).get("nodeName")]
        if waiting:
            snapshot["events"] = self._read("events", namespace,
                                            field_selector="reason=FailedScheduling,involvedObject.kind=Pod")
        snapshot["nodes"] = self._read("nodes", None)
        if waiting:
            # The scheduler's own view: its pod informer lists exactly these.
            snapshot["cluster_pods"] = self._read("pods", None,
                                                  field_selector="status.phase!=Succeeded,status.phase!=Failed")
            snapshot["pdbs"] = self._read("poddisruptionbudgets", namespace)
        return snapshot

    def _read(self, resource, namespace, **kwargs):
        """One list of the snapshot, each object compacted as it is parsed (compact_pod, compact_object)."""
        return self.stream_list(resource, namespace, compact_pod if resource == "pods" else compact_object, **kwargs)

    def diagnose(self, namespace, name=None, label_selectors=None):
        """Snapshot and diagnose: a list of diagnoses (see rollout.diagnose_rollout), sorted by namespace/name."""
        return self.diagnose_kinds(namespace, name, label_selectors)["Deployment"]

    def diagnose_kinds(self, namespace, name=None, label_selectors=None, kinds=("Deployment",)):
        """One snapshot, diagnosed per workload kind: ``{kind: [diagnosis, ...]}`` sorted by namespace/name.
        The cyclic garbage collector is paused meanwhile (paused_gc: nothing read or computed here makes cycles)."""
        with paused_gc():
            snap = self.snapshot(namespace, name, label_selectors, kinds)
            results = {"Deployment": diagnose_rollouts(snap["deployments"], snap["replicasets"], snap["pods"],
                                                       snap["events"], snap["nodes"], snap["cluster_pods"],
                                                       snap["pdbs"])}
            for kind, key in (("DaemonSet", "daemonsets"), ("StatefulSet", "statefulsets")):
                results[kind] = diagnose_pod_sets(kind, snap[key], snap["pods"], snap["events"], snap["nodes"],
                                                  snap["cluster_pods"])
            del snap
        for items in results.values():
            items.sort(key=lambda d: (d["namespace"], d["name"]))
        return results

    def evict_pod(self, namespace, name, uid, resource_version, dry_run=False):
        """Evict one pod through the Eviction API (policy/v1 Eviction on pods/eviction), as ``kubectl drain`` and
        kOps do: the API server deletes it only if every PodDisruptionBudget selecting it allows one more
        disruption, checked and counted in the same request (a concurrent eviction cannot overdraw the budget),
        and only if it is still the pod read (uid and resourceVersion preconditions).
        Returns (outcome, refusal): outcome "done", "gone" (404), "changed" (409, a precondition failed) or
        "refused" (429, a budget does not allow it; ``refusal`` then says which, see eviction_refusal)."""
        options = k8s_client.V1DeleteOptions(
            preconditions=k8s_client.V1Preconditions(uid=uid, resource_version=resource_version),
            dry_run=["All"] if dry_run else None,
        )
        body = k8s_client.V1Eviction(metadata=k8s_client.V1ObjectMeta(name=name, namespace=namespace),
                                     delete_options=options)
        kwargs = {"dry_run": "All"} if dry_run else {}
        try:
            self.core.create_namespaced_pod_eviction(name, namespace, body, **kwargs)
            return "done", None
        except ApiException as exc:
            if exc.status == 404:
                return "gone", None
            if exc.status == 409:
                return "changed", None
            if exc.status == 429:
                return "refused", eviction_refusal(getattr(exc, "body", None))
            raise ApiError(explain_api_error(exc, "create", "pods/eviction", namespace, name), exc.status)
        except Exception as exc:  # urllib3 errors: connection refused, TLS, timeouts
            raise ApiError(explain_api_error(exc, "create", "pods/eviction", namespace, name))

    def scale_replicaset(self, namespace, name, uid, replicas_before, replicas_after, dry_run=False):
        """Set spec.replicas from ``replicas_before`` to ``replicas_after`` in one JSON patch whose ``test``
        operations make it atomic: it applies only to the same object (uid) still wanting the same count.
        A status update by the controller does not get in the way (a resourceVersion precondition would)."""
        body = [
            {"op": "test", "path": "/metadata/uid", "value": uid},
            {"op": "test", "path": "/spec/replicas", "value": replicas_before},
            {"op": "replace", "path": "/spec/replicas", "value": replicas_after},
        ]
        kwargs = {"body": body}
        if dry_run:
            kwargs["dry_run"] = "All"
        return self._change("patch", "replicasets", namespace, name, self.apps.patch_namespaced_replica_set, name,
                            namespace, **kwargs)

    def _scaled_already(self, namespace, name, uid, replicas_after):
        """Is the ReplicaSet still the same object, already at ``replicas_after`` or fewer?"""
        try:
            current = read_json(self.apps.read_namespaced_replica_set, name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise ApiError(explain_api_error(exc, "get", "replicasets", namespace, name), exc.status)
        except Exception as exc:
            raise ApiError(explain_api_error(exc, "get", "replicasets", namespace, name))
        return (current.get("metadata") or {}).get("uid") == uid and \
            ((current.get("spec") or {}).get("replicas") or 0) <= replicas_after

    def deployment_change(self, namespace, planned):
        """Why the Deployment a step was planned on is no longer that object or that spec (None: unchanged).
        Read just before the first deletion: a new template, a new replica count or a delete since the read
        means the proof no longer describes the rollout."""
        if not planned or not planned.get("name"):
            return None
        try:
            current = read_json(self.apps.read_namespaced_deployment, planned["name"], namespace)
        except ApiException as exc:
            if exc.status == 404:
                return "deleted since it was read"
            raise ApiError(explain_api_error(exc, "get", "deployments", namespace, planned["name"]), exc.status)
        except Exception as exc:
            raise ApiError(explain_api_error(exc, "get", "deployments", namespace, planned["name"]))
        metadata = current.get("metadata") or {}
        if metadata.get("uid") != planned.get("uid"):
            return "replaced by another object of the same name since it was read"
        if metadata.get("generation") != planned.get("generation"):
            return "its spec changed since it was read (generation %s, now %s)" % (
                planned.get("generation"), metadata.get("generation"))
        return None

    def delete_replicaset(self, namespace, name, uid, dry_run=False):
        """Delete an (already scaled to 0) ReplicaSet with a uid precondition."""
        body = k8s_client.V1DeleteOptions(
            preconditions=k8s_client.V1Preconditions(uid=uid),
            propagation_policy="Background",
            dry_run=["All"] if dry_run else None,
        )
        return self._change("delete", "replicasets", namespace, name, self.apps.delete_namespaced_replica_set,
                            name, namespace, body=body)

    def _change(self, verb, resource, namespace, name, call, *args, **kwargs):
        """Returns "done", "gone" (404) or "changed" (409 precondition, 422 failed JSON-patch test)."""
        try:
            call(*args, **kwargs)
            return "done"
        except ApiException as exc:
            if exc.status == 404:
                return "gone"
            if exc.status in (409, 422):
                return "changed"
            raise ApiError(explain_api_error(exc, verb, resource, namespace, name), exc.status)
        except Exception as exc:
            raise ApiError(explain_api_error(exc, verb, resource, namespace, name))

    def apply_step(self, namespace, plan, action, dry_run=False):
        """Carry out one plan step: evict exactly the named pods (Eviction API: every PodDisruptionBudget is
        enforced by the API server in the same request; uid + resourceVersion preconditions), then at once lower
        their ReplicaSets' spec.replicas by as many (JSON patch with test operations), so the ReplicaSet controller
        neither keeps a replacement nor picks other pods. Before any pod goes, the ReplicaSets' patches, the
        Deployment and every eviction are checked (server-side dry runs, a read): a step whose pods cannot all go
        removes none. With ``action=delete`` a ReplicaSet the step takes to 0 is then deleted (uid precondition).
        A refused eviction (429) is reported with the budget's words and never retried as a plain delete.
        Returns ``{replicasets, conflicts}``."""
        done, conflicts = [], []
        pods_by_rs = dict((rs["uid"], rs) for rs in plan["replicasets"])
        for rs in plan["replicasets"]:
            # The ReplicaSet's preconditions first, as a server-side dry run: no pod is evicted for a ReplicaSet
            # that changed since it was read (its controller would only replace the pod).
            precondition = self.scale_replicaset(namespace, rs["name"], rs["uid"], rs["replicas_before"],
                                                 rs["replicas_after"], dry_run=True)
            if precondition == "done":
                continue
            del pods_by_rs[rs["uid"]]
            if precondition == "gone":
                conflicts.append(dict(rs, kind="ReplicaSet", message="deleted since it was read; its pods were "
                                      "left alone"))
            elif self._scaled_already(namespace, rs["name"], rs["uid"], rs["replicas_after"]):
                # The deployment controller (or a user, or another run) got there first: its controller removes
                # the pods itself; nothing is ours to do, and nothing is reported as changed.
                done.append({"name": rs["name"], "uid": rs["uid"], "revision": rs["revision"],
                             "replicas_before": rs["replicas_before"], "replicas_after": rs["replicas_after"],
                             "pods": [], "action": "already scaled down by another actor"})
            else:
                conflicts.append(dict(rs, kind="ReplicaSet", message="spec.replicas or uid changed since read "
                                      "(JSON patch test failed); its pods were left alone"))
        pods = [pod for pod in plan["pod_details"] if pod["replicaset_uid"] in pods_by_rs]
        if pods:
            change = self.deployment_change(namespace, plan.get("deployment"))
            if change:
                conflicts.append({"kind": "Deployment", "name": plan["deployment"]["name"],
                                  "message": change + "; no pod was evicted"})
                return {"replicasets": done, "conflicts": conflicts}
            # Every eviction as a server-side dry run first (budgets, preconditions, admission, RBAC): the step
            # frees its node only with all its pods gone, so one that cannot go keeps all of them.
            refused = [c for c in (self._eviction_conflict(pod, *self.evict_pod(
                namespace, pod["name"], pod["uid"], pod["resource_version"], dry_run=True)) for pod in pods) if c]
            if refused:
                conflicts.extend(refused)
                return {"replicasets": done, "conflicts": conflicts}
        removal = plan.get("removal") or {}
        if pods and removal.get("how") == "scale-down":
            outcome = self._remove_by_scale_down(namespace, pods, pods_by_rs, removal, action, dry_run)
            outcome["replicasets"][:0] = done
            outcome["conflicts"][:0] = conflicts
            return outcome
        evicted = {}
        for pod in pods:
            if dry_run:
                outcome, refusal = "done", None  # checked above, as a dry run: that is check mode's step
            else:
                outcome, refusal = self.evict_pod(namespace, pod["name"], pod["uid"], pod["resource_version"])
            if outcome != "done":
                # Another actor got there first (a second run, a user, a drain's eviction that took the budget):
                # not ours to count, and the rest of the step is not taken (it could no longer free the node).
                conflicts.append(self._eviction_conflict(pod, outcome, refusal))
                break
            evicted.setdefault(pod["replicaset_uid"], []).append(pod["name"])
        for uid, names in evicted.items():
            rs = pods_by_rs[uid]
            after = rs["replicas_before"] - len(names)
            outcome = self.scale_replicaset(namespace, rs["name"], uid, rs["replicas_before"], after, dry_run)
            entry = {"name": rs["name"], "uid": uid, "revision": rs["revision"], "replicas_before":
                     rs["replicas_before"], "replicas_after": after, "pods": list(names),
                     "action": "scaled", "removed_by": "eviction"}
            if outcome == "changed" and not dry_run and self._scaled_already(namespace, rs["name"], uid, after):
                # The freed node took the new pod at once and the deployment controller scaled the old
                # ReplicaSet down itself between our two requests: the step is done.
                outcome, entry["action"] = "done", "scaled by the deployment controller"
            if outcome != "done":
                entry["message"] = ("spec.replicas or uid changed since read (JSON patch test failed); its "
                                    "controller may recreate the evicted pod(s)")
                conflicts.append(dict(entry, kind="ReplicaSet"))
                continue
            done.append(self._delete_if_emptied(namespace, entry, action, dry_run))
        return {"replicasets": done, "conflicts": conflicts}

    def _delete_if_emptied(self, namespace, entry, action, dry_run):
        """With ``action=delete``, delete a ReplicaSet the step took to 0 (uid precondition); returns ``entry``,
        its action "deleted" when that happened."""
        if action == "delete" and entry["replicas_after"] == 0:
            if self.delete_replicaset(namespace, entry["name"], entry["uid"], dry_run) == "done":
                entry["action"] = "deleted"
        return entry

    def mark_for_scale_down(self, namespace, pod, cost, dry_run=False):
        """Set (``cost`` a string) or restore (``cost`` None: remove) the pod's deletion-cost annotation, in one
        JSON patch that applies only to the same pod at the same resourceVersion (first mark) or the same uid
        (restore). Returns "done", "gone" or "changed"."""
        key = "/metadata/annotations/" + DELETION_COST.replace("~", "~0").replace("/", "~1")
        body = [{"op": "test", "path": "/metadata/uid", "value": pod["uid"]}]
        if cost is None:
            body.append({"op": "remove", "path": key})
        else:
            body.append({"op": "test", "path": "/metadata/resourceVersion", "value": pod["resource_version"]})
            body.append({"op": "add", "path": key, "value": cost} if pod.get("annotated") else
                        {"op": "add", "path": "/metadata/annotations", "value": {DELETION_COST: cost}})
        kwargs = {"body": body}
        if dry_run:
            kwargs["dry_run"] = "All"
        return self._change("patch", "pods", namespace, pod["name"], self.core.patch_namespaced_pod, pod["name"],
                            namespace, **kwargs)

    def _restore_marks(self, namespace, pods):
        """Give each marked pod that is still there its deletion cost back (best effort: a pod being deleted or
        changed meanwhile keeps what it has). Returns the names restored."""
        restored = []
        for pod in pods:
            outcome = self.mark_for_scale_down(namespace, pod, pod.get("deletion_cost_before"))
            if outcome == "done":
                restored.append(pod["name"])
        return restored

    def _remove_by_scale_down(self, namespace, pods, pods_by_rs, removal, action, dry_run):
        """The step's pods removed by their own ReplicaSet controller: mark the pods it must choose with the lowest
        deletion cost (only where it has others to choose from), lower the ReplicaSets (JSON patch with test
        operations), then follow the pods until the controller has deleted exactly them - no old-template
        replacement is ever created, since the ReplicaSet never wants more pods than it has. ``plan_step`` chose
        this only where no PodDisruptionBudget promises a healthy pod (see rollout.removal_by_scale_down)."""
        done, conflicts, marked = [], [], []
        to_mark = set(removal.get("mark") or [])
        for pod in pods:
            if pod["name"] not in to_mark:
                continue
            outcome = self.mark_for_scale_down(namespace, pod, str(LOWEST_DELETION_COST), dry_run)
            if outcome == "done":
                marked.append(pod)
                continue
            if not dry_run:
                self._restore_marks(namespace, marked)
            conflicts.append({"kind": "Pod", "name": pod["name"], "message": (
                "changed since it was read (precondition failed); no pod was removed" if outcome == "changed" else
                "already gone (deleted by another actor since it was read); no pod was removed")})
            return {"replicasets": done, "conflicts": conflicts}
        lowered = []
        for uid, rs in pods_by_rs.items():
            names = [pod["name"] for pod in pods if pod["replicaset_uid"] == uid]
            outcome = self.scale_replicaset(namespace, rs["name"], uid, rs["replicas_before"], rs["replicas_after"],
                                            dry_run)
            entry = {"name": rs["name"], "uid": uid, "revision": rs["revision"],
                     "replicas_before": rs["replicas_before"], "replicas_after": rs["replicas_after"],
                     "pods": names, "action": "scaled", "removed_by": "scale-down"}
            if outcome != "done":
                if not dry_run:
                    restored = self._restore_marks(namespace, [p for p in marked if p["replicaset_uid"] == uid])
                    entry["restored"] = restored
                entry["message"] = ("spec.replicas or uid changed since read (JSON patch test failed); its pods "
                                    "were left alone")
                conflicts.append(dict(entry, kind="ReplicaSet"))
                continue
            lowered.append((entry, [pod for pod in pods if pod["replicaset_uid"] == uid]))
        if not dry_run and lowered:
            try:
                wrong, late = self.await_scale_down(namespace, [pod for step in lowered for pod in step[1]],
                                                    [step[0]["uid"] for step in lowered])
            except ApiError as exc:
                # The ReplicaSets are lowered: the step stands, whether or not it can be followed now.
                wrong, late = [], []
                conflicts.append({"kind": "Pod", "name": ", ".join(p["name"] for p in pods), "message": (
                    "its ReplicaSet was lowered; whether its controller deleted it could not be followed: %s" % exc)})
            for name in wrong:
                conflicts.append({"kind": "Pod", "name": name, "message": (
                    "deleted by the ReplicaSet controller instead of a pod the proof named (its choice changed "
                    "since the read)")})
            if late:
                conflicts.append({"kind": "Pod", "name": ", ".join(late), "message": (
                    "its ReplicaSet was lowered but the controller has not deleted it within %d s" %
                    self.SCALE_DOWN_SECONDS)})
            if wrong:
                self._restore_marks(namespace, [p for p in marked if p["name"] not in wrong])
        for entry in (step[0] for step in lowered):
            done.append(self._delete_if_emptied(namespace, entry, action, dry_run))
        return {"replicasets": done, "conflicts": conflicts}

    SCALE_DOWN_SECONDS = 60
    SCALE_DOWN_POLL = 0.2

    def await_scale_down(self, namespace, pods, replicaset_uids):
        """Follow the pods of the lowered ReplicaSets (one list call per poll, by their pod-template-hash labels;
        the ReplicaSet controller acts within a poll or two) until the controller has deleted, or started
        deleting, every pod in ``pods``. A poll of what the read-only role may already ``list`` rather than a watch
        that would need one more right. Returns ``(wrong, late)``: pods of those ReplicaSets it deleted that are
        not in ``pods``, and pods in ``pods`` still there, not terminating, after SCALE_DOWN_SECONDS."""
        expected = dict((pod["uid"], pod["name"]) for pod in pods)
        hashes = sorted(set((pod.get("labels") or {}).get("pod-template-hash") for pod in pods) - {None})
        selector = "pod-template-hash in (%s)" % ",".join(hashes) if hashes else None
        owners = set(replicaset_uids)
        deadline = time.monotonic() + self.SCALE_DOWN_SECONDS
        known = None
        while True:
            items = [p for p in self.stream_list("pods", namespace, label_selector=selector)
                     if controller_uid(p) in owners]
            standing = set((p.get("metadata") or {}).get("uid") for p in items
                           if not (p.get("metadata") or {}).get("deletionTimestamp"))
            if known is None:
                known = dict(((p.get("metadata") or {}).get("uid"), (p.get("metadata") or {}).get("name"))
                             for p in items)
            pending = set(expected) & standing
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(self.SCALE_DOWN_POLL)
        wrong = sorted(name for uid, name in known.items() if uid not in expected and uid not in standing)
        return wrong, sorted(expected[uid] for uid in pending)

    @staticmethod
    def _eviction_conflict(pod, outcome, refusal=None):
        """The conflict entry of an eviction that did not happen (None for one that did)."""
        if outcome == "done":
            return None
        if outcome == "refused":
            return {"kind": "Pod", "name": pod["name"], "budgets": refusal["budgets"], "message": (
                "eviction refused by the API server (429): %s; left alone, never deleted without the budget's "
                "consent" % refusal["message"])}
        return {"kind": "Pod", "name": pod["name"], "message": (
            "changed since it was read (precondition failed); left alone" if outcome == "changed" else
            "already gone (deleted by another actor since it was read); left to its controller")}

    def wait_for_change(self, namespace, name, remaining, diagnosis):
        """Block on a watch of the Deployment until its status moves (or the time is up)."""
        watcher = k8s_watch.Watch()
        seen = (diagnosis["observed_generation"], tuple(sorted(diagnosis["replicas"].items())))
        try:
            for event in watcher.stream(
                self.apps.list_namespaced_deployment,
                namespace,
                field_selector="metadata.name=%s" % name,
                timeout_seconds=max(1, int(remaining)),
                _request_timeout=remaining + 5,
            ):
                obj = event["object"]
                status = obj.status
                now = (status.observed_generation, tuple(sorted({
                    "desired": obj.spec.replicas,
                    "current": status.replicas or 0,
                    "updated": status.updated_replicas or 0,
                    "ready": status.ready_replicas or 0,
                    "available": status.available_replicas or 0,
                    "unavailable": status.unavailable_replicas or 0,
                }.items())))
                if now != seen:
                    return
        except ApiException as exc:
            raise ApiError(explain_api_error(exc, "watch", "deployments", namespace, name), exc.status)
        except Exception as exc:
            if "timed out" in str(exc).lower():
                return
            raise ApiError(explain_api_error(exc, "watch", "deployments", namespace, name))
        finally:
            watcher.stop()
