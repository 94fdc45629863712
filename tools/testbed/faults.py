# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults on the real control plane, at the moment they matter.

- ``Interposer``: a TLS proxy between a module and kube-apiserver (served with the cluster CA, so the module's
  kubeconfig changes only its server URL). It forwards every request unchanged, one per connection, streaming the
  answer (watches included), and calls ``on_write(method, path)`` before forwarding the first request of each
  connection that is not a GET: that is the instant between a module's diagnosis (reads only) and its first write.
  The hook may change objects through the admin API, hold the request (a barrier), or stop the API server.
- ``ApiServer``: stops the cluster's kube-apiserver (SIGKILL, as a crash) and starts it again with the same command
  line and pid file, so the local cluster's down.sh still stops it by pid.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time

from kubernetes import client


class ApiServer(object):
    def __init__(self, cluster):
        self.cluster = cluster
        self.pid_file = os.path.join(cluster.state_dir, "run", "kube-apiserver.pid")
        self.argv = None

    def pid(self):
        with open(self.pid_file) as handle:
            return int(handle.read().strip())

    def kill(self):
        pid = self.pid()
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            self.argv = [part.decode() for part in handle.read().split(b"\0") if part]
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
                with open("/proc/%d/stat" % pid) as handle:
                    if handle.read().split()[2] == "Z":
                        break
            except OSError:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("kube-apiserver (pid %d) did not stop" % pid)

    def start(self, timeout=90):
        assert self.argv, "kill() first"
        with open(os.path.join(self.cluster.state_dir, "logs", "kube-apiserver.log"), "ab") as out:
            proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=self.cluster.state_dir, start_new_session=True)
        with open(self.pid_file, "w") as handle:
            handle.write(str(proc.pid))
        version = client.VersionApi(self.cluster.api)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert proc.poll() is None, "kube-apiserver exited with %s on restart" % proc.returncode
            try:
                version.get_code(_request_timeout=2)
                return
            except Exception:  # pylint: disable=broad-except
                time.sleep(0.2)
        raise AssertionError("kube-apiserver not back within %ds" % timeout)


def _server(kubeconfig):
    with open(kubeconfig) as handle:
        config = json.load(handle)
    cluster = config["clusters"][0]["cluster"]
    host, port = cluster["server"].split("://", 1)[1].rsplit(":", 1)
    return config, host, int(port), cluster["certificate-authority"]


def _read_request(conn):
    """(head bytes, body bytes, method, path) of one HTTP/1.1 request with a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, path = lines[0].split(" ")[:2]
    length = 0
    kept = [lines[0]]
    for line in lines[1:]:
        name = line.split(":", 1)[0].strip().lower()
        if name == "content-length":
            length = int(line.split(":", 1)[1])
        if name not in ("connection", "keep-alive"):
            kept.append(line)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    kept.append("Connection: close")
    return ("\r\n".join(kept) + "\r\n\r\n").encode("latin-1"), body, method, path


class Interposer(object):
    """See the module docstring. ``writes`` records (method, path) of every non-GET request seen."""

    def __init__(self, cluster, workdir, on_write=None):
        self.cluster = cluster
        self.on_write = on_write
        self.writes = []
        self.requests = 0
        self.closed = threading.Event()
        config, self.host, self.port, ca = _server(cluster.kubeconfig)
        pki = os.path.join(cluster.state_dir, "pki")
        self.server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_context.load_cert_chain(os.path.join(pki, "apiserver.crt"), os.path.join(pki, "apiserver.key"))
        self.client_context = ssl.create_default_context(cafile=ca)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:%d" % self.listener.getsockname()[1]
        self.kubeconfig = os.path.join(workdir, "interposed.kubeconfig")
        with open(self.kubeconfig, "w") as handle:
            json.dump(config, handle)
        os.chmod(self.kubeconfig, 0o600)
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stop listening: new connections are refused, as by a server that is gone."""
        if not self.closed.is_set():
            self.closed.set()
            try:
                self.listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.listener.close()

    def _accept(self):
        while not self.closed.is_set():
            try:
                conn, _addr = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, raw):
        try:
            with self.server_context.wrap_socket(raw, server_side=True) as conn:
                request = _read_request(conn)
                if request is None:
                    return
                head, body, method, path = request
                self.requests += 1
                if method != "GET":
                    self.writes.append((method, path))
                    if self.on_write and self.on_write(method, path) is False:
                        return  # dropped: the client sees the connection close without an answer
                if self.closed.is_set():
                    return
                try:
                    upstream = self.client_context.wrap_socket(
                        socket.create_connection((self.host, self.port), timeout=60), server_hostname=self.host)
                except OSError:
                    return
                with upstream:
                    upstream.settimeout(None)
                    upstream.sendall(head + body)
                    while True:
                        chunk = upstream.recv(65536)
                        if not chunk:
                            break
                        conn.sendall(chunk)
        except (OSError, ssl.SSLError):
            return
