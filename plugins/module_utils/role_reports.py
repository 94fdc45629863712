# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the roles report, drawn from their modules' registered results: pure functions over plain dicts, exposed
to the roles as the collection's filters (plugins/filter/role_reports.py), so that the roles' tasks pass values
and the decisions (which results count as a problem, what a remediation did) live here, unit-tested.

A registered result of a task that looped is ``{"results": [...]}``; one that was skipped is ``{"skipped": true}``;
both, and None, are taken as they come."""

from __future__ import annotations

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.precheck import kops_validation_outcome


def _item_name(result):
    """The name a looped result was for: its loop item's ``name``, or the item itself when it is a name."""
    item = result.get("item")
    return item.get("name") if isinstance(item, dict) else item


def _loop_results(registered):
    """The per-item results of a looped task's registered result (none when it was skipped or not run)."""
    return [r for r in (registered or {}).get("results") or [] if isinstance(r, dict)]


def remediation_report(status, removals=None, prevention=None):
    """One remediation run, from what ``rollout_status`` returned (``status``, with its ``remediation_targets``),
    the looped ``stale_replicasets`` results (``removals``) and the looped prevention patches (``prevention``):
    ``stuck`` (the targets), ``removed`` (the old ReplicaSets changed, once each), ``pods_removed``, ``blocked``
    (every blocked Deployment read), ``conflicts``, ``rollout_seconds`` (per Deployment whose rollout was waited
    for), ``prevented`` (the Deployments a prevention patch changed) and ``predicted_deadlocks``."""
    status = status or {}
    removal_results = _loop_results(removals)
    removed = []
    for result in removal_results:
        for entry in result.get("removed") or []:
            if entry.get("name") not in removed:
                removed.append(entry.get("name"))
    return {
        "stuck": list((status.get("remediation_targets") or {}).get("stuck") or []),
        "removed": removed,
        "pods_removed": [pod for result in removal_results for step in result.get("steps") or []
                         for pod in step.get("pods") or []],
        "blocked": [d["name"] for d in status.get("deployments") or [] if d.get("verdict") == "blocked"],
        "conflicts": [c.get("name") for result in removal_results for c in result.get("conflicts") or []],
        "rollout_seconds": dict((_item_name(r), r["rollout"].get("seconds"))
                                for r in removal_results if isinstance(r.get("rollout"), dict)),
        "prevented": [_item_name(r) for r in _loop_results(prevention) if r.get("changed")],
        "predicted_deadlocks": list(status.get("predicted_deadlocks") or []),
    }


def merge_remediation_reports(earlier, latest):
    """The report of a play that remediated more than once (the kops_upgrade role remediates during the update
    and again after the rolling update): each list is the earlier one's entries not in the latest, then the
    latest's (Ansible's ``combine(list_merge='append_rp')``), rollout times joined, seconds added; ``blocked`` and
    ``predicted_deadlocks`` are the latest run's (the state now). ``earlier`` None or empty: ``latest``."""
    if not earlier:
        return dict(latest)
    merged = dict(earlier)
    for key, value in latest.items():
        if key in ("blocked", "predicted_deadlocks"):
            merged[key] = value
        elif key == "seconds":
            merged[key] = round(float(earlier.get("seconds") or 0) + float(value or 0), 1)
        elif isinstance(value, list):
            merged[key] = [v for v in earlier.get(key) or [] if v not in value] + list(value)
        elif isinstance(value, dict):
            merged[key] = dict(earlier.get(key) or {}, **value)
        else:
            merged[key] = value
    return merged


def validation_problems(kops_validation=None, rollouts=None, health=None):
    """What is still wrong after an upgrade, in words, from the validate role's three reads:

    - ``kops_validation`` (what ``kops_validate`` returned; skipped or None: not asked): unless it reported the
      cluster valid with no failure, ``kops validate: <its message>`` and one line per failure. A kops that could
      not report at all (state store, credentials) is a problem, never a pass.
    - ``rollouts`` (what ``rollout_status`` returned): each Deployment ``stuck`` or past its progress deadline,
      ``rollout: <its remedy>``.
    - ``health`` (``upgrade_precheck`` with the health group): its errors (a warning, such as an upgrade in
      progress, is not a problem)."""
    problems = []
    kops = kops_validation or {}
    if kops_validation_outcome(kops) in ("no_report", "invalid"):
        problems.append("kops validate: %s" % (kops.get("msg") or ""))
        problems += ["kops validate: %s" % (f.get("message") if isinstance(f, dict) else f)
                     for f in kops.get("failures") or []]
    problems += ["rollout: %s" % d.get("remedy") for d in (rollouts or {}).get("deployments") or []
                 if d.get("verdict") in ("stuck", "deadline_exceeded")]
    problems += [f.get("message") for f in (health or {}).get("findings") or [] if f.get("severity") == "error"]
    return problems
