# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kops as a good Ansible citizen: the shared options, one runner, and pure parsers of what kops prints.

The parsers take kops' output as text and return plain data; tests feed them output captured from real kops runs.
"""

from __future__ import annotations

import json
import os
import re
import time

KOPS_ARG_SPEC = dict(
    cluster_name=dict(type="str", required=True, aliases=["name"]),
    state_store=dict(type="str", aliases=["state"]),
    kops_binary=dict(type="str", default="kops"),
    # Not no_log as a whole: that would mask every value (AWS_REGION=eu-west-1 turns each zone name in kops'
    # output into "********a"). The values of secret-looking keys are masked instead (Kops.__init__).
    environment=dict(type="dict", default={}),
    kubeconfig=dict(type="path"),
)
MIN_KOPS_VERSION = (1, 26, 0)
_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)")
# Environment variables whose values are credentials: AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ACCESS_KEY_ID,
# GOOGLE_APPLICATION_CREDENTIALS, DIGITALOCEAN_ACCESS_TOKEN, OS_PASSWORD, ...
_SECRET_KEY = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|ACCESS_KEY|PRIVATE|AUTH", re.IGNORECASE)
_KLOG_TIME = re.compile(r"^[IWEF]\d{4} (\d{2}):(\d{2}):(\d{2})\.(\d+)")


class KopsError(Exception):
    """kops is missing, too old, or failed in a way that is not a result; the message is for the user."""


# --------------------------------------------------------------------------------------------------------
# Pure parsers


def parse_version(text):
    """``Client version: 1.30.2 (git-v1.30.2)`` or ``1.30.2`` -> (1, 30, 2); None when there is none."""
    match = _SEMVER.search(text or "")
    return tuple(int(x) for x in match.groups()) if match else None


def parse_json_documents(text):
    """Every JSON document in ``text``: `kops validate cluster --wait -o json` prints one per attempt,
    concatenated with no separator, and may mix in log lines."""
    decoder = json.JSONDecoder()
    documents, index = [], 0
    while True:
        start = min([i for i in (text.find("{", index), text.find("[", index)) if i >= 0] or [-1])
        if start < 0:
            return documents
        try:
            document, end = decoder.raw_decode(text, start)
        except ValueError:
            index = start + 1
            continue
        documents.append(document)
        index = end


# kops 1.30 prints the pod name alone in the message and "<namespace>/<pod>" in the failure's name; other
# versions put "<namespace>/<pod>" in the message. Both are read.
_POD_FAILURE = re.compile(
    r'^(?P<priority>[\w-]+) pod "(?:(?P<namespace>[^/"]+)/)?(?P<pod>[^"/]+)" is (?P<state>pending|unknown phase|'
    r'not ready(?: \((?P<containers>[^)]*)\))?)')
# pod-template-hash and pod suffixes use the API machinery's safe alphabet (no vowels, no 0/1/3).
_POD_HASH = re.compile(r"^(?P<replicaset>(?P<deployment>.+)-[bcdfghjklmnpqrstvwxz2456789]{1,10})-[bcdfghjklmnpqrstvwxz2456789]{5}$")


def classify_failure(failure):
    """A validate failure with what it is about: for a system-critical pod, its namespace, pod, and (from the
    pod name) the ReplicaSet and Deployment that own it."""
    failure = dict(failure)
    message = failure.get("message") or ""
    match = _POD_FAILURE.match(message)
    if match:
        failure["kind"] = "pod_" + match.group("state").split(" (")[0].replace(" ", "_")
        failure["priority"] = match.group("priority")
        name = failure.get("name") or ""
        failure["namespace"] = match.group("namespace") or (name.split("/", 1)[0] if "/" in name else None)
        failure["pod"] = match.group("pod")
        if match.group("containers"):
            failure["containers"] = [c.strip() for c in match.group("containers").split(",")]
        owner = _POD_HASH.match(match.group("pod"))
        failure["replicaset"] = owner.group("replicaset") if owner else None
        failure["deployment"] = owner.group("deployment") if owner else None
    else:
        # Failures read from a rolling update's log have no type: the message's first word says it.
        first = message.split(" ", 1)[0]
        failure["kind"] = (failure.get("type") or (first if first in ("machine", "node", "InstanceGroup") else "other")
                           ).lower()
    group = failure.get("instanceGroup")
    # kops puts the whole InstanceGroup object in the failure; its name is what a user acts on.
    if isinstance(group, dict):
        failure["instance_group"] = (group.get("metadata") or {}).get("name")
    elif isinstance(group, str):
        failure["instance_group"] = group
    return failure


def summarise_validation(document):
    """One `kops validate cluster -o json` document -> {failures (classified), nodes, valid}."""
    failures = [classify_failure(f) for f in document.get("failures") or []]
    return {"failures": failures, "nodes": document.get("nodes") or [], "valid": not failures}


def parse_table(text, header_words):
    """Rows of a kops table whose header line starts with ``header_words``; the columns are every word of that
    header line (so optional trailing columns, like NODES of `rolling-update --cloudonly`, are read when there).
    kops writes tables with Go's tabwriter padding with tabs, so cells line up at tab stops of 8: with the tabs
    expanded, each cell is the text under its header word, and an empty cell (say, NODE-NAME without an API)
    stays empty instead of shifting the row. The table ends at the first blank line."""
    lines = [line.expandtabs(8) for line in (text or "").splitlines()]
    for number, line in enumerate(lines):
        words = line.split()
        if words[:len(header_words)] != list(header_words):
            continue
        starts, position = [], 0
        for word in words:
            position = line.index(word, position)
            starts.append(position)
            position += len(word)
        keys = [word.lower() for word in words]
        rows = []
        for row in lines[number + 1:]:
            if not row.strip():
                break
            cells = [row[start:(starts[i + 1] if i + 1 < len(starts) else None)].strip()
                     for i, start in enumerate(starts)]
            rows.append(dict(zip(keys, cells)))
        return rows
    return []


def expect_table(text, header_words, nothing_to_do, command):
    """The rows of a table kops must print (see parse_table), or [] when kops said ``nothing_to_do`` instead.
    Output with neither is a kops release whose output this collection does not know: KopsError with what was
    expected and what kops printed, never an empty plan that would read as "nothing to do"."""
    rows = parse_table(text, header_words)
    if rows or nothing_to_do in (text or ""):
        return rows
    lines = [line for line in (text or "").splitlines() if line.strip()][:6]
    raise KopsError("%s printed neither a table headed %s nor %r; this kops output is not understood: %s" % (
        command, " ".join(header_words), nothing_to_do, " | ".join(lines) or "(nothing)"))


def parse_upgrade_plan(text):
    """The ``ITEM PROPERTY OLD NEW`` table of `kops upgrade cluster` -> list of dicts; [] when kops says ``No
    upgrade required``; KopsError for output with neither."""
    return expect_table(text, ("ITEM", "PROPERTY", "OLD", "NEW"), "No upgrade required", "kops upgrade cluster")


def _plan_rows(rows):
    """Rows of a ``NAME STATUS NEEDUPDATE ...`` table with its numbers as ints, up to the first row whose
    NEEDUPDATE is not a number: inside `kops reconcile cluster` the drain's output follows the table with no
    blank line in between (``evicting pod kube-system/...``)."""
    plan = []
    for row in rows:
        try:
            row["needupdate"] = int(row["needupdate"])
        except (KeyError, TypeError, ValueError):
            break
        for key in ("ready", "min", "target", "max", "nodes"):
            if key in row:
                try:
                    row[key] = int(row[key])
                except (TypeError, ValueError):
                    pass
        plan.append(row)
    return plan


def parse_rolling_update_plan(text):
    """The ``NAME STATUS NEEDUPDATE READY MIN TARGET MAX [NODES]`` table of `kops rolling-update cluster` ->
    one dict per instance group, numbers as ints (NODES is absent with --cloudonly); [] when kops says ``No
    rolling-update required``; KopsError for output with neither."""
    return _plan_rows(expect_table(text, ("NAME", "STATUS", "NEEDUPDATE"), "No rolling-update required",
                                   "kops rolling-update cluster"))


def update_outcome(text):
    """What `kops update cluster` said: {changes_pending, needs_rolling_update, no_changes}."""
    return {
        "no_changes": "No changes need to be applied" in text,
        "changes_pending": "Must specify --yes to apply changes" in text,
        "needs_rolling_update": "kops rolling-update cluster" in text,
    }


# `--cloudonly`: Stopping instance "i-...", in group "<asg>"; with the API (1.30 to 1.32) the node is named too:
# Stopping instance "i-...", node "<node>", in group "<asg>".
_STOPPING = re.compile(r'Stopping instance "(?P<instance>[^"]+)", (?:node "[^"]*", )?in group "(?P<group>[^"]+)"')
_COMPLETED = "Rolling update completed"


def _klog_seconds(line):
    match = _KLOG_TIME.match(line)
    if not match:
        return None
    hours, minutes, seconds, fraction = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds) + float("0." + fraction)


def _instance_group(name, groups):
    """The instance group (of ``groups``) that a kops log names: the group itself or its Auto Scaling group
    (``<group>.<cluster>`` or ``<group>.masters.<cluster>``)."""
    for group in sorted(groups, key=len, reverse=True):
        if name == group or name.startswith(group + "."):
            return group
    return None


def rolled_groups(log_text, groups):
    """What `kops rolling-update cluster --yes` did, from its klog lines: for each of ``groups`` that it rolled,
    {name, instances (ids stopped, in order), seconds}. kops rolls groups one after the other, so a group's time
    runs from the first line that names it (or its Auto Scaling group) to the first line of the next group, or to
    `Rolling update completed` (or the last line) for the last one."""
    events = []
    offset, previous = 0, None
    for line in (log_text or "").splitlines():
        stamp = _klog_seconds(line)
        if stamp is None:
            continue
        if previous is not None and stamp + offset < previous - 43200:
            offset += 86400  # past midnight
        stamp += offset
        previous = stamp
        events.append((stamp, line))
    order, starts, instances, ends = [], {}, {}, {}
    finished = None
    for stamp, line in events:
        stopping = _STOPPING.search(line)
        named = _instance_group(stopping.group("group"), groups) if stopping else None
        if named is None:
            named = next((g for g in sorted(groups, key=len, reverse=True) if '"%s' % g in line or " %s" % g in line),
                         None)
        if _COMPLETED in line:
            finished = stamp
        if named is None:
            continue
        if named not in starts:
            if order:
                ends.setdefault(order[-1], stamp)
            order.append(named)
            starts[named] = stamp
            instances[named] = []
        if stopping and stopping.group("instance") not in instances[named]:
            instances[named].append(stopping.group("instance"))
    last = finished if finished is not None else (events[-1][0] if events else None)
    result = []
    for name in order:
        end = ends.get(name, last)
        result.append({"name": name, "instances": instances[name], "seconds": round(end - starts[name], 1)})
    return result


_NOT_VALID = re.compile(r'Cluster did not pass validation(?:, will retry in "[^"]*"| within deadline): (?P<failures>.*?)\.?$')
# One failure message starts with a word (machine, node, InstanceGroup, <priority> pod) and a quoted name.
_FAILURE_START = re.compile(r', (?=[\w-]+ (?:pod )?")')


def rolling_update_validation(log_text):
    """The validation failures `kops rolling-update cluster --yes` logged last (``Cluster did not pass validation,
    will retry in "30s": <failure>, <failure>.``), classified like kops_validate's, plus whether it gave up:
    {failures, attempts, timed_out}."""
    last, attempts = None, 0
    for line in (log_text or "").splitlines():
        match = _NOT_VALID.search(line.rstrip())
        if match:
            attempts += "will retry" in line
            last = match.group("failures")
    failures = [classify_failure({"message": message.strip()}) for message in _FAILURE_START.split(last)] \
        if last else []
    timed_out = "did not validate within" in (log_text or "")
    return {"failures": failures, "attempts": attempts, "timed_out": timed_out}


# What `kops reconcile cluster --yes` prints (stdout) before each of its phases: kops 1.31 says "Doing
# rolling-update for ...", 1.32 "Performing rolling-update for ..." and waits for the API after the control plane.
RECONCILE_PHASES = (
    ("Updating control plane configuration", "control plane configuration"),
    ("Waiting for the kubernetes API to be served", "wait for the API"),
    ("Doing rolling-update for control plane", "control plane rolling update"),
    ("Performing rolling-update for control plane", "control plane rolling update"),
    ("Updating node configuration", "node configuration"),
    ("Doing rolling-update for nodes", "node rolling update"),
    ("Performing rolling-update for nodes", "node rolling update"),
    ("Pruning old resources that are no longer used", "prune"),
)


def reconcile_phases(stdout, log_text):
    """The phases `kops reconcile cluster --yes` went through, from its stdout (phase headers, and the rolling
    updates' ``NAME STATUS NEEDUPDATE ...`` tables) and its klog lines (instances stopped, timings):
    [{phase, groups: [{name, instances, seconds}]}] in order; the rolling-update phases list the groups their table
    said need updating (status other than Ready), with what the log says kops did to each."""
    headers = dict(RECONCILE_PHASES)
    phases, section = [], []

    def close():
        if not phases:
            return
        groups = []
        if phases[-1]["phase"].endswith("rolling update"):
            table = parse_table("\n".join(section), ("NAME", "STATUS", "NEEDUPDATE"))
            names = [row["name"] for row in _plan_rows(table) if row.get("status") != "Ready"]
            rolled = dict((entry["name"], entry) for entry in rolled_groups(log_text, names))
            groups = [rolled.get(name, {"name": name, "instances": [], "seconds": None}) for name in names]
        phases[-1]["groups"] = groups

    for line in (stdout or "").splitlines():
        if line.strip() in headers:
            close()
            phases.append({"phase": headers[line.strip()], "groups": []})
            section = []
        else:
            section.append(line)
    close()
    if not any(p["phase"].endswith("rolling update") for p in phases):
        lines = [line.strip() for line in (stdout or "").splitlines() if line.strip() and not line.startswith(" ")]
        raise KopsError("kops reconcile cluster printed none of the phases this collection knows (%s); this kops "
                        "output is not understood: %s" % (", ".join(h for h, _ in RECONCILE_PHASES),
                                                          " | ".join(lines[:8]) or "(nothing)"))
    return phases


def rolling_failure_message(command, rc, out, err, validation):
    """One message for a failed rolling update or reconcile: kops' last ``Error:`` line (or the end of its output)
    and the last validation failures it logged."""
    errors = [line for line in (err or out).strip().splitlines() if line.startswith("Error:")]
    msg = "%s failed (rc %d): %s" % (command, rc, errors[-1] if errors else (err or out).strip()[-2000:])
    if validation["failures"]:
        msg += "; last validation failures: %s" % "; ".join(f["message"] for f in validation["failures"])
    return msg


def group_timings(log_text, groups):
    """{group: seconds} for the groups a rolling update touched (see rolled_groups)."""
    return dict((entry["name"], entry["seconds"]) for entry in rolled_groups(log_text, groups))


# --------------------------------------------------------------------------------------------------------
# Runner


def kops_module(argument_spec, **kwargs):
    """An AnsibleModule with the shared kops options plus ``argument_spec``, and a Kops runner for it; any
    problem with kops itself (missing, too old, no state store) ends the module with one message."""
    from ansible.module_utils.basic import AnsibleModule

    spec = dict(KOPS_ARG_SPEC)
    spec.update(argument_spec)
    module = AnsibleModule(argument_spec=spec, **kwargs)
    try:
        return module, Kops(module)
    except KopsError as exc:
        module.fail_json(msg=str(exc))


class Kops(object):
    """Runs kops for a module: finds the binary, checks its version, passes state store, cluster name,
    kubeconfig and extra environment, and never lets a credential reach the logs."""

    def __init__(self, module):
        self.module = module
        params = module.params
        self.cluster_name = params["cluster_name"]
        self.binary = module.get_bin_path(params["kops_binary"]) if not os.path.isabs(params["kops_binary"]) \
            else params["kops_binary"]
        if not self.binary or not os.access(self.binary, os.X_OK):
            raise KopsError("kops not found: %r is not an executable on PATH or a path; install kops or set "
                            "kops_binary" % params["kops_binary"])
        self.environ = dict((k, str(v)) for k, v in (params.get("environment") or {}).items())
        for key, value in self.environ.items():
            if _SECRET_KEY.search(key) and value:
                module.no_log_values.add(value)
        if params.get("state_store"):
            self.environ["KOPS_STATE_STORE"] = params["state_store"]
        elif not os.environ.get("KOPS_STATE_STORE") and "KOPS_STATE_STORE" not in self.environ:
            raise KopsError("no kops state store: set state_store (or KOPS_STATE_STORE)")
        if params.get("kubeconfig"):
            # Every kops command that talks to the cluster reads KUBECONFIG (not all take --kubeconfig).
            self.environ["KUBECONFIG"] = params["kubeconfig"]
        self.version = self._version()

    def _version(self):
        rc, out, err = self.module.run_command([self.binary, "version", "--short"], environ_update=self.environ)
        if rc != 0:
            rc, out, err = self.module.run_command([self.binary, "version"], environ_update=self.environ)
        version = parse_version(out)
        if rc != 0 or version is None:
            raise KopsError("cannot tell the version of %s (rc %s): %s" % (self.binary, rc, (err or out).strip()))
        if version < MIN_KOPS_VERSION:
            raise KopsError("kops %s is too old: this collection needs kops >= %s" % (
                ".".join(map(str, version)), ".".join(map(str, MIN_KOPS_VERSION))))
        return version

    def run(self, *args):
        """Run ``kops <args> --name <cluster>``; returns (rc, stdout, stderr, seconds). Exit codes are results
        here, not errors: each module decides what they mean."""
        argv = [self.binary] + list(args) + ["--name", self.cluster_name]
        started = time.monotonic()
        rc, out, err = self.module.run_command(argv, environ_update=self.environ)
        return rc, out, err, round(time.monotonic() - started, 2)

    def supports(self, version):
        return self.version >= version
