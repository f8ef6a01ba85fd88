"""No invented words (issue 14): short cuts of the corpus' English speech through the transcriber.

Cuts of 0.2-2 s are taken inside speech (within one span Silero VAD finds in a clip) from a fixed seed, each
written as its own recording, so the speech lasts the cut's length. Figures, per cut set:

* ``max_words_per_second``: the most words any output has per second of its cut (goal: at most 4);
* ``precision_1_2s``: of the words output on the 1-2 s cuts, the share found in the clip's reference
  (lower case, punctuation stripped; goal: at least 0.7);
* ``yield_1_2s``: the share of 1-2 s cuts that output some words (goal: at least 0.5).

The test (``tests/pipeline/test_invented_words.py``) checks the same goals on fewer cuts.
"""

from __future__ import annotations

import random
import re
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.common import corpus_dir
from bench.corpus import ENGLISH_CLIPS, english_references

__all__ = ["CLIPS", "Cut", "measure", "run", "speech_cuts"]

#: English clips with a single-speaker reference (:data:`bench.corpus.ENGLISH_CLIPS`, as in tests/llm/wer.py).
CLIPS = ENGLISH_CLIPS
SAMPLE_RATE = 16000
_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True, slots=True)
class Cut:
    """One cut: its clip, start and length (seconds), the WAV written for it and the clip's reference."""

    clip: str
    start_s: float
    length_s: float
    path: Path
    reference: str


def _write(path: Path, samples: npt.NDArray[np.float32]) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def speech_cuts(corpus: Path, folder: Path, count: int, *, seed: int = 14) -> list[Cut]:
    """``count`` cuts of 0.2-2 s (uniform) inside the speech of :data:`CLIPS`, written under ``folder``."""
    from faster_whisper import decode_audio
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    references = english_references(corpus)
    audio = {name: decode_audio(str(corpus / name)) for name in references}
    spans = {name: get_speech_timestamps(samples, VadOptions()) for name, samples in audio.items()}
    rng = random.Random(seed)
    cuts: list[Cut] = []
    while len(cuts) < count:
        clip = rng.choice(sorted(references))
        length = rng.uniform(0.2, 2.0)
        fitting = [s for s in spans[clip] if (s["end"] - s["start"]) / SAMPLE_RATE >= length]
        if not fitting:
            continue
        span = rng.choice(fitting)
        start = rng.uniform(span["start"] / SAMPLE_RATE, span["end"] / SAMPLE_RATE - length)
        first = round(start * SAMPLE_RATE)
        path = folder / f"cut{len(cuts):03d}.wav"
        _write(path, audio[clip][first : first + round(length * SAMPLE_RATE)])
        cuts.append(Cut(clip, start, length, path, references[clip]))
    return cuts


def measure(transcriber: Any, cuts: list[Cut]) -> dict[str, Any]:
    """The figures of the module docstring for ``cuts`` through ``transcriber`` (default options), and each
    cut's output."""
    from stenograph.steps.transcription.transcriber import TranscriptionOptions

    rates: list[float] = []
    hits = words = yielded = long_cuts = 0
    outputs: list[dict[str, Any]] = []
    for cut in cuts:
        text = " ".join(s.text for s in transcriber.transcribe(cut.path, TranscriptionOptions()))
        said = _WORD.findall(text.lower())
        rates.append(len(said) / cut.length_s)
        if cut.length_s >= 1.0:
            known = set(_WORD.findall(cut.reference.lower()))
            long_cuts += 1
            yielded += bool(said)
            words += len(said)
            hits += sum(word in known for word in said)
        outputs.append(
            {"clip": cut.clip, "start_s": round(cut.start_s, 2), "length_s": round(cut.length_s, 2), "text": text}
        )
    return {
        "cuts": len(cuts),
        "max_words_per_second": round(max(rates, default=0.0), 2),
        "precision_1_2s": round(hits / words, 3) if words else 1.0,
        "yield_1_2s": round(yielded / long_cuts, 3) if long_cuts else 0.0,
        "outputs": outputs,
    }


def run(quick: bool = False) -> dict[str, Any]:
    """The bench section: 40 cuts in the quick mode, else 150, with tiny.en."""
    from stenograph.settings import build_settings
    from stenograph.steps.transcription.transcriber import FasterWhisperTranscriber

    transcriber = FasterWhisperTranscriber(build_settings())
    with tempfile.TemporaryDirectory() as folder:
        cuts = speech_cuts(corpus_dir(), Path(folder), 40 if quick else 150)
        figures = measure(transcriber, cuts)
    figures.pop("outputs")
    return figures
