"""Export formats: timestamps, labels, JSON shapes."""

from __future__ import annotations

import json

import pytest

from stenograph.transcript.formats import (
    format_timestamp,
    to_json,
    to_openai_verbose_json,
    to_srt,
    to_txt,
    to_vtt,
    transcript_dict,
)
from stenograph.transcript.types import Segment, TranscriptInfo, Word

INFO = TranscriptInfo(language="en", language_probability=0.98, duration_s=3725.5, model="tiny.en")
SEGMENTS = [
    Segment(0, 0.0, 2.5, " Hello there.", avg_logprob=-0.2, no_speech_prob=0.01),
    Segment(1, 62.345, 64.0, "A < B & C", channel="left"),
    Segment(2, 3723.9996, 3725.5, "Bye.", channel="right", speaker="Ann"),
]


@pytest.mark.parametrize(
    ("seconds", "srt", "vtt"),
    [
        (0.0, "00:00:00,000", "00:00:00.000"),
        (62.345, "00:01:02,345", "00:01:02.345"),
        (3723.9996, "01:02:04,000", "01:02:04.000"),  # rounds to the millisecond, carrying into seconds
        (59.9994, "00:00:59,999", "00:00:59.999"),
        (360000.0, "100:00:00,000", "100:00:00.000"),
        (-0.5, "00:00:00,000", "00:00:00.000"),
    ],
)
def test_timestamps(seconds: float, srt: str, vtt: str) -> None:
    assert format_timestamp(seconds) == srt
    assert format_timestamp(seconds, decimal_marker=".") == vtt


def test_txt_one_line_per_segment_with_labels() -> None:
    assert to_txt(SEGMENTS) == "Hello there.\nleft: A < B & C\nAnn: Bye.\n"
    assert to_txt([]) == ""


def test_srt() -> None:
    assert to_srt(SEGMENTS) == (
        "1\n00:00:00,000 --> 00:00:02,500\nHello there.\n\n"
        "2\n00:01:02,345 --> 00:01:04,000\nleft: A < B & C\n\n"
        "3\n01:02:04,000 --> 01:02:05,500\nAnn: Bye.\n"
    )


def test_vtt_escapes_text_and_uses_voice_spans() -> None:
    assert to_vtt(SEGMENTS) == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:02.500\nHello there.\n\n"
        "00:01:02.345 --> 00:01:04.000\n<v left>A &lt; B &amp; C\n\n"
        "01:02:04.000 --> 01:02:05.500\n<v Ann>Bye.\n"
    )
    assert to_vtt([]) == "WEBVTT\n"


def test_json_round_trips_segments() -> None:
    data = json.loads(to_json(SEGMENTS, INFO))
    assert data == transcript_dict(SEGMENTS, INFO)
    assert data["language"] == "en" and data["duration"] == 3725.5 and data["model"] == "tiny.en"
    assert [Segment.from_dict(s) for s in data["segments"]][1] == SEGMENTS[1]
    assert data["text"] == "Hello there. A < B & C Bye."


def test_openai_verbose_json_shape() -> None:
    words = (Word(0.0, 1.0, " Hello", 0.9), Word(1.0, 2.5, " there.", 0.8))
    segments = [Segment(0, 0.0, 2.5, "Hello there.", words=words), Segment(1, 3.0, 4.0, "Bye.", words=())]
    data = to_openai_verbose_json(segments, INFO)
    assert data["task"] == "transcribe"
    assert data["language"] == "english"
    assert data["duration"] == 3725.5
    assert data["text"] == "Hello there. Bye."
    first = data["segments"][0]
    assert set(first) == {
        "id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob", "compression_ratio",
        "no_speech_prob",
    }  # fmt: skip
    assert first["id"] == 0 and first["text"] == " Hello there."
    assert data["words"] == [
        {"word": "Hello", "start": 0.0, "end": 1.0},
        {"word": "there.", "start": 1.0, "end": 2.5},
    ]
    labelled = to_openai_verbose_json(SEGMENTS, INFO)
    assert "words" not in labelled
    assert labelled["segments"][1]["speaker"] == "left"
    json.dumps(labelled)  # serialisable


INJECTED = [
    Segment(0, 0.0, 1.0, "first\n\n00:00:01,000 --> 00:00:02,000\nTEXT"),
    Segment(1, 1.0, 2.0, "\r\n\nNOTE\n\nWEBVTT\u2028x", speaker="A\n\nB --> C"),
    Segment(2, 2.0, 3.0, "last"),
]


def _srt_cues(text: str) -> list[list[str]]:
    return [block.split("\n") for block in text.strip("\n").split("\n\n")]


def test_srt_cue_text_never_adds_a_cue() -> None:
    srt = to_srt(INJECTED)
    cues = _srt_cues(srt)
    assert len(cues) == len(INJECTED)
    assert [c[0] for c in cues] == ["1", "2", "3"]
    assert all(len(c) == 3 and "-->" in c[1] and "-->" not in c[2] for c in cues)
    assert cues[0][2] == "first 00:00:01,000 → 00:00:02,000 TEXT"


def test_vtt_cue_text_never_adds_a_cue_or_note() -> None:
    vtt = to_vtt(INJECTED)
    header, *blocks = vtt.strip("\n").split("\n\n")
    assert header == "WEBVTT" and len(blocks) == len(INJECTED)
    for block in blocks:
        timing, *payload = block.split("\n")
        assert "-->" in timing and len(payload) == 1 and "-->" not in payload[0]
        assert payload[0].strip() and payload[0].strip() != "NOTE"
    assert blocks[1].split("\n")[1] == "<v A B → C>NOTE WEBVTT x"
