"""Word timestamps are on by default (subtitle cues are cut at word times); the option still turns them off,
from an upload's fields and from ``stenograph transcribe``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stenograph import cli_transcribe
from stenograph.cli import app
from stenograph.settings import build_settings
from stenograph.steps.submit import PipelineRequest


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, True), ("", True), ("true", True), ("false", False), ("off", False), (False, False), (True, True)],
)
def test_an_uploads_word_timestamps_default_on(given: Any, expected: bool) -> None:
    settings = build_settings()
    request = PipelineRequest.build(settings, steps=["transcription"], word_timestamps=given)
    assert request.word_timestamps is expected
    assert request.transcription_options()["word_timestamps"] is expected
    assert PipelineRequest(steps=["transcription"]).word_timestamps is True


@pytest.mark.parametrize(("flag", "expected"), [([], True), (["--no-word-timestamps"], False)])
def test_the_cli_times_words_unless_told_not_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: list[str], expected: bool
) -> None:
    seen: dict[str, Any] = {}

    def run_local(jobs: Any, settings: Any, fmt: str, output_dir: Path, language: Any, model: Any, **kw: Any) -> None:
        seen.update(kw)

    monkeypatch.setattr(cli_transcribe, "_run_local", run_local)
    clip = tmp_path / "a.wav"
    clip.write_bytes(b"RIFF")
    result = CliRunner().invoke(app, ["transcribe", str(clip), "-o", str(tmp_path), "--data-dir", str(tmp_path), *flag])
    assert result.exit_code == 0, result.output
    assert seen == {"words": expected}
