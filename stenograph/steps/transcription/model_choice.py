"""Which Whisper model transcribes a recording: the right model for its language, and for a translation.

The default model (``settings.whisper_model = "tiny.en"``) knows English only: given German it writes
English nonsense. :func:`choose_model` runs once per transcription, before the first window. Its ``check``
is ``"switch"`` when the upload named no model, ``"warn"`` when it named one (the worker's transcriber
factory, :func:`~stenograph.steps.base.whisper_transcriber`, decides), ``"off"`` for a transcriber built
directly on a model (tests, benchmarks): that model is used as it is, and only a translation is checked.

* The model is multilingual, or the upload asked for English (``language="en"``, task ``transcribe``):
  nothing changes.
* The model is English-only and the upload **did not name a model** (``check="switch"``):

  - a translation (task ``translate``) or another language asked for (``language="de"``) → the
    multilingual model ``settings.whisper_multilingual_model`` (``"base"``) with that language;
  - no language asked for → the language is identified with the multilingual model on the speech Silero
    VAD finds at the start of the recording (:func:`detect_speech_language`: at most
    :data:`DETECTION_SPEECH_S` of speech, found in steps of :data:`DETECTION_SCAN_S` of audio); not English
    (with any probability: Whisper's own choice, ``WhisperModel.detect_language``) → the multilingual model
    with that language, else the English-only model.

* The model is English-only and the upload **named it** (``check="warn"``): it is kept. A translation is
  refused (:class:`PermanentError`, ``bad_options``: the submission refuses it earlier, with a 422); when the
  speech is identified as another language, a warning says so and which model to choose.

The multilingual model is loaded once per process and kept (:func:`~.whisper_models.load_whisper`'s cache),
so after the first recording a check costs one VAD pass over at most :data:`DETECTION_SCAN_S` seconds per
step and one Whisper encoder pass (see ``bench/language_bench.py`` and ``docs/languages.md`` for figures).
When the multilingual model cannot be loaded (its packages missing), an automatic check is skipped with a
warning and the English-only model is kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from stenograph.errors import ConfigurationError, PermanentError
from stenograph.settings import Settings
from stenograph.steps.transcription.whisper_models import load_whisper, loaded_model_name

__all__ = [
    "DETECTION_SCAN_S",
    "DETECTION_SPEECH_S",
    "LanguageCheck",
    "ModelChoice",
    "choose_model",
    "detect_speech_language",
    "is_english_only",
    "multilingual_settings",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
#: What an English-only model does with other languages: see the module docstring.
LanguageCheck = Literal["switch", "warn", "off"]

#: Seconds of speech the language is identified on, at most.
DETECTION_SPEECH_S = 10.0
#: Speech shorter than this is padded to it (a few frames alone say little).
DETECTION_MIN_S = 2.0
#: Seconds of audio searched for speech at a time (Silero VAD), until some is found or the audio ends.
DETECTION_SCAN_S = 30.0


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """The model a transcription uses.

    Attributes:
        model: the loaded ``faster_whisper.WhisperModel``.
        name: its name as recorded in the transcript (``"tiny.en"``, ``"base"``, a folder's name).
        language: the language fixed for the run, or None to let the model detect it.
        probability: the probability of ``language`` (1.0 when asked for; the detector's when detected).
        detected: the language identified by the multilingual model, when it was asked (else None).
        detection_s: seconds the identification took (VAD and encoder; the model load excluded), or None.
    """

    model: Any
    name: str
    language: str | None
    probability: float
    detected: str | None = None
    detection_s: float | None = None


def is_english_only(model: Any) -> bool:
    """Whether a loaded ``WhisperModel`` knows English only (``*.en`` models)."""
    return not bool(model.model.is_multilingual)


def multilingual_settings(settings: Settings) -> Settings | None:
    """``settings`` naming the multilingual model, or None when switching is off
    (``whisper_multilingual_model`` empty)."""
    name = settings.whisper_multilingual_model.strip()
    if not name:
        return None
    return settings.model_copy(update={"whisper_model": name})


def detect_speech_language(model: Any, audio: npt.NDArray[np.float32]) -> tuple[str, float] | None:
    """The language of the first speech in ``audio`` (16 kHz mono float32): ``(ISO 639-1 code,
    probability)``, or None when Silero VAD finds no speech.

    The audio is searched :data:`DETECTION_SCAN_S` seconds at a time; the speech of the first part holding
    any (at most :data:`DETECTION_SPEECH_S` seconds of it, silences cut out, so that leading silence or
    music does not decide the language) goes through Whisper's encoder and its language-token step
    (CTranslate2's ``Whisper.detect_language``, which faster-whisper's ``WhisperModel.detect_language``
    calls). Unlike faster-whisper, the mel features are **not padded to 30 s**: the encoder's cost grows
    with its input (self-attention), and 10 s of speech cost about a sixth of a padded input (0.24 s of
    CPU instead of 1.4 s for base int8, measured here) with the same language found on every corpus clip
    (``docs/languages.md``); whisper.cpp's ``audio_ctx`` option shortens the encoder input the same way.
    Speech shorter than :data:`DETECTION_MIN_S` is padded with silence up to it.
    """
    from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

    step = round(DETECTION_SCAN_S * SAMPLE_RATE)
    for begin in range(0, len(audio), step):
        part = audio[begin : begin + step]
        chunks = get_speech_timestamps(part, VadOptions())
        if not chunks:
            continue
        speech = np.concatenate(collect_chunks(part, chunks)[0])[: round(DETECTION_SPEECH_S * SAMPLE_RATE)]
        frames = max(len(speech), round(DETECTION_MIN_S * SAMPLE_RATE)) // model.feature_extractor.hop_length
        features = model.feature_extractor(speech)[..., :frames]  # the extractor pads; keep the speech's frames
        token, probability = model.model.detect_language(model.encode(features))[0][0]
        return str(token)[2:-2], float(probability)  # "<|de|>" -> "de"
    return None


def choose_model(
    settings: Settings,
    model: Any,
    *,
    check: LanguageCheck,
    language: str | None,
    task: str,
    first_audio: Callable[[], npt.NDArray[np.float32]],
    warnings: list[str],
) -> ModelChoice:
    """The model and language for one transcription (the rules are in the module docstring).

    Args:
        settings: the settings of ``model`` (``whisper_model``) and ``whisper_multilingual_model``.
        model: the loaded model of ``settings``.
        check: ``"switch"``, ``"warn"`` or ``"off"`` (module docstring).
        language: the language asked for, or None.
        task: ``"transcribe"`` or ``"translate"``.
        first_audio: the first window's samples (called only when the language must be identified).
        warnings: a warning is appended here when a named English-only model meets other speech, or when
            the multilingual model could not be loaded for a check.

    Raises:
        PermanentError: (``bad_options``) a translation with an English-only model that was named
            (``check`` not ``"switch"``), or with switching off (no multilingual model set).
        ConfigurationError, ModelIntegrityError: the multilingual model was needed and cannot be loaded.
    """
    own = ModelChoice(model, loaded_model_name(settings), language, 1.0 if language else 0.0)
    if not is_english_only(model):
        return own
    english = ModelChoice(model, own.name, "en", 1.0)
    chosen = check != "switch"
    other = multilingual_settings(settings)
    if task == "translate":
        if chosen or other is None:
            raise PermanentError(
                f"the model {own.name} transcribes English only and cannot translate: choose a multilingual "
                "model such as model=base",
                kind="bad_options",
            )
        return ModelChoice(load_whisper(other), loaded_model_name(other), language, 1.0 if language else 0.0)
    if language == "en" or other is None or check == "off":
        return english
    if language is not None:
        if chosen:
            warnings.append(f"the model {own.name} transcribes English only; language {language!r} was not used")
            return english
        return ModelChoice(load_whisper(other), loaded_model_name(other), language, 1.0)
    try:
        detector = load_whisper(other)
    except ConfigurationError as exc:
        warnings.append(f"the language was not checked ({exc}); the model {own.name} transcribes English only")
        return english
    began = time.monotonic()
    found = detect_speech_language(detector, first_audio())
    took = time.monotonic() - began
    if found is None or found[0] == "en":
        logger.info("language check: %s on %.2f s; keeping %s", found, took, own.name)
        return ModelChoice(model, own.name, "en", found[1] if found else 1.0, "en" if found else None, took)
    code, probability = found
    if chosen:
        warnings.append(
            f"the speech seems to be in language {code!r} (probability {probability:.2f}), but the model "
            f"{own.name} chosen for this upload transcribes English only: choose a multilingual model such as "
            "model=base"
        )
        return ModelChoice(model, own.name, "en", 1.0, code, took)
    name = loaded_model_name(other)
    logger.info("language check: %s (p=%.2f) on %.2f s; transcribing with %s", code, probability, took, name)
    return ModelChoice(detector, name, code, probability, code, took)
