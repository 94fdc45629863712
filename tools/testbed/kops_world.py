# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real kops binary, offline: a file:// state store, a channel file of our own, and moto in server mode on
127.0.0.1 as the AWS endpoint. IMDS is disabled so nothing looks for 169.254.169.254.
Used by the kops tests and by capture_fixtures.py (which records real kops output for the unit tests)."""

from __future__ import annotations

import hashlib
import json
import http.server
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_cli import transient_transport_error
from testbed import kube
from testbed.local_cluster import CACHE, ROOT, versions
from testbed.node_agent import moto_authorization, s3_store_environment

HERE = os.path.dirname(os.path.abspath(__file__))
# moto checks ELBv2 target group names against (?!.*--): kops shortens "kops-controller-<cluster>" to 32
# characters with a hash, which for test.k8s.local gives "kops-controller-test-k8s--70kef8" (rejected, retried for
# 10 minutes); x.k8s.local gives a name moto accepts.
CLUSTER = "x.k8s.local"
IMAGE = "099720109477/ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-20170721"  # one of moto's AMIs
# The Kubernetes versions are ones whose binaries' hashes the kops releases know (pkg/assets/assetdata): 1.30.5 for
# kops 1.30.2, 1.31.3 for 1.31.0 and 1.32.0, 1.32.0 for 1.32.0; 1.33.4 for 1.33.1 and later, 1.34.4 and 1.35.2 for
# 1.35.0 and 1.36.2, 1.36.1 for 1.36.2 (offline, kops cannot fetch other hashes). Without --kubernetes-version,
# `kops upgrade cluster` proposes the next minor's recommendedVersion when the kops release is at least that minor.
CHANNEL = """\
spec:
  images:
    - name: %(image)s
      providerID: aws
      architectureID: amd64
      kubernetesVersion: ">=1.29.0"
  kubernetesVersions:
    - range: ">=1.36.0"
      recommendedVersion: 1.36.1
      requiredVersion: 1.36.0
    - range: ">=1.35.0"
      recommendedVersion: 1.35.2
      requiredVersion: 1.35.0
    - range: ">=1.34.0"
      recommendedVersion: 1.34.4
      requiredVersion: 1.34.0
    - range: ">=1.33.0"
      recommendedVersion: 1.33.4
      requiredVersion: 1.33.0
    - range: ">=1.32.0"
      recommendedVersion: 1.32.0
      requiredVersion: 1.32.0
    - range: ">=1.31.0"
      recommendedVersion: 1.31.3
      requiredVersion: 1.31.0
    - range: ">=1.30.0"
      recommendedVersion: 1.30.5
      requiredVersion: 1.30.0
    - range: ">=1.29.0"
      recommendedVersion: 1.29.9
      requiredVersion: 1.29.0
  kopsVersions:
    - range: ">=1.36.0-alpha.1"
      recommendedVersion: "1.36.2"
      kubernetesVersion: 1.36.1
    - range: ">=1.35.0-alpha.1"
      recommendedVersion: "1.35.0"
      kubernetesVersion: 1.35.2
    - range: ">=1.33.0-alpha.1"
      recommendedVersion: "1.33.1"
      kubernetesVersion: 1.33.4
    - range: ">=1.32.0-alpha.1"
      recommendedVersion: "1.32.0"
      kubernetesVersion: 1.32.0
    - range: ">=1.31.0-alpha.1"
      recommendedVersion: "1.31.0"
      kubernetesVersion: 1.31.3
    - range: ">=1.30.0-alpha.1"
      recommendedVersion: "1.30.2"
      kubernetesVersion: 1.29.9
""" % {"image": IMAGE}


def kops_binary(version=None):
    """(path, version) of kops ``version`` (default: KOPS_VERSION of versions.env), built by build.sh if missing."""
    version = version or versions()["KOPS_VERSION"]
    path = os.path.join(CACHE, "bin", "kops-" + version)
    if not os.access(path, os.X_OK) or not os.access(os.path.join(CACHE, "bin", "channels-" + version), os.X_OK):
        subprocess.run([os.path.join(ROOT, "tools", "localcluster", "build.sh"), "kops-" + version], check=True)
    return path, version


def release_of(binary):
    """(1, 33, 1) for .../kops-v1.33.1 (build.sh's names); None for another name."""
    name = os.path.basename(binary)
    if not name.startswith("kops-v"):
        return None
    try:
        return tuple(int(part) for part in name[len("kops-v"):].split("-")[0].split("."))
    except ValueError:
        return None


def containerd_pin(binary):
    """``--set`` values that pin containerd for a kops release whose default containerd it has no hash for.
    kops 1.30.2 defaults to containerd 1.7.22, whose hash is not among those it knows (pkg/assets/assetdata) and
    would be downloaded; 1.7.13 and runc 1.1.14 are known to 1.30.2 up to 1.36.2, so clusters created by 1.30-1.32
    keep them. From 1.33 the defaults (1.7.28 .. 2.2.4) are known to the release that sets them: no pin."""
    release = release_of(binary)
    if release is not None and release >= (1, 33):
        return []
    return ["--set", "spec.containerd.version=1.7.13", "--set", "spec.containerd.runc.version=1.1.14"]


def home_state(home):
    """What a run must not change in a home directory: the sha256 of .kube/config (None when absent) and which of
    .kube and .ansible exist."""
    config = os.path.join(home, ".kube", "config")
    digest = None
    if os.path.exists(config):
        with open(config, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
    return {"kube_config_sha256": digest,
            "present": sorted(d for d in (".kube", ".ansible") if os.path.exists(os.path.join(home, d)))}


def untouched_home(scratch):
    """For a test session (a generator for a pytest fixture): pins CLUSTEROPS_CACHE (so the binaries are still
    found), gives ansible an ANSIBLE_HOME under ``scratch`` unless one is set (make sets one in the cache), and runs
    the session with HOME set to the empty directory ``scratch``/home and ansible's temporary files in
    ``scratch``/ansible-tmp (not shared with the suites beside it). Afterwards that directory must still have
    no .kube and .ansible (every kops run has its KUBECONFIG and HOME, ansible its ANSIBLE_HOME), and the account's
    own ~/.kube/config must be byte for byte what it was."""
    account = pwd.getpwuid(os.getuid()).pw_dir
    os.environ.setdefault("CLUSTEROPS_CACHE", CACHE)
    os.environ.setdefault("ANSIBLE_HOME", os.path.join(scratch, "ansible-home"))
    # ansible's temporary files (the modules' private kubeconfigs for kops among them) in this session's own
    # directory: make's is shared by the suites it runs side by side, and the tests look for leftovers there.
    temps = dict((name, os.environ.get(name)) for name in ("ANSIBLE_REMOTE_TEMP", "ANSIBLE_LOCAL_TEMP"))
    for name in temps:
        os.environ[name] = os.path.join(scratch, "ansible-tmp")
    before = home_state(account)
    previous = os.environ.get("HOME")
    canary = os.path.join(scratch, "home")
    os.makedirs(canary, exist_ok=True)
    os.environ["HOME"] = canary
    yield canary
    if previous is not None:
        os.environ["HOME"] = previous
    for name, value in temps.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    assert home_state(canary)["present"] == [], "a kops or ansible run wrote into HOME (%s): %s" % (
        canary, os.listdir(canary))
    # Only the config file itself: other sessions on a shared machine may create an empty ~/.kube.
    assert home_state(account)["kube_config_sha256"] == before["kube_config_sha256"], \
        "%s/.kube/config changed during the session" % account


STATE_BUCKET = "kops-state"


def create_bucket(moto_url, bucket, region="eu-west-1"):
    """An S3 bucket in moto (a plain PUT: moto does not check signatures); an existing one is kept."""
    body = ('<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>%s'
            '</LocationConstraint></CreateBucketConfiguration>' % region).encode()
    # Unsigned: with an Authorization header moto ignores this body and refuses the bucket's region.
    request = urllib.request.Request("%s/%s" % (moto_url.rstrip("/"), bucket), data=body, method="PUT")
    try:
        urllib.request.urlopen(request, timeout=30).read()
    except urllib.error.HTTPError as exc:
        if exc.code != 409:  # BucketAlreadyOwnedByYou
            raise


def s3_objects(moto_url, bucket, prefix=""):
    """{key: ETag} of every object under ``prefix`` in a moto bucket (ListObjectsV2, paginated)."""
    from xml.etree import ElementTree

    found, token = {}, None
    while True:
        query = {"list-type": "2", "prefix": prefix}
        if token:
            query["continuation-token"] = token
        request = urllib.request.Request("%s/%s?%s" % (moto_url.rstrip("/"), bucket, urllib.parse.urlencode(query)))
        request.add_header("Authorization", moto_authorization("eu-west-1", "s3"))
        with urllib.request.urlopen(request, timeout=30) as response:
            root = ElementTree.fromstring(response.read())
        for element in root.iter():
            element.tag = element.tag.rsplit("}", 1)[-1]
        for item in root.iter("Contents"):
            found[item.findtext("Key")] = item.findtext("ETag")
        if root.findtext("IsTruncated") != "true":
            return found
        token = root.findtext("NextContinuationToken")


def write_unreachable_kubeconfig(path):
    """A kubeconfig whose context is named after the kOps cluster, with its API on a loopback port where nothing
    listens: what a kOps cluster looks like before its API is up. kops commands that list Nodes (`get instances`,
    `rolling-update`) need the context to exist and carry on without the API; `kops update cluster --yes` rewrites
    it (KUBECONFIG) with the cluster's real endpoint."""
    server = "https://127.0.0.1:%d" % free_port()
    config = {"apiVersion": "v1", "kind": "Config", "current-context": CLUSTER,
              # No CA and no insecure flag: kops merges its certificate-authority-data into this entry.
              "clusters": [{"name": CLUSTER, "cluster": {"server": server}}],
              "users": [{"name": CLUSTER, "user": {}}],
              "contexts": [{"name": CLUSTER, "context": {"cluster": CLUSTER, "user": CLUSTER}}]}
    with open(path, "w") as handle:
        json.dump(config, handle)
    return path


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """moto in server mode on 127.0.0.1, started from its own venv and stopped by its pid."""

    def __init__(self, workdir, env=None):
        venv = subprocess.run([os.path.join(ROOT, "tools", "moto-venv.sh")], check=True, capture_output=True,
                              text=True).stdout.strip()
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = open(os.path.join(workdir, "moto.log"), "wb")
        # moto_server.py: moto's own server with one correction (DescribeWarmPool), see that file.
        self.proc = subprocess.Popen([os.path.join(venv, "bin", "python"), os.path.join(HERE, "moto_server.py"),
                                      "-H", "127.0.0.1", "-p", str(self.port)], stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     env=dict(os.environ, **(env or {})))
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=2)
                break
            except Exception:  # pylint: disable=broad-except
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start; see %s" % self.log.name)
                time.sleep(0.2)

    def reset(self):
        """Forget every AWS resource (moto's own reset endpoint), so each test starts from an empty account."""
        urllib.request.urlopen(urllib.request.Request(self.url + "/moto-api/reset", data=b"", method="POST"),
                               timeout=30).read()

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


class _Assets(http.server.BaseHTTPRequestHandler):
    """Any kops asset path: ``<path>`` is a placeholder naming it, ``<path>.sha256`` that placeholder's sha256.
    Which files a release asks for changes from release to release (kOps 1.36 added
    ``images/kops-channels-<arch>.tar.gz``), so none is listed here."""

    requested = None  # set per server: the set of paths asked for (what a release needs, for the README)

    @staticmethod
    def placeholder(path):
        return ("placeholder for kops %s, never run\n" % path.lstrip("/")).encode()

    def do_GET(self):  # noqa: N802 (http.server's name)
        path = self.path.split("?", 1)[0]
        if path.endswith(".sha256"):
            body = (hashlib.sha256(self.placeholder(path[:-len(".sha256")])).hexdigest() + "\n").encode()
        else:
            body = self.placeholder(path)
        self.requested.add(path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):  # noqa: N802
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


class AssetsServer:
    """kops' own assets as KOPS_BASE_URL: `kops update cluster` reads the sha256 of nodeup, protokube, channels
    and its image tarballs from ``<base>/<path>.sha256``. Served from a thread on 127.0.0.1: for any path, a
    placeholder and its real hash (no instance ever boots, so nothing runs them). ``requested`` lists the paths
    kops asked for."""

    def __init__(self, workdir=None):  # pylint: disable=unused-argument
        self.requested = set()
        handler = type("Assets", (_Assets,), {"requested": self.requested})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = "http://127.0.0.1:%d/" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class KopsWorld:
    """A kOps cluster spec (Kubernetes 1.29.3, one control plane, two nodes) in a file:// state store.

    Everything kops writes stays in ``workdir``: KUBECONFIG is ``<workdir>/kubeconfig`` (where `kops update cluster
    --yes`, `--admin` and `kops export kubeconfig` write, and where kops looks for the cluster's context) unless
    ``kubeconfig`` is given, HOME is ``<workdir>/home``; the user's ~/.kube and home are never read or written."""

    def __init__(self, workdir, moto_url, assets_url=None, kubeconfig=None, state_store="file"):
        self.workdir = workdir
        self.kops, self.kops_version = kops_binary()
        # "file": a directory in workdir; "s3": a bucket in moto's S3, reached as kops reaches an S3-compatible
        # store (S3_ENDPOINT and its own keys: kops' S3 client refuses AWS_ENDPOINT_URL with its dual-stack
        # default). Rendering the addons of a release (`kops update cluster --target=terraform`) needs S3.
        self.state_environment = {}
        if state_store == "s3":
            create_bucket(moto_url, STATE_BUCKET)
            self.state = "s3://%s/%s" % (STATE_BUCKET, os.path.basename(workdir.rstrip("/")))
            self.state_environment = s3_store_environment(moto_url, "eu-west-1")
        else:
            self.state = "file://" + os.path.join(workdir, "state")
        self.channel = os.path.join(workdir, "channel.yaml")
        with open(self.channel, "w") as handle:
            handle.write(CHANNEL)
        self.env = {
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": moto_url, "KOPS_STATE_STORE": self.state,
            "KUBECONFIG": kubeconfig or write_unreachable_kubeconfig(os.path.join(workdir, "kubeconfig")),
            "HOME": os.path.join(workdir, "home"),
        }
        self.env.update(self.state_environment)
        os.makedirs(self.env["HOME"], exist_ok=True)
        if assets_url:
            self.env["KOPS_BASE_URL"] = assets_url

    def run(self, *args, check=True, binary=None, timeout=300):
        """kops ``args`` (with ``binary``, another kops release, when given) in this world's environment."""
        env = dict(os.environ)
        env.update(self.env)
        # A bounded wait: kops retries an AWS error it finds retryable for up to 10 minutes (seen with moto).
        argv = [binary or self.kops] + list(args)
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, cwd=self.workdir,
                              timeout=timeout)
        transient = transient_transport_error(proc.stderr) if proc.returncode != 0 else None
        if transient:
            # The AWS SDK's unretried transport error (as the collection's kops modules do: kops_cli.Kops.run):
            # seen against moto when several kops runs share the machine. Once more, and only for that.
            print("kops %s: %s; running it once more" % (" ".join(args[:2]), transient), file=sys.stderr, flush=True)
            proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, cwd=self.workdir,
                                  timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError("kops %s failed (rc %d): %s" % (" ".join(args), proc.returncode, proc.stderr[-2000:]))
        return proc

    def create_cluster(self, kubernetes_version="1.29.3", control_planes=1, nodes=2, sets=(), binary=None):
        """The cluster spec in the state store (`kops create cluster --dry-run -o yaml`, `kops create -f`, `kops
        create sshpublickey`); ``sets`` are more ``--set`` values; ``binary`` another kops release."""
        shutil.rmtree(os.path.join(self.workdir, "state"), ignore_errors=True)
        zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"][:max(1, control_planes)]
        extra = []
        for value in sets:
            extra += ["--set", value]
        spec = self.run("create", "cluster", "--name", CLUSTER, "--cloud", "aws", "--zones", ",".join(zones),
                        "--channel", "file://" + self.channel, "--kubernetes-version", kubernetes_version,
                        "--control-plane-count", str(control_planes), "--node-count", str(nodes),
                        "--control-plane-size", "t3.medium",
                        "--node-size", "t3.medium", "--image", IMAGE, "--dry-run", "-o", "yaml",
                        *containerd_pin(binary or self.kops), *extra, binary=binary).stdout
        with open(os.path.join(self.workdir, "spec.yaml"), "w") as handle:
            handle.write(spec)
        self.run("create", "-f", os.path.join(self.workdir, "spec.yaml"), binary=binary)
        key = os.path.join(self.workdir, "id_ed25519")
        if not os.path.exists(key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        self.run("create", "sshpublickey", "-i", key + ".pub", "--name", CLUSTER, binary=binary)


# ---------------------------------------------------------------------------------------------------------------
# The user's path: no AWS, kops or kube settings in the playbook's process environment, an AWS profile per cluster,
# and a record of what each kops invocation received.

# Variables a playbook run must not inherit: the collection has to hand kops and the Kubernetes modules everything.
CONNECTION_VARIABLE_PREFIXES = ("AWS_", "KOPS_", "K8S_AUTH_")
CONNECTION_VARIABLES = ("KUBECONFIG",)


def without_connection_variables(environ):
    """``environ`` without any AWS_*, KOPS_*, K8S_AUTH_* or KUBECONFIG variable."""
    return dict((key, value) for key, value in environ.items()
                if not key.startswith(CONNECTION_VARIABLE_PREFIXES) and key not in CONNECTION_VARIABLES)


def write_aws_profiles(directory, profiles, region="eu-west-1"):
    """An AWS config and credentials file pair in ``directory`` with one profile per entry of ``profiles`` (profile
    name -> endpoint URL): the AWS SDK reads a profile's ``endpoint_url``, so each profile reaches its own moto and
    nothing else. Returns (config path, credentials path)."""
    config, credentials = os.path.join(directory, "aws-config"), os.path.join(directory, "aws-credentials")
    with open(config, "w") as handle:
        for name, url in sorted(profiles.items()):
            handle.write("[profile %s]\nregion = %s\nendpoint_url = %s\n\n" % (name, region, url))
    with open(credentials, "w") as handle:
        for name in sorted(profiles):
            handle.write("[%s]\naws_access_key_id = testing-%s\naws_secret_access_key = testing\n\n" % (name, name))
    os.chmod(credentials, 0o600)
    return config, credentials


def profile_environment(profile, config, credentials, home, assets_url=None):
    """What kops needs beyond its options, for ``kops_upgrade_environment``: the AWS profile and the files that
    define it, no instance metadata service, a HOME of its own, and the kops assets location."""
    env = {"AWS_PROFILE": profile, "AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": credentials,
           "AWS_EC2_METADATA_DISABLED": "true", "HOME": home}
    if assets_url:
        env["KOPS_BASE_URL"] = assets_url
    return env


_RECORDER = '''#!%(python)s
# Records what this kops invocation received, then runs the real kops (%(kops)s).
import json, os, stat, sys
kubeconfig = os.environ.get("KUBECONFIG")
entry = {"argv": sys.argv[1:], "pid": os.getpid(),
         "environment": dict((k, v) for k, v in os.environ.items()
                             if k.startswith(("AWS_", "KOPS_", "K8S_AUTH_")) or k in ("KUBECONFIG", "HOME")),
         "kubeconfig": None}
if kubeconfig and os.path.isfile(kubeconfig):
    try:
        with open(kubeconfig) as handle:
            config = json.load(handle)
        contexts = [c.get("name") for c in config.get("contexts") or []]
        current = config.get("current-context")
    except ValueError:
        contexts, current = None, None
    entry["kubeconfig"] = {"path": kubeconfig, "mode": "%%o" %% stat.S_IMODE(os.stat(kubeconfig).st_mode),
                           "contexts": contexts, "current_context": current}
with open(%(log)r, "a") as handle:
    handle.write(json.dumps(entry, sort_keys=True) + "\\n")
os.execv(%(kops)r, [%(kops)r] + sys.argv[1:])
'''


class KopsRecorder(object):
    """A kops wrapper the test puts in place of the kops binary: each invocation appends its arguments, the AWS,
    kops and kube variables it got and the kubeconfig it was pointed at (mode, contexts) to a JSON-lines log, then
    execs the real kops."""

    def __init__(self, directory, kops):
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, "kops")
        self.log = os.path.join(directory, "kops-invocations.jsonl")
        with open(self.path, "w") as handle:
            handle.write(_RECORDER % {"python": sys.executable, "kops": kops, "log": self.log})
        os.chmod(self.path, 0o755)

    def invocations(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def clear(self):
        if os.path.exists(self.log):
            os.remove(self.log)


def kops_command(invocation):
    """``kops validate cluster``, ``kops version`` ...: the words of an invocation before its first flag."""
    words = []
    for word in invocation["argv"]:
        if word.startswith("-"):
            break
        words.append(word)
    return "kops " + " ".join(words[:2])


# kops commands the precheck runs as plain commands: they read the state store only, no kubeconfig.
_NO_KUBECONFIG = ("kops version", "kops get all")


# The AWS settings a test gives kops one way or another: a profile and its file, or keys (with the test bed's
# endpoint and region) as AWX's credential injects them. connection_problems wants exactly the ones expected.
AWS_SETTINGS = ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL",
                "AWS_REGION")


def profile_identity(profile, config):
    """The AWS settings of kops' identity through ``profile``, defined in the file ``config`` (connection_problems)."""
    return {"AWS_PROFILE": profile, "AWS_CONFIG_FILE": config}


def connection_problems(invocations, identity, cluster, state_store):
    """What is wrong with what each of ``invocations`` (KopsRecorder) received: exactly the AWS settings of
    ``identity`` (AWS_SETTINGS name -> value, e.g. profile_identity(...)) and none of the other AWS_SETTINGS, the
    cluster's own state store when one is given in the environment (the kops modules pass ``state_store`` as
    KOPS_STATE_STORE), and for each command that reaches the cluster's API a private kubeconfig (mode 600) with a
    context named ``cluster``. One sentence per problem; [] when every invocation got its connection."""
    problems = []
    for number, invocation in enumerate(invocations, 1):
        command, env = kops_command(invocation), invocation["environment"]
        where = "invocation %d (%s)" % (number, command)
        got = dict((name, env.get(name)) for name in identity)
        if got != identity:
            problems.append("%s: got %s, expected %s" % (where, got, identity))
        stray = sorted(name for name in AWS_SETTINGS if name in env and name not in identity)
        if stray:
            problems.append("%s: got %s, which the test never gives" % (where, ", ".join(stray)))
        if env.get("KOPS_STATE_STORE", state_store) != state_store:
            problems.append("%s: KOPS_STATE_STORE=%s, expected %s" % (where, env["KOPS_STATE_STORE"], state_store))
        if command in _NO_KUBECONFIG:
            continue
        kubeconfig = invocation.get("kubeconfig")
        if not kubeconfig:
            problems.append("%s: no kubeconfig (KUBECONFIG=%s)" % (where, env.get("KUBECONFIG")))
        elif cluster not in (kubeconfig["contexts"] or []) or kubeconfig["mode"] != "600":
            problems.append("%s: kubeconfig %s has mode %s and contexts %s, expected 600 and one named %s" % (
                where, kubeconfig["path"], kubeconfig["mode"], kubeconfig["contexts"], cluster))
    return problems


def invocation_table(invocations):
    """One line per kops invocation: the command, the AWS profile and the kubeconfig it received."""
    lines = []
    for number, invocation in enumerate(invocations, 1):
        kubeconfig = invocation.get("kubeconfig") or {}
        lines.append("%3d  %-28s AWS_PROFILE=%-10s KUBECONFIG=%s%s" % (
            number, kops_command(invocation), invocation["environment"].get("AWS_PROFILE"),
            invocation["environment"].get("KUBECONFIG", "-"),
            " (mode %s, contexts %s)" % (kubeconfig["mode"], ",".join(kubeconfig["contexts"] or []))
            if kubeconfig else ""))
    return lines


# The account's own home (the tests run with HOME elsewhere and check this one is untouched too).
ACCOUNT_HOME = pwd.getpwuid(os.getuid()).pw_dir

# moto's ways of cutting a response short under load. A superset, on purpose, of the one the modules rerun kops for
# (kops_cli.TRANSIENT_TRANSPORT_ERROR, which real AWS can cause: the SDK could not decode a body the transport cut):
# moto also resets connections kops reports without that prefix. A test stand-in's hiccup, never the collection's
# rule: only kops_module (a test helper) reruns for it.
MOTO_TRANSPORT_ERROR = re.compile(r"deserialization failed, failed to decode response body|use of closed network "
                                  r"connection|connection reset by peer")


# The module_defaults of a play of the kops modules against a KopsWorld (indented as in a play); the variables it
# uses: playbook_variables.
KOPS_MODULE_DEFAULTS = """\
  module_defaults:
    group/clusterops.kops_upgrade.kops:
      cluster_name: "{{ cluster }}"
      state_store: "{{ state_store }}"
      kops_binary: "{{ kops }}"
      environment: "{{ kops_environment }}"
"""


def playbook_variables(world, environment=None):
    """The variables of KOPS_MODULE_DEFAULTS for ``world``: kops is given ``environment``, by default the world's
    environment but KOPS_STATE_STORE (the modules pass ``state_store``)."""
    if environment is None:
        environment = {k: v for k, v in world.env.items() if k != "KOPS_STATE_STORE"}
    return {"cluster": CLUSTER, "state_store": world.state, "kops": world.kops, "kops_environment": environment}


def kops_module(name, world, check=False, diff=False, **args):
    """Run a kops module of the collection against ``world`` (its state store and moto environment)."""
    environment = {k: v for k, v in world.env.items() if k != "KOPS_STATE_STORE"}
    params = dict(cluster_name=CLUSTER, state_store=world.state, kops_binary=world.kops,
                  environment=environment)
    params.update(args)
    result = kube.run_module("clusterops.kops_upgrade.%s" % name, params, check=check, diff=diff)
    said = str(result.get("msg", "")) + str(result.get("stderr", ""))
    cut = result.get("failed") and MOTO_TRANSPORT_ERROR.search(said)
    if cut:
        # moto (a test stand-in, not AWS) now and then cuts a response short under load, past the module's own
        # rerun. One more run, and only for that error: anything else fails the test.
        print("moto cut a response short (%s); running %s once more" % (cut.group(0), name))
        result = kube.run_module("clusterops.kops_upgrade.%s" % name, params, check=check, diff=diff)
    return result
