# SILASTRI — every command creates the environment if it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install tools run test lint demo bench reliability clean

$(STAMP): requirements-dev.txt constraints.txt layers/common/requirements.txt functions/api/requirements.txt pyproject.toml package.json package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e .
	npm ci --no-audit --no-fund --silent
	touch $(STAMP)

# Browser tests drive Debian's Chromium (Playwright cannot download browsers here).
$(VENV)/.chromium:
	command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	touch $@

# The document tests render the decree and the recommendation to PNG with Debian's pdftoppm (poppler-utils).
$(VENV)/.pdftoppm:
	command -v pdftoppm >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null; }
	touch $@

# checkov (template.yaml security checks, run by tests/infra) in its own tool venv: its dependency tree
# must not share the project's pins.
TOOLS := .venv-tools
CHECKOV_VERSION := 3.3.30
CHECKOV := $(TOOLS)/.checkov-$(CHECKOV_VERSION)

$(CHECKOV):
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q --upgrade pip
	$(TOOLS)/bin/pip install -q checkov==$(CHECKOV_VERSION)
	touch $@

tools: $(CHECKOV)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/silastri up

test: $(STAMP) $(VENV)/.chromium $(VENV)/.pdftoppm $(CHECKOV)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy layers/common/python/silastri infra/silastri_local functions

demo: $(STAMP)
	$(BIN)/silastri demo --type all && $(BIN)/silastri demo --type all --office bengkalis

bench: $(STAMP)
	$(BIN)/silastri bench --count 20

# The reliability table: every row is a test that fails when its figure is not met.
reliability: $(STAMP)
	SILASTRI_RELIABILITY_STRICT=1 $(BIN)/python -m pytest -n 2 --dist loadgroup tests/reliability

clean:
	rm -rf $(VENV) node_modules .silastri
