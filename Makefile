# The lakehouse batch layer. Start with `make demo` and `make test` (README.md).
# Ports and buckets are configurable: make up TRINO_PORT=8190 MINIO_PORT=9100
SHELL := /bin/bash
.DEFAULT_GOAL := help

include versions.env
export MINIO_PORT ?= 9000
export MINIO_CONSOLE_PORT ?= 9001
export TRINO_PORT ?= 8090
export TRINO_INTERNAL_PORT ?= 8091
export POSTGRES_PORT ?= 5433
export AIRFLOW_PORT ?= 8081
export SUPERSET_PORT ?= 8088
export RAW_BUCKET ?= enriched-events
export LAKE_BUCKET ?= lakehouse
export UV_PYTHON_DOWNLOADS := never

VENV := .venv
PY := $(VENV)/bin/python
LAKEHOUSE := $(VENV)/bin/lakehouse
TRINO_USER ?= pipeline
# make test: pytest-xdist workers (tests/integration/conftest.py groups what shares a server)
TEST_WORKERS ?= 3
# The tests' Spark drivers are short-lived JVMs on small days: the C1 compiler alone
# compiles what they run for about a fifth less CPU than C1 + C2 (the same wall time for
# one 6,000-event run alone, less when two runs share the 2 cores). Not for real days:
# the 1.3M-event day wants C2's code.
TEST_JAVA_OPTIONS ?= -XX:TieredStopAtLevel=1
# Trino's CLI over HTTPS, logged in as TRINO_USER with its password from .local/secrets.env
TRINO_CLI = bash scripts/stack.sh trino-cli $(TRINO_USER)

.PHONY: help setup up down cluster-up cluster-down status demo lint test unit bench capacity docs sql trino-cli generate run backfill rollback replay maintain airflow-run airflow superset-import superset-export screenshots image image-smoke

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

setup:  ## install what is missing (venvs, Spark packages, MinIO, Trino, JDK, PostgreSQL, Airflow, Superset, credentials); cached
	@bash scripts/setup.sh

up: setup  ## start MinIO, Trino, PostgreSQL, Airflow and Superset on 127.0.0.1 and wait until they are healthy
	@bash scripts/stack.sh up

down:  ## stop the servers that `make up` (and `make cluster-up`) started (by their pid files)
	@bash scripts/cluster.sh down && bash scripts/stack.sh down

cluster-up: up  ## the scale-out rehearsal on loopback: Spark master + 2 workers, Hive Metastore, Trino coordinator + worker
	@bash scripts/cluster.sh up

cluster-down:  ## stop what `make cluster-up` started (by their pid files)
	@bash scripts/cluster.sh down

status:  ## which servers are running
	@bash scripts/stack.sh status

DEMO_DATE ?= 2026-11-20
demo: up  ## generate a day, curate it with spark-submit, print what landed (through Trino)
	@$(LAKEHOUSE) smoke > /dev/null
	@$(PY) -m jobs.raw_exists $(DEMO_DATE) || $(LAKEHOUSE) generate --date $(DEMO_DATE) --events $(EVENTS) --seed $(SEED)
	@$(LAKEHOUSE) run --date $(DEMO_DATE)
	@$(LAKEHOUSE) report --date $(DEMO_DATE)
	@. .local/secrets.env && printf '\nAirflow   http://127.0.0.1:%s  (user admin, password %s; in .local/secrets.env)\n' \
	  "$(AIRFLOW_PORT)" "$$AIRFLOW_ADMIN_PASSWORD"
	@echo "          DAGs lakehouse_daily and lakehouse_backfill; run a day through the scheduler: make airflow-run DATE=$(DEMO_DATE)"
	@. .local/secrets.env && printf 'Superset  http://127.0.0.1:%s  (user admin, password %s; in .local/secrets.env)\n' \
	  "$(SUPERSET_PORT)" "$$SUPERSET_ADMIN_PASSWORD"
	@echo "          the dashboards, their date filter on $(DEMO_DATE) (by default: the last month):"
	@$(PY) scripts/dashboard_browser.py urls --range "$(DEMO_DATE) : $$(date -u -d '$(DEMO_DATE) + 1 day' +%F)" | sed 's/^/          /'

lint: setup  ## ruff (lint rules, format) and mypy over the Python code (pyproject.toml); ruff format . fixes the format
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

test: setup lint  ## lint, then the whole test suite against the real servers (starts and stops them if needed)
	@if bash scripts/stack.sh is-up; then started=no; else started=yes; fi; \
	bash scripts/stack.sh up && LAKEHOUSE_SPARK_DRIVER_JAVA_OPTIONS="$(TEST_JAVA_OPTIONS)" \
	  $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS); rc=$$?; \
	if [ $$started = yes ]; then bash scripts/cluster.sh down; bash scripts/stack.sh down; fi; exit $$rc

unit: setup  ## the fast tests, no servers needed (tests/unit, under a minute): make unit PYTEST_ARGS="-k dags"
	@$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

BENCH_ARGS ?=
bench: up  ## the daily job at 1.3M events, stage by stage, beside naive Spark and DuckDB -> bench/results/
	@$(PY) -m bench.run $(BENCH_ARGS)

CAPACITY_ARGS ?=
capacity: up  ## executors, Trino workers and storage for 10M-1B events a day, from the last make bench -> bench/results/
	@$(PY) -m bench.capacity $(CAPACITY_ARGS)

DATE ?= $(shell date -u -d yesterday +%F)
EVENTS ?= 1300000
SEED ?= 42
generate: up  ## write a day of enriched events to MinIO: make generate DATE=YYYY-MM-DD EVENTS=N SEED=S
	@$(LAKEHOUSE) generate --date $(DATE) --events $(EVENTS) --seed $(SEED)

run: up  ## curate one day with spark-submit: make run DATE=YYYY-MM-DD
	@$(LAKEHOUSE) run --date $(DATE)

backfill: up  ## curate days one after another: make backfill START=YYYY-MM-DD END=YYYY-MM-DD (END exclusive) [DAYS_PER_RUN=5]
	@$(LAKEHOUSE) run --start $(START) --end $(END) --days-per-run $(or $(DAYS_PER_RUN),1)

rollback: up  ## restore the tables to their versions before a run: make rollback RUN_ID=...
	@$(LAKEHOUSE) rollback --run-id $(RUN_ID)

replay: up  ## re-validate quarantined lines after a contract fix
	@$(LAKEHOUSE) replay-quarantine

maintain: up  ## compact the tables (Delta OPTIMIZE), checkpoint their logs, VACUUM files older than LAKEHOUSE_RETENTION_DAYS (7)
	@$(LAKEHOUSE) maintain

docs:  ## where the quality gates' Data Docs are: each run's site in the lake, latest last
	@$(LAKEHOUSE) docs

airflow-run: up  ## curate a day through the running Airflow (REST trigger of lakehouse_daily) and wait: make airflow-run DATE=YYYY-MM-DD
	@set -a && . .local/secrets.env && . .local/airflow/airflow.env && set +a && \
	  airflow/.venv/bin/python scripts/airflow_run.py --date $(DATE)

airflow:  ## the airflow command with the local stack's configuration: make airflow A="dags list"
	@bash scripts/airflow.sh $(A)

superset-import: up  ## import the dashboards in superset/assets into the running Superset again (by uuid, overwriting)
	@bash scripts/superset.sh import

superset-export: up  ## write the running Superset's dashboards back into superset/assets (no URI, no local ids): review with git diff
	@bash scripts/superset.sh export

RANGE ?=
screenshots: up  ## check the dashboards in headless chromium and save small PNGs for the README (docs/img/): make screenshots RANGE='2026-11-10 : 2026-11-15'
	@set -a && . .local/secrets.env && set +a && \
	  $(PY) scripts/dashboard_browser.py screenshots docs/img --optimise $(if $(RANGE),--range '$(RANGE)')

image:  ## build the jobs image lakehouse/jobs:VERSION with buildah, no Docker engine (Debian base by debootstrap once; cached layers)
	@bash scripts/image.sh build

image-smoke: up image  ## run the smoke job (spark-submit) inside the jobs image against the local MinIO and Trino
	@bash scripts/image.sh smoke

sql: up  ## run one statement on Trino: make sql Q="SELECT 1" [TRINO_USER=analyst] (logs in with that user's password)
	@test -n "$(Q)" || { echo 'usage: make sql Q="SELECT ..." [TRINO_USER=pipeline|analyst]' >&2; exit 2; }
	@$(TRINO_CLI) --output-format ALIGNED --execute "$$Q"

trino-cli: up  ## an interactive Trino session
	@$(TRINO_CLI)
