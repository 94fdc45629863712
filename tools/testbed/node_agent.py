# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a booting kOps instance would do, for a kOps cluster whose cloud is moto and whose API is the local control
plane (tools/localcluster): for every running instance of the cluster (launched by its Auto Scaling groups, tagged
KubernetesCluster) a Node joins (a kwok node), and when the instance is terminated its Node goes; control-plane nodes run the static pods kops validate looks
for; and kOps' channels applies the addons from the state store, as protokube does on a control-plane node.

    node_agent.py --cluster x.k8s.local --aws-endpoint http://127.0.0.1:PORT --state /path/to/state \
                 --kubeconfig admin.kubeconfig --bin-dir DIR [--interval 1]

``--state`` is the state store: a directory (a file:// store) or ``s3://bucket/prefix`` in moto's S3 (read from
``--aws-endpoint``; channels gets it as kops' S3-compatible endpoint, S3_ENDPOINT).

Runs until TERM; prints one line per change (node joined, node left, channels applied) with the time.

What a Node gets, and from where:
- name: the instance ID; ``spec.providerID`` ``aws:///<zone>/<instance-id>`` (kops matches instances to Nodes by
  the last path segment); addresses: the instance's private IP (InternalIP) and the name (Hostname);
- labels: kubernetes.io/hostname, os, arch, topology.kubernetes.io/zone and region,
  node.kubernetes.io/instance-type, every label kops itself declares for the group on its Auto Scaling group, which
  the instances carry (``k8s.io/cluster-autoscaler/node-template/label/<key>`` tags: the role label, ...),
  kops.k8s.io/instancegroup
  and the role label (node-role.kubernetes.io/control-plane or node-role.kubernetes.io/node);
- taints: node-role.kubernetes.io/control-plane:NoSchedule on control-plane nodes, plus the group's
  ``k8s.io/cluster-autoscaler/node-template/taint/<key>`` tags;
- kubelet version: the Kubernetes version of nodeup's config for the instance's group in the state store
  (``igconfig/<role>/<group>/nodeupconfig.yaml``, written by ``kops update cluster --yes``) when the instance first
  appears: what nodeup would install on it;
- annotation ``clusterops.io/kops-version``: the kops release of that update (``kops-version.txt``); the channels
  tool of that release is the one protokube would run on a control-plane node booted from it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from xml.etree import ElementTree

# Run by path (this file runs on its own too, as a process of the test bed).
LOCALCLUSTER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "local_cluster.py")
MANAGED_BY = "clusterops.io/node-agent"
KOPS_VERSION_ANNOTATION = "clusterops.io/kops-version"
TEMPLATE_LABEL = "k8s.io/cluster-autoscaler/node-template/label/"
TEMPLATE_TAINT = "k8s.io/cluster-autoscaler/node-template/taint/"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
NODE_LABEL = "node-role.kubernetes.io/node"
STATIC_PODS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
# Capacity of the instance types kops' tests use; others get the t3.medium figures.
CAPACITY = {"t3.medium": {"cpu": "2", "memory": "3900Mi", "pods": "110"},
            "t3.large": {"cpu": "2", "memory": "7900Mi", "pods": "110"},
            "c5.large": {"cpu": "2", "memory": "3800Mi", "pods": "110"}}


def log(message):
    print("[node-agent %s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


# --------------------------------------------------------------------------------------------------------
# Pure: from what the cloud says to the Nodes that should exist


def role_of(group_tags):
    """``control-plane``, ``node`` or ``bastion`` from the role tags kops puts on an Auto Scaling group."""
    if "k8s.io/role/control-plane" in group_tags or "k8s.io/role/master" in group_tags:
        return "control-plane"
    if "k8s.io/role/bastion" in group_tags:
        return "bastion"
    return "node"


def node_for(instance, kubelet_version, kops_version):
    """The Node a kOps instance registers, as a dict (see the module docstring for where each field comes from).
    ``instance``: {id, zone, private_ip, type, tags}; the tags are those kops gives its Auto Scaling group, which
    the instances carry."""
    tags = instance["tags"]
    role = role_of(tags)
    name = instance["id"]
    labels = {
        "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/zone": instance["zone"], "topology.kubernetes.io/region": instance["zone"][:-1],
        "node.kubernetes.io/instance-type": instance["type"],
        CONTROL_PLANE_LABEL if role == "control-plane" else NODE_LABEL: "",
        MANAGED_BY: "true",
    }
    if tags.get("kops.k8s.io/instancegroup"):
        labels["kops.k8s.io/instancegroup"] = tags["kops.k8s.io/instancegroup"]
    taints = []
    if role == "control-plane":
        taints.append({"key": CONTROL_PLANE_LABEL, "effect": "NoSchedule"})
    for key, value in sorted(tags.items()):
        if key.startswith(TEMPLATE_LABEL):
            labels[key[len(TEMPLATE_LABEL):]] = value
        elif key.startswith(TEMPLATE_TAINT) and ":" in value:
            taint_value, effect = value.rsplit(":", 1)
            taints.append({"key": key[len(TEMPLATE_TAINT):], "value": taint_value, "effect": effect})
    capacity = CAPACITY.get(instance["type"], CAPACITY["t3.medium"])
    version = "v" + kubelet_version.lstrip("v")
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels,
                     "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0",
                                     KOPS_VERSION_ANNOTATION: kops_version or ""}},
        "spec": {"providerID": "aws:///%s/%s" % (instance["zone"], instance["id"]), "taints": taints},
        # kwok's node-initialize stage keeps what is already set (nodeInfo, addresses, capacity).
        "status": {"nodeInfo": {"kubeletVersion": version, "kubeProxyVersion": version,
                                "architecture": "amd64", "operatingSystem": "linux",
                                "containerRuntimeVersion": "containerd://1.7.13", "osImage": "Ubuntu (node agent)",
                                "kernelVersion": "6.8.0", "bootID": name, "machineID": name, "systemUUID": name},
                   "addresses": [{"type": "InternalIP", "address": instance["private_ip"]},
                                 {"type": "Hostname", "address": name}],
                   "allocatable": dict(capacity), "capacity": dict(capacity)},
    }


def version_tuple(version):
    """(major, minor, patch) of "v1.36.1" or "1.36.1"; () for anything else (older than every version)."""
    parts = (version or "").lstrip("v").split("-", 1)[0].split(".")
    try:
        return tuple(int(p) for p in parts[:3]) if len(parts) >= 3 else ()
    except ValueError:
        return ()


def wanted_instances(instances):
    """Instance id -> instance for the pending or running instances that join the cluster: every kOps instance
    but bastions, including those kops detached from their group (they run until kops terminates them)."""
    return dict((i["id"], i) for i in instances
                if i["state"] in ("pending", "running") and role_of(i["tags"]) != "bastion")


def plan(wanted, existing):
    """(to_create, to_delete): instance ids without a Node, and names of the agent's Nodes whose instance is
    gone."""
    return sorted(set(wanted) - set(existing)), sorted(set(existing) - set(wanted))


def static_pods(node):
    """The pods kops validate wants on a control-plane node (k8s-app=kube-apiserver, kube-controller-manager,
    kube-scheduler in kube-system, on that node): mirror pods as the kubelet makes them for its static pods (the
    mirror annotation makes `kops rolling-update`'s drain leave them alone; owned by the Node, so they go with it).
    """
    name = node["metadata"]["name"]
    version = node["status"]["nodeInfo"]["kubeletVersion"]
    pods = []
    for app in STATIC_PODS:
        digest = hashlib.sha256(("%s/%s/%s" % (app, name, version)).encode()).hexdigest()[:32]
        pods.append({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "%s-%s" % (app, name), "namespace": "kube-system",
                         "labels": {"k8s-app": app, "tier": "control-plane", MANAGED_BY: "true"},
                         "annotations": {"kubernetes.io/config.mirror": digest,
                                         "kubernetes.io/config.source": "file",
                                         "kubernetes.io/config.hash": digest},
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name,
                                              "uid": node["metadata"]["uid"], "controller": True}]},
            "spec": {"nodeName": name, "hostNetwork": True, "priorityClassName": "system-cluster-critical",
                     "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": app, "image": "registry.k8s.io/%s:%s" % (app, version)}]},
        })
    return pods


# --------------------------------------------------------------------------------------------------------
# moto, through the AWS query API (no SDK needed; moto does not check signatures, it reads the region and the
# service from the credential scope)


def moto_authorization(region, service):
    """An Authorization header moto takes: it answers an unsigned request as an anonymous one (403 on private S3
    objects) and checks the credential's form, not the signature."""
    return ("AWS4-HMAC-SHA256 Credential=testing/20260101/%s/%s/aws4_request, SignedHeaders=host, "
            "Signature=0" % (region, service))


def s3_store_environment(endpoint, region):
    """What kops and channels need for a state store in moto's S3: kops' S3-compatible store settings
    (util/pkg/vfs) - the endpoint and static test credentials."""
    return {"S3_ENDPOINT": endpoint.rstrip("/"), "S3_REGION": region, "S3_ACCESS_KEY_ID": "testing",
            "S3_SECRET_ACCESS_KEY": "testing"}


class Aws(object):
    def __init__(self, endpoint, region):
        self.endpoint = endpoint.rstrip("/") + "/"
        self.region = region

    def authorization(self, service):
        return moto_authorization(self.region, service)

    def call(self, service, version, action, params=None):
        body = dict(params or {}, Action=action, Version=version)
        request = urllib.request.Request(self.endpoint, data=urllib.parse.urlencode(body).encode(), method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
        request.add_header("Authorization", self.authorization(service))
        with urllib.request.urlopen(request, timeout=30) as response:
            root = ElementTree.fromstring(response.read())
        for element in root.iter():
            element.tag = element.tag.rsplit("}", 1)[-1]
        return root

    def cluster_instances(self, cluster):
        """Every instance tagged KubernetesCluster=<cluster> (as kops tags them, through their Auto Scaling group):
        [{id, state, zone, private_ip, type, tags}]."""
        found, token = [], None
        while True:
            params = {"Filter.1.Name": "tag:KubernetesCluster", "Filter.1.Value.1": cluster}
            if token:
                params["NextToken"] = token
            root = self.call("ec2", "2016-11-15", "DescribeInstances", params)
            for item in root.iter("instancesSet"):
                for instance in item.findall("item"):
                    found.append({
                        "id": instance.findtext("instanceId"), "state": instance.findtext("instanceState/name"),
                        "zone": instance.findtext("placement/availabilityZone"),
                        "private_ip": instance.findtext("privateIpAddress") or "",
                        "type": instance.findtext("instanceType"),
                        "tags": dict((t.findtext("key"), t.findtext("value") or "")
                                     for t in instance.findall("tagSet/item")),
                    })
            token = root.findtext("nextToken")
            if not token:
                return found


class StateStore(object):
    """The kOps state store the instances read: ``read(path)`` gives the bytes of ``<store>/<path>`` (None when
    absent), ``url(path)`` the location channels is given, ``environment`` what channels needs to reach it."""

    def __init__(self, location, aws):
        self.aws = aws
        self.environment = {}
        if location.startswith("s3://"):
            self.bucket, dummy, self.prefix = location[len("s3://"):].partition("/")
            self.location = location.rstrip("/")
            self.environment = s3_store_environment(aws.endpoint, aws.region)
        else:
            self.bucket = None
            self.location = os.path.abspath(location[len("file://"):] if location.startswith("file://")
                                            else location)

    def url(self, path):
        return "%s/%s" % (self.location, path) if self.bucket else "file://" + os.path.join(self.location, path)

    def read(self, path):
        if not self.bucket:
            try:
                with open(os.path.join(self.location, path), "rb") as handle:
                    return handle.read()
            except OSError:
                return None
        key = "/".join(part for part in (self.prefix.strip("/"), path) if part)
        request = urllib.request.Request("%s%s/%s" % (self.aws.endpoint, self.bucket, urllib.parse.quote(key)))
        request.add_header("Authorization", self.aws.authorization("s3"))
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise


# --------------------------------------------------------------------------------------------------------
# The agent


class NodeAgent(object):
    def __init__(self, cluster, aws, state, kubeconfig, bin_dir, channels_every=60, local_cluster=None,
                 workdir=None):
        from kubernetes import client, config

        self.cluster = cluster
        self.aws = aws
        self.store = StateStore(state, aws)
        self.workdir = workdir or os.path.dirname(os.path.abspath(kubeconfig))
        self.kubeconfig = kubeconfig
        self.bin_dir = bin_dir
        self.channels_every = channels_every
        self.api = config.new_client_from_config(config_file=kubeconfig)
        self.core = client.CoreV1Api(self.api)
        self.client = client
        self.channel_digest = None
        self.channel_applied = 0.0
        self.home = os.path.join(self.workdir, ".node-agent-home")
        self.local_cluster = local_cluster
        self.control_plane_tried = None

    def follow_control_plane(self, kubernetes_version):
        """A control-plane instance boots the release of its nodeup config: when that is newer than the local
        control plane's, restart kube-apiserver, kube-controller-manager and kube-scheduler on it (same etcd;
        `local_cluster.py upgrade`), before the Node registers, as the new instance's static pods come up before
        its kubelet joins. Once per version; a release whose binaries are not built leaves the running (stand-in)
        version, and says so."""
        if not self.local_cluster or not kubernetes_version:
            return
        wanted = "v" + kubernetes_version.lstrip("v")
        if wanted == self.control_plane_tried:
            return
        status = subprocess.run([sys.executable, LOCALCLUSTER, "status", "--name", self.local_cluster],
                                capture_output=True, text=True, check=True)
        running = json.loads(status.stdout).get("kubernetes_version") or ""
        if version_tuple(wanted) <= version_tuple(running):
            return
        self.control_plane_tried = wanted
        log("control-plane instance on Kubernetes %s: restarting the control plane (%s) on it" % (wanted, running))
        proc = subprocess.run([sys.executable, LOCALCLUSTER, "upgrade", "--name", self.local_cluster,
                               "--kubernetes-version", wanted], capture_output=True, text=True, check=False,
                              timeout=300)
        if proc.returncode == 0:
            log("control plane now on Kubernetes %s (%s)" % (wanted, proc.stderr.strip().splitlines()[-1].split(
                "] ", 1)[-1] if proc.stderr.strip() else "restarted"))
        else:
            log("control plane stays on %s, a stand-in for %s: %s" % (
                running, wanted, " ".join(proc.stderr.split())[-500:]))

    def boot_config(self, instance_group):
        """(kubernetes version, kops version) an instance of ``instance_group`` boots with now: nodeup's config for
        the group in the state store (``igconfig/<role>/<group>/nodeupconfig.yaml``, written by `kops update
        cluster --yes`; kops >= 1.31 keeps the nodes' version at the control plane's until it has been rolled)
        and the kops release of that update (``kops-version.txt``)."""
        import yaml

        kubernetes_version = None
        # kops' instance-group roles as nodeup's config paths spell them (pkg/model: igconfig/<role>/<group>).
        for role in ("control-plane", "master", "apiserver", "node", "bastion") if instance_group else ():
            config = self.store.read("%s/igconfig/%s/%s/nodeupconfig.yaml" % (self.cluster, role, instance_group))
            if config is not None:
                kubernetes_version = (yaml.safe_load(config) or {}).get("KubernetesVersion")
        kops_version = (self.store.read("%s/kops-version.txt" % self.cluster) or b"").decode().strip()
        return kubernetes_version, kops_version

    def managed_nodes(self):
        return {n.metadata.name: n for n in self.core.list_node(label_selector="%s=true" % MANAGED_BY).items}

    def sync_nodes(self):
        wanted = wanted_instances(self.aws.cluster_instances(self.cluster))
        existing = self.managed_nodes()
        to_create, to_delete = plan(wanted, existing)
        for instance_id in to_create:
            instance = wanted[instance_id]
            kubernetes_version, kops_version = self.boot_config(instance["tags"].get("kops.k8s.io/instancegroup"))
            if kubernetes_version is None:
                continue  # no nodeup config for its group: nothing would boot
            node = node_for(instance, kubernetes_version, kops_version)
            if CONTROL_PLANE_LABEL in node["metadata"]["labels"]:
                self.follow_control_plane(kubernetes_version)
            created = self.api.sanitize_for_serialization(self.core.create_node(node))
            node["metadata"]["uid"] = created["metadata"]["uid"]
            if CONTROL_PLANE_LABEL in node["metadata"]["labels"]:
                for pod in static_pods(node):
                    self.core.create_namespaced_pod("kube-system", pod)
            log("node %s joined: group %s, %s, kubelet %s, providerID %s" % (
                instance_id, node["metadata"]["labels"].get("kops.k8s.io/instancegroup"),
                "control-plane" if CONTROL_PLANE_LABEL in node["metadata"]["labels"] else "node",
                node["status"]["nodeInfo"]["kubeletVersion"], node["spec"]["providerID"]))
        for name in to_delete:
            self.remove_node(name)

    def remove_node(self, name):
        """The instance is gone: its Node goes (as the cloud node controller does), then the pods bound to it (as
        the pod garbage collector does for pods of a deleted node, after its 40 s quarantine). Node first, so the
        DaemonSet controller stops making pods for it."""
        try:
            self.core.delete_node(name)
        except self.client.ApiException as exc:
            if exc.status != 404:
                raise
        for pod in self.core.list_pod_for_all_namespaces(field_selector="spec.nodeName=%s" % name).items:
            try:
                self.core.delete_namespaced_pod(pod.metadata.name, pod.metadata.namespace, grace_period_seconds=0)
            except self.client.ApiException as exc:
                if exc.status != 404:
                    raise
        log("node %s left: its instance is gone" % name)

    def channels_binary(self):
        """The channels tool of the kops release the oldest control-plane Node booted from (protokube runs the
        channels of its own image)."""
        nodes = [n for n in self.managed_nodes().values() if CONTROL_PLANE_LABEL in (n.metadata.labels or {})]
        if not nodes:
            return None
        oldest = min(nodes, key=lambda n: n.metadata.creation_timestamp)
        version = (oldest.metadata.annotations or {}).get(KOPS_VERSION_ANNOTATION) or ""
        path = os.path.join(self.bin_dir, "channels-v%s" % version.lstrip("v"))
        return path if os.access(path, os.X_OK) else None

    def sync_addons(self):
        """protokube: `channels apply channel <state>/<cluster>/addons/bootstrap-channel.yaml --yes` on a
        control-plane node, at once when the channel changed (after `kops update cluster --yes`) and every
        ``channels_every`` seconds."""
        channel = "%s/addons/bootstrap-channel.yaml" % self.cluster
        content = self.store.read(channel)
        if content is None:
            return
        digest = hashlib.sha256(content).hexdigest()
        if digest == self.channel_digest and time.monotonic() - self.channel_applied < self.channels_every:
            return
        binary = self.channels_binary()
        if binary is None:
            return
        os.makedirs(self.home, exist_ok=True)
        started = time.monotonic()
        proc = subprocess.run([binary, "apply", "channel", self.store.url(channel), "--yes"], capture_output=True,
                              text=True, check=False, timeout=300,
                              env=dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=self.home,
                                       **self.store.environment))
        self.channel_applied = time.monotonic()
        with open(os.path.join(self.workdir, "channels.log"), "a") as handle:
            handle.write("=== %s %s rc %d\n%s\n%s\n" % (time.strftime("%H:%M:%S"), os.path.basename(binary),
                                                        proc.returncode, proc.stdout, proc.stderr))
        if proc.returncode != 0:
            errors = [line.split("] ", 1)[-1] for line in proc.stderr.splitlines()
                      if "error from apply" in line or line.startswith(("updating", "Error"))]
            log("channels (%s) failed (rc %d): %s" % (os.path.basename(binary), proc.returncode,
                                                      " | ".join(errors[-3:])[-1500:] or proc.stderr[-500:]))
            return
        if digest != self.channel_digest:
            updated = [line.split()[0] for line in proc.stdout.splitlines()
                       if line.strip() and not line.startswith(("NAME", "No update"))]
            log("%s applied the addon channel in %.1fs%s" % (
                os.path.basename(binary), self.channel_applied - started,
                (": " + ", ".join(updated)) if updated else ""))
        self.channel_digest = digest

    def run(self, interval=1.0):
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
        log("watching the Auto Scaling groups of %s" % self.cluster)
        last_error = None
        while not stop:
            try:
                self.sync_nodes()
                self.sync_addons()
                last_error = None
            except Exception as exc:  # pylint: disable=broad-except
                error = "%s: %s" % (type(exc).__name__, " ".join(str(exc).split())[:500])
                if error != last_error:  # once per distinct error, not once per second
                    log("will retry: %s" % error)
                last_error = error
            time.sleep(interval)
        log("stopped")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster", required=True)
    parser.add_argument("--aws-endpoint", required=True)
    parser.add_argument("--region", default="eu-west-1")
    parser.add_argument("--state", required=True, help="the state store: a directory (file://) or s3://bucket/prefix "
                        "in moto's S3")
    parser.add_argument("--workdir", help="where channels' log and HOME go (default: the kubeconfig's directory)")
    parser.add_argument("--kubeconfig", required=True, help="admin kubeconfig of the cluster's API")
    parser.add_argument("--bin-dir", required=True, help="the built binaries (kops, channels): <cache>/bin")
    parser.add_argument("--local-cluster", help="the local control plane (tools/localcluster) serving as the "
                        "cluster's API: restarted on a newer Kubernetes release when a control-plane instance boots "
                        "one (if its binaries are built)")
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--channels-every", type=float, default=60.0)
    args = parser.parse_args(argv)
    NodeAgent(args.cluster, Aws(args.aws_endpoint, args.region), args.state, args.kubeconfig, args.bin_dir,
              args.channels_every, args.local_cluster, args.workdir).run(args.interval)


if __name__ == "__main__":
    sys.exit(main())
