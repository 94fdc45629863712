# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX objects as code (extensions/awx) hold together: surveys in AWX's survey format whose variables the
playbooks read, job templates on project playbooks that run the collection's playbooks, and a workflow
precheck -> approval -> upgrade -> validate. (Their use of a live AWX is not tested here: no AWX runs offline.)"""

from __future__ import annotations

import json
import os
import re

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AWX = os.path.join(ROOT, "extensions", "awx")
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}


def load_yaml(*parts):
    with open(os.path.join(*parts)) as handle:
        return yaml.safe_load(handle)


OBJECTS = load_yaml(AWX, "awx_objects.yml")
TEMPLATES = {t["name"]: t for t in OBJECTS["awx_job_templates"]}


def survey(path):
    with open(os.path.join(AWX, path)) as handle:
        return json.load(handle)


def collection_playbook(project_playbook):
    """The collection playbook a project playbook imports, as text."""
    imported = load_yaml(AWX, "project", project_playbook)[0]["ansible.builtin.import_playbook"]
    match = re.match(r"^clusterops\.kops_upgrade\.(\w+)$", imported)
    assert match, imported
    with open(os.path.join(ROOT, "playbooks", match.group(1) + ".yml")) as handle:
        return handle.read()


@pytest.mark.parametrize("path", sorted({t["survey"] for t in OBJECTS["awx_job_templates"] if "survey" in t}
                                        | {OBJECTS["awx_workflow"]["survey"]}))
def test_surveys_are_in_awx_format(path):
    spec = survey(path)
    assert set(spec) == {"name", "description", "spec"}
    names = [q["variable"] for q in spec["spec"]]
    assert len(names) == len(set(names))
    for question in spec["spec"]:
        assert {"question_name", "variable", "type", "required"} <= set(question)
        assert question["type"] in SURVEY_TYPES
        # No dotted names (AWX would make them keys with dots), no booleans (not a survey type).
        assert re.match(r"^[a-z_][a-z0-9_]*$", question["variable"]), question["variable"]
        if question["type"] in ("multiplechoice", "multiselect"):
            assert question["choices"] and question["default"] in question["choices"]
        if question["type"] == "text" and question.get("default"):
            assert question["min"] <= len(question["default"]) <= question["max"]


@pytest.mark.parametrize("name", sorted(n for n, t in TEMPLATES.items() if "survey" in t))
def test_job_templates_run_collection_playbooks_that_read_every_survey_answer(name):
    template = TEMPLATES[name]
    text = collection_playbook(template["playbook"])
    for question in survey(template["survey"])["spec"]:
        variable = question["variable"]
        # Read by the playbook itself, or (remediate) a role variable the survey answers directly.
        read = re.search(r"\b%s\b" % variable, text) or (
            variable.startswith("remediate_") and "clusterops.kops_upgrade.remediate" in text)
        assert read, "%s: survey variable %s is not read by %s" % (name, variable, template["playbook"])


def test_flags_from_surveys_are_coerced_with_bool():
    """Survey answers are strings ("false" is truthy): every flag a survey sets must reach a `| bool`."""
    with open(os.path.join(ROOT, "roles", "precheck", "tasks", "main.yml")) as handle:
        assert "precheck_pause_autoscalers | bool" in handle.read()
    with open(os.path.join(ROOT, "roles", "remediate", "tasks", "main.yml")) as handle:
        assert "remediate_prevent | bool" in handle.read()


def test_workflow_is_precheck_approval_upgrade_validate_with_a_failure_path():
    nodes = {n["identifier"]: n for n in OBJECTS["awx_workflow"]["nodes"]}
    order, current = [], "precheck"
    while current:
        order.append(current)
        following = nodes[current]["success_nodes"]
        assert len(following) <= 1
        current = following[0] if following else None
    assert order == ["precheck", "approve", "upgrade", "validate"]
    assert set(nodes) == set(order) | {"recover"}
    assert "approval" in nodes["approve"] and "job_template" not in nodes["approve"]
    assert nodes["approve"]["approval"]["timeout"] > 0
    for identifier in ("precheck", "upgrade", "validate"):
        assert TEMPLATES[nodes[identifier]["job_template"]]["playbook"] == identifier + ".yml"
    # A failed upgrade or validation always goes to recover: autoscalers resumed, the failure reported.
    for identifier in ("upgrade", "validate"):
        assert nodes[identifier]["failure_nodes"] == ["recover"]
    assert TEMPLATES[nodes["recover"]["job_template"]]["playbook"] == "recover.yml"
    recover = collection_playbook("recover.yml")
    assert "tasks_from: resume_autoscalers" in recover
    assert "clusterops_paused_autoscalers" in recover and "ansible.builtin.fail" in recover
    every_target = {t for n in nodes.values() for key in ("success_nodes", "failure_nodes") for t in n.get(key, [])}
    assert every_target <= set(nodes)


def test_workflow_survey_answers_every_node():
    """The workflow's survey answers reach every node as extra vars: what each node requires must be in it."""
    asked = {q["variable"] for q in survey(OBJECTS["awx_workflow"]["survey"])["spec"]}
    for node in OBJECTS["awx_workflow"]["nodes"]:
        if "job_template" in node and "survey" in TEMPLATES[node["job_template"]]:
            required = {q["variable"] for q in survey(TEMPLATES[node["job_template"]]["survey"])["spec"]
                        if q["required"] and not q.get("default")}
            assert required <= asked, node["identifier"]


def test_project_syncs_without_galaxy():
    """The collection is not on Galaxy: the project asks Galaxy for nothing (AWX installs a project's
    collections/requirements.yml at sync); the collection comes from the execution environment or is vendored."""
    project = os.path.join(AWX, "project")
    for template in TEMPLATES.values():
        assert os.path.exists(os.path.join(project, template["playbook"]))
    for name in ("requirements.yml", "requirements.yaml"):
        assert not os.path.exists(os.path.join(project, "collections", name))
        assert not os.path.exists(os.path.join(project, "roles", name))
    with open(os.path.join(AWX, "project", "collections", "README.md")) as handle:
        assert "--no-deps -p collections" in handle.read()


# Survey answers against the roles' argument specs: the variable a question sets reaches role options (directly,
# as remediate's do, or through the playbook's vars); every choice must be one each option accepts, and the
# default the one the role (or the playbook) would use anyway.

def _generator():
    import importlib.util
    spec = importlib.util.spec_from_file_location("argspec_docs", os.path.join(ROOT, "tools", "argspec_docs.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _generator()
SPECS = GENERATOR.role_specs()


def options_fed(playbook, variable):
    """[(option spec, playbook default or None)] of the role options `variable` reaches in a collection playbook."""
    plays = load_yaml(ROOT, "playbooks", playbook)
    fed = []
    for role, mapping in GENERATOR.role_vars(plays):
        options = SPECS[role]["main"]["options"]
        if variable in options and variable not in mapping:
            fed.append((options[variable], None))
        for option, expression in mapping.items():
            direct, default = GENERATOR.direct_default(expression, variable)
            if direct:
                fed.append((options[option], None if default is None else yaml.safe_load(default)))
            elif variable in GENERATOR.identifiers(expression):
                fed.append((options[option], "derived"))  # e.g. validate's 'v' ~ kubernetes_version
    return fed


def as_option_value(answer, option):
    """A survey answer (a string) as the role sees it after its coercion (`| bool` for flags)."""
    if option.get("type") == "bool":
        assert answer in ("true", "false"), answer
        return answer == "true"
    if option.get("type") == "int":
        return int(answer)
    return answer


SURVEYED = sorted({(t["playbook"], t["survey"]) for t in TEMPLATES.values() if "survey" in t}
                  | {("upgrade.yml", OBJECTS["awx_workflow"]["survey"])})


@pytest.mark.parametrize("playbook,path", SURVEYED)
def test_survey_answers_are_what_the_roles_accept(playbook, path):
    target = collection_playbook(playbook) and re.search(
        r"clusterops\.kops_upgrade\.(\w+)$", load_yaml(AWX, "project", playbook)[0]["ansible.builtin.import_playbook"]
    ).group(1) + ".yml"
    for question in survey(path)["spec"]:
        fed = options_fed(target, question["variable"])
        assert fed, "%s: %s reaches no role option of %s" % (path, question["variable"], target)
        for option, playbook_default in fed:
            if playbook_default == "derived":
                continue
            if question["type"] in ("multiplechoice", "multiselect"):
                for choice in question["choices"]:
                    value = as_option_value(choice, option)
                    if option.get("choices"):
                        assert value in option["choices"], (path, question["variable"], choice, option["choices"])
            default = question.get("default", "")
            if option.get("required") or (question["required"] and default == ""):
                continue  # nothing to agree with: the user must answer
            expected = playbook_default if playbook_default is not None else option.get("default")
            assert as_option_value(default, option) == expected, (path, question["variable"], default, expected)


def test_the_fleet_template_takes_cluster_identity_from_the_inventory():
    fleet = TEMPLATES["kops | upgrade fleet"]
    per_cluster = {"cluster_name", "state_store", "kubernetes_version", "k8s_context", "k8s_kubeconfig",
                   "kops_upgrade_environment", "kops_binary"}
    assert "survey" not in fleet
    assert not per_cluster & set(fleet.get("extra_vars", {}))
    assert fleet["inventory"] == OBJECTS["awx_fleet_inventory"]["name"]
    inventory = load_yaml(AWX, "project", OBJECTS["awx_fleet_inventory"]["source_path"])
    group = fleet["extra_vars"]["kops_upgrade_hosts"]
    hosts = inventory[group]["hosts"]
    assert len(hosts) > 1
    for name, variables in hosts.items():
        assert {"cluster_name", "state_store", "kubernetes_version"} <= set(variables), name
    # Every cluster its own identity: no two hosts share a cluster name.
    assert len({v["cluster_name"] for v in hosts.values()}) == len(hosts)
