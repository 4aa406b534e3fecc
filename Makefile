# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench env system-deps

$(STAMP): pyproject.toml
	bash scripts/setup-env.sh $(VENV)
	touch $(STAMP)

env: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/hotline-bridge demo $(ARGS)

test: $(STAMP)
	bash scripts/run-tests.sh $(VENV)

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m benchmarks $(ARGS)
