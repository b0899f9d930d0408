# Two commands: `make report` and `make test`. Both create .venv when missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.crmlab-installed
CONFIG ?= configs/default.yaml

.PHONY: report test unit notebooks install clean-venv

# The stamp depends on pyproject.toml, so a changed dependency list reinstalls.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# The notebooks name this kernel, so JupyterLab and papermill run them against this install.
	$(BIN)/python -m ipykernel install --sys-prefix --name crmlab --display-name "Python (crmlab)"
	touch $(STAMP)

install: $(STAMP)

report: $(STAMP)
	$(BIN)/crmlab run --config $(CONFIG)

test: $(STAMP)
	$(BIN)/python -m pytest tests src/crmlab notebooks --doctest-modules --nbval-lax --nbval-kernel-name crmlab -p no:cacheprovider

unit: $(STAMP)
	$(BIN)/python -m pytest tests src/crmlab --doctest-modules

notebooks: $(STAMP)
	$(BIN)/python -m pytest notebooks --nbval-lax --nbval-kernel-name crmlab

clean-venv:
	rm -rf $(VENV)
