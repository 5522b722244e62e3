# The two commands of the README: `make run` and `make test`. Everything else is a step of theirs.
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench demo setup infra migrate demo-data lint clean

# Re-install only when what pins or declares the packages changed.
$(STAMP): scripts/bootstrap.sh constraints.txt requirements-dev.txt shared/pyproject.toml shared/ops/pyproject.toml $(wildcard services/*/pyproject.toml) tests/interop/package-lock.json
	scripts/bootstrap.sh
	touch $@

## infra: PostgreSQL and RabbitMQ reachable (started or installed when missing).
infra:
	python3 scripts/infra.py ensure

## setup: virtualenv, servers, one database per service, migrations applied.
setup: $(STAMP) infra
	$(BIN)/alliance migrate --all

## run: set up, then the four services and the HTTP gateway (port 8100) with merged logs and the demo
## data loaded. Ctrl-C stops.
run: setup
	$(BIN)/alliance up

## test: virtualenv and servers, then the whole suite (unit, integration, end to end) in two pytest runs
## side by side (scripts/run_tests.py). No tests collected is a failure. Not `setup`: tests make databases
## of their own from PG_ADMIN_URL, and migrating the services' own databases (their *_DATABASE_URL) would
## reach for a server the suite was not told to use.
test: $(STAMP) infra
	$(BIN)/python scripts/run_tests.py

## demo: a scripted day at the service centre, against the system `make run` started.
demo: $(STAMP)
	$(BIN)/alliance demo

## bench: set up, then the benchmark scenarios, each beside its baseline from the same run.
bench: setup
	$(BIN)/python -m bench

demo-data: setup
	$(BIN)/alliance demo-data

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

## clean: remove the virtualenv and project-local server data (never the machine's own servers).
clean:
	-python3 scripts/infra.py clean-local
	rm -rf $(VENV) .local
