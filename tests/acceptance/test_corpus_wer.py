"""Accuracy on real speech: WER over every English corpus clip through the queue, against faster-whisper
called directly on the same clips with the same model and settings (at most 1 point worse).

Scored with jiwer after Whisper's English text normaliser, corpus-level. The stereo two-talker clip is
scored per channel (``channels=split`` through the queue, ``decode_audio(split_stereo=True)`` directly).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stenograph.api import create_app
from tests.helpers import running_workers, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.corpus]

STEREO = "stereo_diarization.wav"


def english_references(corpus: Path) -> dict[str, str]:
    """``{key: reference}``; the stereo clip gives ``stereo_diarization.wav#left`` and ``#right``."""
    with (corpus / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    header = rows[0]
    references: dict[str, str] = {}
    for row in rows[1:]:
        entry = dict(zip(header, row, strict=True))
        if entry["language"] != "en" or not entry["reference_text"]:
            continue
        if entry["file"] == STEREO:
            for part in entry["reference_text"].split(" | "):
                channel, text = part.split(":", 1)
                references[f"{STEREO}#{channel.strip()}"] = text.strip()
        else:
            references[entry["file"]] = entry["reference_text"]
    return references


def corpus_wer(references: dict[str, str], hypotheses: dict[str, str]) -> float:
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    normalise = EnglishTextNormalizer()
    keys = sorted(references)
    return float(jiwer.wer([normalise(references[k]) for k in keys], [normalise(hypotheses.get(k, "")) for k in keys]))


def direct_transcripts(corpus: Path, keys: list[str], settings: Any) -> dict[str, str]:
    """faster-whisper's own ``transcribe`` with the settings' model, beam size and VAD."""
    from faster_whisper import decode_audio

    from stenograph.steps.transcription.whisper_models import load_whisper

    model = load_whisper(settings)
    options = {"beam_size": settings.whisper_beam_size, "vad_filter": settings.whisper_vad}
    out: dict[str, str] = {}
    for key in keys:
        if key.startswith(STEREO):
            continue
        segments, _ = model.transcribe(str(corpus / key), **options)
        out[key] = " ".join(s.text.strip() for s in segments)
    left, right = decode_audio(str(corpus / STEREO), split_stereo=True)
    for channel, audio in (("left", left), ("right", right)):
        segments, _ = model.transcribe(audio, **options)
        out[f"{STEREO}#{channel}"] = " ".join(s.text.strip() for s in segments)
    return out


def test_queue_wer_is_within_one_point_of_faster_whisper(corpus: Path, sqlite_settings: Any, tmp_path: Path) -> None:
    references = english_references(corpus)
    files = sorted({key.split("#")[0] for key in references})
    settings = sqlite_settings()
    with TestClient(create_app(settings), base_url="http://localhost") as client, running_workers(settings, tmp_path):
        recordings: dict[str, int] = {}
        for name in files:
            with (corpus / name).open("rb") as handle:
                fields = {"steps": "transcription", "channels": "split" if name == STEREO else "mix"}
                response = client.post("/recordings", files={"file": (name, handle)}, data=fields)
            assert response.status_code == 201, response.text
            recordings[name] = response.json()["data"][0]["id"]

        def all_done() -> bool:
            steps = [client.get(f"/recordings/{rid}").json()["steps"]["transcription"] for rid in recordings.values()]
            assert "failed" not in steps
            return all(step == "completed" for step in steps)

        wait_for(all_done, timeout=900, interval=0.5, what="the corpus to be transcribed")
        queued: dict[str, str] = {}
        for name, rid in recordings.items():
            transcript = client.get(f"/recordings/{rid}/transcript").json()
            assert (transcript["model"], transcript["language"]) == ("tiny.en", "en"), name  # no switch to base
            segments = transcript["segments"]
            if name == STEREO:
                for channel in ("left", "right"):
                    queued[f"{name}#{channel}"] = " ".join(s["text"] for s in segments if s["channel"] == channel)
            else:
                queued[name] = " ".join(s["text"] for s in segments)
    direct = direct_transcripts(corpus, sorted(references), settings)
    queue_wer, direct_wer = corpus_wer(references, queued), corpus_wer(references, direct)
    print(f"\nWER over {len(references)} English references: queue {queue_wer:.2%}, direct {direct_wer:.2%}")
    assert queue_wer <= direct_wer + 0.01, (queue_wer, direct_wer)
    assert queue_wer < 0.3  # tiny.en on clean read speech: a sanity bound, not the goal
