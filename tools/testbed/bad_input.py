# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input, generated: for every option of a module (read from its `ansible-doc --json` page, so options added
later are covered without touching this file), values of the wrong type, out of range, empty, too long, with
invalid characters, not among the choices; plus the cases a user meets (missing, empty and unreachable
kubeconfigs, namespaces and Deployments that do not exist). Each case runs the real module's main() in the test
process (args handed over as AnsiballZ does; a process per case would cost a second of imports each) and is
classified:

    rejected   failed, and the message names the option (ansible-core's type checks, module_utils.validation)
    failed     failed with a message that does not name the option (say, the API server's or kops' own)
    ok         the module accepted the value
    traceback  the module crashed (a traceback, no JSON result): never acceptable
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
import traceback

VALUES = {
    "str": [("empty", ""), ("300 characters", "a" * 300), ("invalid characters", "Bad_Name!"),
            ("leading dash", "-x"), ("dict", {"a": 1})],
    "int": [("text", "abc"), ("negative", -1), ("huge", 10 ** 12), ("fraction", 1.5), ("empty", ""),
            ("list", [1])],
    "bool": [("not a bool", "maybe"), ("list", [1]), ("number 2", 2)],
    "list": [("dict", {"a": 1}), ("empty element", [""]), ("flag-like element", ["--yes"]),
             ("300-character element", ["a" * 300]), ("invalid characters", ["Bad_Name!"])],
    "dict": [("text", "not a dict"), ("list", [1]), ("key with a space", {"bad key": "v"}),
             ("nested value", {"K": {"n": 1}})],
    "raw": [("empty", ""), ("number", 5), ("list", [1])],
    "path": [("empty", ""), ("missing", "/nonexistent/clusterops"), ("a directory", "/")],
}


def module_options(modules, env):
    """{module: {option: doc}} from ansible-doc --json."""
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    out = subprocess.run([ansible_doc, "--json", "-t", "module"] + list(modules), capture_output=True, text=True,
                         env=env, check=True).stdout
    return dict((name, page["doc"]["options"]) for name, page in json.loads(out).items())


def option_cases(options):
    """(option, label, value) for every option, by its documented type and choices."""
    for option, doc in sorted(options.items()):
        for label, value in VALUES[doc.get("type", "str")]:
            yield option, label, value
        if doc.get("choices"):
            yield option, "not one of the choices", "nope"


@contextlib.contextmanager
def _module_args(args):
    """Hand ``args`` to the next AnsibleModule, as AnsiballZ does (ansible-core 2.19+ has a helper for it)."""
    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # ansible-core < 2.19
        from ansible.module_utils import basic

        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved
        return
    with patch_module_args(args):
        yield


def run_module(module, args, check_mode=False):
    """Run ``module`` (FQCN) in this process with ``args``: its real main(), its JSON result read from what it
    prints. Returns (result or None, printed text with any traceback)."""
    main = importlib.import_module("ansible_collections.clusterops.kops_upgrade.plugins.modules."
                                   + module.split(".")[-1]).main
    out = io.StringIO()
    crash = ""
    with _module_args(dict(args, _ansible_check_mode=check_mode)), contextlib.redirect_stdout(out):
        try:
            main()
        except SystemExit:
            pass
        except Exception:  # pylint: disable=broad-except
            crash = traceback.format_exc()
    printed = out.getvalue()
    try:
        result = json.loads(printed)
    except ValueError:
        result = None
    return result, printed + crash


def classify(option, aliases, result, output):
    if result is None or "Traceback (most recent call last)" in output:
        return "traceback", output[-1500:]
    if not result.get("failed"):
        return "ok", ""
    message = str(result.get("msg", ""))
    if any(name in message for name in [option] + list(aliases)):
        return "rejected", message
    return "failed", message


def run_cases(cases):
    """``cases``: list of dicts (module, option, label, args, check_mode, aliases). Adds outcome and message."""
    for case in cases:
        result, output = run_module(case["module"], case["args"], case.get("check_mode", False))
        case["outcome"], case["message"] = classify(case["option"], case.get("aliases", ()), result, output)
    return cases


def table(cases):
    """A printable summary: outcome counts per module."""
    counts = {}
    for case in cases:
        row = counts.setdefault(case["module"].split(".")[-1], {})
        row[case["outcome"]] = row.get(case["outcome"], 0) + 1
    lines = ["%-22s %8s %8s %8s %9s %6s" % ("module", "rejected", "failed", "ok", "traceback", "cases")]
    for module, row in sorted(counts.items()):
        lines.append("%-22s %8d %8d %8d %9d %6d" % (
            module, row.get("rejected", 0), row.get("failed", 0), row.get("ok", 0), row.get("traceback", 0),
            sum(row.values())))
    return "\n".join(lines)
