"""Transcript export: plain text, SubRip (SRT), WebVTT, our JSON and OpenAI's ``verbose_json``.

SRT and VTT cues are built from the words (:mod:`stenograph.transcript.cues`, rules in ``docs/subtitles.md``).
Timestamps: SRT ``HH:MM:SS,mmm`` (SubRip), VTT ``HH:MM:SS.mmm`` (W3C WebVTT, section 4.1), rounded to the
millisecond. A segment's label is its ``speaker`` (a name a person gave) or else its ``channel``; SRT and
text put it first (``"left: text"``), VTT uses a voice span (``<v left>text``, WebVTT section 4.2.2).
``to_openai_verbose_json`` follows the response of OpenAI's ``/v1/audio/transcriptions`` with
``response_format=verbose_json`` (task, language as an English name, duration, text, segments, words).

Cue text is made safe (:func:`cue_text`): every run of line breaks and other control characters becomes one
space and ``-->`` becomes ``→``, so a cue never holds a blank line or a timing line that a player would read as
another cue (nor, in VTT, a ``NOTE`` line of its own).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from stenograph.transcript.cues import build_cues
from stenograph.transcript.languages import language_name
from stenograph.transcript.types import Segment, TranscriptInfo

__all__ = [
    "cue_text",
    "format_timestamp",
    "segment_label",
    "to_json",
    "to_openai_verbose_json",
    "to_srt",
    "to_txt",
    "to_vtt",
    "transcript_dict",
]


def format_timestamp(seconds: float, *, decimal_marker: str = ",") -> str:
    """``HH:MM:SS,mmm`` (``decimal_marker="."`` for VTT); negative times are clamped to zero."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal_marker}{millis:03d}"


#: Line breaks (and the other C0/C1 control characters, tabs included), in runs: one space in a cue.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
#: The arrow of a timing line, with any dashes before it: never inside a cue's text.
_ARROW = re.compile(r"-*-->")


def cue_text(text: str) -> str:
    """``text`` on one line for a subtitle cue: runs of line breaks and control characters become one space,
    ``-->`` becomes ``→``, the ends are trimmed."""
    return _ARROW.sub("→", _BREAKS.sub(" ", text)).strip()


def segment_label(segment: Segment) -> str | None:
    """The name shown before a segment's text: its speaker, else its channel, else None."""
    return segment.speaker or segment.channel


def _labelled(segment: Segment) -> str:
    label = segment_label(segment)
    text = segment.text.strip()
    return f"{label}: {text}" if label else text


def to_txt(segments: Iterable[Segment]) -> str:
    """One line per segment (``label: text`` when labelled), ending with a newline; "" for no segments."""
    lines = [_labelled(s) for s in segments]
    return "\n".join(lines) + "\n" if lines else ""


def to_srt(segments: Iterable[Segment]) -> str:
    """SubRip: numbered cues from 1, ``00:01:02,345 --> 00:01:04,000``, a blank line after each cue; the cues
    of :func:`stenograph.transcript.cues.build_cues` (at most 2 lines of 42 characters, the label first)."""
    blocks = []
    for number, cue in enumerate(build_cues(segments), start=1):
        timing = f"{format_timestamp(cue.start)} --> {format_timestamp(cue.end)}"
        blocks.append(f"{number}\n{timing}\n" + "\n".join(cue.lines) + "\n")
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(segments: Iterable[Segment]) -> str:
    """WebVTT: the ``WEBVTT`` header, then the cues of :func:`stenograph.transcript.cues.build_cues`
    (``00:01:02.345 --> 00:01:04.000``, at most 2 lines); a label as a voice span (counted within the first
    line's 42 characters); text made safe (:func:`cue_text`), so never a blank line, a timing line or a
    lone ``NOTE``."""
    parts = ["WEBVTT\n"]
    for cue in build_cues(segments):
        lines = [_vtt_escape(line) for line in cue.text_lines]
        if cue.label and lines:
            lines[0] = f"<v {_vtt_escape(cue.label)}>{lines[0]}"
        start = format_timestamp(cue.start, decimal_marker=".")
        end = format_timestamp(cue.end, decimal_marker=".")
        parts.append(f"{start} --> {end}\n" + "\n".join(lines) + "\n")
    return "\n".join(parts)


def transcript_dict(segments: Iterable[Segment], info: TranscriptInfo) -> dict[str, Any]:
    """Our JSON shape: ``{"language", "language_probability", "duration", "model", "warnings", "text",
    "segments": [Segment.to_dict(), ...]}``; times in seconds."""
    items = list(segments)
    return {
        "language": info.language,
        "language_probability": info.language_probability,
        "duration": info.duration_s,
        "model": info.model,
        "warnings": list(info.warnings),
        "text": " ".join(s.text.strip() for s in items),
        "segments": [s.to_dict() for s in items],
    }


def to_json(segments: Iterable[Segment], info: TranscriptInfo, *, indent: int | None = 2) -> str:
    """:func:`transcript_dict` as JSON text (UTF-8 characters kept as they are)."""
    return json.dumps(transcript_dict(segments, info), ensure_ascii=False, indent=indent)


def to_openai_verbose_json(segments: Sequence[Segment] | Iterable[Segment], info: TranscriptInfo) -> dict[str, Any]:
    """The ``verbose_json`` object of OpenAI's transcription endpoint.

    Fields we do not have are filled as a Whisper server would: ``seek`` 0, ``tokens`` empty,
    ``temperature`` 0.0, ``compression_ratio`` 0.0. ``words`` is present when every segment has word times.
    A segment's label, when present, is kept under the extra key ``speaker``.
    """
    items = list(segments)
    out_segments = []
    for number, segment in enumerate(items):
        entry: dict[str, Any] = {
            "id": number,
            "seek": 0,
            "start": round(segment.start, 3),
            "end": round(segment.end, 3),
            "text": " " + segment.text.strip(),
            "tokens": [],
            "temperature": 0.0,
            "avg_logprob": segment.avg_logprob,
            "compression_ratio": 0.0,
            "no_speech_prob": segment.no_speech_prob,
        }
        label = segment_label(segment)
        if label:
            entry["speaker"] = label
        out_segments.append(entry)
    result: dict[str, Any] = {
        "task": "transcribe",
        "language": language_name(info.language),
        "duration": round(info.duration_s, 3),
        "text": " ".join(s.text.strip() for s in items),
        "segments": out_segments,
    }
    if items and all(s.words is not None for s in items):
        result["words"] = [
            {"word": w.word.strip(), "start": round(w.start, 3), "end": round(w.end, 3)}
            for s in items
            for w in s.words or ()
        ]
    return result
