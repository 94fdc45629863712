# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The addons a kOps release will apply, before it applies them: pure functions over what
`kops update cluster --target=terraform --out <dir>` renders (no cloud or cluster is changed by that command; see
render_arguments) and over the kube-system Namespace, where kOps' channels records what it applied.

kOps keeps its addons as files in the state store: a bootstrap channel (``kind: Addons``) lists each addon with the
path and the sha256 (``manifestHash``) of its manifest, and channels applies an addon again when its hash differs
from the one it recorded on the kube-system Namespace (annotation ``addons.k8s.io/<addon>``). With an S3 (or GCS)
state store, the Terraform output holds each of those files as the content of an ``aws_s3_object``
(``google_storage_bucket_object``) in ``data/``; the files are matched to the channel by their sha256, not by
name, so the names Terraform gives them do not matter."""

from __future__ import annotations

import hashlib
import json

from ansible.module_utils.common.yaml import yaml_load_all

# The state stores whose files Terraform can render (kOps: ManagedFile.RenderTerraform); with any other, kops
# retries every addon file for ten minutes and fails.
RENDERABLE_STORES = ("s3://", "gs://")
# The tasks that write the state store itself whatever the target (new keypairs or secrets a release adds): they
# must only find what exists, so rendering never writes the store; a release that needs a new one cannot be
# rendered before its update, and says so.
STORE_WRITING_TASKS = ("Keypair", "Secret", "MirrorKeystore", "MirrorSecrets")
WORKLOAD_KINDS = ("Deployment", "DaemonSet")
CHANNEL_ANNOTATION_PREFIX = "addons.k8s.io/"


def unrenderable_store(state_store):
    """Why the addons of ``state_store`` cannot be rendered, or "" when they can."""
    if not state_store:
        return "no state store is known to the module (set state_store)"
    if not state_store.startswith(RENDERABLE_STORES):
        return ("kops renders the state store's files for Terraform only from an S3 or GCS state store, not %s"
                % state_store.split("://", 1)[0] + "://")
    return ""


def render_arguments(out_dir):
    """The kops arguments that render the cluster's cloud resources and state-store files into ``out_dir``
    without applying anything: the Terraform target writes files only, no kubeconfig is written, and the tasks
    that would write the state store whatever the target may only find what is there."""
    return ["update", "cluster", "--target=terraform", "--out", out_dir, "--create-kube-config=false",
            "--lifecycle-overrides", ",".join("%s=ExistsAndWarnIfChanges" % task for task in STORE_WRITING_TASKS)]


def _documents(content):
    try:
        return [d for d in yaml_load_all(content) if isinstance(d, dict)]
    # Any YAML error means the file is not a manifest.
    except Exception as exc:  # pylint: disable=broad-except
        raise ValueError(str(exc))


def find_channel(files):
    """The bootstrap channel among ``files`` (name -> bytes): the one YAML document of kind Addons whose addons
    carry manifest hashes. Raises ValueError when there is none."""
    for name in sorted(files):
        content = files[name]
        if b"kind: Addons" not in content:
            continue
        try:
            documents = _documents(content)
        except ValueError:
            continue
        for document in documents:
            addons = (document.get("spec") or {}).get("addons")
            if document.get("kind") == "Addons" and addons and any(a.get("manifestHash") for a in addons):
                return document
    raise ValueError("no bootstrap channel (kind: Addons) among the %d rendered files" % len(files))


def rendered_addons(files):
    """The addons the rendered bootstrap channel lists, in its order: ``[{name, manifest, manifest_hash,
    workloads}]``, where ``workloads`` are the Deployments and DaemonSets of the addon's manifest (plain dicts, as
    the manifest writes them). ``files``: name -> bytes of everything Terraform wrote under ``data/``.
    An addon whose manifest is not among the files (hash not found) is listed with ``workloads`` None."""
    channel = find_channel(files)
    by_hash = dict((hashlib.sha256(content).hexdigest(), content) for content in files.values())
    addons = []
    for entry in channel["spec"]["addons"]:
        content = by_hash.get(entry.get("manifestHash") or "")
        workloads = None
        if content is not None:
            workloads = [d for d in _documents(content) if d.get("kind") in WORKLOAD_KINDS]
        addons.append({"name": entry.get("name") or "", "manifest": entry.get("manifest") or "",
                       "manifest_hash": entry.get("manifestHash") or "", "workloads": workloads})
    return addons


def applied_addons(namespace):
    """What channels recorded on the kube-system Namespace: addon name -> the manifest hash it applied ("" when
    its record has none)."""
    applied = {}
    for key, value in (((namespace or {}).get("metadata") or {}).get("annotations") or {}).items():
        if not key.startswith(CHANNEL_ANNOTATION_PREFIX):
            continue
        try:
            record = json.loads(value)
        except ValueError:
            record = {}
        applied[key[len(CHANNEL_ANNOTATION_PREFIX):]] = (record or {}).get("manifestHash") or ""
    return applied


def differs(wanted, live):
    """Whether applying ``wanted`` (a manifest's value) would change ``live`` (what the API server holds, with its
    defaults filled in): some value the manifest sets differs. Maps compare key by key on the manifest's keys,
    lists element by element (a different length is a change), scalars by their text (the server writes 1 and
    "1" alike for quantities and ports)."""
    if isinstance(wanted, dict):
        if not isinstance(live, dict):
            return True
        return any(differs(value, live.get(key)) for key, value in wanted.items())
    if isinstance(wanted, list):
        if not isinstance(live, list) or len(wanted) != len(live):
            return True
        return any(differs(w, l) for w, l in zip(wanted, live))
    if wanted is None:
        return False
    return live is None or str(wanted) != str(live)


def next_workload(rendered, live):
    """``live`` as it will be once the rendered manifest is applied: its pod template and, where the manifest sets
    them, its replicas and (update) strategy from ``rendered``; everything else, and its status, as it is."""
    spec = dict(live.get("spec") or {})
    wanted = rendered.get("spec") or {}
    spec["template"] = wanted.get("template") or spec.get("template") or {}
    for key in ("replicas", "strategy", "updateStrategy"):
        if key in wanted:
            spec[key] = wanted[key]
    return dict(live, spec=spec)
