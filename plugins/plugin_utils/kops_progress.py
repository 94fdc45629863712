# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress of a long kops command (rolling update, reconcile) in the output while it runs.

A module cannot print while it runs: ansible-core shows its result when it exits, and a rolling update can take
hours. So the module appends each line kops prints to a progress file (module_utils.kops_cli.progress_line), and
this action runs the module in a thread while it shows each new line of that file with Display. Display from a
task's worker process goes through ansible-core's result queue to the controller's stdout at once; under AWX
(ansible-runner) such output becomes the job's "verbose" events, streamed to the job output like any other line.
async + poll would show nothing but "ASYNC POLL" lines, and async_status cannot carry partial output.

The progress file is read on the controller, so progress is shown when the module runs there (a local
connection, as in the collection's playbooks); otherwise, with async, or with no_log, the module runs as usual.
"""

from __future__ import annotations

import os
import tempfile
import threading

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()
# Seconds between two looks at the progress file.
POLL_SECONDS = 2.0


def new_lines(path, offset):
    """The complete lines of ``path`` after byte ``offset``, and the offset after them (a line still being
    written stays for the next look)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return [], offset
    end = data.rfind(b"\n") + 1
    return data[:end].decode("utf-8", "replace").splitlines(), offset + end


class KopsProgressAction(ActionBase):
    """Runs the module of the same name and shows kops' progress lines as they come."""

    def _shows_progress(self):
        return (getattr(self._connection, "transport", None) == "local" and not self._task.async_val
                and not self._task.no_log and not self._task.args.get("progress_file"))

    def run(self, tmp=None, task_vars=None):
        result = super(KopsProgressAction, self).run(tmp, task_vars)
        del tmp
        if not self._shows_progress():
            result.update(self._execute_module(task_vars=task_vars))
            return result
        descriptor, path = tempfile.mkstemp(prefix="clusterops-kops-progress-")
        os.close(descriptor)
        outcome = {}

        def execute():
            try:
                outcome["result"] = self._execute_module(module_args=dict(self._task.args, progress_file=path),
                                                         task_vars=task_vars)
            except Exception as exc:  # pylint: disable=broad-except  # raised again below, in the task's thread
                outcome["error"] = exc

        worker = threading.Thread(target=execute, name="kops-module")
        worker.daemon = True
        worker.start()
        host = (task_vars or {}).get("inventory_hostname", "localhost")
        offset = 0
        try:
            while True:
                worker.join(POLL_SECONDS)
                lines, offset = new_lines(path, offset)
                for line in lines:
                    display.display("[%s] kops: %s" % (host, line))
                if not worker.is_alive():
                    break
        finally:
            os.remove(path)
        if "error" in outcome:
            raise outcome["error"]
        result.update(outcome["result"])
        return result
