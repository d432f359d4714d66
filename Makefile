# lnfusion: two set-up commands, `make demo` and `make test` (see README.md).
# Both create .venv if absent and install the package into it; nothing is
# installed outside .venv.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= lnfusion_demo_output
PIP    := $(BIN)/python -m pip install --progress-bar off --disable-pip-version-check -q
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: demo test docs bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the package metadata changes (editable install).
$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(PIP) -e .
	@touch $@

$(VENV)/.installed-dev: setup.cfg pyproject.toml | $(BIN)/python
	$(PIP) -e '.[dev,docs]'
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/lnfusion demo --out $(OUT) $(DEMO_ARGS)
	@echo ""
	@echo "Demo outputs are in $(abspath $(OUT))/ (open report.html in a browser)."
	@echo "To try the trained model in a browser (a local web page on this machine only):"
	@echo "  $(PIP) -e '.[serve]'"
	@echo "  $(BIN)/lnfusion serve $(OUT)/model    # then open http://127.0.0.1:8000/"

# The whole suite (what CI runs).  Quick loop without the end-to-end runs (notebooks,
# examples, docs code, lnfusion demo, docs site):  make test PYTEST_ARGS='-m "not e2e"'
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

docs: $(VENV)/.installed-dev
	$(BIN)/mkdocs build --strict --site-dir site

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check lnfusion tests bench examples

clean:
	rm -rf $(VENV) site $(OUT) .pytest_cache
