# Two commands matter: `make demo` and `make test`. Both build the virtual environment themselves.
# The app runs on Python 3.13 (as on Azure Functions Flex Consumption). PYTHON=... picks an interpreter; otherwise
# python3.13 on PATH, else the newest 3.13 that pyenv installed (its shim refuses versions not selected).
PYENV_ROOT ?= $(HOME)/.pyenv
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in python3.13 $$(ls -d $(PYENV_ROOT)/versions/3.13*/bin/python3.13 2>/dev/null | sort -rV); do \
  "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null && { command -v "$$p"; break; }; done)
endif
# checkov (infra linting) has its own environment and its own interpreter: it does not support 3.13 everywhere.
IAC_PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov lives apart: its pins conflict with the app's.
IAC_VENV := .venv-iac
IAC_STAMP := $(IAC_VENV)/.installed

.PHONY: venv iac-venv test lint typecheck unit demo sandbox bench soak clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	@$(if $(PYTHON),,echo "Python 3.13 not found. Install it (e.g. 'pyenv install 3.13', or your OS's python3.13 package)," \
	  "or run make with PYTHON=/path/to/python3.13." >&2; exit 2)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 13) else 1)' || \
	  { echo "$(PYTHON) is not Python 3.13; run make with PYTHON=/path/to/python3.13." >&2; exit 2; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

iac-venv: $(IAC_STAMP)

$(IAC_STAMP): infra/requirements-iac.txt
	$(IAC_PYTHON) -m venv $(IAC_VENV)
	$(IAC_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(IAC_VENV)/bin/python -m pip install --quiet -r infra/requirements-iac.txt
	touch $(IAC_STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

unit: venv iac-venv
	$(BIN)/pytest

test: lint typecheck unit

demo: venv
	$(BIN)/ppmi demo

sandbox: venv
	$(BIN)/ppmi sandbox

# Hundreds of events through `ppmi worker` under chaos and worker kills; e.g. make soak SOAK_ARGS="--environments 100"
soak: venv
	$(BIN)/python -m tests.reliability.soak $(SOAK_ARGS)

# The four scenarios and the naive baseline against the time-scaled Azure model (about three minutes);
# writes bench/results/latest.{json,md,png} and README's Benchmarks section. e.g. make bench BENCH_ARGS="--time-scale 5"
bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(IAC_VENV) .mypy_cache .ruff_cache .pytest_cache
