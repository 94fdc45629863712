#!/usr/bin/env bash
# Build the collection tarball and check it as a user and as Galaxy would:
# 1. install it into a throwaway path and check that ansible-doc shows every module and role from the installed
#    build (not from the working tree);
# 2. run galaxy-importer (what Galaxy runs on an upload: file checks, role READMEs, ansible-doc, ansible-lint) on the
#    tarball, offline, from its own pinned venv (tools/importer-venv.sh);
# 3. check that the test bed stayed out of the tarball (galaxy.yml build_ignore) and print its size.
set -euo pipefail
venv=$1
# shellcheck source=built-collection.sh
. "$(dirname "$0")/built-collection.sh"
importer=$("$root/tools/importer-venv.sh")
build_and_install
checked=0
for module in "$root"/plugins/modules/*.py; do
  name=$(basename "$module" .py)
  ANSIBLE_COLLECTIONS_PATH="$work/installed" "$venv/bin/ansible-doc" "clusterops.kops_upgrade.$name" 2>&1 \
    | grep -q "^> MODULE .*clusterops.kops_upgrade.$name" \
    || { echo "ansible-doc shows no page for module $name from the installed build" >&2; exit 1; }
  checked=$((checked + 1))
done
for role in "$root"/roles/*/; do
  name=$(basename "$role")
  ANSIBLE_COLLECTIONS_PATH="$work/installed" "$venv/bin/ansible-doc" -t role "clusterops.kops_upgrade.$name" 2>&1 \
    | grep -q "ENTRY POINT: .*main" \
    || { echo "ansible-doc shows no entry point for role $name from the installed build" >&2; exit 1; }
  checked=$((checked + 1))
done
echo "build: $(basename "$tarball") installs; ansible-doc shows all $checked modules and roles"

# The AWX project with the collection vendored from the tarball (extensions/awx/project/collections/README.md): every
# project playbook resolves the collection from the project's own collections/ directory, with no Galaxy and no
# other copy of it on the collection path (kubernetes.core there stands for the execution environment's).
cp -r "$root/extensions/awx/project" "$work/project"
ANSIBLE_COLLECTIONS_PATH="$work/project/collections" "$venv/bin/ansible-galaxy" collection install --no-deps --offline \
  -p "$work/project/collections" "$tarball" >/dev/null 2>&1
mkdir -p "$work/ee/ansible_collections/kubernetes"
ln -s "${COLLECTION_ROOT:?}/ansible_collections/kubernetes/core" "$work/ee/ansible_collections/kubernetes/core"
projects=0
for playbook in "$work"/project/*.yml; do
  (cd "$work/project" && ANSIBLE_COLLECTIONS_PATH="$work/ee" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false \
    "$venv/bin/ansible-playbook" --syntax-check "$(basename "$playbook")" >"$work/syntax.log" 2>&1) \
    || { cat "$work/syntax.log" >&2; echo "AWX project playbook $(basename "$playbook") fails with the vendored collection" >&2; exit 1; }
  projects=$((projects + 1))
done
echo "AWX project: $projects playbooks find the collection vendored into the project's collections/"

# What must not ship: the test bed. What must: what a user, ansible-builder and Galaxy read.
listing=$(tar -tzf "$tarball")
for unwanted in Makefile .ansible-lint noxfile.py tools/ extensions/molecule/ tests/unit/ tests/cluster/ tests/kops/ \
                tests/e2e/ .ci/; do
  if grep -q "^${unwanted}" <<<"$listing"; then echo "the tarball ships $unwanted (galaxy.yml build_ignore)" >&2; exit 1; fi
done
for wanted in COPYING README.md CHANGELOG.rst meta/runtime.yml meta/execution-environment.yml requirements.txt \
              bindep.txt tests/config.yml extensions/ee/execution-environment.yml extensions/awx/awx_objects.yml \
              rbac/diagnose.yml changelogs/changelog.yaml; do
  grep -qx "$wanted" <<<"$listing" || { echo "the tarball lacks $wanted" >&2; exit 1; }
done

# galaxy-importer, offline: no network is needed (ansible-lint --offline), its temporary files stay in $work.
# Its ansible-lint sees only the collection under import (ANSIBLE_COLLECTIONS_PATH); the collections it depends on
# come from the Python path, as in an execution environment: the build just installed, and kubernetes.core from the
# collection root (make collection installs it). awx.awx, which only extensions/awx/configure.yml uses (the AWX
# admin's collection, not a dependency), stays unresolved: that one warning is expected.
deps=${COLLECTION_ROOT:?COLLECTION_ROOT (make collection) holds kubernetes.core}/ansible_collections/kubernetes/core
[ -f "$deps/MANIFEST.json" ] || { echo "no kubernetes.core at $deps (run make collection)" >&2; exit 1; }
mkdir -p "$work/installed/ansible_collections/kubernetes"
ln -s "$deps" "$work/installed/ansible_collections/kubernetes/core"
mkdir -p "$work/importer-home" "$work/importer-tmp"
cat > "$work/galaxy-importer.cfg" <<CFG
[galaxy-importer]
run_ansible_doc = True
run_ansible_lint = True
offline_ansible_lint = True
run_ansible_test = False
check_changelog = True
ansible_local_tmp = $work/importer-tmp
tmp_root_dir = $work/importer-tmp
CFG
if ! (cd "$work" && env -u ANSIBLE_COLLECTIONS_PATH -u ANSIBLE_COLLECTIONS_SCAN_SYS_PATH PYTHONPATH="$work/installed" HOME="$work/importer-home" \
      ANSIBLE_HOME="$work/importer-home/.ansible" GALAXY_IMPORTER_CONFIG="$work/galaxy-importer.cfg" \
      PATH="$importer/bin:$PATH" "$importer/bin/python" -m galaxy_importer.main "$tarball" >"$work/importer.log" 2>&1); then
  cat "$work/importer.log" >&2
  echo "galaxy-importer refused the tarball" >&2
  exit 1
fi
awx_only="^WARNING: extensions/awx/configure.yml:[0-9]+:[0-9]+: syntax-check\[unknown-module\]: couldn't resolve module/action 'awx\.awx\."
if grep -E '^(ERROR|WARNING)' "$work/importer.log" | grep -Ev "$awx_only" >&2; then
  echo "galaxy-importer reported the errors or warnings above" >&2
  exit 1
fi
echo "galaxy-importer: $(basename "$tarball") imports ($(grep -c '^Loading ' "$work/importer.log") items loaded)," \
  "$(stat -c %s "$tarball") bytes, $(grep -vc '/$' <<<"$listing") files"
