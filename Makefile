# Two commands matter: `make run` (the portal on embedded defaults) and `make test` (the whole suite).
# `make test-fast` is the everyday loop: the tests that need nothing outside the pytest processes.
# Both create .venv with Python 3.12 when it is missing and install requirements only when they changed.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell scripts/find-python)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_ARGS ?=
# The folder the settings keep the SQLite database, the filesystem broker and uploads in.
VAR_DIR := $(or $(PORTAL_VAR_DIR),var)
# Tests get their own folder, so a `make run` left open in another terminal never shares the
# filesystem broker (its worker would take the tests' messages) or the uploads with them.
TEST_VAR_DIR := $(CURDIR)/var/test
# Two processes for two cores; tests.xdist_var_dir gives each its own database, broker and uploads there.
FAST_VAR_DIR := $(CURDIR)/var/test-fast
FAST_WORKERS ?= 2
PIP := $(BIN)/python -m pip install --disable-pip-version-check --quiet
# honcho runs the Procfile; its pin lives in dev.txt so the two never drift apart.
HONCHO_PIN = $(shell grep -E '^honcho==' requirements/dev.txt)

.PHONY: help run test test-fast screenshots lint messages clean-test-data

help:
	@echo "make run           start the portal (web + Celery worker + beat + DICOM listener) at http://127.0.0.1:$(PORT)"
	@echo "make test          run the whole test suite, browser tests included (what CI runs)"
	@echo "make test-fast     the everyday tier: no browser, PACS, worker process or other process, in parallel"
	@echo "make screenshots   refresh docs/screenshots from the browser test"
	@echo "make lint          ruff"
	@echo "make messages      update the translation catalogues (locale/) from the marked strings, and compile them"

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "No Python 3.12 found; run make PYTHON=/path/to/python3.12" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Stamp files record what was installed; they are older than a requirements file only after it changed.
$(VENV)/.installed-run: requirements/base.txt requirements/worker.txt requirements/dev.txt | $(BIN)/python
	$(PIP) -r requirements/worker.txt "$(HONCHO_PIN)"
	@touch $@

$(VENV)/.installed-test: $(wildcard requirements/*.txt) | $(BIN)/python
	$(PIP) -r requirements/dev.txt
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	@mkdir -p $(VAR_DIR)/broker $(VAR_DIR)/broker-processed
	$(BIN)/python manage.py migrate --noinput
	@echo
	@echo "  The portal starts at http://127.0.0.1:$(PORT)/  (Ctrl-C stops web, worker, beat and the DICOM listener)"
	@echo "  DICOM C-STORE: AE title $${DICOM_AE_TITLE:-PNEUMONIA} on $${DICOM_BIND_ADDRESS:-127.0.0.1}:$${DICOM_PORT:-11112}, from the sites' AE titles (admin)"
	@echo "  Demo accounts (patient@example.com, patient2@example.com, radiologist@example.com,"
	@echo "  admin@example.com), all with one password of your choice, in another terminal:"
	@echo "      $(BIN)/python manage.py seed_demo --password 'choose-a-long-password'"
	@echo
	PATH="$(CURDIR)/$(BIN):$$PATH" DJANGO_DEBUG=true PORT=$(PORT) \
		$(BIN)/honcho start --procfile Procfile.dev --port $(PORT)

test: $(VENV)/.installed-test
	scripts/ensure-chromium
	scripts/ensure-dicom-peers
	scripts/ensure-gettext
	@mkdir -p $(TEST_VAR_DIR)
	PORTAL_VAR_DIR=$(TEST_VAR_DIR) $(BIN)/python -m pytest $(PYTEST_ARGS)

# No ensure-chromium or ensure-dicom-peers: --fast leaves out every test that needs them (tests/tiers.py).
test-fast: $(VENV)/.installed-test
	scripts/ensure-gettext
	@mkdir -p $(FAST_VAR_DIR)
	PORTAL_VAR_DIR=$(FAST_VAR_DIR) $(BIN)/python -m pytest -p tests.xdist_var_dir --fast -n $(FAST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The browser test's screenshots, for docs/screenshots.md.
screenshots: $(VENV)/.installed-test
	scripts/ensure-chromium
	@mkdir -p $(TEST_VAR_DIR)
	PORTAL_VAR_DIR=$(TEST_VAR_DIR) SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest tests/browser $(PYTEST_ARGS)

# Translation catalogues (README, "Languages"): every marked string into locale/<language>/LC_MESSAGES/django.po,
# then the .mo files Django reads. Commit both. tests/test_i18n_coverage.py runs makemessages with these
# arguments and fails when a catalogue lacks a string, a translation is missing or fuzzy, or a .mo is stale.
LOCALES := es fr pt_BR zh_Hans
MESSAGES_ARGS := --ignore=.venv --ignore=node_modules --ignore=var --ignore=tests --ignore=frontend --ignore=bench --no-obsolete --add-location=file
messages: $(VENV)/.installed-test
	scripts/ensure-gettext
	$(BIN)/python manage.py makemessages $(addprefix --locale=,$(LOCALES)) $(MESSAGES_ARGS)
	$(BIN)/python manage.py compilemessages $(addprefix --locale=,$(LOCALES)) --ignore=.venv --ignore=node_modules --ignore=var

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

clean-test-data:
	rm -rf $(TEST_VAR_DIR) $(FAST_VAR_DIR)
