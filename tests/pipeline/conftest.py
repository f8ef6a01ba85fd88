"""Fixtures of the pipeline tests: generated audio, the speech corpus, settings and the tiny.en model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stenograph.settings import Settings, build_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with the data folder in ``tmp_path``; tiny.en, no downloads."""
    return build_settings(data_dir=tmp_path / "data", whisper_model="tiny.en", whisper_allow_download=False)


@pytest.fixture(scope="session")
def tiny_model() -> Iterator[Any]:
    """The process's tiny.en ``WhisperModel`` (loaded once)."""
    from stenograph.steps.transcription.whisper_models import load_whisper

    yield load_whisper(build_settings(whisper_model="tiny.en"))
