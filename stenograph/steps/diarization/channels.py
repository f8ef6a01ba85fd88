"""Diarization by channel: a recording whose channels each carry their own voice (a phone call recorded one
line per channel, a podcast with one microphone per person) is diarized channel by channel, each channel's
speech becoming that channel's speaker, instead of mixing the channels down and telling the voices apart by
their embeddings.

The rule (docs/diarization.md, "Recordings with one voice per channel", gives the measurements behind the
thresholds): the audio is cut into 30 ms frames at 16 kHz, and per frame each channel's level (dBFS) and the
correlation of the two loudest channels' samples are measured (:func:`frame_stats`, streamed: memory grows by
a few bytes per frame, not by the audio). A frame is *active* when its loudest channel is at most
:data:`ACTIVE_BELOW_PEAK_DB` below the recording's loud frames (95th percentile) and above
:data:`ACTIVE_FLOOR_DBFS`. An active frame is then

* **solo** when one channel leads every other by :data:`LEAD_DB` or more (the others hold at most a faint
  leaked copy of it),
* **overlap** when two channels are within :data:`LEAD_DB` of each other but their samples are uncorrelated
  (``|r| <=`` :data:`MAX_CORRELATION`): two different sounds at once,
* **shared** otherwise: one sound on two channels at comparable levels (a mono recording saved as stereo, a
  stereo microphone on one room, a panned mix), which only the mix can diarize.

The recording is diarized by channel (:func:`measure` gives ``separate=True``) when at most
:data:`MAX_SHARED_FRACTION` of its active frames are shared and at least two channels each speak (solo, or in
overlap) for :data:`MIN_CHANNEL_SPEECH_S` or more. Each channel then goes through the diarizer on its own as one
speaker (``num_speakers=1``: its turns, and its voice embedding for voice profiles), and its turns are cut
where, for :data:`MIN_LEAK_S` or longer, it has no sound of its own and carries a leaked copy of a louder
channel (:func:`leak_runs`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from stenograph.errors import TaskCancelled
from stenograph.steps.diarization.diarizer import SAMPLE_RATE, Diarization, Diarizer, SpeakerTurn

__all__ = [
    "ACTIVE_BELOW_PEAK_DB",
    "ACTIVE_FLOOR_DBFS",
    "FRAME_SAMPLES",
    "LEAD_DB",
    "MAX_CHANNELS",
    "MAX_CORRELATION",
    "MAX_SHARED_FRACTION",
    "MIN_CHANNEL_SPEECH_S",
    "MIN_LEAK_S",
    "ChannelSeparation",
    "FrameStats",
    "channel_speaker",
    "diarize_by_channel",
    "frame_stats",
    "leak_runs",
    "measure",
    "measure_file",
    "read_frame_stats",
    "split_fits",
]

FloatArray = npt.NDArray[np.float32]

#: Samples per measured frame (30 ms at 16 kHz).
FRAME_SAMPLES = 480
FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
#: The correlation is measured over blocks of this many frames (240 ms)...
CORRELATION_FRAMES = 8
#: ...as the largest |r| over the lags within ±20 ms (a voice reaching two microphones up to 7 m apart).
MAX_LAG_SAMPLES = 320
#: A frame is active when its loudest channel is at most this many dB below the 95th percentile of the loudest
#: channel's frame levels...
ACTIVE_BELOW_PEAK_DB = 30.0
#: ...and at least this loud (dBFS).
ACTIVE_FLOOR_DBFS = -55.0
#: A channel leading every other by this many dB or more speaks alone in the frame (the others leak at most).
LEAD_DB = 15.0
#: Two channels within LEAD_DB of each other whose samples correlate at most this much carry different sounds.
MAX_CORRELATION = 0.5
#: At most this fraction of the active frames may be shared (one sound on two channels) for a split.
MAX_SHARED_FRACTION = 0.10
#: Seconds of speech each of at least two channels must have for a split.
MIN_CHANNEL_SPEECH_S = 1.0
#: Most channels diarized one by one (each costs a diarization); more are mixed, as before.
MAX_CHANNELS = 8
#: A channel's turns are cut where it only leaks a louder channel for this long or longer (seconds).
MIN_LEAK_S = 0.3
#: Pieces of turns shorter than this after the cut are dropped (seconds), as the engine's ``min_turn_s``.
MIN_TURN_S = 0.1


@dataclass(frozen=True, slots=True)
class FrameStats:
    """Per 30 ms frame: ``levels`` (shape ``(frames, channels)``, dBFS) and ``correlation`` (shape
    ``(frames,)``: Pearson's r of the two loudest channels' samples in that frame, 0 for one channel)."""

    levels: FloatArray
    correlation: FloatArray

    @property
    def channels(self) -> int:
        """How many channels were measured."""
        return int(self.levels.shape[1])


@dataclass(frozen=True, slots=True)
class ChannelSeparation:
    """What :func:`measure` found (seconds of frames; see the module's docstring for the classes).

    Attributes:
        separate: whether the recording is diarized by channel.
        channels: the channel count.
        active_s: seconds of active frames.
        shared_s: of which one sound on two channels at comparable levels.
        overlap_s: of which two channels with different sounds at once.
        speech_s: per channel, its solo seconds plus the overlap seconds where it is one of the two loudest.
        reason: why (or why not), for the task's result and the logs.
    """

    separate: bool
    channels: int
    active_s: float
    shared_s: float
    overlap_s: float
    speech_s: tuple[float, ...]
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """The measurement as plain JSON values (seconds rounded to 10 ms)."""
        return {
            "separate": self.separate,
            "channels": self.channels,
            "active_s": round(self.active_s, 2),
            "shared_s": round(self.shared_s, 2),
            "overlap_s": round(self.overlap_s, 2),
            "speech_s": [round(s, 2) for s in self.speech_s],
            "reason": self.reason,
        }


def _correlation(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per row, the largest ``|r|`` of rows ``x`` and ``y`` (shape ``(blocks, samples)``) over the lags within
    ±:data:`MAX_LAG_SAMPLES` (means removed; 0 where a row is silent)."""
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    size = 1 << int(np.ceil(np.log2(x.shape[1] + MAX_LAG_SAMPLES)))
    cross = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(y, size)), size)
    lags = np.concatenate([cross[:, : MAX_LAG_SAMPLES + 1], cross[:, -MAX_LAG_SAMPLES:]], axis=1)
    norm = np.sqrt(np.sum(x * x, axis=1) * np.sum(y * y, axis=1))
    best = np.max(np.abs(lags), axis=1)
    return np.where(norm > 1e-12, best / np.maximum(norm, 1e-12), 0.0)


def _measure_span(span: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Levels and correlation of ``span`` (shape ``(channels, n * FRAME_SAMPLES)``, starting on a block)."""
    channels = span.shape[0]
    frames = span.reshape(channels, -1, FRAME_SAMPLES).transpose(1, 0, 2)
    power = np.mean(np.square(frames, dtype=np.float64), axis=2)
    levels = (10.0 * np.log10(power + 1e-10)).astype(np.float32)
    correlation = np.zeros(len(frames), dtype=np.float32)
    if channels < 2:
        return levels, correlation
    blocks = -(-len(frames) // CORRELATION_FRAMES)
    full = len(frames) // CORRELATION_FRAMES
    rows: list[npt.NDArray[np.float64]] = []
    if full:
        grouped = frames[: full * CORRELATION_FRAMES].reshape(full, CORRELATION_FRAMES, channels, FRAME_SAMPLES)
        rows.append(_top_two_correlation(grouped.transpose(0, 2, 1, 3).reshape(full, channels, -1)))
    if blocks > full:
        tail = frames[full * CORRELATION_FRAMES :].transpose(1, 0, 2).reshape(1, channels, -1)
        rows.append(_top_two_correlation(tail))
    per_block = np.concatenate(rows)
    correlation[:] = np.repeat(per_block, CORRELATION_FRAMES)[: len(frames)]
    return levels, correlation


def _top_two_correlation(blocks: FloatArray) -> npt.NDArray[np.float64]:
    """Per block (shape ``(blocks, channels, samples)``), the lag-searched correlation of its two loudest
    channels."""
    order = np.argsort(-np.sum(np.square(blocks, dtype=np.float64), axis=2), axis=1, kind="stable")
    rows = np.arange(len(blocks))
    first = blocks[rows, order[:, 0]].astype(np.float64)
    second = blocks[rows, order[:, 1]].astype(np.float64)
    return _correlation(first, second)


def frame_stats(blocks: Iterable[Sequence[FloatArray]], channels: int) -> FrameStats:
    """Measure per-frame levels and correlation over ``blocks``: successive stretches of the recording, each one
    array per channel (``channels`` of them; equal lengths within a block, any length). A tail under one frame
    is left out; no blocks give no frames.

    Raises:
        ValueError: ``channels`` is under 1, or a block has another channel count.
    """
    if channels < 1:
        raise ValueError("no channel to measure")
    levels: list[FloatArray] = []
    correlations: list[FloatArray] = []
    carry = np.zeros((channels, 0), dtype=np.float32)
    step = CORRELATION_FRAMES * FRAME_SAMPLES

    def add(span: FloatArray) -> None:
        if span.shape[1]:
            span_levels, span_correlation = _measure_span(span)
            levels.append(span_levels)
            correlations.append(span_correlation)

    for block in blocks:
        if len(block) != channels:
            raise ValueError(f"a block has {len(block)} channels, expected {channels}")
        length = min(len(a) for a in block)
        stacked = np.concatenate([carry, np.stack([np.asarray(a[:length], dtype=np.float32) for a in block])], axis=1)
        whole = stacked.shape[1] // step * step
        carry = stacked[:, whole:]
        add(stacked[:, :whole])
    add(carry[:, : carry.shape[1] // FRAME_SAMPLES * FRAME_SAMPLES])
    if not levels:
        return FrameStats(np.zeros((0, channels), dtype=np.float32), np.zeros(0, dtype=np.float32))
    return FrameStats(np.concatenate(levels), np.concatenate(correlations))


def _active_threshold(loudest: FloatArray) -> float:
    """dBFS at or above which a frame's loudest channel makes it active."""
    if not len(loudest):
        return ACTIVE_FLOOR_DBFS
    return max(ACTIVE_FLOOR_DBFS, float(np.percentile(loudest, 95)) - ACTIVE_BELOW_PEAK_DB)


def _classes(stats: FrameStats) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Boolean frame masks: active, solo and overlap (shared = active and neither)."""
    levels = stats.levels
    ordered = -np.sort(-levels, axis=1)
    loudest = ordered[:, 0]
    active = loudest >= _active_threshold(loudest)
    if stats.channels < 2:
        return active, active.copy(), np.zeros_like(active)
    solo = active & (ordered[:, 1] <= loudest - LEAD_DB)
    overlap = active & ~solo & (np.abs(stats.correlation) <= MAX_CORRELATION)
    return active, solo, overlap


def measure(stats: FrameStats) -> ChannelSeparation:
    """Whether the recording has one voice per channel (the rule of the module's docstring)."""
    channels = stats.channels
    active, solo, overlap = _classes(stats)
    order = np.argsort(-stats.levels, axis=1, kind="stable")
    speech = []
    for channel in range(channels):
        owns = solo & (order[:, 0] == channel)
        among_two = overlap & ((order[:, 0] == channel) | (order[:, 1] == channel)) if channels > 1 else overlap
        speech.append(float((owns | among_two).sum() * FRAME_S))
    active_s = float(active.sum() * FRAME_S)
    overlap_s = float(overlap.sum() * FRAME_S)
    shared_s = active_s - float(solo.sum() * FRAME_S) - overlap_s
    speaking = sum(1 for s in speech if s >= MIN_CHANNEL_SPEECH_S)
    if channels < 2:
        separate, reason = False, "one channel"
    elif channels > MAX_CHANNELS:
        separate, reason = False, f"{channels} channels (at most {MAX_CHANNELS} are diarized one by one)"
    elif shared_s > MAX_SHARED_FRACTION * active_s:
        share = shared_s / max(active_s, 1e-9)
        separate, reason = False, f"{share:.0%} of the speech is on several channels at once (cross-talk)"
    elif speaking < 2:
        separate, reason = False, f"{speaking} channel(s) with {MIN_CHANNEL_SPEECH_S:g} s of their own speech or more"
    else:
        separate, reason = True, f"{speaking} channels each carry their own voice"
    return ChannelSeparation(separate, channels, active_s, max(0.0, shared_s), overlap_s, tuple(speech), reason)


def leak_runs(stats: FrameStats, channel: int) -> list[tuple[float, float]]:
    """``(start_s, end_s)`` of the stretches of at least :data:`MIN_LEAK_S` where ``channel`` has no sound of
    its own (it is below the active level, or :data:`LEAD_DB` or more below a louder channel) and, somewhere
    in the stretch, carries a leaked copy of a louder channel (another channel makes the frame active and leads
    it by :data:`LEAD_DB`). Silent frames inside such a stretch (a pause of the louder voice) belong to it."""
    if stats.channels < 2:
        return []
    levels = stats.levels
    threshold = _active_threshold(levels.max(axis=1))
    others = np.delete(levels, channel, axis=1).max(axis=1)
    mine = levels[:, channel]
    own = (mine >= threshold) & (mine > others - LEAD_DB)
    leak = (others >= threshold) & (others - mine >= LEAD_DB)
    padded = np.concatenate([[False], ~own, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    runs = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    return [(a * FRAME_S, b * FRAME_S) for a, b in runs if (b - a) * FRAME_S >= MIN_LEAK_S and leak[a:b].any()]


def _cut(turns: Sequence[SpeakerTurn], holes: Sequence[tuple[float, float]], label: str) -> list[SpeakerTurn]:
    """``turns`` merged where they overlap, minus ``holes``, relabelled; pieces under MIN_TURN_S dropped."""
    spans: list[list[float]] = []
    for turn in sorted(turns, key=lambda t: (t.start, t.end)):
        if spans and turn.start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], turn.end)
        else:
            spans.append([turn.start, turn.end])
    for hole_start, hole_end in holes:
        kept: list[list[float]] = []
        for start, end in spans:
            if hole_end <= start or hole_start >= end:
                kept.append([start, end])
                continue
            if hole_start > start:
                kept.append([start, hole_start])
            if hole_end < end:
                kept.append([hole_end, end])
        spans = kept
    return [SpeakerTurn(round(a, 3), round(b, 3), label) for a, b in spans if b - a >= MIN_TURN_S]


def _embedding(result: Diarization) -> list[float] | None:
    """The voice embedding of the label with the most speech in a one-channel result (None without one)."""
    talk: dict[str, float] = {}
    for turn in result.turns:
        talk[turn.speaker] = talk.get(turn.speaker, 0.0) + turn.end - turn.start
    for label in sorted(talk, key=lambda name: -talk[name]):
        if result.embeddings.get(label):
            return list(result.embeddings[label])
    return None


def channel_speaker(channel: int) -> str:
    """The diarized label of channel ``channel`` (0-based) in a diarization by channel: ``SPEAKER_00``..."""
    return f"SPEAKER_{channel:02d}"


def diarize_by_channel(
    load_channel: Callable[[int], FloatArray],
    stats: FrameStats,
    diarizer: Diarizer,
    *,
    on_progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Diarization:
    """Diarize each channel on its own as one speaker: channel ``c`` (0-based) becomes ``SPEAKER_{c:02d}``.

    Args:
        load_channel: channel ``c``'s whole audio, mono float32 at 16 kHz (called once per channel, one channel
            held at a time).
        stats: the recording's frame measurement (:func:`read_frame_stats`), which cuts each channel's turns
            where it only leaks a louder channel (:func:`leak_runs`).
        diarizer: the engine, called with ``num_speakers=1`` on each channel.

    Returns:
        the turns of every channel sorted by start (two channels' turns overlap where both speak), the labels
        of the channels with speech in channel order, each one's embedding where the engine gives one, and
        the model ``"<engine model>+by-channel"``.

    Raises:
        TaskCancelled: ``should_stop()`` became true (from the diarizer).
    """
    channels = stats.channels
    turns: list[SpeakerTurn] = []
    speakers: list[str] = []
    embeddings: dict[str, list[float]] = {}
    model = ""
    duration = 0.0
    for channel in range(channels):

        def progress(fraction: float, message: str, channel: int = channel) -> None:
            if on_progress is not None:
                on_progress((channel + fraction) / channels, f"channel {channel + 1}/{channels}: {message}")

        audio = load_channel(channel)
        result = diarizer.diarize(audio, num_speakers=1, on_progress=progress, should_stop=should_stop)
        duration = max(duration, result.duration_s or len(audio) / SAMPLE_RATE)
        model = model or result.model
        del audio
        label = channel_speaker(channel)
        mine = _cut(result.turns, leak_runs(stats, channel), label)
        if not mine:
            continue
        turns.extend(mine)
        speakers.append(label)
        vector = _embedding(result)
        if vector is not None:
            embeddings[label] = vector
    turns.sort(key=lambda t: (t.start, t.end, t.speaker))
    return Diarization(
        turns=turns, speakers=speakers, embeddings=embeddings, model=f"{model}+by-channel", duration_s=duration
    )


def _lockstep(path: Path, sample_rate: int, channels: int) -> Iterator[tuple[list[FloatArray], tuple[str, ...]]]:
    """Each channel's decoder side by side: per window, one array per channel and the first one's warnings."""
    from stenograph.steps.transcription.media import iter_audio_windows

    decoders = [iter_audio_windows(path, sample_rate=sample_rate, channel=c) for c in range(channels)]
    for windows in zip(*decoders, strict=False):
        yield [w.samples for w in windows], windows[0].warnings


def read_frame_stats(
    path: Path, channels: int, sample_rate: int = SAMPLE_RATE, *, should_stop: Callable[[], bool] | None = None
) -> tuple[FrameStats, list[str]]:
    """Measure ``path``'s ``channels`` channels frame by frame, decoding each channel at 16 kHz window by window
    (memory: one window per channel plus a few bytes per frame); returns the stats and the decoding damage.

    Raises:
        MediaError: the file is not readable audio, or has fewer channels
            (:func:`~stenograph.steps.transcription.media.iter_audio_windows`).
        TaskCancelled: ``should_stop()`` became true (checked after each window).
        ValueError: ``sample_rate`` is not 16 kHz (the frames are 30 ms at 16 kHz).
    """
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"frames are measured at {SAMPLE_RATE} Hz, not {sample_rate}")
    warnings: list[str] = []

    def blocks() -> Iterator[list[FloatArray]]:
        for arrays, found in _lockstep(path, sample_rate, channels):
            if should_stop is not None and should_stop():
                raise TaskCancelled("diarization cancelled")
            warnings.extend(found)
            yield arrays

    stats = frame_stats(blocks(), channels)
    return stats, warnings


def measure_file(
    path: Path, should_stop: Callable[[], bool] | None = None
) -> tuple[FrameStats | None, ChannelSeparation | None, list[str]]:
    """The frame stats, the separation found (:func:`measure`) and the decoding damage of a file of 2 to
    :data:`MAX_CHANNELS` channels; ``(None, None, [])`` for one channel, more than :data:`MAX_CHANNELS`, or a file
    that cannot be read (decoding it for the mix then says why). Used by the diarization step and by the
    transcription's ``channels=auto`` (about 1.4 s of CPU per 10 minutes of stereo).

    Raises:
        TaskCancelled: ``should_stop()`` became true while measuring.
    """
    from stenograph.errors import MediaError
    from stenograph.steps.transcription.media import probe

    try:
        channels = probe(path).channels
        if not 2 <= channels <= MAX_CHANNELS:
            return None, None, []
        stats, warnings = read_frame_stats(path, channels, should_stop=should_stop)
    except MediaError:
        return None, None, []
    return stats, measure(stats), warnings


def split_fits(
    separation: ChannelSeparation,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> bool:
    """Whether a recording is diarized (and, with ``channels=auto``, transcribed) by channel: its channels carry
    their own voices, and the speaker counts asked for (None: not asked) allow as many speakers as it has
    channels with :data:`MIN_CHANNEL_SPEECH_S` of speech or more."""
    if not separation.separate:
        return False
    speaking = sum(1 for seconds in separation.speech_s if seconds >= MIN_CHANNEL_SPEECH_S)
    if num_speakers is not None and num_speakers != speaking:
        return False
    if min_speakers is not None and min_speakers > speaking:
        return False
    return max_speakers is None or max_speakers >= speaking
