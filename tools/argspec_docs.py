# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generate the user documentation of variables from the roles' argument specs, so that it cannot drift:

- roles/<role>/README.md: each role's entry points and options (meta/argument_specs.yml), with an example;
- README.md, between the markers `<!-- BEGIN GENERATED: playbook variables -->` and `<!-- END ... -->`: the
  variables the playbooks read, per playbook (required, its default, or not read), each described by the role
  option it feeds (found by reading the playbooks' `vars:` of each role they run), and the playbooks' own options
  (the argument spec of the playbook_options role, which their first play runs).

  python3 tools/argspec_docs.py            # rewrite the files
  python3 tools/argspec_docs.py --check    # exit 1 and name the files that differ (tests/unit/test_docs.py)

Only PyYAML is needed. Run it after changing an argument spec or a playbook's role variables.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
COLLECTION = "clusterops.kops_upgrade"
PLAYBOOKS = ("precheck", "upgrade", "remediate", "validate")
BEGIN = "<!-- BEGIN GENERATED: playbook variables (python3 tools/argspec_docs.py) -->"
END = "<!-- END GENERATED: playbook variables -->"

# The options of the playbooks themselves (play keywords, module_defaults), with their argument spec, which each
# playbook's first play checks.
PLAY_OPTIONS_ROLE = "playbook_options"


def play_options():
    path = os.path.join(ROOT, "roles", PLAY_OPTIONS_ROLE, "meta", "argument_specs.yml")
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["argument_specs"]["main"]["options"]


JINJA_WORDS = {"default", "omit", "if", "else", "and", "or", "not", "in", "is", "length", "bool", "int", "true",
               "false", "none", "regex_replace", "string", "lower", "upper", "trim", "d", "defined", "undefined"}


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def role_specs():
    specs = {}
    for role in sorted(os.listdir(os.path.join(ROOT, "roles"))):
        path = os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")
        if os.path.isfile(path):
            specs[role] = load(path)["argument_specs"]
    return specs


def text(value):
    """Ansible doc markup (C(), O(), E(), M(), V()) to Markdown."""
    if isinstance(value, list):
        value = " ".join(value)
    value = str(value)
    value = re.sub(r"\b[CEOV]\(([^)]*)\)", r"`\1`", value)
    value = re.sub(r"\bM\(([^)]*)\)", r"`\1`", value)
    return value.replace("|", "\\|").replace("\n", " ").strip()


def shown_default(option):
    if option.get("required"):
        return "required"
    if "default" not in option:
        return ""
    value = option["default"]
    if value == "":
        return '`""`'
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, (list, dict)):
        return "`" + yaml.safe_dump(value, default_flow_style=True, width=1000).strip() + "`"
    return "`" + str(value) + "`"


def option_type(option):
    kind = option.get("type", "str")
    if kind == "list" and option.get("elements"):
        kind = "list of " + option["elements"]
    if option.get("choices"):
        kind += " (" + ", ".join("`%s`" % c for c in option["choices"]) + ")"
    return kind


def role_readme(role, spec):
    """The README.md of ``role`` from its argument ``spec``: title, description, one table per entry point (option,
    type, default, description), the example playbook and the license line."""
    main = spec["main"]
    lines = [
        "# %s.%s" % (COLLECTION, role),
        "",
        "<!-- Generated from meta/argument_specs.yml by tools/argspec_docs.py; do not edit by hand. -->",
        "",
        text(main.get("short_description", "")) + ".",
        "",
    ]
    for paragraph in main.get("description", []):
        lines += [text(paragraph), ""]
    lines += [
        "Requirements: ansible-core 2.16 or later, the collection's Python requirements (`kubernetes`, `PyYAML`) and "
        "the `kubernetes.core` collection; `kops` on the controller for the roles that run it. Arguments are "
        "validated against `meta/argument_specs.yml` before any task runs (`ansible-doc -t role %s.%s`)."
        % (COLLECTION, role),
        "",
    ]
    for entry, entry_spec in spec.items():
        options = entry_spec.get("options", {})
        lines += ["## Entry point `%s`" % entry, ""]
        if entry != "main":
            lines += [text(entry_spec.get("short_description", "")) + ".", ""]
            for paragraph in entry_spec.get("description", []):
                lines += [text(paragraph), ""]
        if not options:
            lines += ["No options.", ""]
            continue
        lines += ["| option | type | default | description |", "|---|---|---|---|"]
        for name, option in options.items():
            row = (name, option_type(option), shown_default(option), text(option.get("description", "")))
            lines.append("| `%s` | %s | %s | %s |" % row)
        lines.append("")
    example_vars = {n: o.get("default") for n, o in spec["main"].get("options", {}).items() if o.get("required")}
    task = {"name": "Run %s" % role, "ansible.builtin.include_role": {"name": "%s.%s" % (COLLECTION, role)}}
    if example_vars:
        task["vars"] = {n: "my.k8s.example.com" if "cluster_name" in n else "..." for n in example_vars}
    play = [{"name": "Example", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "tasks": [task]}]
    lines += ["## Example", "", "```yaml", yaml.safe_dump(play, sort_keys=False).rstrip(), "```", "",
              "The collection's playbooks (`ansible-playbook %s.<precheck|upgrade|remediate|validate>`) run the roles "
              "for you; see the variables table in the collection's README." % COLLECTION, "",
              "## License", "", "GPL-3.0-or-later (see COPYING at the root of the collection).", ""]
    return "\n".join(lines)


def identifiers(expression):
    """Variables an expression reads (quoted strings and Jinja's own words left out)."""
    expression = re.sub(r"'[^']*'|\"[^\"]*\"", "", str(expression))
    found = []
    for match in re.finditer(r"(?<![\w.])([a-z_][a-z0-9_]*)(?!\s*\()", expression):
        name = match.group(1)
        before = expression[:match.start()].rstrip()
        if name in JINJA_WORDS or before.endswith("|") or name in found:
            continue
        found.append(name)
    return found


def direct_default(expression, name):
    """(True, default) when the expression passes `name` on as it is (with a default or none)."""
    match = re.fullmatch(r"\s*\{\{\s*%s\s*(?:\|\s*default\((.*)\))?\s*\}\}\s*" % re.escape(name),
                         str(expression), re.S)
    if not match:
        return False, None
    return True, match.group(1)


def role_vars(node):
    """Yield (role, {option: expression}) for every role a play or task list runs."""
    if isinstance(node, list):
        for item in node:
            yield from role_vars(item)
    elif isinstance(node, dict):
        for key in ("ansible.builtin.include_role", "include_role", "ansible.builtin.import_role", "import_role"):
            if key in node and not node[key].get("tasks_from"):
                yield node[key]["name"].split(".")[-1], node.get("vars") or {}
        for role in node.get("roles", []) or []:
            if isinstance(role, dict):
                name = role.get("role") or role.get("name")
                yield name.split(".")[-1], role.get("vars") or {}
        for key in ("tasks", "block", "always", "rescue", "pre_tasks", "post_tasks"):
            if key in node:
                yield from role_vars(node[key])


def playbook_variables(specs):
    """{variable: {"playbooks": {playbook: shown default}, "feeds": [(role, option)]}}"""
    table = {}
    for playbook in PLAYBOOKS:
        plays = load(os.path.join(ROOT, "playbooks", playbook + ".yml"))
        for role, mapping in role_vars(plays):
            for option, expression in mapping.items():
                for name in identifiers(expression):
                    if name in specs.get(role, {}).get("main", {}).get("options", {}) or name in play_options():
                        continue
                    entry = table.setdefault(name, {"playbooks": {}, "feeds": []})
                    is_direct = direct_default(expression, name)[0]
                    if is_direct:
                        entry["feeds"].append((role, option))
                    found = re.search(r"(?<![\w.])%s\s*\|\s*default\(([^()]*(?:\([^()]*\))?[^()]*)\)"
                                      % re.escape(name), str(expression))
                    if found is None:
                        shown = "required"
                    elif found.group(1).strip() in ("''", '""'):
                        shown = '`""`'
                    else:
                        shown = "`%s`" % found.group(1).strip().strip("'\"")
                    previous = entry["playbooks"].get(playbook)
                    if previous is None or shown == "required":
                        entry["playbooks"][playbook] = shown
    return table


def variables_table(specs):
    table = playbook_variables(specs)
    lines = [BEGIN, "",
             "| variable | " + " | ".join("`%s`" % p for p in PLAYBOOKS) + " | description |",
             "|---|" + "---|" * len(PLAYBOOKS) + "---|"]
    for name, entry in table.items():
        feeds = entry["feeds"]
        description = ""
        if feeds:
            role, option = next(((r, o) for r, o in feeds if specs[r]["main"]["options"][o].get("required")), feeds[0])
            spec = specs[role]["main"]["options"][option]
            description = text(spec.get("description", "")) + " " + ", ".join(
                "[`%s`](roles/%s/README.md)" % (o, r) for r, o in sorted(set(feeds)))
        cells = [entry["playbooks"].get(p, "-") for p in PLAYBOOKS]
        lines.append("| `%s` | %s | %s |" % (name, " | ".join(cells), description.strip()))
    for name, option in play_options().items():
        default = shown_default(option) if "default" in option else "unset"
        lines.append("| `%s` | %s | %s |" % (name, " | ".join([default] * len(PLAYBOOKS)), text(option["description"])))
    lines += ["", "Every option of a role the playbook runs can be given with `-e` too (its README: %s)." % ", ".join(
        "[`%s`](roles/%s/README.md)" % (r, r) for r in specs), "", END]
    return "\n".join(lines)


def expected_files():
    specs = role_specs()
    files = {os.path.join("roles", role, "README.md"): role_readme(role, spec) for role, spec in specs.items()}
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    if BEGIN not in readme or END not in readme:
        raise SystemExit("README.md lacks the markers %s ... %s" % (BEGIN, END))
    head, rest = readme.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    files["README.md"] = head + variables_table(specs) + tail
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--check", action="store_true", help="fail when a generated file differs")
    args = parser.parse_args()
    stale = []
    for relative, content in expected_files().items():
        path = os.path.join(ROOT, relative)
        current = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if current == content:
            continue
        stale.append(relative)
        if not args.check:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(content)
    if args.check and stale:
        print("out of date with the argument specs (run python3 tools/argspec_docs.py): " + ", ".join(stale),
              file=sys.stderr)
        return 1
    print(("stale: " if args.check else "written: ") + (", ".join(stale) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
