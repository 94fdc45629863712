# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fleet run in one summary: for each cluster (inventory host) what happened - done, failed (in which task, why),
unreachable, stopped with its batch when the fleet stopped (max_fail_percentage, a failed canary), or never
reached - with the precheck verdict and what remediation removed, from the run's set_stats artifacts.

Pure: takes plain data the fleet_summary callback collects, returns plain data and text lines."""

from __future__ import annotations

OUTCOMES = ("done", "failed", "unreachable", "stopped", "not_reached")


def summarize_fleet(hosts, started, failures, unreachable, stopped, artifacts):
    """``hosts``: every host of the fleet plays, in inventory order; ``started``: hosts that ran at least one task;
    ``failures``/``unreachable``: host -> ``{task, msg}``; ``stopped``: hosts of a batch cut short by the fleet
    stopping; ``artifacts``: the run's aggregated set_stats data (``clusterops_precheck``, ``clusterops_summary``,
    keyed by host)."""
    precheck = artifacts.get("clusterops_precheck") or {}
    summaries = artifacts.get("clusterops_summary") or {}
    clusters = []
    for host in hosts:
        if host in failures:
            outcome, detail = "failed", failures[host]
        elif host in unreachable:
            outcome, detail = "unreachable", unreachable[host]
        elif host in stopped:
            outcome = "stopped"
            detail = {"task": "", "msg": "the fleet stopped (a failed canary, or max_fail_percentage reached in "
                                         "its batch)"}
        elif host in started:
            outcome, detail = "done", {}
        else:
            outcome, detail = "not_reached", {"task": "", "msg": "the fleet stopped before its batch"}
        report = precheck.get(host) or {}
        summary = summaries.get(host) or {}
        remediation = summary.get("remediation") or {}
        clusters.append({
            "host": host,
            "outcome": outcome,
            "task": detail.get("task", ""),
            "reason": detail.get("msg", ""),
            "precheck_verdict": report.get("verdict") or "",
            "errors": list(report.get("errors") or []),
            "warnings": list(report.get("warnings") or []),
            "removed": list(remediation.get("removed") or []),
            "phase_seconds": {k: v for k, v in (summary.get("phase_seconds") or {}).items() if v is not None},
        })
    totals = dict((outcome, sum(1 for c in clusters if c["outcome"] == outcome)) for outcome in OUTCOMES)
    return {"clusters": clusters, "totals": totals, "ok": totals["done"] == len(clusters)}


def fleet_lines(fleet):
    """The summary as lines of text, one per cluster, readable in an AWX job log."""
    totals = fleet["totals"]
    lines = ["FLEET SUMMARY: %d cluster(s): %s" % (
        len(fleet["clusters"]), ", ".join("%d %s" % (totals[o], o) for o in OUTCOMES if totals[o]))]
    for cluster in fleet["clusters"]:
        parts = [cluster["outcome"]]
        if cluster["precheck_verdict"]:
            parts.append("precheck %s" % cluster["precheck_verdict"])
        if cluster["errors"]:
            parts.append("errors: %s" % "; ".join(cluster["errors"]))
        if cluster["removed"]:
            parts.append("removed: %s" % ", ".join(cluster["removed"]))
        if cluster["phase_seconds"]:
            parts.append("seconds: %s" % ", ".join("%s %s" % (k, v) for k, v in sorted(
                cluster["phase_seconds"].items())))
        if cluster["outcome"] != "done":
            # One line per cluster: a multi-line message (a failed precheck's list) is folded.
            reason = " ".join(str(cluster["reason"]).split())
            parts.append(("at task '%s': " % cluster["task"] if cluster["task"] else "") + reason)
        lines.append("  %s: %s" % (cluster["host"], " | ".join(parts)))
    return lines
