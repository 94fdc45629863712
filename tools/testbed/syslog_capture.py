# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command and capture what its processes write to syslog, the way a module's "Invoked with" line really
leaves: glibc's syslog() sends a datagram to /dev/log.

The command runs in a private mount namespace (`unshare --mount`, needs root or CAP_SYS_ADMIN) where /dev is a
tmpfs of symlinks to the real /dev entries plus /dev/log pointing at a datagram socket of ours, so the machine's
own /dev (and any syslog daemon) is never touched, and nothing outside the command writes to our socket.
"""

from __future__ import annotations

import os
import socket
import subprocess

_SETUP = ('mount --rbind /dev "$CAPTURE_DEV" && mount -t tmpfs -o mode=755 clusterops-dev /dev && '
          'for e in "$CAPTURE_DEV"/* "$CAPTURE_DEV"/.[!.]*; do if [ -e "$e" ] || [ -L "$e" ]; then '
          'ln -s "$e" /dev/; fi; done && ln -s "$CAPTURE_SOCKET" /dev/log && exec "$@"')


def run(argv, workdir, env=None, timeout=600):
    """Run ``argv``; returns (CompletedProcess with text stdout/stderr, [syslog messages as text])."""
    path = os.path.join(workdir, "syslog.sock")
    real_dev = os.path.join(workdir, "real-dev")
    os.makedirs(real_dev, exist_ok=True)
    if os.path.exists(path):
        os.remove(path)
    messages = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(0.2)
        environment = dict(os.environ if env is None else env, CAPTURE_DEV=real_dev, CAPTURE_SOCKET=path)
        with open(os.path.join(workdir, "stdout"), "w+") as out, open(os.path.join(workdir, "stderr"), "w+") as err:
            proc = subprocess.Popen(["unshare", "--mount", "sh", "-c", _SETUP, "sh"] + list(argv), stdout=out,
                                    stderr=err, env=environment, text=True)
            while True:
                try:
                    messages.append(sock.recv(1 << 20).decode("utf-8", "replace"))
                except socket.timeout:
                    if proc.poll() is not None:
                        break
            proc.wait(timeout=timeout)
            out.seek(0)
            err.seek(0)
            completed = subprocess.CompletedProcess(argv, proc.returncode, out.read(), err.read())
    if "unshare" in completed.stderr and completed.returncode != 0 and not messages:
        raise RuntimeError("cannot capture syslog: %s" % completed.stderr[-500:])
    return completed, messages
