# Two commands: `make report` and `make test`. Both create .venv when missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.crmlab-installed
CONFIG ?= configs/default.yaml

.PHONY: report test unit integration notebooks install lock clean-venv

# Installs exactly the versions in requirements.lock (so a release overnight changes nothing),
# then crmlab itself. The stamp depends on both files, so a changed lock reinstalls.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e '.[dev]'
	# The notebooks name this kernel, so JupyterLab and papermill run them against this install.
	$(BIN)/python -m ipykernel install --sys-prefix --name crmlab --display-name "Python (crmlab)"
	touch $(STAMP)

install: $(STAMP)

report: $(STAMP)
	$(BIN)/crmlab run --config $(CONFIG)

# The test tiers (tests/README.md). `make test` runs them all, and nbval runs every notebook in notebooks/ as an
# analyst opens it (its parameters cell's defaults, on the committed fixture); the doctests of src/crmlab run too.
# Except retention.ipynb: the fixture's six months cannot hold its cutoffs and horizon, so on the fixture it ends
# at "not available" by design; tests/integration/test_runner.py runs every cell of it on the CDNOW sample.
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider
NBVAL := --nbval-lax --nbval-kernel-name crmlab --ignore=notebooks/retention.ipynb

test: $(STAMP)
	$(PYTEST) tests src/crmlab notebooks --doctest-modules $(NBVAL)

unit: $(STAMP)
	$(PYTEST) tests/unit src/crmlab --doctest-modules

integration: $(STAMP)
	$(PYTEST) tests/integration

notebooks: $(STAMP)
	$(PYTEST) tests/notebooks notebooks $(NBVAL)

# After changing dependencies in pyproject.toml: resolve them again into requirements.lock.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
		--python-platform x86_64-unknown-linux-gnu -o requirements.lock

clean-venv:
	rm -rf $(VENV)
