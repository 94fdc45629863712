# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_summary
type: aggregate
short_description: One summary at the end of a run over a fleet of clusters
version_added: 0.1.0
description:
  - At the end of a run of the collection's playbooks over an inventory with one host per cluster, prints one line
    per cluster - done, failed (the task and the message), unreachable, stopped with its batch when the fleet
    stopped (a failed canary, or C(max_fail_percentage) reached), or never reached - with the precheck verdict,
    its errors, the ReplicaSets remediation removed and the seconds per phase (from the C(set_stats) artifacts
    C(clusterops_precheck) and C(clusterops_summary)).
  - Printed from the end-of-run statistics, so it appears also when a failed batch stopped the fleet, when no
    later play runs.
  - Publishes the same as the C(clusterops_fleet) entry of the run's custom statistics.
  - A play with the play variable C(clusterops_fleet_summary_skip) set to C(true) (the playbooks' option checks,
    which run on the controller) adds no cluster; a failure in it is reported under its host.
requirements:
  - Enable it, for example C(callbacks_enabled = clusterops.kops_upgrade.fleet_summary) in C(ansible.cfg) or
    E(ANSIBLE_CALLBACKS_ENABLED).
"""

from ansible.plugins.callback import CallbackBase

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.fleet import fleet_lines, summarize_fleet


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "clusterops.kops_upgrade.fleet_summary"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display=display)
        self.hosts = []
        self.started = set()
        self.batch = []
        self.failures = {}
        self.unreachable = {}
        self.stopped = set()
        self.skip = False

    def v2_playbook_on_play_start(self, play):
        # Called once per batch of a serial play; the inventory is restricted to the batch by then.
        self.batch = []
        self.skip = bool((play.vars or {}).get("clusterops_fleet_summary_skip"))
        if self.skip:
            return
        try:
            inventory = play.get_variable_manager()._inventory  # pylint: disable=protected-access
            for host in inventory.get_hosts(play.hosts, ignore_restrictions=True):
                if host.name not in self.hosts:
                    self.hosts.append(host.name)
        except Exception:  # an inventory we cannot ask: hosts are then learnt as they run
            pass

    def v2_runner_on_start(self, host, task):
        if self.skip:
            return
        self.started.add(host.name)
        if host.name not in self.hosts:
            self.hosts.append(host.name)
        if host.name not in self.batch:
            self.batch.append(host.name)

    @staticmethod
    def _detail(result):
        return {"task": result._task.get_name(), "msg": result._result.get("msg", "")}  # pylint: disable=protected-access

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            name = result._host.get_name()  # pylint: disable=protected-access
            if name not in self.hosts:  # a failure in a skipped play (the option checks)
                self.hosts.append(name)
                self.started.add(name)
            self.failures[name] = self._detail(result)

    def v2_runner_on_unreachable(self, result):
        self.unreachable[result._host.get_name()] = self._detail(result)  # pylint: disable=protected-access

    def v2_playbook_on_no_hosts_remaining(self):
        # The batch ends early: its hosts that did not fail themselves were stopped with it.
        if self.skip:
            return
        self.stopped.update(h for h in self.batch if h not in self.failures and h not in self.unreachable)

    def v2_playbook_on_stats(self, stats):
        artifacts = (getattr(stats, "custom", None) or {}).get("_run") or {}
        # A failure a block rescued is no failure of the host: go by the run's own counts.
        failures = dict((h, d) for h, d in self.failures.items() if stats.summarize(h).get("failures"))
        fleet = summarize_fleet(self.hosts, self.started, failures, self.unreachable, self.stopped, artifacts)
        if hasattr(stats, "set_custom_stats"):
            stats.set_custom_stats("clusterops_fleet", fleet)
        for line in fleet_lines(fleet):
            self._display.display(line)
