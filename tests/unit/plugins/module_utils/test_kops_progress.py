# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kops' progress lines: which lines of a real rolling update and reconcile are shown, and that they reach the
progress file while the process still runs."""

from __future__ import annotations

import subprocess
import sys
import time

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_cli import _communicate_with_progress, progress_line
from ansible_collections.clusterops.kops_upgrade.plugins.plugin_utils.kops_progress import new_lines

from .test_kops_cli import recorded


def shown(text):
    return [line for line in (progress_line(raw) for raw in text.splitlines()) if line is not None]


def test_rolling_update_log_one_line_per_instance_and_group():
    lines = shown(recorded("rolling_update_cloudonly_force_apply"))
    stopping = [line for line in lines if "Stopping instance" in line]
    assert stopping == [
        '09:03:22 Stopping instance "i-14eb8c75971a9ce74", in group "control-plane-eu-west-1a.masters.x.k8s.local" '
        '(this may take a while).',
        '09:03:23 Stopping instance "i-4acc32b4b453a15f3", in group "nodes-eu-west-1a.x.k8s.local" (this may take a '
        'while).',
        '09:03:24 Stopping instance "i-48a6f15ba70f228c6", in group "nodes-eu-west-1a.x.k8s.local" (this may take a '
        'while).']
    assert lines[-1] == '09:03:25 Rolling update completed for cluster "x.k8s.local"!'
    # The state store's notice is not progress.
    assert not [line for line in lines if "local filesystem state store" in line]


def test_reconcile_phases_tables_drains_and_validation_are_shown_task_counts_are_not():
    out = shown(recorded("v1_31_0_reconcile_apply"))
    assert "Updating control plane configuration" in out and "Updating node configuration" in out
    assert "control-plane-eu-west-1a NeedsUpdate 1 0 1 1 1 1" in out
    assert "nodes-eu-west-1a NeedsUpdate 2 0 2 2 2 2" in out
    assert "evicting pod kube-system/aws-node-termination-handler-77944476dd-7n47z" in out
    assert not [line for line in out if line.startswith(("Cluster changes have been applied", "Changes may require"))]
    log = shown(recorded("v1_31_0_reconcile_apply_log"))
    assert '12:09:48 Draining the node: "i-687c6f174bf1465e8".' in log
    assert "12:10:09 Validating the cluster." in log
    assert not [line for line in log if "Tasks:" in line]


def test_lines_reach_the_progress_file_while_the_process_runs(tmp_path):
    path = str(tmp_path / "progress")
    script = ("import sys, time\n"
              "print('I1129 12:09:48.653843   29471 instancegroups.go:431] Draining the node: \"i-1\".', "
              "file=sys.stderr, flush=True)\n"
              "print('Doing rolling-update for nodes', flush=True)\n"
              "time.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    import threading
    box = {}
    reader = threading.Thread(target=lambda: box.update(result=_communicate_with_progress(proc, 60, path, {"i-1x"})))
    reader.start()
    deadline = time.monotonic() + 30
    lines = []
    while len(lines) < 2 and time.monotonic() < deadline:
        lines += new_lines(path, sum(len(line) + 1 for line in lines))[0]
        time.sleep(0.1)
    assert proc.poll() is None  # still running: the lines came while it ran
    assert sorted(lines) == sorted(['12:09:48 Draining the node: "i-1".', "Doing rolling-update for nodes"])
    proc.kill()
    reader.join(30)
    out, err, how = box["result"]
    assert b"Doing rolling-update" in out and b"Draining" in err and how is None


def test_a_process_past_its_timeout_is_stopped_and_what_it_printed_kept(tmp_path):
    path = str(tmp_path / "progress")
    proc = subprocess.Popen([sys.executable, "-c", "print('before', flush=True); import time; time.sleep(60)"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    started = time.monotonic()
    out, err, how = _communicate_with_progress(proc, 2, path)
    assert time.monotonic() - started < 30
    assert out == b"before\n" and how == "SIGTERM"
    assert new_lines(path, 0) == (["before"], 7)


def test_new_lines_keeps_a_partial_line_for_the_next_look(tmp_path):
    path = tmp_path / "progress"
    path.write_bytes(b"one\ntw")
    assert new_lines(str(path), 0) == (["one"], 4)
    path.write_bytes(b"one\ntwo\n")
    assert new_lines(str(path), 4) == (["two"], 8)
    assert new_lines(str(tmp_path / "absent"), 3) == ([], 3)
