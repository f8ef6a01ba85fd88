"""What diarization finds, and the one interface every diarization engine offers (like the transcriber's).

A :class:`Diarizer` takes mono 16 kHz float32 audio and returns :class:`SpeakerTurn` s: who spoke when. Turns of
different speakers may overlap (overlapping speech). Labels (``"SPEAKER_00"``, ``"SPEAKER_01"``...) are stable
within one result only; names come from people (and from voice profiles).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["SAMPLE_RATE", "Diarization", "Diarizer", "SpeakerTurn"]

#: Sample rate (Hz) of the audio a diarizer is given.
SAMPLE_RATE = 16_000


@dataclass(frozen=True, slots=True)
class SpeakerTurn:
    """One stretch of one speaker's speech: ``start``/``end`` in seconds from the start of the recording."""

    start: float
    end: float
    speaker: str


@dataclass(slots=True)
class Diarization:
    """A diarizer's result.

    Attributes:
        turns: speaker turns sorted by start; turns of two speakers overlap where both speak.
        speakers: the labels found, in order of first appearance (empty for silence).
        embeddings: each label's voice embedding (the mean of its turns' embeddings, L2-normalised), for
            voice profiles; empty where the engine has none.
        model: what ran (for the task's result), e.g. ``"pyannote-segmentation-3.0+..."``.
        duration_s: the audio's length in seconds.
    """

    turns: list[SpeakerTurn]
    speakers: list[str]
    embeddings: dict[str, list[float]] = field(default_factory=dict)
    model: str = ""
    duration_s: float = 0.0


class Diarizer(Protocol):
    """Who spoke when, on mono audio at :data:`SAMPLE_RATE`."""

    def diarize(
        self,
        audio: npt.NDArray[np.float32],
        *,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Diarization:
        """Diarize ``audio`` (shape ``(samples,)``, float32 in -1..1, 16 kHz).

        ``num_speakers`` fixes the count; else it is found, within ``min_speakers``..``max_speakers`` when given.
        ``on_progress(fraction 0..1, message)`` is called as it goes; it stops early (raising
        :class:`~stenograph.errors.TaskCancelled`) once ``should_stop()`` is true.

        Raises:
            TaskCancelled: ``should_stop()`` became true.
            PermanentError: the model files are missing or damaged (a subclass, as WhisperModelError is).
        """
        ...
