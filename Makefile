# Every task people run. `make help` lists them.
# Only the machine's python3 is assumed: uv itself is installed from PyPI into .tools/,
# and uv never downloads a Python (UV_PYTHON_DOWNLOADS=never).

PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
# The packages' build-system pins uv_build to this minor version, so uv builds them in process (a test checks).
UV_VERSION ?= 0.13.9

TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(shell $(PYTHON) -c "import sys; print(sys.executable)")
export UV_LINK_MODE := copy
export UV_NO_PROGRESS := 1
RUN := $(UV) run --locked --no-sync

.DEFAULT_GOAL := help
.PHONY: help install serve serve-echo test test-fast lint typecheck build bench clean

help: ## list the tasks
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

# A venv without pip of its own (the machine's pip installs into it): half the time of a full venv.
$(UV):
	$(PYTHON) -m venv --without-pip $(TOOLS)
	$(PYTHON) -m pip --python $(TOOLS)/bin/python install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.venv/.synced: $(UV) uv.lock pyproject.toml $(wildcard packages/*/pyproject.toml)
	$(UV) sync --locked --all-packages
	@touch $@

install: .venv/.synced ## create .venv with every package and tool (uv from PyPI, the machine's python3)

# What serving the samples needs and nothing more (no development tools): the channels that need
# no outside account, and the test kit for the samples' agents and the openai SDK; Telegram when
# TELEGRAM_BOT_TOKEN is set, PostgreSQL when HOSTING_DATABASE_URL is (each adds its own stamp).
# Added to .venv without removing anything (--inexact), so it never undoes `make install`.
SERVE_PACKAGES := --package hosting-responses --package hosting-testing --package hosting-a2a --package hosting-mcp --package hosting-ui
# $(value ...): a secret is never expanded by make (a `$(` in a password would break every task).
SERVE_OPTIONAL := $(if $(strip $(value TELEGRAM_BOT_TOKEN)),telegram) $(if $(strip $(value HOSTING_DATABASE_URL)),postgres)
SERVE_STAMP := .venv/.serve-synced$(if $(filter telegram,$(SERVE_OPTIONAL)),-telegram)$(if $(filter postgres,$(SERVE_OPTIONAL)),-postgres)

.venv/.serve-synced: $(UV) uv.lock pyproject.toml $(wildcard packages/*/pyproject.toml)
	$(UV) sync --locked --no-dev --inexact $(SERVE_PACKAGES)
	@touch $@

ifneq ($(SERVE_STAMP),.venv/.serve-synced)
$(SERVE_STAMP): $(UV) uv.lock pyproject.toml $(wildcard packages/*/pyproject.toml)
	$(UV) sync --locked --no-dev --inexact $(SERVE_PACKAGES) $(foreach name,$(SERVE_OPTIONAL),--package hosting-$(name))
	@touch $@
endif

# `exec`: the server is make's own child, so Ctrl-C and SIGTERM reach it directly; it shuts down
# gracefully and exits 0.
serve: $(SERVE_STAMP) ## run the default agent behind the Responses channel on $(HOST):$(PORT), SQLite store
	@exec .venv/bin/python samples/default_agent.py --host $(HOST) --port $(PORT)

serve-echo: .venv/.serve-synced ## run the echo agent behind the Responses channel on $(HOST):$(PORT)
	@exec .venv/bin/python samples/echo.py --host $(HOST) --port $(PORT)

lint: install ## ruff check and format check
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: install ## mypy --strict over every package's source and the samples
	$(RUN) mypy $(wildcard packages/*/src)
	MYPYPATH=samples $(RUN) mypy samples

test: install lint typecheck ## lint, type check and every test
	bash scripts/ensure-chromium.sh
	bash scripts/postgres.sh install && bash scripts/nginx.sh install
	$(RUN) pytest

test-fast: install ## the tests only
	$(RUN) pytest -x -q

build: install ## build every wheel into dist/
	$(UV) build --all-packages --no-sources --out-dir dist

bench: install ## measure the host against a bare Starlette app, and each channel and store (see docs/benchmarks.md)
	$(RUN) python benchmarks/run.py
	$(RUN) python benchmarks/a2a_bench.py
	$(RUN) python benchmarks/mcp_bench.py
	bash scripts/postgres.sh install && $(RUN) python benchmarks/postgres_bench.py

clean: ## remove the environment, caches and build output
	rm -rf .venv .tools dist .pytest_cache .mypy_cache .ruff_cache .hypothesis bench-results
