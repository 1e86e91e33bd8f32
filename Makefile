### collective.cron development Makefile
# The README's two commands: `make run` and `make test`. Both are idempotent.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTANCE := $(CURDIR)/instance
HOST ?= 127.0.0.1
PORT ?= 8080
SITE_ID ?= Plone
ADMIN_USER ?= admin
ADMIN_PASSWORD ?= admin
PYTEST_ARGS ?=

# Ignore machine-wide pip configuration (extra mirrors, caps): installs use PyPI
# and constraints.txt only, the same on every machine.
export PIP_CONFIG_FILE := /dev/null
export PIP_DISABLE_PIP_VERSION_CHECK := 1
PIP := $(BIN)/python -m pip
PIP_INSTALL := $(PIP) install --quiet --constraint constraints.txt

INSTALL_STAMP := $(VENV)/.install-stamp
SITE_STAMP := $(INSTANCE)/var/.site-stamp

GREEN := \033[0;32m
RESET := \033[0m

.PHONY: help
help: ## Show this help
	@echo "collective.cron: make targets"
	@grep -E '^[a-zA-Z_-]+:.*?## .*$$' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "$(PYTHON) is older than 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(INSTALL_STAMP): $(BIN)/python pyproject.toml constraints.txt
	@echo "Installing Plone 6.2 and collective.cron into $(VENV) (first time: a few minutes)"
	$(PIP_INSTALL) -e ".[test,docs]" ruff i18ndude
	@touch $@

.PHONY: install
install: $(INSTALL_STAMP) ## Create .venv and install Plone, collective.cron, test and docs tools

$(INSTANCE)/etc/zope.conf: etc/zope.conf.in
	@mkdir -p $(INSTANCE)/etc $(INSTANCE)/var/log $(INSTANCE)/var/cache \
		$(INSTANCE)/var/filestorage $(INSTANCE)/var/blobstorage
	sed -e 's|@INSTANCE@|$(INSTANCE)|g' -e 's|@PORT@|$(PORT)|g' $< > $@

$(INSTANCE)/etc/zope.ini: etc/zope.ini.in
	@mkdir -p $(INSTANCE)/etc $(INSTANCE)/var/log
	sed -e 's|@INSTANCE@|$(INSTANCE)|g' -e 's|@HOST@|$(HOST)|g' -e 's|@PORT@|$(PORT)|g' $< > $@

$(INSTANCE)/etc/site.zcml: etc/site.zcml
	@mkdir -p $(INSTANCE)/etc
	cp $< $@

.PHONY: instance
instance: $(INSTANCE)/etc/zope.conf $(INSTANCE)/etc/zope.ini $(INSTANCE)/etc/site.zcml ## Write the Zope WSGI instance in ./instance

$(SITE_STAMP): $(INSTALL_STAMP) $(INSTANCE)/etc/zope.conf $(INSTANCE)/etc/site.zcml scripts/create_site.py
	SITE_ID=$(SITE_ID) ADMIN_USER=$(ADMIN_USER) ADMIN_PASSWORD=$(ADMIN_PASSWORD) \
		COLLECTIVE_CRON_WORKER=off $(BIN)/zconsole run $(INSTANCE)/etc/zope.conf scripts/create_site.py
	@touch $@

.PHONY: create-site
create-site: install instance ## Create the Plone site with collective.cron (kept if it exists)
	@rm -f $(SITE_STAMP)
	@$(MAKE) --no-print-directory $(SITE_STAMP)

.PHONY: start
start: install instance ## Serve the instance on http://localhost:$(PORT) until Ctrl-C
	@printf "$(GREEN)Plone site: http://localhost:$(PORT)/$(SITE_ID)  login: $(ADMIN_USER) / $(ADMIN_PASSWORD)$(RESET)\n"
	@printf "$(GREEN)Cron Dashboard: http://localhost:$(PORT)/$(SITE_ID)/@@cron-settings$(RESET)\n"
	$(BIN)/runwsgi $(INSTANCE)/etc/zope.ini

.PHONY: run
run: install instance $(SITE_STAMP) start ## Install, create the site if needed and serve it

.PHONY: browser
browser: ## Install Debian's Chromium for the browser tests (never a downloaded build)
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's chromium for the browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq chromium chromium-driver >/dev/null; \
		else \
			echo "Chromium is missing: sudo apt-get install chromium chromium-driver"; \
		fi; }

.PHONY: postgresql
postgresql: ## Install Debian's PostgreSQL server for the RelStorage tests
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's postgresql for the RelStorage tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq postgresql >/dev/null; \
		else \
			echo "PostgreSQL is missing: sudo apt-get install postgresql"; \
		fi; }

.PHONY: test
test: install browser postgresql ## Run the whole test suite (PYTEST_ARGS=... to pass pytest options)
	$(BIN)/pytest $(PYTEST_ARGS)

.PHONY: test-fast
test-fast: install ## Run the tests but the slow multi-process ones, on every core
	$(BIN)/pytest -m "not slow" -n auto $(PYTEST_ARGS)

# Plone 6.0 and 6.1: one venv each in .matrix/<version>, pinned by
# constraints-<version>.txt (make test is Plone 6.2, in .venv).
MATRIX ?= 6.0 6.1
MATRIX_DIR := .matrix

$(MATRIX_DIR)/%/.install-stamp: pyproject.toml constraints-%.txt
	@echo "Installing Plone $* and collective.cron into $(MATRIX_DIR)/$* (first time: a few minutes)"
	@test -x $(MATRIX_DIR)/$*/bin/python || $(PYTHON) -m venv $(MATRIX_DIR)/$*
	$(MATRIX_DIR)/$*/bin/python -m pip install --quiet --constraint constraints-$*.txt -e ".[test]"
	@touch $@

.PHONY: test-older
test-older: browser postgresql $(foreach version,$(MATRIX),$(MATRIX_DIR)/$(version)/.install-stamp) ## Run the whole suite on Plone 6.0 and 6.1 (MATRIX="6.1" for one)
	@for version in $(MATRIX); do \
		echo "== The test suite on Plone $$version =="; \
		$(MATRIX_DIR)/$$version/bin/pytest $(PYTEST_ARGS) || exit 1; \
	done

.PHONY: test-matrix
test-matrix: test test-older ## Run the whole suite on Plone 6.2, 6.1 and 6.0

.PHONY: bench
bench: install ## Run the benchmarks (bench/, about 10 minutes) and print one table
	$(PIP_INSTALL) -e ".[test,bench]"
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

.PHONY: docs
docs: install ## Build the docs site into docs/_build/html (Sphinx, warnings are errors)
	$(BIN)/sphinx-build -W --keep-going -E -q -b html docs docs/_build/html
	@printf "$(GREEN)Docs: docs/_build/html/index.html$(RESET)\n"

.PHONY: lint
lint: install ## Check code style (ruff) and the module layers (import-linter)
	$(BIN)/ruff check src tests scripts bench
	$(BIN)/ruff format --check src tests scripts bench
	$(BIN)/lint-imports

.PHONY: format
format: install ## Format code with ruff
	$(BIN)/ruff check --fix src tests scripts bench
	$(BIN)/ruff format src tests scripts bench

.PHONY: i18n
i18n: install ## Extract messages, update the .po files, compile the .mo files
	cd src/collective/cron && $(CURDIR)/$(BIN)/i18ndude rebuild-pot \
		--pot locales/collective.cron.pot --create collective.cron .
	for po in src/collective/cron/locales/*/LC_MESSAGES/collective.cron.po; do \
		$(BIN)/i18ndude sync --pot src/collective/cron/locales/collective.cron.pot $$po; done
	$(BIN)/python scripts/compile_mo.py

.PHONY: clean
clean: ## Remove .venv, the instance (and its database) and caches
	rm -rf $(VENV) $(MATRIX_DIR) $(INSTANCE) test-artifacts docs/_build .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
