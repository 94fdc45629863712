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
import signal
import subprocess
import tempfile
import time

from ansible.module_utils.common.yaml import yaml_load
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_kubeconfig import (
    KOPS_K8S_ARG_SPEC,
    KubeconfigError,
    connection_settings,
    kops_kubeconfig,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.kops_releases import (
    OLDEST_SUPPORTED,
    RECONCILE_SINCE,
    text as release_text,
)
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.versions import find_version, parse_go_duration
from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.validation import (
    api_server_url,
    bearer_token,
    existing_file,
    not_empty,
    dns1123_subdomain,
    environment_variables,
    int_range,
    not_an_option,
    state_store,
    validate,
    writable_file,
)

KOPS_ARG_SPEC = dict(
    cluster_name=dict(type="str", required=True, aliases=["name"]),
    state_store=dict(type="str", aliases=["state"]),
    kops_binary=dict(type="str", default="kops"),
    # no_log, so that ansible-core keeps the whole dict out of the module's syslog/journal "Invoked with" line and
    # masks every value from the first moment (even a failure while the module starts). Right after start,
    # kops_module() unmasks the values of keys that do not name a credential: masking AWS_REGION=eu-west-1 would
    # turn each zone name in kops' output into "********a".
    environment=dict(type="dict", default={}, no_log=True),
    command_timeout=dict(type="int"),
)
# The Kubernetes connection kops gets (kubeconfig, context, or host with a token): see kops_kubeconfig.
KOPS_ARG_SPEC.update(KOPS_K8S_ARG_SPEC)
KOPS_RULES = (
    ("cluster_name", dns1123_subdomain),
    ("state_store", state_store),
    ("kops_binary", not_an_option),
    ("environment", environment_variables),
    # kops reads it, or (update --admin, --create-kube-config) writes it: it may not exist yet.
    ("kubeconfig", writable_file),
    ("command_timeout", int_range(1, 86400)),
    # The Kubernetes connection kops gets (kops_kubeconfig): checked before kops runs, as the rest.
    ("context", not_empty),
    ("host", api_server_url),
    ("api_key", bearer_token),
    ("ca_cert", existing_file),
    ("client_cert", existing_file),
    ("client_key", existing_file),
    # Set by the action plugin (kops_progress): the module appends kops' progress lines there.
    ("progress_file", writable_file),
)
# Seconds: `kops version`; any other kops command unless the module or the user says otherwise.
VERSION_TIMEOUT = 60
DEFAULT_COMMAND_TIMEOUT = 1800
# Environment variables whose values are credentials: AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ACCESS_KEY_ID,
# GOOGLE_APPLICATION_CREDENTIALS, DIGITALOCEAN_ACCESS_TOKEN, OS_PASSWORD, ...
_SECRET_KEY = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|ACCESS_KEY|PRIVATE|AUTH", re.IGNORECASE)
# What ansible-core shows for the value of a no_log option.
NO_LOG_MASK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
_KLOG_TIME = re.compile(r"^[IWEF]\d{4} (\d{2}):(\d{2}):(\d{2})\.(\d+)")


class KopsError(Exception):
    """kops is missing, too old, or failed in a way that is not a result; the message is for the user."""


# --------------------------------------------------------------------------------------------------------
# Pure parsers


def parse_version(text):
    """``Client version: 1.30.2 (git-v1.30.2)`` or ``1.30.2`` -> (1, 30, 2); None when there is none."""
    return find_version(text)


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
    """Rows of a ``NAME STATUS NEEDUPDATE ...`` table with its numbers as ints, up to the first row that is not
    one: inside `kops reconcile cluster` the drain's output follows the table with no blank line in between
    (``evicting pod kube-system/...``). Such a line is cut at the table's columns too, and a pod name may put a
    digit under NEEDUPDATE (kops 1.31.0: ``evicting pod kube-system/coredns-6777d69967-xcng2`` read as group
    ``evicting pod kube-system/coredns`` needing 2 updates), so a row whose NAME or STATUS has a space ends the
    table as well: instance group names and statuses are single words."""
    plan = []
    for row in rows:
        if any(" " in (row.get(key) or "") for key in ("name", "status")):
            break
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


def update_preview_outcome(text, command):
    """update_outcome of a preview (no --yes), which always ends with one of two sentences in kops 1.30 to 1.32:
    output with neither is a kops release this collection does not know (KopsError), never a silent guess."""
    outcome = update_outcome(text)
    if outcome["no_changes"] == outcome["changes_pending"]:
        lines = [line for line in text.strip().splitlines() if line.strip()][-5:]
        which = "both" if outcome["no_changes"] else "neither"
        raise KopsError("%s printed %s of \"No changes need to be applied\" and \"Must specify --yes to apply "
                        "changes\": output this collection does not know (a newer kops?), so nothing was applied; it "
                        "ended with: %s" % (command, which, " | ".join(lines) or "(nothing)"))
    return outcome


# ---------------------------------------------------------------------------------------------------------
# kops reconcile cluster (kops >= 1.31) and the rolling-update options

# The rolling-update options, their flags, and what `kops reconcile cluster` does instead. reconcile takes none of
# these flags (`kops reconcile cluster --help` of kops 1.31.0: `--yes` and `--allow-kops-downgrade` only): it rolls every
# group that needs it, control plane first, with kops' rolling-update defaults (RollingUpdateOptions.InitDefaults).
# A value equal to what reconcile does is fine; any other would be ignored without a word, so it is refused.
RECONCILE_ROLLING_UPDATE = (
    ("instance_groups", "--instance-group", []),
    ("instance_group_roles", "--instance-group-roles", []),
    ("force", "--force", False),
    ("cloudonly", "--cloudonly", False),
    ("validation_timeout", "--validation-timeout", "15m"),
    ("validate_count", "--validate-count", 2),
    ("fail_on_validate_error", "--fail-on-validate-error", True),
    # reconcile's rolling updates start from kops' RollingUpdateOptions.InitDefaults, where FailOnDrainError is
    # false: only the rolling-update command line defaults it to true.
    ("fail_on_drain_error", "--fail-on-drain-error", False),
    ("control_plane_interval", "--control-plane-interval", "15s"),
    ("node_interval", "--node-interval", "15s"),
    ("bastion_interval", "--bastion-interval", "15s"),
    ("drain_timeout", "--drain-timeout", "15m"),
    ("post_drain_delay", "--post-drain-delay", "5s"),
)
ROLLING_UPDATE_OPTIONS = tuple(name for name, flag, default in RECONCILE_ROLLING_UPDATE)


def _same_setting(value, default):
    """Whether an option's ``value`` says what reconcile does (``default``): durations compared as durations
    (``900s`` is ``15m``), lists as sets of their non-empty items."""
    if isinstance(default, list):
        if isinstance(value, str):
            value = value.split(",")
        return not [item for item in (value or []) if str(item).strip()]
    if isinstance(default, bool):
        # Templated values may arrive as text ("True") on ansible-core before 2.19.
        try:
            return boolean(value, strict=True) is default
        except TypeError:
            return False
    if isinstance(default, int):
        try:
            return int(str(value)) == default
        except ValueError:
            return False
    seconds = parse_go_duration(str(value))
    return seconds is not None and seconds == parse_go_duration(default)


def reconcile_ignored_options(options):
    """The rolling-update options of ``options`` (name -> value; None and "" mean not given) that `kops reconcile
    cluster` would not honour, each as ``name=value (--flag; reconcile uses <what it does>)``, in the table's
    order; [] when reconcile does what they ask."""
    ignored = []
    for name, flag, default in RECONCILE_ROLLING_UPDATE:
        value = (options or {}).get(name)
        if value is None or value == "" or _same_setting(value, default):
            continue
        does = "every group that needs it" if isinstance(default, list) else "%s=%s" % (
            flag, str(default).lower() if isinstance(default, bool) else default)
        shown = ",".join(str(v) for v in value) if isinstance(value, list) else str(value).lower() \
            if isinstance(value, bool) else str(value)
        ignored.append("%s=%s (%s; reconcile uses %s)" % (name, shown, flag, does))
    return ignored


def uses_reconcile(reconcile, version):
    """Whether the upgrade is applied with `kops reconcile cluster`: ``reconcile`` is ``auto`` (kops >= 1.31),
    ``true`` or ``false``; ``version`` the kops version tuple. KopsError for ``true`` with a kops too old for it."""
    choice = str(reconcile).strip().lower()
    if choice not in ("auto", "true", "false"):
        raise KopsError("reconcile must be auto, true or false, got %r" % reconcile)
    if choice == "true" and version < RECONCILE_SINCE:
        raise KopsError("reconcile=true needs kops >= %s (kops reconcile cluster); this kops is %s" % (
            release_text(RECONCILE_SINCE), release_text(version)))
    return choice == "true" or (choice == "auto" and version >= RECONCILE_SINCE)


def refuse_ignored_rolling_options(options, kops_version):
    """KopsError naming every rolling-update option (``options``) that `kops reconcile cluster` would ignore."""
    ignored = reconcile_ignored_options(options)
    if ignored:
        raise KopsError("kops %s applies the upgrade with kops reconcile cluster, which takes no rolling-update "
                        "flags, so these would be ignored: %s. Unset them, or set reconcile to false to apply the "
                        "upgrade with kops update cluster and kops rolling-update cluster, which take them" % (
                            ".".join(map(str, kops_version)), "; ".join(ignored)))


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
    said need updating (status other than Ready), with what the log says kops did to each.

    When kops was run twice (Kops.run reruns it after an AWS transport error and returns both outputs), a phase
    printed again is the same phase: its groups are added to the first one's, each group once."""
    headers = dict(RECONCILE_PHASES)
    phases, section, current = [], [], []

    def close():
        if not current:
            return
        phase = current[-1]
        if phase["phase"].endswith("rolling update"):
            table = parse_table("\n".join(section), ("NAME", "STATUS", "NEEDUPDATE"))
            names = [row["name"] for row in _plan_rows(table) if row.get("status") != "Ready"]
            known = set(group["name"] for group in phase["groups"])
            names = [name for name in names if name not in known]
            rolled = dict((entry["name"], entry) for entry in rolled_groups(log_text, names))
            phase["groups"].extend(rolled.get(name, {"name": name, "instances": [], "seconds": None})
                                   for name in names)

    for line in (stdout or "").splitlines():
        if line.strip() in headers:
            close()
            name = headers[line.strip()]
            phase = next((p for p in phases if p["phase"] == name), None)
            if phase is None:
                phase = {"phase": name, "groups": []}
                phases.append(phase)
            current.append(phase)
            section = []
        else:
            section.append(line)
    close()
    if not any(p["phase"].endswith("rolling update") for p in phases):
        lines = [line.strip() for line in (stdout or "").splitlines() if line.strip() and not line.startswith(" ")]
        raise KopsError("kops reconcile cluster printed none of the phases this collection knows (%s); this kops "
                        "output is not understood: %s" % (", ".join(phase[0] for phase in RECONCILE_PHASES),
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


# --------------------------------------------------------------------------------------------------------
# Runner


def secret_environment_values(environment):
    """The values of ``environment`` (a dict) whose keys name a credential, as the strings kops will see."""
    return set(str(v) for k, v in (environment or {}).items() if _SECRET_KEY.search(str(k)) and str(v))


def readable_environment_values(environment):
    """The values of ``environment`` that need no masking: those of keys that do not name a credential, unless
    the same text is also a credential's value."""
    readable = set(str(v) for k, v in (environment or {}).items() if not _SECRET_KEY.search(str(k)))
    return readable - secret_environment_values(environment)


def masked_environment(environment):
    """The environment as results may show it: every name, no value."""
    return dict((name, NO_LOG_MASK) for name in environment)


def kops_module(argument_spec, rules=(), default_timeout=DEFAULT_COMMAND_TIMEOUT, **kwargs):
    """An AnsibleModule with the shared kops options plus ``argument_spec``, and a Kops runner for it. Option
    values are checked first (the shared options' rules plus ``rules``, see module_utils.validation); any
    problem with them or with kops itself (missing, too old, no state store) ends the module with one message."""
    from ansible.module_utils.basic import AnsibleModule

    spec = dict(KOPS_ARG_SPEC)
    spec.update(argument_spec)
    module = AnsibleModule(argument_spec=spec, **kwargs)
    environment = module.params.get("environment")
    if isinstance(environment, dict):
        module.no_log_values -= readable_environment_values(environment)
        # No value of the environment is ever shown in a result (a credential may hide under any name): from here
        # on the module's params, hence `invocation`, hold the names only; the runner gets the values.
        module.params["environment"] = masked_environment(environment)
    validate(module, list(KOPS_RULES) + list(rules), dict(module.params, environment=environment))
    try:
        return module, Kops(module, default_timeout, environment)
    except KopsError as exc:
        module.fail_json(msg=str(exc))


_KLOG_HEADER = re.compile(r"^[IWEF]\d{4} (?P<time>\d{2}:\d{2}:\d{2})\.\d+\s+\d+ (?P<source>[^:\]]+):\d+\] (?P<message>.*)$")
# klog sources whose lines say nothing about the rolling update: the task executor's counts, the state store's
# and the assets' notices.
_QUIET_SOURCES = ("executor.go", "factory.go", "kopsassets.go", "context.go")
_QUIET_OUTPUT = ("Cluster changes have been applied to the cloud.", "Changes may require instances to restart")


def progress_line(line):
    """A line kops printed, as a progress line for the user (``HH:MM:SS message`` for a log line, stdout lines
    as they are, a table's cells joined by single spaces), or None for a line that says nothing about progress."""
    line = line.rstrip()
    if not line.strip():
        return None
    klog = _KLOG_HEADER.match(line)
    if klog:
        if klog.group("source") in _QUIET_SOURCES:
            return None
        return "%s %s" % (klog.group("time"), klog.group("message").strip())
    if any(line.startswith(noise) for noise in _QUIET_OUTPUT):
        return None
    return " ".join(line.split())


def _communicate_with_progress(proc, timeout, path, secrets=()):
    """(stdout, stderr, how it was stopped or None) of ``proc``, read line by line, each progress_line appended to
    ``path`` as it comes (with any of ``secrets`` masked). Past ``timeout`` seconds the process group is stopped
    (stop_process_group) and what it printed until then returned."""
    import threading

    lock = threading.Lock()
    chunks = {"out": [], "err": []}

    def relay(stream, key):
        for raw in iter(stream.readline, b""):
            chunks[key].append(raw)
            shown = progress_line(raw.decode("utf-8", "replace"))
            if shown is None:
                continue
            for secret in secrets:
                if secret and len(str(secret)) > 3:
                    shown = shown.replace(str(secret), "********")
            with lock:
                try:
                    with open(path, "a") as handle:
                        handle.write(shown + "\n")
                except OSError:
                    pass  # progress is a courtesy: a progress file that cannot be written never fails kops
        stream.close()

    readers = [threading.Thread(target=relay, args=(proc.stdout, "out")),
               threading.Thread(target=relay, args=(proc.stderr, "err"))]
    for reader in readers:
        reader.daemon = True
        reader.start()
    how = None
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        how = stop_process_group(proc)
    for reader in readers:
        # kops and what it started are gone (it exited, or stop_process_group ended its group): the pipes close.
        reader.join(60)
    return b"".join(chunks["out"]), b"".join(chunks["err"]), how


def _load_kubeconfig(path):
    """A kubeconfig file as a mapping (None when there is no such file), or KubeconfigError with why not."""
    expanded = os.path.expanduser(path)
    if not os.path.exists(expanded):
        return None
    try:
        with open(expanded) as handle:
            return yaml_load(handle)
    except (OSError, UnicodeDecodeError) as exc:
        raise KubeconfigError("kubeconfig file %s cannot be read: %s" % (path, exc))
    except Exception as exc:  # a YAML error; its class depends on the PyYAML build
        raise KubeconfigError("kubeconfig file %s is not YAML: %s" % (path, " ".join(str(exc).split())))


def _joined(first, second):
    """What two attempts of one kops command printed, one after the other."""
    if first and not first.endswith("\n"):
        first += "\n"
    return first + second


def _text(data):
    return (data or b"").decode("utf-8", "replace")


def signal_name(number):
    try:
        return "%s (%d)" % (signal.Signals(number).name, number)
    except ValueError:
        return str(number)


def stop_process_group(proc, grace=10):
    """TERM the process group of ``proc`` (kops and anything it started), KILL it after ``grace`` seconds;
    says which it took."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
        return "SIGTERM"
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return "SIGKILL after %d s" % grace
    except ProcessLookupError:
        return "it had just exited"


# The AWS SDK for Go reading a response body the connection under it lost (aws/aws-sdk-go-v2#1825, #2737).
TRANSIENT_TRANSPORT_ERROR = re.compile(r"deserialization failed, failed to decode response body, [^\n]*(use of closed "
                                       r"network connection|connection reset by peer|unexpected EOF)")


def transient_transport_error(stderr):
    """The transport error kops may be rerun for (see Kops.run), or None."""
    found = TRANSIENT_TRANSPORT_ERROR.search(stderr or "")
    return found.group(0) if found else None


class Kops(object):
    """Runs kops for a module: finds the binary, checks its version, passes state store, cluster name,
    kubeconfig and extra environment, and never lets a credential reach the logs."""

    def __init__(self, module, default_timeout=DEFAULT_COMMAND_TIMEOUT, environment=None):
        """``environment``: the values of the ``environment`` option (the module's params show the names only)."""
        self.module = module
        params = module.params
        self.cluster_name = params["cluster_name"]
        self.timeout = params.get("command_timeout") or default_timeout
        self.binary = module.get_bin_path(params["kops_binary"]) if not os.path.isabs(params["kops_binary"]) \
            else params["kops_binary"]
        if not self.binary or not os.access(self.binary, os.X_OK):
            raise KopsError("kops not found: %r is not an executable on PATH or a path; install kops or set "
                            "kops_binary" % params["kops_binary"])
        self.environ = dict((k, str(v)) for k, v in (environment or {}).items())
        if params.get("state_store"):
            self.environ["KOPS_STATE_STORE"] = params["state_store"]
        elif not os.environ.get("KOPS_STATE_STORE") and "KOPS_STATE_STORE" not in self.environ:
            raise KopsError("no kops state store: set state_store (or KOPS_STATE_STORE)")
        # Every kops command that talks to the cluster reads KUBECONFIG (not all take --kubeconfig).
        self.kubeconfig = self._kubeconfig(module)
        if self.kubeconfig:
            self.environ["KUBECONFIG"] = self.kubeconfig
        self.version = self._version()

    def _kubeconfig(self, module):
        """The kubeconfig kops gets for the module's Kubernetes connection (kops_kubeconfig): the user's file, or
        a private one (mode 0600, in the module's temporary directory, removed when the module exits, its content
        never in a result) with the chosen connection under a context named after the cluster; None when no
        connection is given."""
        settings = connection_settings(module.params)
        if (module.params.get("admin") or module.params.get("create_kube_config")) and settings.get("kubeconfig") \
                and not settings.get("host"):
            # kops update cluster writes the cluster's context into this kubeconfig: the user's file, as it is.
            return settings["kubeconfig"]
        if settings.get("api_key"):
            # From K8S_AUTH_API_KEY the token is not a no_log option: mask it in whatever kops prints too.
            module.no_log_values.add(settings["api_key"])
        try:
            path, config = kops_kubeconfig(settings, self.cluster_name, _load_kubeconfig)
        except KubeconfigError as exc:
            raise KopsError(str(exc))
        if config is None:
            return path
        descriptor, path = tempfile.mkstemp(prefix="kops-kubeconfig-", dir=module.tmpdir)
        module.add_cleanup_file(path)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(config, handle)
        os.chmod(path, 0o600)
        return path

    def _version(self):
        rc, out, err, dummy = self._execute([self.binary, "version", "--short"], VERSION_TIMEOUT)
        if rc != 0:
            rc, out, err, dummy = self._execute([self.binary, "version"], VERSION_TIMEOUT)
        version = parse_version(out)
        if rc != 0 or version is None:
            raise KopsError("cannot tell the version of %s (rc %s): %s" % (self.binary, rc, (err or out).strip()))
        if version < OLDEST_SUPPORTED:
            raise KopsError("kops %s is too old: this collection needs kops >= %s" % (
                release_text(version), release_text(OLDEST_SUPPORTED)))
        return version

    def run(self, *args, **kwargs):
        """Run ``kops <args> --name <cluster>``; returns (rc, stdout, stderr, seconds). Exit codes are results
        here, not errors: each module decides what they mean. A kops that does not finish within the module's
        command_timeout, or that a signal ends, fails the module with a message that says which.

        A kops that failed only because the AWS SDK could not read a response it had received (the transport
        error of aws/aws-sdk-go-v2#1825, which the SDK does not retry) is run once more, with a warning: every
        kops command this collection runs is declarative and safe to repeat. Any other failure is returned.

        For the long commands that replace instances (``progress=True``: rolling update, reconcile), what both
        attempts printed is returned, the first attempt's output first: instances the first attempt replaced
        before the error are part of the result, and the second attempt finds nothing left to roll for them."""
        argv = [self.binary] + list(args) + ["--name", self.cluster_name]
        # progress=True: each line kops prints is also appended, as it comes, to the module's progress_file
        # (progress_line says which), for the action plugin to show while kops runs.
        progress = self.module.params.get("progress_file") if kwargs.get("progress") else None
        rc, out, err, seconds = self._execute(argv, self.timeout, progress)
        transient = transient_transport_error(err) if rc != 0 else None
        if transient:
            self.module.warn("kops %s failed on an AWS transport error (%s) after %.1f s; running it once more" % (
                " ".join(args[:2]), transient, seconds))
            first_out, first_err = out, err
            rc, out, err, again = self._execute(argv, self.timeout, progress)
            seconds = round(seconds + again, 2)
            if kwargs.get("progress"):
                out, err = _joined(first_out, out), _joined(first_err, err)
        return rc, out, err, seconds

    def _execute(self, argv, timeout, progress=None):
        """Run ``argv`` with the kops environment in a session of its own, for at most ``timeout`` seconds; with
        ``progress`` (a path), what kops prints is read as it comes and its progress lines appended there."""
        env = dict(os.environ)
        env.update(self.environ)
        what = "kops %s" % " ".join(argv[1:3])
        started = time.monotonic()
        try:
            # Not run_command: it has no timeout, and a wedged kops (or what it started, holding its pipes) must be
            # stopped as a whole, so kops gets a session (process group) of its own.
            proc = subprocess.Popen(  # pylint: disable=ansible-bad-function
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                start_new_session=True)
        except OSError as exc:
            raise KopsError("cannot run %s: %s" % (self.binary, exc))
        if progress:
            out, err, how = _communicate_with_progress(proc, timeout, progress, self.module.no_log_values)
        else:
            try:
                out, err = proc.communicate(timeout=timeout)
                how = None
            except subprocess.TimeoutExpired:
                how = stop_process_group(proc)
                out, err = proc.communicate()
        if how:
            self.module.fail_json(
                msg="%s did not finish within %d s (command_timeout) and was stopped (%s); it may be waiting on the "
                    "state store, the cloud API or the cluster: see stderr" % (what, timeout, how),
                timed_out=True, seconds=round(time.monotonic() - started, 1),
                stdout=_text(out)[-4000:], stderr=_text(err)[-4000:])
        seconds = round(time.monotonic() - started, 2)
        if proc.returncode < 0:
            self.module.fail_json(
                msg="%s was killed by signal %s after %.1f s (not by this module): %s" % (
                    what, signal_name(-proc.returncode), seconds, (_text(err) or _text(out)).strip()[-500:]),
                timed_out=False, seconds=seconds, stdout=_text(out)[-4000:], stderr=_text(err)[-4000:])
        return proc.returncode, _text(out), _text(err), seconds

    def supports(self, version):
        return self.version >= version
