"""Ground truth for diarization, built from the corpus voices (``../shared/audio``) at test time.

A conversation of 2, 3 or 4 speakers alternates clips of distinct voices in turns of 2–15 s (here 2–8 s,
for short tests), with pauses of 0.2–1.2 s, and overlapping turns on 5–10 % of the speech time; each voice's
audio is read front to back, so no stretch is used twice in one conversation. Everything comes from fixed
seeds. The reference speech of a turn is where Silero VAD (faster-whisper's copy, run on that voice's clip
alone) finds speech, so pauses inside a reading are not counted as speech; a model other than the one under
test, so the reference does not follow the engine's own speech detection.

These voices differ in microphone, recording and language, which makes them easier to tell apart than the
people of one real meeting.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

RATE = 16_000
#: voice -> corpus files (the same reader's clips are one voice).
VOICES: dict[str, tuple[str, ...]] = {
    "jfk": ("jfk.wav",),
    "librispeech": ("librispeech-1995-1837-0001.wav",),
    "timit": ("LDC93S1.wav",),
    "lj": ("LJ001-0001.wav", "LJ001-0007.wav"),
    "sense": ("sense_and_sensibility_01_austen_64kb-0870.wav", "sense_and_sensibility_01_austen_64kb-0920.wav"),
    "mandarin": ("aishell-BAC009S0724W0121.wav",),
    "russian": ("deepspeech-ru.wav",),
    "german": ("aeneas-de.mp3",),
    "spanish": ("aeneas-es.mp3",),
}

FloatArray = npt.NDArray[np.float32]
Segment = tuple[float, float, str]


@dataclass(frozen=True, slots=True)
class Conversation:
    """A mono 16 kHz mix and its reference speech segments ``(start_s, end_s, voice)``."""

    name: str
    audio: FloatArray
    reference: list[Segment]

    @property
    def speakers(self) -> set[str]:
        """The voices in the reference."""
        return {voice for _, _, voice in self.reference}

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.audio) / RATE


def decode(path: Path) -> FloatArray:
    """A file's audio as mono 16 kHz float32 (faster-whisper's decoder, PyAV)."""
    from faster_whisper import decode_audio

    return np.asarray(decode_audio(str(path), sampling_rate=RATE), dtype=np.float32)


def trim(audio: FloatArray) -> FloatArray:
    """``audio`` without its leading and trailing non-speech (Silero VAD), at -20 dBFS RMS."""
    speech = speech_segments(audio)
    if speech:
        audio = audio[int(speech[0][0] * RATE) : int(speech[-1][1] * RATE)]
    rms = float(np.sqrt(np.mean(np.square(audio)))) or 1.0
    return (audio * (0.1 / rms)).astype(np.float32)


@cache
def voice_audio(corpus: Path, voice: str) -> FloatArray:
    """All of ``voice``'s clips joined (each trimmed, 0.3 s of silence between them)."""
    pieces: list[FloatArray] = []
    for name in VOICES[voice]:
        pieces.extend([trim(decode(corpus / name)), np.zeros(int(0.3 * RATE), dtype=np.float32)])
    return np.concatenate(pieces[:-1])


def speech_segments(audio: FloatArray, offset: float = 0.0) -> list[tuple[float, float]]:
    """Where ``audio`` holds speech, by Silero VAD (faster-whisper's copy; pauses of 0.25 s or more split,
    30 ms of padding), shifted by ``offset`` seconds."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=250, speech_pad_ms=30)
    found = get_speech_timestamps(np.ascontiguousarray(audio, dtype=np.float32), options, sampling_rate=RATE)
    return [(offset + item["start"] / RATE, offset + item["end"] / RATE) for item in found]


def build_conversation(corpus: Path, speakers: int, seed: int, turns_per_speaker: int = 3) -> Conversation:
    """A conversation of ``speakers`` voices chosen by ``seed`` (see the module's docstring)."""
    rng = random.Random(seed)
    voices = rng.sample(sorted(VOICES), speakers)
    cursor = dict.fromkeys(voices, 0)
    plan: list[tuple[str, FloatArray]] = []
    last = ""
    for _ in range(turns_per_speaker * speakers):
        free = [v for v in voices if v != last and len(voice_audio(corpus, v)) - cursor[v] >= 2 * RATE]
        if not free:
            break
        voice = rng.choice(free)
        source = voice_audio(corpus, voice)
        length = min(int(rng.uniform(2.0, 8.0) * RATE), len(source) - cursor[voice])
        plan.append((voice, source[cursor[voice] : cursor[voice] + length]))
        cursor[voice] += length
        last = voice
    speech_of = [speech_segments(piece) for _, piece in plan]
    for attempt in range(100):  # placements from the same seed until the overlap share is 5-10 %
        starts = _placement(plan, random.Random(seed * 1000 + attempt))
        reference = sorted(
            (start / RATE + a, start / RATE + b, voice)
            for start, (voice, _), segments in zip(starts, plan, speech_of, strict=True)
            for a, b in segments
        )
        if 0.05 <= overlap_share(reference) <= 0.10:
            break
    mix = np.zeros(max(s + len(p) for s, (_, p) in zip(starts, plan, strict=True)) + RATE // 2, dtype=np.float32)
    for start, (_, piece) in zip(starts, plan, strict=True):
        mix[start : start + len(piece)] += piece
    return Conversation(f"{speakers}spk-seed{seed}", np.clip(mix, -1, 1), reference)


def _placement(plan: list[tuple[str, FloatArray]], rng: random.Random) -> list[int]:
    """Start samples of the planned turns: pauses of 0.2-1.2 s, and some turns starting up to 1 s before the
    previous one ends (about one per 10–25 s of speech)."""
    speech = sum(len(piece) for _, piece in plan) / RATE
    overlaps = set(rng.sample(range(1, len(plan)), min(len(plan) - 1, max(1, round(rng.uniform(0.04, 0.11) * speech)))))
    starts: list[int] = []
    position = int(0.5 * RATE)
    for index, (_, piece) in enumerate(plan):
        if index:
            previous = starts[-1] + len(plan[index - 1][1])
            if index in overlaps:
                span = min(rng.uniform(0.3, 1.4), len(piece) / RATE / 3, len(plan[index - 1][1]) / RATE / 3)
                position = previous - int(span * RATE)
            else:
                position = previous + int(rng.uniform(0.2, 1.2) * RATE)
        starts.append(position)
    return starts


def stereo_conversation(corpus: Path) -> Conversation:
    """``stereo_diarization.wav`` mixed to mono; each channel's speech is its talker's reference."""
    import soundfile

    stereo, rate = soundfile.read(str(corpus / "stereo_diarization.wav"), dtype="float32", always_2d=True)
    assert rate == RATE
    reference = [(a, b, f"channel{c}") for c in range(2) for a, b in speech_segments(stereo[:, c])]
    return Conversation("stereo", stereo.mean(axis=1).astype(np.float32), sorted(reference))


def overlap_share(reference: list[Segment], step: float = 0.01) -> float:
    """Fraction of speech time (any speaker) where two or more speak."""
    end = max(b for _, b, _ in reference)
    count = np.zeros(int(end / step) + 1, dtype=np.int32)
    for a, b, _ in reference:
        count[int(a / step) : int(b / step)] += 1
    return float((count >= 2).sum() / max(1, (count >= 1).sum()))
