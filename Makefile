# The two commands README.md starts with: `make demo` and `make test`. Both set up first.
VENV ?= .venv
STAMP := $(VENV)/.setup-done

.PHONY: setup demo test test-fast lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/no-deps.txt scripts/setup.sh
	VENV=$(VENV) scripts/setup.sh
	touch $(STAMP)

demo: setup
	$(VENV)/bin/vigil demo

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

test-fast: setup
	$(VENV)/bin/pytest -m "not slow"

bench: setup
	$(VENV)/bin/python -m bench.pipeline

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
