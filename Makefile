# Two commands matter: `make demo` and `make test`. Both build the virtual environment themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov lives apart: its pins conflict with the app's.
IAC_VENV := .venv-iac
IAC_STAMP := $(IAC_VENV)/.installed

.PHONY: venv iac-venv test lint typecheck unit demo sandbox bench soak clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

iac-venv: $(IAC_STAMP)

$(IAC_STAMP): infra/requirements-iac.txt
	$(PYTHON) -m venv $(IAC_VENV)
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
