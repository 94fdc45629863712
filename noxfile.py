# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tests on the versions the collection declares: the lowest (meta/runtime.yml requires_ansible, the
kubernetes client floor of requirements.txt; pins in tests/constraints-lowest.txt) and the newest (the pins of
tests/constraints.txt, the project's own venv). Run through tools/nox.sh (`make versions`, `make lowest`):

    unit-lowest, unit-newest        pytest tests/unit
    modules-lowest, modules-newest  the modules on a real local control plane, their bad input, and the kops
                                    credentials test with the real kops (MODULE_TESTS)

Each session installs the collection into $COLLECTION_ROOT (as `make collection` does) and runs there.
"""

from __future__ import annotations

import hashlib
import os

import nox

ROOT = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get("CLUSTEROPS_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "clusterops-kops-upgrade")
CONSTRAINTS = {"lowest": "tests/constraints-lowest.txt", "newest": "tests/constraints.txt"}
# The modules' own tests, their bad input, the roles' argument specs, and credentials in the kops modules' logs: what
# depends on ansible-core's and the client's behaviour. (The workflow and scheduler tests run on the newest only.)
MODULE_TESTS = ["tests/cluster/test_rollout_modules.py", "tests/cluster/test_bad_input.py",
                "tests/cluster/test_role_bad_input.py::test_bad_input_to_the_role_argument_specs",
                "tests/kops/test_kops_secrets.py"]

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["unit-lowest", "unit-newest", "modules-lowest", "modules-newest"]


def _prepare(session, versions):
    """Install the pinned versions (once per set of pins) and the collection; returns the collection's path."""
    constraints = os.path.join(ROOT, CONSTRAINTS[versions])
    digest = hashlib.sha256()
    for path in (constraints, os.path.join(ROOT, "requirements.txt")):
        with open(path, "rb") as handle:
            digest.update(handle.read())
    key = digest.hexdigest()
    marker = os.path.join(session.virtualenv.location, ".installed")
    installed = None
    if os.path.exists(marker):
        with open(marker) as handle:
            installed = handle.read()
    if installed != key:
        session.install("--disable-pip-version-check", "-c", constraints, "-r", os.path.join(ROOT, "requirements.txt"),
                        "ansible-core", "pytest", "PyYAML")
        with open(marker, "w") as handle:
            handle.write(key)
    session.run("python", "-c", "import ansible.release, kubernetes; print('ansible-core %s, kubernetes %s' % "
                "(ansible.release.__version__, kubernetes.__version__))")
    collection_root = os.environ.get("COLLECTION_ROOT") or os.path.join(CACHE, "nox-collections")
    session.run(os.path.join(ROOT, "tools", "install-collection.sh"), session.virtualenv.location, collection_root,
                external=True)
    session.env.update(ANSIBLE_COLLECTIONS_PATH=collection_root, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                       PYTHONPATH=collection_root)
    return os.path.join(collection_root, "ansible_collections", "clusterops", "kops_upgrade")


def _unit(session, versions):
    session.chdir(_prepare(session, versions))
    session.run("python", "-m", "pytest", "-q", "tests/unit")


def _modules(session, versions):
    session.chdir(_prepare(session, versions))
    session.run("python", "-m", "pytest", "-q", *(session.posargs or MODULE_TESTS))


for _versions in CONSTRAINTS:
    nox.session(name="unit-" + _versions)(lambda session, v=_versions: _unit(session, v))
    nox.session(name="modules-" + _versions)(lambda session, v=_versions: _modules(session, v))
