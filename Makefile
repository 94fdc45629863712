# Developer entry point for clusterops.kops_upgrade. `make help` lists the targets.
# Everything a target needs (virtualenv, binaries, local control plane) it sets up itself;
# caches live outside the repository, under $(CLUSTEROPS_CACHE).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export CLUSTEROPS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/clusterops-kops-upgrade
ROOT := $(CURDIR)
VENV = $(shell tools/venv.sh)
COLLECTION_ROOT ?= $(CLUSTEROPS_CACHE)/collections
COLLECTION_DIR := $(COLLECTION_ROOT)/ansible_collections/clusterops/kops_upgrade
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTION_ROOT)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export PYTHONPATH := $(COLLECTION_ROOT)
# ansible-core's own files (tmp, galaxy cache, default collection path) go to the cache, never to ~/.ansible.
# One per collection root: ansible-lint installs a copy of the collection there, which must not be shared.
export ANSIBLE_HOME := $(COLLECTION_ROOT)-home/ansible
export ANSIBLE_LOCAL_TEMP := $(COLLECTION_ROOT)-home/ansible/tmp
export ANSIBLE_REMOTE_TEMP := $(COLLECTION_ROOT)-home/ansible/tmp

.PHONY: integration trim-cache versions lowest lowest-beside e2e-test e2e-one-cp e2e-three-cp e2e-newest cluster-and-e2e build-check bench oracle help venv collection build test unit sanity lint cluster-test kops-test molecule molecule-kind kind-image demo cluster-up cluster-down binaries ee

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

venv: ## Create the pinned Python virtualenv (outside the repo) and print its path
	@echo $(VENV)

collection: ## Install this working tree and its collection dependencies into $(COLLECTION_ROOT)
	@$(if $(SKIP_COLLECTION),true,tools/install-collection.sh "$(VENV)" "$(COLLECTION_ROOT)")

build-check: collection ## Build the tarball: ansible-doc every module and role from an install of it, galaxy-importer offline, no test bed inside
	@COLLECTION_ROOT="$(COLLECTION_ROOT)" tools/check-build.sh "$(VENV)"

build: ## Build the collection tarball into dist/
	@mkdir -p dist && "$(VENV)/bin/ansible-galaxy" collection build --force --output-path dist .

binaries: ## Build (or reuse) etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and kops
	@tools/localcluster/build.sh etcd kwok kubernetes kops

unit: collection ## Unit tests of the pure logic and module shells
	@cd $(COLLECTION_DIR) && "$(VENV)/bin/python" -m pytest -q tests/unit

sanity: collection ## ansible-test sanity for the collection (no ignore files)
	@tools/system-deps.sh
	@cd $(COLLECTION_DIR) && $(ROOT)/tools/sanity.sh "$(VENV)"

lint: collection ## ansible-lint (production profile)
	@cd $(COLLECTION_DIR) && HOME="$(COLLECTION_ROOT)-home/lint" PATH="$(VENV)/bin:$$PATH" ansible-lint --profile production

cluster-up: ## Start the local control plane; the last line printed is KUBECONFIG=<path>
	@tools/localcluster/up.sh

cluster-down: ## Stop the local control plane (by process id); fine when nothing runs
	@tools/localcluster/down.sh

cluster-test: collection ## Module tests against the real local control plane (starts and stops it)
	@cd $(COLLECTION_DIR) && PATH="$(VENV)/bin:$$PATH" "$(VENV)/bin/python" -m pytest -q tests/cluster

integration: collection ## ansible-test integration targets (tests/integration) on a local control plane of their own, stopped at the end (INTEGRATION_TARGETS=... for some)
	@tools/integration.sh "$(VENV)" "$(COLLECTION_ROOT)" $(INTEGRATION_TARGETS)

versions: collection ## Unit and module tests on the lowest and the newest ansible-core and kubernetes client declared (nox)
	@COLLECTION_ROOT="$(COLLECTION_ROOT)" tools/nox.sh -s unit-lowest unit-newest modules-lowest modules-newest

lowest: collection ## Unit and module tests on the lowest versions declared (the newest are the project venv's)
	@COLLECTION_ROOT="$(COLLECTION_ROOT)" tools/nox.sh -s unit-lowest modules-lowest

kops-test: collection ## kops module tests against the real kops binary
	@cd $(COLLECTION_DIR) && PATH="$(VENV)/bin:$$PATH" "$(VENV)/bin/python" -m pytest -q tests/kops

ee: ## ansible-builder create on extensions/ee as it is (from a checkout and an installed copy); the collection installs from the context
	@tools/ee-create.sh "$(VENV)"

E2E_TEST = tests/e2e/test_upgrade_playbook.py
e2e-test: collection ## The upgrade playbook end to end: kops 1.30.2 -> 1.31.0 -> 1.32.0 and 1.35.0 -> 1.36.2 on moto + the local API + node agent
	@tools/localcluster/build.sh kops-releases kubernetes-releases
	@MAKE="$(MAKE)" SKIP_COLLECTION=1 tools/parallel.sh e2e-one-cp e2e-three-cp+e2e-newest

# The end-to-end runs, each a pytest session of its own: one and three control-plane nodes from kops 1.30.2,
# and the newest path (kops 1.35.0 -> 1.36.2, default NTH).
E2E_TESTS_e2e-one-cp = test_one_control_plane_1_30_to_1_31_to_1_32
E2E_TESTS_e2e-three-cp = test_three_control_planes_nothing_stuck_nothing_removed
E2E_TESTS_e2e-newest = test_one_control_plane_1_35_to_1_36_default_nth
e2e-one-cp e2e-three-cp e2e-newest: collection
	@cd $(COLLECTION_DIR) && PATH="$(VENV)/bin:$$PATH" "$(VENV)/bin/python" -m pytest -q -s $(E2E_TEST)::$(E2E_TESTS_$@)

cluster-and-e2e: collection ## cluster-test beside the e2e runs, then kops-test, integration and lowest (binaries built first)
	@tools/localcluster/build.sh etcd kwok kubernetes kops-releases kubernetes-releases
	@MAKE="$(MAKE)" SKIP_COLLECTION=1 tools/parallel.sh cluster-test e2e-one-cp+kops-test+integration e2e-three-cp+e2e-newest+lowest-beside

# lowest, on control planes and a collection root of its own: beside cluster-test and kops-test it must share
# neither their clusters nor the installed collection they run from (nox reinstalls it).
lowest-beside:
	@CLUSTEROPS_TEST_CLUSTER_PREFIX=$(or $(CLUSTEROPS_TEST_CLUSTER_PREFIX),pytest)-low \
		$(MAKE) --no-print-directory lowest COLLECTION_ROOT="$(COLLECTION_ROOT)-low"

molecule: collection ## Molecule scenarios: local control plane (default, prevention), then kind (molecule-kind)
	@cd $(COLLECTION_DIR)/extensions && PATH="$(VENV)/bin:$$PATH" molecule -c molecule/config.yml test -s default
	@cd $(COLLECTION_DIR)/extensions && PATH="$(VENV)/bin:$$PATH" molecule -c molecule/config.yml test -s prevention
	@$(MAKE) --no-print-directory molecule-kind

oracle: collection ## The real scheduler judges ORACLE_CASES (default 60) generated stuck/blocked verdicts (ORACLE_SEED=...)
	@cd $(COLLECTION_DIR) && PATH="$(VENV)/bin:$$PATH" ORACLE_CASES=$${ORACLE_CASES:-60} "$(VENV)/bin/python" -m pytest -q -s tests/cluster/test_oracle.py

molecule-kind: collection ## The kind scenario for real: own Docker engine, offline node image (tools/kind), then molecule
	@cd $(COLLECTION_DIR)/extensions && PATH="$(VENV)/bin:$$PATH" $(COLLECTION_DIR)/tools/kind/run.sh \
		molecule -c molecule/config.yml test -s kind

kind-image: ## Build (or reuse) the offline kind node image (starts and stops its own Docker engine when none runs)
	@tools/kind/run.sh true

bench: collection ## Benchmarks: pure diagnosis and precheck scaling; rollout_status over 100/1000/2000 Deployments on kwok vs per-Deployment
	@cd $(COLLECTION_DIR) && PYTHONPATH="$(COLLECTION_ROOT):tools" "$(VENV)/bin/python" tests/benchmark/bench_diagnosis.py
	@cd $(COLLECTION_DIR) && PYTHONPATH="$(COLLECTION_ROOT):tools" "$(VENV)/bin/python" tests/benchmark/bench_precheck.py
	@cd $(COLLECTION_DIR) && PATH="$(VENV)/bin:$$PATH" PYTHONPATH="$(COLLECTION_ROOT):tools" "$(VENV)/bin/python" tests/benchmark/bench_scale.py

demo: collection ## The main job: NTH deadlock on a local cluster, remediated (CLUSTER_KUBECONFIG=... for yours)
	@cd $(COLLECTION_DIR) && PATH="$(VENV)/bin:$$PATH" "$(VENV)/bin/python" tools/demo.py \
		$(if $(CLUSTER_KUBECONFIG),--kubeconfig "$(CLUSTER_KUBECONFIG)") $(if $(CLUSTER_CONTEXT),--context "$(CLUSTER_CONTEXT)")

test: unit sanity lint build-check cluster-and-e2e ee molecule ## Every test (cluster-and-e2e runs lowest and kops-test too); what .ci/run calls
	@tools/localcluster/build.sh trim

trim-cache: ## Drop Go's build and module caches from $(CLUSTEROPS_CACHE) (binaries kept; make test does it at its end)
	@tools/localcluster/build.sh trim
