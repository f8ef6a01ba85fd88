"""A scripted :class:`~stenograph.steps.diarization.diarizer.Diarizer` for tests: it returns given turns, honours
``should_stop`` and reports progress like a real engine, and records its calls (like
:class:`~stenograph.steps.transcription.fake.ScriptedTranscriber`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from stenograph.errors import TaskCancelled
from stenograph.steps.diarization.diarizer import SAMPLE_RATE, Diarization, SpeakerTurn

__all__ = ["DiarizeCall", "ScriptedDiarizer"]


@dataclass
class DiarizeCall:
    """One call of :meth:`ScriptedDiarizer.diarize`, for assertions (``samples``: the audio's length)."""

    samples: int
    num_speakers: int | None
    min_speakers: int | None
    max_speakers: int | None


@dataclass
class ScriptedDiarizer:
    """A fake :class:`Diarizer` returning ``turns`` (sorted by start), whatever the audio.

    ``speakers`` defaults to the turns' labels in order of first appearance; ``embeddings`` are returned as given.
    ``error`` is raised instead of a result; ``should_stop()`` true on entry raises
    :class:`~stenograph.errors.TaskCancelled`.
    """

    turns: Sequence[SpeakerTurn] = ()
    speakers: Sequence[str] | None = None
    embeddings: dict[str, list[float]] = field(default_factory=dict)
    model: str = "scripted-diarizer"
    error: BaseException | None = None
    calls: list[DiarizeCall] = field(default_factory=list)

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
        self.calls.append(DiarizeCall(len(audio), num_speakers, min_speakers, max_speakers))
        if self.error is not None:
            raise self.error
        if should_stop is not None and should_stop():
            raise TaskCancelled("diarization cancelled")
        turns = sorted(self.turns, key=lambda t: (t.start, t.end))
        labels = list(self.speakers) if self.speakers is not None else list(dict.fromkeys(t.speaker for t in turns))
        if on_progress is not None:
            on_progress(1.0, "diarized")
        return Diarization(
            turns=turns,
            speakers=labels,
            embeddings=dict(self.embeddings),
            model=self.model,
            duration_s=len(audio) / SAMPLE_RATE,
        )
