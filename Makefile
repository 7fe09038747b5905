# gpufleet.triton developer entry points. `make demo` and `make test` are the two README commands;
# everything else is a stage of them. Stages print a timing line so CI can show where time goes.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV      ?= $(CURDIR)/.venv
PY        := $(VENV)/bin/python
BIN       := $(VENV)/bin
# The collection must sit at ansible_collections/gpufleet/triton for Ansible and ansible-test; a symlink
# outside the checkout (keyed by the checkout's path) avoids a cycle inside the tree that linters would walk.
COLL_ROOT ?= /tmp/gpufleet-triton-$(shell printf %s "$(CURDIR)" | sha256sum | cut -c1-8)
export ANSIBLE_COLLECTIONS_PATH := $(COLL_ROOT)
export ANSIBLE_ROLES_PATH := $(CURDIR)/roles
export GPUFLEET_LAB_CACHE ?= /var/cache/gpufleet-lab
export PATH := $(BIN):$(PATH)
export ANSIBLE_FORCE_COLOR ?= false
export PY_COLORS ?= 0
export ANSIBLE_NOCOLOR ?= true

HOST_PACKAGES := docker.io debootstrap apache2-utils docker-registry libpython3.11 python3-numpy shellcheck openssh-client \
                 python3-venv rsync zstd make git curl ca-certificates openssl

timed = @lab/scripts/timed.sh "$(2)" bash -euo pipefail -c '$(1)'

.PHONY: help
help:
	@echo "make demo   set up this machine (root, Debian 12), build the lab and run the main job"
	@echo "make test   run every check: lint, build, sanity, unit, integration, molecule"
	@echo "stages: host venv collection lab lab-fleet lint build sanity unit unit-oldest integration molecule"
	@echo "        differential (the validator against the real tritonserver on CASES generated configs)"
	@echo "        ee-check ee-image ee-run (the execution environment for AWX: execution-environment.yml)"

.PHONY: host
host:  ## packages this machine needs (root)
	$(call timed,lab/scripts/host-packages.sh $(HOST_PACKAGES),host packages)

$(VENV)/.stamp-$(shell sha256sum requirements.txt | cut -c1-12): requirements.txt
	$(call timed,python3 -m venv $(VENV) && $(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; },venv)
	@$(BIN)/python -c "import ansible, molecule, testinfra, tritonclient" && rm -f $(VENV)/.stamp-* && touch $@

.PHONY: venv
venv: $(VENV)/.stamp-$(shell sha256sum requirements.txt | cut -c1-12)

.PHONY: collection
collection:
	@mkdir -p $(COLL_ROOT)/ansible_collections/gpufleet
	@ln -sfn $(CURDIR) $(COLL_ROOT)/ansible_collections/gpufleet/triton

.PHONY: lab
lab: venv collection
	$(call timed,$(BIN)/ansible-playbook lab/site.yml,lab)

.PHONY: lint
# ansible-lint with an ANSIBLE_HOME of its own: a copy of this collection in ~/.ansible/collections (Molecule's prerun
# leaves one) would be found before the checkout, and an older copy lacks the newer modules.
lint: venv collection
	$(call timed,$(BIN)/yamllint --strict . && ANSIBLE_HOME=$$(mktemp -d) $(BIN)/ansible-lint --offline && $(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/antsibull-changelog lint,lint)

.PHONY: build
build: venv
	$(call timed,mkdir -p build && $(BIN)/ansible-galaxy collection build --force --output-path build,collection build)

.PHONY: sanity
sanity: venv
	$(call timed,lab/scripts/sanity.sh,ansible-test sanity)

.PHONY: unit
unit: venv collection
	$(call timed,$(BIN)/pytest -q tests/unit,unit tests)

# Property-based tests of every module and plugin (tests/fuzz/conftest.py): the derandomized CI profile here, ten
# times the examples at random in fuzz-long (its finds kept in .hypothesis/ for the next run).
.PHONY: fuzz fuzz-long
fuzz: venv collection
	$(call timed,HYPOTHESIS_PROFILE=ci $(BIN)/pytest -q tests/fuzz,property-based tests)
fuzz-long: venv collection
	$(call timed,HYPOTHESIS_PROFILE=long $(BIN)/pytest -q tests/fuzz,property-based tests (long profile))

# The oldest ansible-core CI runs (meta/runtime.yml's requires_ansible; requirements.txt has the newest): the unit
# tests again, in a venv of their own inside .venv (so git, the linters and the collection build skip it as they do .venv).
VENV_OLDEST ?= $(VENV)/oldest
$(VENV_OLDEST)/.stamp-$(shell sha256sum requirements-oldest.txt 2>/dev/null | cut -c1-12): requirements-oldest.txt
	$(call timed,python3 -m venv $(VENV_OLDEST) && $(VENV_OLDEST)/bin/pip install --quiet --disable-pip-version-check -r requirements-oldest.txt 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; },venv oldest)
	@$(VENV_OLDEST)/bin/python -c "import ansible, pytest, google.protobuf, tritonclient" && rm -f $(VENV_OLDEST)/.stamp-* && touch $@

.PHONY: unit-oldest
unit-oldest: $(VENV_OLDEST)/.stamp-$(shell sha256sum requirements-oldest.txt 2>/dev/null | cut -c1-12) collection
	$(call timed,$(VENV_OLDEST)/bin/pytest -q tests/unit,unit tests on the oldest ansible-core)

.PHONY: integration
integration: venv collection lab
	$(call timed,$(BIN)/pytest -q tests/integration,integration tests)

# The validator against the real tritonserver on more generated cases than make test's 2,400 (another seed too:
# `make differential CASES=20000 SEED=7`).
CASES ?= 12000
SEED ?= 20261204
.PHONY: differential
differential: venv collection lab
	$(call timed,GPUFLEET_DIFFERENTIAL_CASES=$(CASES) GPUFLEET_DIFFERENTIAL_SEED=$(SEED) $(BIN)/pytest -q tests/integration/test_differential_triton.py,differential test ($(CASES) cases))

SCENARIOS ?= $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))
.PHONY: molecule
molecule: venv collection lab
	$(call timed,for s in $(SCENARIOS); do echo "== molecule $$s"; s0=$$(date +%s); $(BIN)/molecule test -s $$s; echo "[time] molecule $$s: $$(( $$(date +%s) - s0 ))s"; done,molecule)

# The lab fleet's size: `make lab-fleet NODES=16` (or `make demo NODES=16`).
NODES ?= 3
.PHONY: lab-fleet
lab-fleet: lab
	$(call timed,$(BIN)/ansible-playbook -i inventories/lab lab/fleet.yml -e lab_fleet_size=$(NODES),lab fleet ($(NODES) nodes))

# The execution environment for AWX / Automation Platform (execution-environment.yml). ee-check: what can be checked
# with no registry (ansible-builder create and introspect, pip resolution of the merged requirements, bindep).
# ee-image: the lab's stand-in for that RPM-based image (debootstrap, same requirements and collections). ee-run:
# site.yml, then verify.yml, through ansible-runner in it, on the lab fleet, as AWX jobs.
.PHONY: ee-check
ee-check: venv build
	$(call timed,lab/scripts/ee-check.sh,ee check)

.PHONY: ee-image
ee-image: venv build lab  # lab: the Docker engine the image is imported into
	$(call timed,lab/scripts/ee-image.sh,ee image)

.PHONY: ee-run
ee-run: ee-image lab-fleet
	$(call timed,lab/scripts/ee-run.sh,ee run)

# The main job on the embedded default: site.yml on the lab fleet (one air-gapped node, two online ones).
.PHONY: demo
demo: host venv lab-fleet
	$(call timed,$(BIN)/ansible-playbook site.yml -i inventories/lab,site.yml on the lab fleet)

.PHONY: test
test: host venv lint build ee-check ee-run sanity unit fuzz unit-oldest integration molecule
