# From a fresh clone: `make demo` and `make test` need only python3 (with venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUNTIME := $(VENV)/.runtime

.PHONY: install lint test demo db db-stop clean

# Everything: tests, linters, the deployment tools.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUNTIME)

# Only what migrator, the demo and the local database need.
$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local]'
	touch $(RUNTIME)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy migrator src devtools bench

test: lint
	$(BIN)/pytest

demo: $(RUNTIME)
	$(BIN)/python -m devtools.demo

# A local PostgreSQL that stays up (data in .localdb/); prints its DATABASE_URL.
db: $(RUNTIME)
	$(BIN)/python -m devtools.localdb start

db-stop: $(RUNTIME)
	$(BIN)/python -m devtools.localdb stop

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Benchmarks (issue 4): BENCH_QUICK=1 for a smoke run, BENCH_ROUNDS=N, BENCH_JSON=path.
.PHONY: bench
bench: install
	$(BIN)/python -m bench

# The deployment image (README, "Deployment"); docker-compose.yml uses the same tag.
.PHONY: image
image:
	docker build -f Dockerfile.migrate -t travelpacker/migrator:dev .
