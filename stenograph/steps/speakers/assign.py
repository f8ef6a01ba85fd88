"""Speaker assignment as one pure function of (diarization turns, transcript segments with their words).

The method is WhisperX's ``assign_word_speakers`` (m-bain/whisperX, ``whisperx/diarize.py``): each word takes
the speaker whose turns overlap it most; here a segment is then split wherever its words change speaker, so
no segment mixes two speakers. Ties (both speakers talk over the whole word) go to the segment's dominant
speaker, so overlapping speech does not split a segment word by word. A word no turn touches takes the
nearest turn's speaker. A segment without word times (or whose text was edited since its words were timed)
is not split: it takes its dominant speaker. Every piece then takes its dominant speaker and is marked
``overlap`` when at least :data:`OVERLAP_MIN_S` of it (or half of a shorter piece) holds two speakers at once.

A transcript made channel by channel (``channels=split``, or ``auto`` on a file with one voice per channel)
of a diarization made by channel takes :func:`assign_by_channel` instead: each segment is its channel's speaker.

Labels become ``"Speaker 1"``, ``"Speaker 2"``... in order of first appearance in the transcript, and the
pieces are renumbered from 0. Times in seconds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stenograph.steps.diarization.diarizer import SpeakerTurn
from stenograph.transcript.types import Segment, Word

__all__ = [
    "OVERLAP_MIN_S",
    "Assignment",
    "assign_by_channel",
    "assign_speakers",
    "channel_index",
    "default_name",
    "overlapped_time",
]

#: Seconds of speech by two speakers at once that mark a segment as overlap.
OVERLAP_MIN_S = 0.2


def default_name(number: int) -> str:
    """The default name of the ``number``-th speaker (1-based): ``"Speaker 1"``."""
    return f"Speaker {number}"


@dataclass(frozen=True, slots=True)
class Assignment:
    """What :func:`assign_speakers` made: the new segments, the default names in order, and the diarized label
    each name stands for (``{"Speaker 1": "SPEAKER_01", ...}``)."""

    segments: list[Segment]
    speakers: list[str]
    labels: dict[str, str]


def _overlap(a_start: float, a_end: float, b_start: float, b_end: float) -> float:
    return max(0.0, min(a_end, b_end) - max(a_start, b_start))


def _talk(turns: Sequence[SpeakerTurn], start: float, end: float) -> dict[str, float]:
    """Seconds each speaker talks between ``start`` and ``end``."""
    talk: dict[str, float] = {}
    for turn in turns:
        if turn.start >= end:
            break
        shared = _overlap(start, end, turn.start, turn.end)
        if shared > 0:
            talk[turn.speaker] = talk.get(turn.speaker, 0.0) + shared
    return talk


def overlapped_time(turns: Sequence[SpeakerTurn], start: float, end: float) -> float:
    """Seconds between ``start`` and ``end`` during which two speakers or more talk at once (a sweep over the
    turns' edges; ``turns`` sorted by start)."""
    edges: list[tuple[float, int, str]] = []
    for turn in turns:
        if turn.start >= end:
            break
        a, b = max(start, turn.start), min(end, turn.end)
        if b > a:
            edges += [(a, 1, turn.speaker), (b, -1, turn.speaker)]
    edges.sort(key=lambda edge: (edge[0], edge[1]))
    active: dict[str, int] = {}
    total, last = 0.0, start
    for time, step, speaker in edges:
        if sum(1 for n in active.values() if n > 0) >= 2:
            total += time - last
        last = time
        active[speaker] = active.get(speaker, 0) + step
    return total


def _nearest(turns: Sequence[SpeakerTurn], start: float, end: float) -> str | None:
    if not turns:
        return None
    middle = (start + end) / 2
    return min(turns, key=lambda t: max(t.start - middle, middle - t.end, 0.0)).speaker


def _dominant(turns: Sequence[SpeakerTurn], start: float, end: float, prefer: str | None = None) -> str | None:
    talk = _talk(turns, start, end)
    if not talk:
        return prefer or _nearest(turns, start, end)
    best = max(talk.values())
    if prefer is not None and talk.get(prefer, 0.0) >= best - 1e-9:
        return prefer
    return max(talk, key=lambda speaker: talk[speaker])


def _words_match_text(segment: Segment) -> bool:
    """Whether the segment's words still spell its text (an edit changes the text, not the word times)."""
    words = segment.words or ()
    return "".join(w.word for w in words).split() == segment.text.split()


def _runs(turns: Sequence[SpeakerTurn], segment: Segment) -> list[tuple[str | None, list[Word]]]:
    """The segment's words in runs of one speaker each."""
    overall = _dominant(turns, segment.start, segment.end)
    runs: list[tuple[str | None, list[Word]]] = []
    for word in segment.words or ():
        speaker = _dominant(turns, word.start, word.end, prefer=overall)
        if runs and runs[-1][0] == speaker:
            runs[-1][1].append(word)
        else:
            runs.append((speaker, [word]))
    return runs


def _pieces(turns: Sequence[SpeakerTurn], segment: Segment) -> list[tuple[str | None, Segment]]:
    """The segment cut where its words change speaker: ``(speaker, piece)`` pairs, the segment's own index kept."""
    if not segment.words or not _words_match_text(segment):
        return [(_dominant(turns, segment.start, segment.end), segment)]
    runs = _runs(turns, segment)
    if len(runs) == 1:
        return [(runs[0][0], segment)]
    pieces: list[tuple[str | None, Segment]] = []
    for number, (speaker, words) in enumerate(runs):
        start = segment.start if number == 0 else words[0].start
        end = segment.end if number == len(runs) - 1 else words[-1].end
        text = "".join(w.word for w in words).strip()
        pieces.append((speaker, dataclasses.replace(segment, start=start, end=end, text=text, words=tuple(words))))
    return pieces


def assign_speakers(turns: Sequence[SpeakerTurn], segments: Sequence[Segment]) -> Assignment:
    """Give every segment a speaker, splitting segments at the words where the speaker changes.

    Args:
        turns: the diarization's speaker turns (any order; turns of two speakers may overlap).
        segments: a transcript version's segments in order; ``words`` (times in seconds) allow splitting.

    Returns:
        The new segments, renumbered from 0, each with ``speaker_label`` set to a default name (``"Speaker 1"``...
        in order of first appearance) and ``overlap`` set; their ``index`` is new, their times and words kept
        (a split piece runs from its first word's start to its last word's end; the first and last pieces keep
        the segment's start and end). When the diarization found no speech at all, every segment gets
        ``"Speaker 1"``: one voice is the best guess, and no segment is left without a speaker.
    """
    ordered = sorted(turns, key=lambda t: (t.start, t.end))
    names: dict[str, str] = {}
    out: list[Segment] = []
    for segment in segments:
        for label, piece in _pieces(ordered, segment):
            key = label if label is not None else ""
            if key not in names:
                names[key] = default_name(len(names) + 1)
            shared = overlapped_time(ordered, piece.start, piece.end)
            overlap = shared >= min(OVERLAP_MIN_S, (piece.end - piece.start) / 2) and shared > 0
            out.append(
                dataclasses.replace(piece, index=len(out), speaker_label=names[key], speaker=None, overlap=overlap)
            )
    return Assignment(out, list(names.values()), {name: label for label, name in names.items()})


def channel_index(channel: str) -> int | None:
    """The 0-based channel of a split segment's label (``"left"`` 0, ``"right"`` 1, ``"ch3"`` 2), else None."""
    if channel in ("left", "right"):
        return 0 if channel == "left" else 1
    if channel.startswith("ch") and channel[2:].isdigit() and int(channel[2:]) >= 1:
        return int(channel[2:]) - 1
    return None


def assign_by_channel(
    turns: Sequence[SpeakerTurn], segments: Sequence[Segment], speaker_of: Callable[[int], str]
) -> Assignment | None:
    """Give every segment of a transcript made channel by channel the speaker of its channel: no segment is split
    and no overlap is guessed at, since each channel holds one voice.

    Args:
        turns: the diarization's turns (made by channel); they only mark ``overlap``, where two speakers talk at
            once (as :func:`assign_speakers` does).
        segments: the transcript's segments, each with its ``channel`` label (``"left"``, ``"ch3"``...).
        speaker_of: the diarized label of a 0-based channel (``SPEAKER_00``...).

    Returns:
        The segments with ``speaker_label`` set to a default name (``"Speaker 1"``... in order of first
        appearance), their index, times, text and words kept; None when a segment has no channel label or one
        that names no channel (the caller then assigns by time).
    """
    ordered = sorted(turns, key=lambda t: (t.start, t.end))
    names: dict[str, str] = {}
    out: list[Segment] = []
    for segment in segments:
        channel = channel_index(segment.channel) if segment.channel is not None else None
        if channel is None:
            return None
        label = speaker_of(channel)
        if label not in names:
            names[label] = default_name(len(names) + 1)
        shared = overlapped_time(ordered, segment.start, segment.end)
        overlap = shared >= min(OVERLAP_MIN_S, (segment.end - segment.start) / 2) and shared > 0
        out.append(dataclasses.replace(segment, speaker_label=names[label], speaker=None, overlap=overlap))
    return Assignment(out, list(names.values()), {name: label for label, name in names.items()})
