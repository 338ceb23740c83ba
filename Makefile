# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp
SAMPLE := data/samples/kajabi_transactions_sample.csv
PAYPAL_SAMPLE := data/samples/paypal_activity_sample.tsv
DEV_PORT ?= 3000

.PHONY: install run test check-defs lint dev bench sample clean

# Re-installs only when the dependency list changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

## Set up, create the embedded warehouse, load the sample CRM, import the sample Kajabi and
## PayPal exports (the payments in both are counted once).
run: $(STAMP)
	$(BIN)/starhouse db upgrade
	$(BIN)/starhouse db load-sample
	$(BIN)/starhouse import $(SAMPLE)
	$(BIN)/starhouse import-paypal $(PAYPAL_SAMPLE)

## Lint, format check, Dagster's check of the definitions, then what the suite needs from the
## machine (Chromium, PostgreSQL: installed from Debian's packages when missing and possible),
## then the whole suite (SQLite and a real PostgreSQL).
test: $(STAMP) check-defs
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/ensure_test_services.py
	$(BIN)/python -m pytest

## `dg check defs`, in this virtual environment (dg warns when another one is active), against a
## scratch DAGSTER_HOME holding the project's dagster.yaml (so telemetry stays off).
check-defs: $(STAMP)
	@home="$$(mktemp -d)" && cp dagster.yaml "$$home/" && \
	DAGSTER_HOME="$$home" VIRTUAL_ENV="$(abspath $(VENV))" $(BIN)/dg check defs; \
	status=$$?; rm -rf "$$home"; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## The Dagster UI (`dg dev`: webserver and daemon) on http://127.0.0.1:3000, local only;
## another port with DEV_PORT=3001. Ctrl-C stops it.
dev: $(STAMP)
	$(BIN)/starhouse db upgrade
	$(BIN)/starhouse dev --port $(DEV_PORT)

## The import benchmark of issue 3 (minutes to hours; never part of `make test`). Options go in
## BENCH_ARGS, e.g. make bench BENCH_ARGS="--sizes 20000 --repeats 1"; see bench/run.py --help.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev,bench]"
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## Regenerate the bundled sample from its deterministic generator.
sample: $(STAMP)
	$(BIN)/python -m starhouse_pipeline.samples.generator data/samples

clean:
	rm -rf .warehouse .dagster_home data/reports/*.md
