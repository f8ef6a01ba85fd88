"""Fixtures of the pipeline tests: generated audio, the speech corpus, settings and the tiny.en model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from audio_factory import AudioFactory, corpus_dir, tools_missing

from stenograph.settings import Settings, build_settings


@pytest.fixture(scope="session")
def audio(tmp_path_factory: pytest.TempPathFactory) -> AudioFactory:
    """Session-wide :class:`AudioFactory`; skips when espeak-ng, sox or ffmpeg is missing."""
    missing = tools_missing()
    if missing:
        pytest.skip(f"audio generation needs {', '.join(missing)} (apt-get install espeak-ng sox ffmpeg)")
    return AudioFactory(tmp_path_factory.mktemp("audio"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The speech corpus folder; skips with the reason when it is absent."""
    folder = corpus_dir()
    if not (folder / "MANIFEST.tsv").is_file():
        pytest.skip(f"speech corpus not found at {folder} (set STENOGRAPH_CORPUS_DIR)")
    return folder


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with the data folder in ``tmp_path``; tiny.en, no downloads."""
    return build_settings(data_dir=tmp_path / "data", whisper_model="tiny.en", whisper_allow_download=False)


@pytest.fixture(scope="session")
def tiny_model() -> Iterator[Any]:
    """The process's tiny.en ``WhisperModel`` (loaded once)."""
    from stenograph.pipeline.whisper_models import load_whisper

    yield load_whisper(build_settings(whisper_model="tiny.en"))
