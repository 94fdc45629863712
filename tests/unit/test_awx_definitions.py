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


@pytest.mark.parametrize("path", sorted({t["survey"] for t in OBJECTS["awx_job_templates"]}
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


@pytest.mark.parametrize("name", sorted(TEMPLATES))
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


def test_workflow_is_precheck_approval_upgrade_validate():
    nodes = {n["identifier"]: n for n in OBJECTS["awx_workflow"]["nodes"]}
    order, current = [], "precheck"
    while current:
        order.append(current)
        following = nodes[current]["success_nodes"]
        assert len(following) <= 1
        current = following[0] if following else None
    assert order == ["precheck", "approve", "upgrade", "validate"]
    assert set(order) == set(nodes)
    assert "approval" in nodes["approve"] and "job_template" not in nodes["approve"]
    assert nodes["approve"]["approval"]["timeout"] > 0
    for identifier in ("precheck", "upgrade", "validate"):
        assert TEMPLATES[nodes[identifier]["job_template"]]["playbook"] == identifier + ".yml"


def test_workflow_survey_answers_every_node():
    """The workflow's survey answers reach every node as extra vars: what each node requires must be in it."""
    asked = {q["variable"] for q in survey(OBJECTS["awx_workflow"]["survey"])["spec"]}
    for node in OBJECTS["awx_workflow"]["nodes"]:
        if "job_template" in node:
            required = {q["variable"] for q in survey(TEMPLATES[node["job_template"]]["survey"])["spec"]
                        if q["required"] and not q.get("default")}
            assert required <= asked, node["identifier"]


def test_project_playbooks_and_requirements():
    project = os.path.join(AWX, "project")
    for template in TEMPLATES.values():
        assert os.path.exists(os.path.join(project, template["playbook"]))
    requirements = load_yaml(project, "collections", "requirements.yml")
    assert {c["name"] for c in requirements["collections"]} >= {"clusterops.kops_upgrade", "kubernetes.core"}
