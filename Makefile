# parkops — quick start: `make demo`, then `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
# `airflow standalone` starts its components as `airflow ...` from PATH.
export PATH := $(BIN):$(PATH)

# Everything below is overridable from the environment (see README, "Configuration").
export PARKOPS_HOME ?= $(CURDIR)
export PARKOPS_LANDING_DIR ?= $(CURDIR)/data/landing
export PARKOPS_WAREHOUSE_URL ?= duckdb:///$(CURDIR)/data/warehouse/parkops.duckdb
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER ?= $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER ?= $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES ?= False
export AIRFLOW__CORE__DEFAULT_TIMEZONE ?= Asia/Shanghai
export AIRFLOW_CONN_PARKOPS_WAREHOUSE ?= $(PARKOPS_WAREHOUSE_URL)
export GX_ANALYTICS_ENABLED ?= False
# Reports and alerts go through the Airflow connection smtp_default (SMTP provider). Default: the
# local outbox server of `make demo` / `make outbox` on loopback, which keeps each message as a
# .eml file; set AIRFLOW_CONN_SMTP_DEFAULT to your mail server (README, "Reports").
PARKOPS_OUTBOX_PORT ?= 8025
PARKOPS_OUTBOX_DIR ?= $(CURDIR)/data/reports/outbox
export AIRFLOW_CONN_SMTP_DEFAULT ?= {"conn_type": "smtp", "host": "127.0.0.1", "port": $(PARKOPS_OUTBOX_PORT), "extra": {"disable_ssl": true, "disable_tls": true, "timeout": 30, "retry_limit": 3}}
export NO_COLOR ?= 1

# Sample range of the demo (delivery days) and generator seed.
SAMPLE_FROM ?= 2025-01-02
SAMPLE_TO ?= 2025-03-31
SEED ?= 20250101
FROM ?= $(SAMPLE_FROM)
TO ?= $(SAMPLE_TO)

.PHONY: help setup airflow-init sample run progress health data-docs demo airflow test lint format clean bench docs report reports outbox chromium

help:
	@echo "make demo      set up, generate sample data, run the pipeline through Airflow, print KPI progress"
	@echo "make test      set up and run the test suite"
	@echo "make run FROM=YYYY-MM-DD TO=YYYY-MM-DD   run every feed and the marts through Airflow for those delivery days"
	@echo "make airflow   start the Airflow UI (standalone) on this setup"
	@echo "make report PERIOD=2025-W10   render a past week's (or PERIOD=2025-03 month's) report without sending it"
	@echo "make health    per feed: last delivery and load, rows and quarantine share (30 days), open incidents"
	@echo "make outbox    local SMTP server keeping the reports sent as .eml files (data/reports/outbox)"
	@echo "make lint      ruff"

$(UV):
	@echo ">> installing uv (not found on PATH) into .tools/"
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet uv==0.13.8

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

setup: $(VENV)/.synced

$(AIRFLOW_HOME)/.initialised: $(VENV)/.synced
	@mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || (tail -30 $(AIRFLOW_HOME)/db-migrate.log; exit 1)
	$(BIN)/airflow pools set warehouse_writer 1 "Serialises warehouse writers: DuckDB admits one writer process" > /dev/null
	@touch $@

airflow-init: $(AIRFLOW_HOME)/.initialised

sample: setup
	$(BIN)/python -m parkops_tools.generator all --landing $(PARKOPS_LANDING_DIR) --from $(SAMPLE_FROM) --to $(SAMPLE_TO) --seed $(SEED)

# One run per feed over the whole range, then the mart rebuild (which the scheduler would
# trigger through the feeds' assets; `airflow dags test` does not).
PIPELINE_DAGS := ingest_enterprise_registrations ingest_visit_logs ingest_incubator_reports ingest_manual_statistics build_marts

# RUN_ARGS=--continue-on-held: a batch held by the quality gate does not stop the next DAGs.
RUN_ARGS ?=
run: airflow-init
	$(BIN)/python -m parkops_tools.run_dag $(PIPELINE_DAGS) --from $(FROM) --to $(TO) $(RUN_ARGS)

progress: setup
	@$(BIN)/python -m parkops.cli progress

health: setup
	@$(BIN)/python -m parkops.cli health

# Great Expectations Data Docs: the suites and each feed's latest 30 runs' validation results
# (data/data_docs; served at /parkops/data-docs/ in the UI). build_marts builds it after every rebuild.
data-docs: setup
	$(BIN)/python -m parkops.quality.data_docs

# The sample's planted defects include a delivery the quality gate holds (registrations
# 2025-03-09: a file refused whole): the demo goes on, and its alert lands in the outbox.
demo: airflow-init sample
	@start=$$(date +%s); \
	$(BIN)/python -m parkops_tools.outbox --folder $(PARKOPS_OUTBOX_DIR) --port $(PARKOPS_OUTBOX_PORT) > $(AIRFLOW_HOME)/outbox.log 2>&1 & \
	outbox=$$!; sleep 1; \
	$(MAKE) --no-print-directory run FROM=$(SAMPLE_FROM) TO=$(SAMPLE_TO) RUN_ARGS=--continue-on-held && \
	$(MAKE) --no-print-directory reports PARKOPS_OUTBOX_RUNNING=1 && \
	$(BIN)/python -m parkops.cli progress && \
	echo "" && $(BIN)/python -m parkops.cli gate list; status=$$?; \
	kill $$outbox; wait $$outbox 2>/dev/null; cat $(AIRFLOW_HOME)/outbox.log; \
	test $$status = 0 && \
	echo "" && echo "pipeline and reports through Airflow took $$(( $$(date +%s) - start )) s; rejected files and quarantine: python -m parkops.cli files; health: make health" && \
	echo "reports and alerts sent (through the local outbox): $(PARKOPS_OUTBOX_DIR); archived: data/reports/weekly, data/reports/monthly (open report.html)"

# The weekly and monthly report of the latest periods whose data is ready, sent through SMTP to
# the local outbox (started for the occasion unless AIRFLOW_CONN_SMTP_DEFAULT points elsewhere).
reports: airflow-init
	@if [ -n "$(PARKOPS_OUTBOX_RUNNING)" ]; then \
	  exec $(BIN)/python -m parkops_tools.run_dag send_weekly_report send_monthly_report; fi; \
	$(BIN)/python -m parkops_tools.outbox --folder $(PARKOPS_OUTBOX_DIR) --port $(PARKOPS_OUTBOX_PORT) > $(AIRFLOW_HOME)/outbox.log 2>&1 & \
	outbox=$$!; sleep 1; \
	$(BIN)/python -m parkops_tools.run_dag send_weekly_report send_monthly_report; status=$$?; \
	kill $$outbox; wait $$outbox 2>/dev/null; cat $(AIRFLOW_HOME)/outbox.log; exit $$status

report: setup
	@test -n "$(PERIOD)" || (echo "usage: make report PERIOD=2025-W10 (ISO week) or PERIOD=2025-03 (month)"; exit 2)
	$(BIN)/python -m parkops.report render --period $(PERIOD)

outbox: setup
	$(BIN)/python -m parkops_tools.outbox --folder $(PARKOPS_OUTBOX_DIR) --port $(PARKOPS_OUTBOX_PORT)

airflow: airflow-init
	$(BIN)/airflow standalone

# Headless Chromium renders the archived report in the tests (Debian's package; root or sudo).
chromium:
	@command -v chromium > /dev/null || { echo ">> installing Debian's chromium for the report rendering test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y --no-install-recommends chromium > /dev/null 2>&1 || \
	  { $$SUDO apt-get update > /dev/null && $$SUDO apt-get install -y --no-install-recommends chromium > /dev/null; } || \
	  echo "!! could not install chromium: the report rendering test will skip (and fail under CI=true)"; }

# PYTEST_ARGS: e.g. "-n 0" (one process), "-x tests/unit".
test: setup chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf data/landing data/warehouse data/reports data/data_docs .airflow .pytest_cache

# Pipeline benchmark, both engines, one run: 3-year catch-up and daily increment through Airflow, one-run-per-day
# sample, stages and profile in process, write-stage baselines (README, "Benchmark"). Table on stdout, JSON in
# data/bench/. PostgreSQL: PARKOPS_BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
# options: BENCH_ARGS="--quick" (2 months), "--help". Synthetic 1M-row write stage alone: bench/registration_load.py.
bench: setup
	$(BIN)/python bench/catchup.py $(BENCH_ARGS)

# Analysts' guide docs/warehouse.md, generated from the DDL comments and docs/queries/*.sql (tests/unit/test_docs.py fails when stale).
docs: setup
	$(BIN)/python -m parkops_tools.docs --write
