"""Plain data shared by the pipeline's steps. Times are in seconds from the start of the recording."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Word:
    """One word with its timing (seconds) and probability (0 to 1)."""

    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True, slots=True)
class Segment:
    """One transcript segment.

    ``index`` is the segment's position in its transcript (0-based, stable across versions: a corrected
    version keeps each segment's index, start and end). ``channel`` is ``"left"``/``"right"``/``"ch3"``...
    for ``channels=split``, else None. ``speaker_label`` is the diarized speaker ("Speaker 1"...), None without
    diarization. ``speaker`` is the name shown: the one a person gave its label or channel, else its
    ``speaker_label``. ``overlap``: another speaker talks during it (it carries the dominant one).
    """

    index: int
    start: float
    end: float
    text: str
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    words: tuple[Word, ...] | None = None
    channel: str | None = None
    speaker: str | None = None
    speaker_label: str | None = None
    overlap: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "index": self.index,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "text": self.text,
            "avg_logprob": self.avg_logprob,
            "no_speech_prob": self.no_speech_prob,
            "channel": self.channel,
            "speaker": self.speaker,
            "speaker_label": self.speaker_label,
            "overlap": self.overlap,
        }
        if self.words is not None:
            data["words"] = [
                {"start": w.start, "end": w.end, "word": w.word, "probability": w.probability} for w in self.words
            ]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        words = data.get("words")
        return cls(
            index=int(data["index"]),
            start=float(data["start"]),
            end=float(data["end"]),
            text=str(data["text"]),
            avg_logprob=float(data.get("avg_logprob") or 0.0),
            no_speech_prob=float(data.get("no_speech_prob") or 0.0),
            words=tuple(Word(**w) for w in words) if words is not None else None,
            channel=data.get("channel"),
            speaker=data.get("speaker"),
            speaker_label=data.get("speaker_label"),
            overlap=bool(data.get("overlap") or False),
        )


@dataclass(slots=True)
class TranscriptInfo:
    """What a transcription found: language (ISO 639-1) and its probability, duration (s), model name."""

    language: str | None
    language_probability: float
    duration_s: float
    model: str
    warnings: list[str] = field(default_factory=list)
