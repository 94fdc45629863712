# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A kOps cluster that really lives on this machine: moto (server mode, loopback) as AWS, the local control plane
(tools/localcluster, no nodes of its own) as the cluster's API, the node agent (node_agent.py) turning moto's
instances into Nodes and running kOps' channels as protokube does, and the real kops releases built by
tools/localcluster/build.sh. Used by the end-to-end test (tests/e2e) and by `make demo`.

    with KopsCloud(workdir, "e2e-1cp", control_planes=1) as cloud:
        cloud.create("v1.30.2", "1.30.5", nth_version="v1.18.3")   # kops create + update --yes, nodes join
        cloud.wait_valid("v1.30.2")
        env = cloud.environment()      # for ansible-playbook / kops: AWS endpoint, state store, KUBECONFIG, HOME

Everything is started by this process and stopped by pid; everything written stays in ``workdir`` and the
local control plane's state directory.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time

import yaml

from testbed import kops_world, node_agent
from testbed.local_cluster import SCRIPT as LOCALCLUSTER


def say(message):
    print("[kops-cloud %s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


class KopsCloud(object):
    """moto + assets server + local API + node agent, for one kOps cluster (kops_world.CLUSTER)."""

    def __init__(self, workdir, name, control_planes=1, nodes=2, progress=say, state_store="file"):
        self.workdir = workdir
        self.state_store_kind = state_store
        self.name = name
        self.control_planes = control_planes
        self.nodes = nodes
        self.progress = progress
        self.moto = self.assets = self.agent = self.world = None
        self.admin = self.api_address_file = None
        # Whether the API server runs the minor the cluster was created with (False: the stand-in).
        self.api_is_real = False
        self.kubeconfig = os.path.join(workdir, "kubeconfig")
        self.timings = {}

    # --- lifecycle -------------------------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        """moto (AWS) and the kops assets server; the cluster's API starts with the cluster (create)."""
        started = time.monotonic()
        os.makedirs(self.workdir, exist_ok=True)
        self.progress("starting moto (AWS) and the kops assets server on 127.0.0.1")
        # The API load balancer's DNS name, once the API runs (see moto_server.py).
        self.api_address_file = os.path.join(self.workdir, "api-address")
        self.moto = kops_world.MotoServer(self.workdir, env={"CLUSTEROPS_API_ADDRESS_FILE": self.api_address_file})
        self.assets = kops_world.AssetsServer(self.workdir)
        self.world = kops_world.KopsWorld(self.workdir, self.moto.url, self.assets.url, kubeconfig=self.kubeconfig,
                                          state_store=self.state_store_kind)
        self.timings["start (moto, assets)"] = time.monotonic() - started

    def kops_ca(self):
        """The cluster's kubernetes-ca (certificate and key files) from the state store, written by the first
        `kops update cluster --yes`: the local API serves and authenticates with it, so the admin credentials kops
        >= 1.31 makes for itself from the state store work against it."""
        store = node_agent.StateStore(self.state_store(), node_agent.Aws(self.moto.url, self.world.env["AWS_REGION"]))
        keyset = yaml.safe_load(store.read("%s/pki/private/kubernetes-ca/keyset.yaml" % kops_world.CLUSTER))["spec"]
        primary = keyset.get("primaryId")
        key = next(k for k in keyset["keys"] if not primary or k["id"] == primary)
        paths = []
        for name, material in (("kops-ca.crt", key["publicMaterial"]), ("kops-ca.key", key["privateMaterial"])):
            path = os.path.join(self.workdir, name)
            with open(path, "wb") as handle:
                handle.write(base64.b64decode(material))
            os.chmod(path, 0o600)
            paths.append(path)
        return paths

    def start_api(self, kubernetes_version=None):
        """The local control plane as the cluster's API: kOps' service range and CA, and the names kops puts in
        its kubeconfig (api.internal.<cluster> as TLS server name); then the API load balancer points at it.
        It runs ``kubernetes_version`` when that release's control plane is built (build.sh kubernetes-v1.x.y), or
        the newest built patch of its minor, else the stand-in of versions.env (said in the progress line); the node
        agent restarts it on the release a newer control-plane instance boots."""
        started = time.monotonic()
        argv = [sys.executable, LOCALCLUSTER, "up", "--name", self.name, "--control-plane-nodes", "0",
                "--workers", "0", "--service-cidr", "100.64.0.0/13"]
        wanted = "v" + kubernetes_version.lstrip("v") if kubernetes_version else None
        release = subprocess.run([sys.executable, LOCALCLUSTER, "release-for", "--kubernetes-version", wanted],
                                 capture_output=True, text=True, check=True).stdout.strip() if wanted else ""
        self.api_is_real = bool(release)
        if release:
            argv += ["--kubernetes-version", release]
            what = "Kubernetes %s%s" % (release, "" if release == wanted else " for %s (same minor)" % wanted)
        else:
            what = "the stand-in Kubernetes %s%s" % (kops_world.versions()["KUBERNETES_VERSION"],
                                                     " for %s (not built)" % wanted if wanted else "")
        self.progress("starting the local control plane %s as the cluster's API (%s, kOps' CA; nodes come from "
                      "the node agent)" % (self.name, what))
        ca_cert, ca_key = self.kops_ca()
        argv += ["--ca-cert", ca_cert, "--ca-key", ca_key, "--san", "api.internal." + kops_world.CLUSTER,
                 "--san", "api." + kops_world.CLUSTER]
        up = subprocess.run(argv, capture_output=True, text=True, check=False)
        if up.returncode != 0:
            raise RuntimeError("local control plane %s did not start: %s" % (self.name, up.stderr[-3000:]))
        self.admin = up.stdout.strip().splitlines()[-1].split("=", 1)[1]
        with open(self.admin) as handle:
            config = json.load(handle)
        # kops <= 1.30 finds the cluster's API through the kubeconfig context named after the cluster.
        config["contexts"][0]["name"] = config["current-context"] = kops_world.CLUSTER
        with open(self.kubeconfig, "w") as handle:
            json.dump(config, handle)
        os.chmod(self.kubeconfig, 0o600)
        with open(self.api_address_file, "w") as handle:
            handle.write(config["clusters"][0]["cluster"]["server"].split("://", 1)[1])
        self.timings["start the cluster's API"] = time.monotonic() - started

    def stop(self):
        self.stop_agent()
        for part in (self.assets, self.moto):
            if part is not None:
                part.stop()
        self.assets = self.moto = None
        if not os.environ.get("CLUSTEROPS_KEEP_CLUSTER"):
            subprocess.run([sys.executable, LOCALCLUSTER, "down", "--name", self.name], check=False,
                           capture_output=True)

    # --- the node agent --------------------------------------------------------------------------------
    def start_agent(self):
        if self.agent is not None:
            return
        argv = [sys.executable, os.path.abspath(node_agent.__file__), "--cluster", kops_world.CLUSTER,
                "--aws-endpoint", self.moto.url, "--region", self.world.env["AWS_REGION"],
                "--state", self.state_store(), "--workdir", self.workdir, "--kubeconfig", self.admin,
                "--bin-dir", os.path.join(kops_world.CACHE, "bin"), "--local-cluster", self.name]
        self.agent = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      start_new_session=True, env=dict(os.environ, HOME=self.world.env["HOME"]))
        log = open(os.path.join(self.workdir, "node-agent.log"), "a")

        def relay():
            for line in self.agent.stdout:
                log.write(line)
                log.flush()
                self.progress(line.rstrip().split("] ", 1)[-1] if "] " in line else line.rstrip())
            log.close()

        threading.Thread(target=relay, daemon=True).start()

    def stop_agent(self):
        if self.agent is None:
            return
        try:
            os.killpg(self.agent.pid, signal.SIGTERM)
            self.agent.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.agent.pid, signal.SIGKILL)
            self.agent.wait()
        except ProcessLookupError:
            pass
        self.agent = None

    # --- kops --------------------------------------------------------------------------------------------
    def kops(self, version, *args, check=True, timeout=600):
        return self.world.run(*args, check=check, binary=kops_world.kops_binary(version)[0], timeout=timeout)

    def create(self, kops_version, kubernetes_version, nth_version=None):
        """`kops create cluster` with ``kops_version`` (NTH pinned to ``nth_version`` when given), `kops update
        cluster --yes`, then the node agent: the instances join and channels applies the addons."""
        started = time.monotonic()
        self.progress("kops %s: create cluster %s (Kubernetes %s, %d control-plane, %d nodes%s)" % (
            kops_version, kops_world.CLUSTER, kubernetes_version, self.control_planes, self.nodes,
            ", NTH pinned to %s" % nth_version if nth_version else ""))
        self.world.create_cluster(kubernetes_version, control_planes=self.control_planes, nodes=self.nodes,
                                  binary=kops_world.kops_binary(kops_version)[0])
        if nth_version:
            # `--set spec.nodeTerminationHandler.version` is refused (field not found): edit the spec instead.
            spec = self.cluster_spec(kops_version)
            spec["spec"].setdefault("nodeTerminationHandler", {})["version"] = nth_version
            self.replace_cluster_spec(kops_version, spec)
        self.progress("kops %s: update cluster --yes (moto launches the instances)" % kops_version)
        self.kops(kops_version, "update", "cluster", "--name", kops_world.CLUSTER, "--yes", "--create-kube-config=false")
        self.start_api(kubernetes_version)
        self.start_agent()
        self.timings["create (kops create, update --yes)"] = time.monotonic() - started

    def wait_valid(self, kops_version, timeout=600):
        """`kops validate cluster --wait` until the cluster validates; returns the seconds waited."""
        started = time.monotonic()
        self.progress("kops %s: validate cluster --wait %ds" % (kops_version, timeout))
        proc = self.kops(kops_version, "validate", "cluster", "--name", kops_world.CLUSTER, "--wait",
                         "%ds" % timeout, "--count", "1", check=False, timeout=timeout + 60)
        if proc.returncode != 0:
            raise RuntimeError("the cluster did not validate within %ds: %s" % (
                timeout, (proc.stdout + proc.stderr).strip()[-3000:]))
        seconds = time.monotonic() - started
        self.progress("cluster valid after %.1fs" % seconds)
        return seconds

    def api_version(self):
        """The gitVersion the cluster's API server reports (GET /version)."""
        from kubernetes import client, config

        return client.VersionApi(config.new_client_from_config(config_file=self.admin)).get_code().git_version

    def cluster_spec(self, kops_version):
        return yaml.safe_load(self.kops(kops_version, "get", "cluster", "--name", kops_world.CLUSTER, "-o",
                                        "yaml").stdout)

    def replace_cluster_spec(self, kops_version, spec):
        """Write ``spec`` (a cluster spec as `kops get cluster -o yaml` gives it) to the state store (`kops replace
        -f`); nothing is applied until `kops update cluster --yes`."""
        path = os.path.join(self.workdir, "cluster-edit.yaml")
        with open(path, "w") as handle:
            yaml.safe_dump(spec, handle)
        self.kops(kops_version, "replace", "-f", path)

    def upgrade_variables(self, kops_version, kubernetes_version):
        """The extra variables of `ansible-playbook clusterops.kops_upgrade.upgrade` against this cloud, for the
        demo and the end-to-end test alike."""
        variables = {
            "cluster_name": kops_world.CLUSTER, "state_store": self.state_store(),
            "kops_binary": kops_world.kops_binary(kops_version)[0], "kubernetes_version": kubernetes_version,
            # The user's connection: the local API's own kubeconfig (its context is not named after the kOps
            # cluster, so kops gets a private copy under the cluster's name) and kops' AWS profile, which alone
            # reaches this cloud's moto. Nothing reaches ansible-playbook through its process environment.
            "k8s_kubeconfig": self.admin,
            "kops_upgrade_environment": self.kops_environment(),
            # kops must not replace the cluster's context (the local API) with moto's load balancer name.
            "kops_upgrade_create_kube_config": "false",
            # No rolling-update pacing: kops >= 1.31 applies the upgrade with `kops reconcile cluster`, which takes
            # none of those flags (the role refuses them there rather than ignore them).
            "kops_upgrade_addon_settle_seconds": 20, "kops_upgrade_addon_poll_seconds": 3,
            "validate_timeout": 300, "validate_interval": 10,
        }
        if not self.api_is_real:
            # The local API server is the stand-in (kube-apiserver 1.34.4 for the cluster's 1.30/1.31/1.32 control
            # plane), so the precheck's version group would (rightly) call every target a downgrade. The others run.
            variables["precheck_checks"] = ["removed_apis", "deprecated_api_requests", "drain", "webhooks",
                                            "autoscalers", "rollouts"]
        return variables

    def aws_profile(self):
        """This cloud's AWS profile: its name, and the AWS config and credentials files that define it (the
        profile's endpoint_url is this cloud's moto)."""
        config, credentials = kops_world.write_aws_profiles(self.workdir, {self.name: self.moto.url},
                                                            region=self.world.env["AWS_REGION"])
        return self.name, config, credentials

    def kops_environment(self):
        """kops_upgrade_environment for this cloud: its AWS profile, no instance metadata, a HOME of its own and
        the kops assets location; no keys, no endpoint, no state store (state_store is a variable)."""
        profile, config, credentials = self.aws_profile()
        return dict(kops_world.profile_environment(profile, config, credentials, self.world.env["HOME"],
                                                   self.assets.url), **self.world.state_environment)

    def environment(self):
        """What kops needs to reach this cloud, for ansible-playbook and its kops modules: AWS endpoint and
        credentials, the state store, KOPS_BASE_URL, KUBECONFIG (the cluster's context) and a HOME of its own."""
        env = dict(self.world.env)
        env["KUBECONFIG"] = self.kubeconfig
        return env

    def state_store(self):
        return self.world.state
