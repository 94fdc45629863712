# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real Kubernetes control plane as plain processes: etcd, kube-apiserver, kube-controller-manager and
kube-scheduler built from Go modules (build.sh), with kwok playing the kubelets of fake nodes.

    local_cluster.py up   [--name NAME] [--control-plane-nodes N] [--workers N] [--audit-policy FILE]
                         [--kubernetes-version v1.x.y]                        # last line: KUBECONFIG=<path>
    local_cluster.py upgrade --name NAME --kubernetes-version v1.x.y   # restart the control plane on that release
    local_cluster.py release-for --kubernetes-version v1.x.y   # the built release that runs for it (or nothing)
    local_cluster.py down [--name NAME]
    local_cluster.py status [--name NAME]

State lives in $CLUSTEROPS_CACHE/clusters/<name>: certificates, tokens, kubeconfigs (admin.kubeconfig and
limited.kubeconfig), data, logs and one pid file per process. `up` on a healthy running cluster only prints its
KUBECONFIG; `down` stops the processes by their pid files (TERM, then KILL) and is fine when nothing runs.
Only loopback addresses are used; ports are picked free at start and recorded in ports.json.
With --audit-policy (or AUDIT_POLICY), kube-apiserver writes an audit log (JSON lines) to logs/audit.log under
that policy; `up` restarts a running cluster whose audit policy differs from the one asked for.
The control plane runs KUBERNETES_VERSION of versions.env unless --kubernetes-version names another built one
(build.sh kubernetes-v1.x.y); `upgrade` restarts kube-apiserver, kube-controller-manager and kube-scheduler on
another built release with the same etcd, as a rolling update's new control-plane instance comes back (exit 3,
nothing changed, when no release of that minor is built). A release not built is stood in for by the newest
built patch of its minor (built_release_for).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

# The test bed's one place for where things are: the repository (ROOT), the binary and cluster cache (CACHE) and
# the pinned versions (versions()). This file also runs on its own (up.sh, down.sh: stdlib only).
SCRIPT = os.path.abspath(__file__)
ROOT = os.path.abspath(os.path.join(os.path.dirname(SCRIPT), "..", ".."))
# build.sh and versions.env: the shell side of the local control plane.
TOOLS = os.path.join(ROOT, "tools", "localcluster")
CACHE = os.environ.get("CLUSTEROPS_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "clusterops-kops-upgrade")
# Bump when the way the processes are started changes: `up` then restarts a running cluster of an older launch
# instead of reusing it (2: kwok renews node Leases; 3: privileged containers allowed, as on a kOps cluster).
LAUNCH = 3
DEFAULT_SERVICE_CIDR = "10.96.0.0/16"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
KWOK_STAGES = ("node-initialize", "node-heartbeat-with-lease", "pod-ready", "pod-complete", "pod-delete")
# Identities: admin (cluster-admin), limited (read-only on what the modules read: the 403 tests), components.
TOKENS = {
    "admin": ("system:masters",),
    "limited": (),
    "kube-controller-manager": (),
    "kube-scheduler": (),
    "kwok": ("system:masters",),
}
LIMITED_RBAC = [
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
     "metadata": {"name": "clusterops:limited-reader"},
     "rules": [
         {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": ["get", "list", "watch"]},
         {"apiGroups": [""], "resources": ["pods", "events", "nodes"], "verbs": ["get", "list", "watch"]},
         {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": ["get", "list", "watch"]},
     ]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
     "metadata": {"name": "clusterops:limited-reader"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "clusterops:limited-reader"},
     "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "limited"}]},
]


def log(message):
    print("[localcluster %s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


def versions():
    found = {}
    with open(os.path.join(TOOLS, "versions.env")) as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                found[key] = value
    return found


CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


def control_plane_binaries(kubernetes_version):
    """Paths of kube-apiserver, kube-controller-manager and kube-scheduler at ``kubernetes_version`` (v1.x.y)."""
    bindir = os.path.join(CACHE, "bin")
    return dict((c, os.path.join(bindir, "%s-%s" % (c, kubernetes_version))) for c in CONTROL_PLANE)


def control_plane_built(kubernetes_version):
    return all(os.access(p, os.X_OK) for p in control_plane_binaries(kubernetes_version).values())


def built_release_for(kubernetes_version):
    """The built control-plane release to run for ``kubernetes_version``: that release when built, else the newest
    built release of the same minor (a patch-level stand-in: kops knows the hashes of some patches only, the Go
    module proxy serves others), else None."""
    wanted = "v" + kubernetes_version.lstrip("v")
    if control_plane_built(wanted):
        return wanted
    minor = wanted.split(".")[:2]
    found = []
    for path in glob.glob(os.path.join(CACHE, "bin", "kube-apiserver-v*")):
        version = os.path.basename(path)[len("kube-apiserver-"):]
        parts = version.split(".")
        if parts[:2] == minor and len(parts) == 3 and parts[2].isdigit() and control_plane_built(version):
            found.append((int(parts[2]), version))
    return max(found)[1] if found else None


def binaries(kubernetes_version=None):
    """Every binary of the cluster, built first when missing: the control plane at ``kubernetes_version``
    (default: KUBERNETES_VERSION of versions.env), etcd and kwok as versions.env pins them."""
    v = versions()
    kubernetes_version = kubernetes_version or v["KUBERNETES_VERSION"]
    bindir = os.path.join(CACHE, "bin")
    paths = dict(control_plane_binaries(kubernetes_version),
                 etcd=os.path.join(bindir, "etcd-" + v["ETCD_VERSION"]),
                 kwok=os.path.join(bindir, "kwok-" + v["KWOK_VERSION"]))
    if not all(os.access(p, os.X_OK) for p in paths.values()):
        log("building the control-plane binaries (cached under %s)" % bindir)
        subprocess.run([os.path.join(TOOLS, "build.sh"), "etcd", "kwok", "kubernetes-" + kubernetes_version],
                       check=True)
    paths["stages"] = os.path.join(CACHE, "kwok-stages-" + v["KWOK_VERSION"])
    return paths


class ComponentDied(Exception):
    """A process of the cluster exited while starting (say, a port taken between picking and binding)."""


class Cluster:
    def __init__(self, name):
        self.name = name
        self.dir = os.path.join(CACHE, "clusters", name)
        self.started = []

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    # --- processes -------------------------------------------------------------------------------------
    def pid(self, component):
        try:
            with open(self.path("run", component + ".pid")) as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        # The pid must still be our process, not a reused number.
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                if self.dir.encode() not in handle.read():
                    return None
        except OSError:
            return None
        return pid

    def start(self, component, argv):
        os.makedirs(self.path("run"), exist_ok=True)
        os.makedirs(self.path("logs"), exist_ok=True)
        with open(self.path("logs", component + ".log"), "ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=self.dir, start_new_session=True)
        with open(self.path("run", component + ".pid"), "w") as handle:
            handle.write(str(proc.pid))
        self.started.append((component, proc))
        return proc.pid

    def check_started(self):
        """Fail fast, with the end of its log, when a process started by this `up` has exited."""
        for component, proc in self.started:
            if proc.poll() is not None:
                with open(self.path("logs", component + ".log"), errors="replace") as handle:
                    tail = "".join(handle.readlines()[-15:])
                raise ComponentDied("%s exited with %s; end of %s:\n%s" % (
                    component, proc.returncode, self.path("logs", component + ".log"), tail))

    def stop(self, timeout=15):
        stopped = []
        for component in reversed(COMPONENTS):
            done = self.stop_component(component, timeout)
            if done:
                stopped.append(done)
        for component in COMPONENTS:
            try:
                os.remove(self.path("run", component + ".pid"))
            except OSError:
                pass
        return stopped

    def running(self):
        return [c for c in COMPONENTS if self.pid(c) is not None]

    # --- set-up ------------------------------------------------------------------------------------------
    def ports(self):
        with open(self.path("ports.json")) as handle:
            return json.load(handle)

    def pick_ports(self):
        names = ("etcd_client", "etcd_peer", "apiserver", "kcm", "scheduler", "kwok")
        sockets, ports = [], {}
        for name in names:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
            ports[name] = sock.getsockname()[1]
        for sock in sockets:
            sock.close()
        with open(self.path("ports.json"), "w") as handle:
            json.dump(ports, handle)
        return ports

    def pki_source(self, ca=None, sans=()):
        """What the PKI is made from: the throwaway CA, or a given one (its certificate's sha256), and extra SANs."""
        if not ca:
            origin = "self-signed"
        else:
            with open(ca[0], "rb") as handle:
                origin = "ca:" + hashlib.sha256(handle.read()).hexdigest()
        return " ".join([origin] + sorted(sans))

    def current_pki_source(self):
        try:
            with open(self.path("pki", "source")) as handle:
                return handle.read().strip()
        except OSError:
            return "self-signed" if os.path.exists(self.path("pki", "tokens.csv")) else None

    def make_pki(self, ca=None, sans=()):
        """CA (throwaway, or ``ca`` = (cert, key) files given, say a kOps cluster's kubernetes-ca), serving
        certificate (127.0.0.1, localhost, kubernetes.default.svc and ``sans``), service-account keys, tokens."""
        pki = self.path("pki")
        source = self.pki_source(ca, sans)
        if os.path.exists(os.path.join(pki, "tokens.csv")):
            # Reuse the throwaway CA unless it expires within a day (it is made for 30 days).
            fresh = subprocess.run(["openssl", "x509", "-checkend", "86400", "-noout", "-in",
                                    os.path.join(pki, "ca.crt")], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, check=False).returncode == 0
            if fresh and self.current_pki_source() == source:
                return
            log("certificates expire soon or another CA is wanted: making new ones")
            shutil.rmtree(pki)
        os.makedirs(pki, exist_ok=True)

        def openssl(*args):
            subprocess.run(("openssl",) + args, check=True, cwd=pki, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)

        if ca:
            shutil.copyfile(ca[0], os.path.join(pki, "ca.crt"))
            shutil.copyfile(ca[1], os.path.join(pki, "ca.key"))
            os.chmod(os.path.join(pki, "ca.key"), 0o600)
        else:
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
                    "-days", "30", "-subj", "/CN=clusterops-localcluster-ca")
        with open(os.path.join(pki, "source"), "w") as handle:
            handle.write(source + "\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "apiserver.key", "-out", "apiserver.csr",
                "-subj", "/CN=kube-apiserver")
        with open(os.path.join(pki, "san.ext"), "w") as handle:
            handle.write("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc%s\n"
                         % "".join(",DNS:%s" % name for name in sans))
        openssl("x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "apiserver.crt", "-days", "30", "-extfile", "san.ext")
        openssl("genrsa", "-out", "sa.key", "2048")
        openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")
        lines = []
        for index, (user, groups) in enumerate(TOKENS.items(), start=1):
            token = os.urandom(16).hex()
            line = "%s,%s,%d" % (token, user if user not in ("kube-controller-manager", "kube-scheduler")
                                 else "system:" + user, index)
            if groups:
                line += ',"%s"' % ",".join(groups)
            lines.append(line)
        with open(os.path.join(pki, "tokens.csv"), "w") as handle:
            handle.write("\n".join(lines) + "\n")
        os.chmod(os.path.join(pki, "tokens.csv"), 0o600)

    def tokens(self):
        found = {}
        with open(self.path("pki", "tokens.csv")) as handle:
            for line in handle:
                token, user = line.strip().split(",")[:2]
                found[user.replace("system:", "")] = token
        return found

    def write_kubeconfigs(self, ports):
        server = "https://127.0.0.1:%d" % ports["apiserver"]
        for user, token in self.tokens().items():
            config = {
                "apiVersion": "v1", "kind": "Config", "current-context": "clusterops-" + self.name,
                "clusters": [{"name": "clusterops-" + self.name,
                              "cluster": {"server": server, "certificate-authority": self.path("pki", "ca.crt")}}],
                "users": [{"name": user, "user": {"token": token}}],
                "contexts": [{"name": "clusterops-" + self.name,
                              "context": {"cluster": "clusterops-" + self.name, "user": user}}],
            }
            target = self.path("%s.kubeconfig" % user)
            with open(target, "w") as handle:
                json.dump(config, handle, indent=1)
            os.chmod(target, 0o600)

    # --- API ---------------------------------------------------------------------------------------------
    def request(self, method, path, body=None, token_user="admin", content_type="application/json"):
        ports = self.ports()
        context = ssl.create_default_context(cafile=self.path("pki", "ca.crt"))
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request("https://127.0.0.1:%d%s" % (ports["apiserver"], path), data=data,
                                     method=method)
        req.add_header("Authorization", "Bearer " + self.tokens()[token_user])
        req.add_header("Content-Type", content_type)
        with urllib.request.urlopen(req, context=context, timeout=10) as response:
            payload = response.read()
        if content_type == "text/plain":
            return payload.decode()
        return json.loads(payload or b"{}")

    def apply(self, obj):
        group = obj["apiVersion"]
        kind_path = {"Node": "nodes", "ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings"}
        base = "/api/v1" if group == "v1" else "/apis/" + group
        path = "%s/%s/%s?fieldManager=clusterops-localcluster&force=true" % (
            base, kind_path[obj["kind"]], obj["metadata"]["name"])
        return self.request("PATCH", path, obj, content_type="application/apply-patch+yaml")

    def healthy(self):
        try:
            return self.request("GET", "/readyz", content_type="text/plain").strip() == "ok"
        except Exception:  # pylint: disable=broad-except
            return False

    def component_healthy(self, component):
        """/healthz of kube-controller-manager or kube-scheduler (always allowed, self-signed serving cert)."""
        port = self.ports()["kcm" if component == "kube-controller-manager" else "scheduler"]
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with urllib.request.urlopen("https://127.0.0.1:%d/healthz" % port, context=context, timeout=5) as response:
            return response.read().strip() == b"ok"

    @contextlib.contextmanager
    def lock(self):
        """One `up`/`down` at a time per cluster name (pytest sessions and Molecule may race)."""
        os.makedirs(self.dir, exist_ok=True)
        with open(self.path(".lock"), "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def wait(self, what, predicate, timeout=120, interval=0.1):
        deadline = time.monotonic() + timeout
        while True:
            try:
                if predicate():
                    return
            except Exception:  # pylint: disable=broad-except
                pass
            self.check_started()
            if time.monotonic() > deadline:
                raise SystemExit("timed out after %ds waiting for %s; logs in %s"
                                 % (timeout, what, self.path("logs")))
            time.sleep(interval)

    # --- topology ----------------------------------------------------------------------------------------
    def node_objects(self, control_planes, workers):
        kubernetes_version = versions()["KUBERNETES_VERSION"]
        nodes = []
        zones = ("zone-a", "zone-b", "zone-c")
        for role, count in (("control-plane", control_planes), ("worker", workers)):
            for index in range(1, count + 1):
                name = "%s-%d" % (role, index)
                labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                          "kubernetes.io/arch": "amd64", "topology.kubernetes.io/zone": zones[(index - 1) % 3],
                          "type": "kwok"}
                spec = {}
                if role == "control-plane":
                    labels["node-role.kubernetes.io/control-plane"] = ""
                    labels["kops.k8s.io/instancegroup"] = "control-plane-%s" % zones[(index - 1) % 3]
                    spec["taints"] = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
                else:
                    labels["node-role.kubernetes.io/node"] = ""
                    labels["kops.k8s.io/instancegroup"] = "nodes"
                nodes.append({
                    "apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name, "labels": labels,
                                 "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}},
                    "spec": spec,
                    # kwok's node-initialize stage keeps a nodeInfo that is already set.
                    "status": {"nodeInfo": {"kubeletVersion": kubernetes_version,
                                            "kubeProxyVersion": kubernetes_version,
                                            "architecture": "amd64", "operatingSystem": "linux"},
                               "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                               "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"}},
                })
        return nodes

    def reconcile_nodes(self, control_planes, workers, started):
        """Create the Node objects of the topology, delete other kwok nodes, wait until all are Ready."""
        wanted = self.node_objects(control_planes, workers)
        names = {node["metadata"]["name"] for node in wanted}
        for node in wanted:
            self.apply(node)
        for node in self.request("GET", "/api/v1/nodes")["items"]:
            fake = node["metadata"].get("annotations", {}).get("kwok.x-k8s.io/node") == "fake"
            if fake and node["metadata"]["name"] not in names:
                log("deleting node %s (not in the topology)" % node["metadata"]["name"])
                self.request("DELETE", "/api/v1/nodes/" + node["metadata"]["name"])
        with open(self.path("topology.json"), "w") as handle:
            json.dump({"control_plane_nodes": control_planes, "workers": workers}, handle)

        def nodes_ready():
            items = self.request("GET", "/api/v1/nodes")["items"]
            ready = {n["metadata"]["name"] for n in items
                     if any(c["type"] == "Ready" and c["status"] == "True"
                            for c in n.get("status", {}).get("conditions", []))}
            return ready == names

        self.wait("%d nodes Ready" % len(names), nodes_ready)
        log("%d control-plane + %d worker nodes Ready (%.1fs)" % (control_planes, workers,
                                                                  time.monotonic() - started))

    def launch(self):
        try:
            with open(self.path("launch")) as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            return None

    def topology(self):
        try:
            with open(self.path("topology.json")) as handle:
                found = json.load(handle)
            return found["control_plane_nodes"], found["workers"]
        except (OSError, ValueError, KeyError):
            return None

    def recorded(self, name):
        """The text of the file ``name`` that this cluster wrote when it last started, or None (no such file)."""
        try:
            with open(self.path(name)) as handle:
                return handle.read()
        except OSError:
            return None

    # --- commands ----------------------------------------------------------------------------------------
    def audit_policy(self):
        """The audit policy the running cluster was started with (its text), or None."""
        return self.recorded("audit-policy.yaml")

    def service_cidr(self):
        cidr = self.recorded("service-cidr")
        return DEFAULT_SERVICE_CIDR if cidr is None else cidr.strip()

    def kubernetes_version(self):
        """The Kubernetes version the control plane was last started with (None: never started)."""
        version = self.recorded("kubernetes-version")
        return None if version is None else version.strip()

    def control_plane_argv(self, component, bins, ports):
        """The command line of one control-plane component, from what this cluster recorded when it started
        (ports, PKI, service range, audit policy): the same at every (re)start, whatever the binary's version."""
        pki = self.path("pki")
        if component == "kube-apiserver":
            audit = []
            if os.path.exists(self.path("audit-policy.yaml")):
                audit = ["--audit-policy-file", self.path("audit-policy.yaml"),
                         "--audit-log-path", self.path("logs", "audit.log"), "--audit-log-format", "json",
                         "--audit-log-maxsize", "200", "--audit-log-maxbackup", "1"]
            return [
                bins["kube-apiserver"], "--etcd-servers", "http://127.0.0.1:%d" % ports["etcd_client"],
                "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
                "--secure-port", str(ports["apiserver"]),
                "--tls-cert-file", os.path.join(pki, "apiserver.crt"),
                "--tls-private-key-file", os.path.join(pki, "apiserver.key"),
                "--client-ca-file", os.path.join(pki, "ca.crt"),
                "--token-auth-file", os.path.join(pki, "tokens.csv"),
                "--authorization-mode", "Node,RBAC",
                "--service-account-issuer", "https://kubernetes.default.svc",
                "--service-account-key-file", os.path.join(pki, "sa.pub"),
                "--service-account-signing-key-file", os.path.join(pki, "sa.key"),
                "--service-cluster-ip-range", self.service_cidr(), "--allow-privileged=true",
                "--enable-priority-and-fairness=false"] + audit
        common = ["--leader-elect=false", "--bind-address", "127.0.0.1"]
        if os.environ.get("CONTROLLER_API_QPS"):
            # Many objects at once (the scale benchmark): the controllers' and scheduler's client rate limits
            # (20 and 50 requests/s by default) would make creating thousands of pods take minutes.
            qps = int(os.environ["CONTROLLER_API_QPS"])
            common += ["--kube-api-qps", str(qps), "--kube-api-burst", str(2 * qps)]
        if component == "kube-controller-manager":
            kcm = self.path("kube-controller-manager.kubeconfig")
            return [
                bins["kube-controller-manager"], "--kubeconfig", kcm, "--authentication-kubeconfig", kcm,
                "--authorization-kubeconfig", kcm, "--secure-port", str(ports["kcm"]),
                "--use-service-account-credentials", "--service-account-private-key-file",
                os.path.join(pki, "sa.key"), "--root-ca-file", os.path.join(pki, "ca.crt"),
                "--controllers", "*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller",
            ] + common
        sched = self.path("kube-scheduler.kubeconfig")
        return [bins["kube-scheduler"], "--kubeconfig", sched, "--authentication-kubeconfig", sched,
                "--authorization-kubeconfig", sched, "--secure-port", str(ports["scheduler"])] + common

    def upgrade(self, kubernetes_version):
        """Restart kube-apiserver, kube-controller-manager and kube-scheduler on the binaries of
        ``kubernetes_version``, on the same etcd, ports and certificates, as a control-plane instance replaced by
        a rolling update comes back on the new release: the API is down for the seconds the restart takes, the
        objects stay. Never builds (a build takes minutes, a roll does not wait): returns False, having changed
        nothing, when those binaries are not built. Returns True once the new API is ready and both controllers
        healthy (also when the control plane already runs that version)."""
        if self.kubernetes_version() == kubernetes_version and self.running() == list(COMPONENTS):
            return True
        if not control_plane_built(kubernetes_version):
            return False
        started = time.monotonic()
        bins = control_plane_binaries(kubernetes_version)
        ports = self.ports()
        before = self.kubernetes_version()
        for component in reversed(CONTROL_PLANE):
            # Killed 3 s after TERM, as a terminated instance does not wait either: kube-apiserver drains its
            # clients' watches before it exits, and kwok's (the kubelets stay up across the restart) never end -
            # measured here, it exits 1.1 s after TERM with kwok stopped and was still there 15 s after with kwok
            # running. Waiting the 15 s made the restart outlast kops' 15 s pause after terminating an instance,
            # so its first validation always failed and it waited another 30 s.
            self.stop_component(component, timeout=3)
        with open(self.path("kubernetes-version"), "w") as handle:
            handle.write(kubernetes_version + "\n")
        self.start("kube-apiserver", self.control_plane_argv("kube-apiserver", bins, ports))
        self.wait("kube-apiserver /readyz", self.healthy, timeout=90)
        for component in CONTROL_PLANE[1:]:
            self.start(component, self.control_plane_argv(component, bins, ports))
        for component in CONTROL_PLANE[1:]:
            self.wait("%s /healthz" % component, lambda c=component: self.component_healthy(c))
        log("cluster %s: control plane %s -> %s in %.1fs (same etcd)" % (
            self.name, before, kubernetes_version, time.monotonic() - started))
        return True

    def stop_component(self, component, timeout=15):
        """TERM one component by its pid file (KILL after ``timeout``); returns what was done, or None."""
        pid = self.pid(component)
        if pid is None:
            return None
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.pid(component) is not None:
            time.sleep(0.1)
        how = "TERM"
        if self.pid(component) is not None:
            os.kill(pid, signal.SIGKILL)
            how = "KILL after %ds" % timeout
        try:
            os.remove(self.path("run", component + ".pid"))
        except OSError:
            pass
        return "%s (pid %d, %s)" % (component, pid, how)

    def up(self, control_planes, workers, service_cidr=DEFAULT_SERVICE_CIDR, ca=None, sans=(), audit_policy=None,
           kubernetes_version=None):
        """Start this cluster, or keep the one running, and return the path of its admin kubeconfig.

        First, whether a running cluster can be kept: a healthy one with every component running is stopped when it was
        started with another audit policy (``audit_policy``, a file, or none) or an older LAUNCH; a running one is
        stopped when its service range or the source of its certificates (the CA given as ``ca``, the extra ``sans``)
        differ from those asked. A healthy cluster still running is kept: the limited identities' RBAC is applied again
        and, when its topology differs, the kwok nodes are changed to ``control_planes`` + ``workers``; it returns
        there. A half-running one is stopped.

        Otherwise it starts afresh: the binaries found or built (binaries()), etcd's data wiped, the PKI made or reused
        (make_pki), the launch number, the audit policy (its log to logs/audit.log) and the service range recorded, free
        ports picked and the kubeconfigs written; then etcd and kube-apiserver (waited for on /readyz), the limited
        RBAC, kube-controller-manager and kube-scheduler (their client rate limits raised with CONTROLLER_API_QPS) and
        kwok started as processes with pid files; the nodes created and waited Ready (reconcile_nodes), then both
        controllers' /healthz and the default ServiceAccounts of default and kube-system. Each wait fails at once, with
        the end of its log, when a process started here exits (ComponentDied), and with SystemExit on its timeout;
        main() stops what was started. Progress and timings go to stderr."""
        started = time.monotonic()
        kubernetes_version = kubernetes_version or versions()["KUBERNETES_VERSION"]
        if self.running() and self.kubernetes_version() not in (None, kubernetes_version):
            log("cluster %s runs Kubernetes %s, %s wanted; restarting it" % (
                self.name, self.kubernetes_version(), kubernetes_version))
            self.stop()
        wanted_policy = None
        if audit_policy:
            with open(audit_policy) as handle:
                wanted_policy = handle.read()
        if os.path.exists(self.path("ports.json")) and self.running() == list(COMPONENTS) and self.healthy() \
                and self.audit_policy() != wanted_policy:
            log("cluster %s runs with another audit policy; restarting it" % self.name)
            self.stop()
        if os.path.exists(self.path("ports.json")) and self.running() == list(COMPONENTS) and self.healthy() \
                and self.launch() != LAUNCH:
            log("cluster %s runs with an older launch (%s, now %d); restarting it" % (self.name, self.launch(), LAUNCH))
            self.stop()
        if self.running() and self.service_cidr() != service_cidr:
            log("cluster %s runs with service range %s, %s wanted; restarting it" % (
                self.name, self.service_cidr(), service_cidr))
            self.stop()
        if self.running() and self.current_pki_source() != self.pki_source(ca, sans):
            log("cluster %s runs with other certificates than wanted; restarting it" % self.name)
            self.stop()
        if os.path.exists(self.path("ports.json")) and self.running() == list(COMPONENTS) and self.healthy():
            log("cluster %s already running (%s)" % (self.name, self.dir))
            # Identities' rights as this version of the file says (a kept cluster may predate a change of them).
            for obj in LIMITED_RBAC:
                self.apply(obj)
            if self.topology() != (control_planes, workers):
                log("changing its topology to %d control-plane + %d worker nodes" % (control_planes, workers))
                self.reconcile_nodes(control_planes, workers, started)
            return self.path("admin.kubeconfig")
        if self.running():
            log("cluster %s half running (%s); stopping it first" % (self.name, ", ".join(self.running())))
            self.stop()
        bins = binaries(kubernetes_version)
        os.makedirs(self.dir, exist_ok=True)
        with open(self.path("kubernetes-version"), "w") as handle:
            handle.write(kubernetes_version + "\n")
        shutil.rmtree(self.path("data"), ignore_errors=True)
        try:
            os.remove(self.path("topology.json"))
        except OSError:
            pass
        self.make_pki(ca, sans)
        with open(self.path("launch"), "w") as handle:
            handle.write("%d\n" % LAUNCH)
        if wanted_policy is None:
            if os.path.exists(self.path("audit-policy.yaml")):
                os.remove(self.path("audit-policy.yaml"))
        else:
            with open(self.path("audit-policy.yaml"), "w") as handle:
                handle.write(wanted_policy)
            os.makedirs(self.path("logs"), exist_ok=True)
        with open(self.path("service-cidr"), "w") as handle:
            handle.write(service_cidr + "\n")
        ports = self.pick_ports()
        self.write_kubeconfigs(ports)
        log("starting cluster %s in %s (ports %s)" % (self.name, self.dir, ", ".join(
            "%s %d" % item for item in sorted(ports.items()))))
        log("starting etcd, kube-apiserver")
        self.start("etcd", [
            bins["etcd"], "--name", "clusterops-" + self.name, "--data-dir", self.path("data", "etcd"),
            "--listen-client-urls", "http://127.0.0.1:%d" % ports["etcd_client"],
            "--advertise-client-urls", "http://127.0.0.1:%d" % ports["etcd_client"],
            "--listen-peer-urls", "http://127.0.0.1:%d" % ports["etcd_peer"],
            "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % ports["etcd_peer"],
            "--initial-cluster", "clusterops-%s=http://127.0.0.1:%d" % (self.name, ports["etcd_peer"]),
            "--unsafe-no-fsync", "--log-level", "warn"])
        self.start("kube-apiserver", self.control_plane_argv("kube-apiserver", bins, ports))
        self.wait("kube-apiserver /readyz", self.healthy, timeout=90)
        log("kube-apiserver %s ready on 127.0.0.1:%d (%.1fs)" % (
            kubernetes_version, ports["apiserver"], time.monotonic() - started))
        for obj in LIMITED_RBAC:
            self.apply(obj)
        log("starting kube-controller-manager, kube-scheduler, kwok")
        for component in CONTROL_PLANE[1:]:
            self.start(component, self.control_plane_argv(component, bins, ports))
        stages = []
        for stage in KWOK_STAGES:
            stages += ["--config", os.path.join(bins["stages"], stage + ".yaml")]
        self.start("kwok", [
            bins["kwok"], "--kubeconfig", self.path("kwok.kubeconfig"), "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--server-address", "127.0.0.1:%d" % ports["kwok"],
            # Renew each node's Lease (kube-node-lease): without it the node lifecycle controller marks every node
            # NotReady after its grace period (~50 s), kwok re-initialises it, and pods flap NotReady meanwhile.
            "--node-lease-duration-seconds", "40"] + stages)
        self.reconcile_nodes(control_planes, workers, started)
        for component in ("kube-controller-manager", "kube-scheduler"):
            self.wait("%s /healthz" % component, lambda c=component: self.component_healthy(c))
        for namespace in ("default", "kube-system"):
            self.wait("ServiceAccount %s/default" % namespace,
                      lambda ns=namespace: self.request("GET", "/api/v1/namespaces/%s/serviceaccounts/default" % ns))
        log("cluster %s up: %d control-plane + %d worker nodes Ready in %.1fs" % (
            self.name, control_planes, workers, time.monotonic() - started))
        return self.path("admin.kubeconfig")


def main():
    """The command line. ``up``: under the cluster's lock, Cluster.up; a start that fails stops whatever it started
    (the logs stay) and, when a component died while starting (a port taken meanwhile), is tried once more with
    new ports; prints ``KUBECONFIG=<path>`` last. ``down``: stops the processes by their pid files, under the lock,
    and says what it stopped. ``status``: prints the name, state directory, running components and health as JSON.
    Options default from CLUSTER_NAME, CONTROL_PLANE_NODES, WORKER_NODES, SERVICE_CIDR and AUDIT_POLICY."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "status", "upgrade", "release-for"))
    parser.add_argument("--kubernetes-version", default=os.environ.get("KUBERNETES_CONTROL_PLANE_VERSION") or None,
                        help="the control plane's version (v1.x.y; default: versions.env's KUBERNETES_VERSION); "
                        "`upgrade` restarts a running cluster's control plane on it")
    parser.add_argument("--name", default=os.environ.get("CLUSTER_NAME", "local"))
    parser.add_argument("--control-plane-nodes", type=int, default=int(os.environ.get("CONTROL_PLANE_NODES", 1)))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKER_NODES", 2)))
    parser.add_argument("--ca-cert", help="CA certificate to use (with --ca-key) instead of a throwaway one")
    parser.add_argument("--ca-key")
    parser.add_argument("--san", action="append", default=[], help="extra DNS name in the serving certificate")
    parser.add_argument("--service-cidr", default=os.environ.get("SERVICE_CIDR", DEFAULT_SERVICE_CIDR),
                        help="kube-apiserver's --service-cluster-ip-range (a kOps cluster's is 100.64.0.0/13)")
    parser.add_argument("--audit-policy", default=os.environ.get("AUDIT_POLICY") or None,
                        help="kube-apiserver audit policy file; the log goes to <state dir>/logs/audit.log")
    args = parser.parse_args()
    cluster = Cluster(args.name)
    if args.command == "up":
        with cluster.lock():
            for attempt in (1, 2):
                try:
                    kubeconfig = cluster.up(args.control_plane_nodes, args.workers, args.service_cidr,
                                            (args.ca_cert, args.ca_key) if args.ca_cert else None, args.san,
                                            args.audit_policy, args.kubernetes_version)
                    break
                except BaseException as exc:
                    # Leave nothing half started behind; the logs stay in the state directory.
                    stopped = cluster.stop()
                    cluster.started = []
                    if stopped:
                        log("start failed; stopped %s (logs in %s)" % (", ".join(stopped), cluster.path("logs")))
                    if attempt == 1 and isinstance(exc, ComponentDied):
                        log("%s; trying once more with new ports" % exc)
                        continue
                    raise
        print("KUBECONFIG=%s" % kubeconfig)
    elif args.command == "upgrade":
        if not args.kubernetes_version:
            parser.error("upgrade needs --kubernetes-version")
        with cluster.lock():
            if not cluster.running():
                log("cluster %s is not running" % args.name)
                sys.exit(1)
            release = built_release_for(args.kubernetes_version)
            if release is None or not cluster.upgrade(release):
                log("cluster %s: no control-plane binaries of %s or its minor built (build.sh kubernetes-%s); it "
                    "stays at %s" % (args.name, args.kubernetes_version, args.kubernetes_version,
                                     cluster.kubernetes_version()))
                sys.exit(3)
        print(cluster.kubernetes_version())
    elif args.command == "release-for":
        if not args.kubernetes_version:
            parser.error("release-for needs --kubernetes-version")
        print(built_release_for(args.kubernetes_version) or "")
    elif args.command == "down":
        stopped = []
        if os.path.isdir(cluster.dir):
            with cluster.lock():
                stopped = cluster.stop()
        log("cluster %s: %s" % (args.name, ("stopped " + ", ".join(stopped)) if stopped else "nothing running"))
    else:
        running = cluster.running()
        print(json.dumps({"name": args.name, "dir": cluster.dir, "running": running,
                          "kubernetes_version": cluster.kubernetes_version(),
                          "healthy": bool(running) and cluster.healthy()}))


if __name__ == "__main__":
    main()
