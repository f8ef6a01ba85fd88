"""The right model for the language, on real speech: the corpus' German, Spanish, Russian and Chinese clips
uploaded with the default settings (tiny.en, no model or language named) come back transcribed by the
multilingual model in their language, scoring within 1 point of the same clips uploaded with ``model=base``
and their language given (WER; CER for Chinese); and Whisper's translation through
``POST /v1/audio/translations``.

Both sides go through the queue, so the comparison measures what identifying the language costs; how
Stenograph's transcription compares with faster-whisper called directly is the English corpus test's
subject (``test_corpus_wer.py``). faster-whisper's base called directly on these clips is printed beside
them for information.

Scoring: Whisper's basic text normaliser (lower case, punctuation and symbols removed), then jiwer's WER per
language over that language's clips; Chinese by CER with the spaces removed as well (the reference has
none). Each language is scored on its own, as the acceptance rule is per language.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stenograph.api import create_app
from tests.helpers import running_workers, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.corpus]

LANGUAGES = ("de", "es", "ru", "zh")


def other_language_clips(corpus: Path) -> dict[str, tuple[str, str]]:
    """``{file: (language, reference)}`` of the corpus' clips in :data:`LANGUAGES`."""
    with (corpus / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    header = rows[0]
    clips: dict[str, tuple[str, str]] = {}
    for row in rows[1:]:
        entry = dict(zip(header, row, strict=True))
        if entry["language"] in LANGUAGES and entry["reference_text"]:
            clips[entry["file"]] = (entry["language"], entry["reference_text"])
    return clips


def error_rate(language: str, references: list[str], hypotheses: list[str]) -> float:
    """WER of one language's clips (CER for Chinese), after Whisper's basic normaliser."""
    import jiwer
    from whisper_normalizer.basic import BasicTextNormalizer

    normalise = BasicTextNormalizer()
    refs = [normalise(r) for r in references]
    hyps = [normalise(h) for h in hypotheses]
    if language == "zh":
        return float(jiwer.cer([re.sub(r"\s+", "", r) for r in refs], [re.sub(r"\s+", "", h) for h in hyps]))
    return float(jiwer.wer(refs, hyps))


def base_given_the_language(corpus: Path, clips: dict[str, tuple[str, str]], settings: Any) -> dict[str, str]:
    """faster-whisper's own ``transcribe`` with Whisper base, the clip's language, the settings' beam and VAD."""
    from stenograph.steps.transcription.whisper_models import load_whisper

    model = load_whisper(settings.model_copy(update={"whisper_model": "base"}))
    out: dict[str, str] = {}
    for name, (language, _) in clips.items():
        segments, _ = model.transcribe(
            str(corpus / name), language=language, beam_size=settings.whisper_beam_size, vad_filter=settings.whisper_vad
        )
        out[name] = " ".join(s.text.strip() for s in segments)
    return out


def test_other_languages_through_the_default_settings_match_base_given_the_language(
    corpus: Path, sqlite_settings: Any, tmp_path: Path
) -> None:
    clips = other_language_clips(corpus)
    assert {language for language, _ in clips.values()} == set(LANGUAGES), clips
    settings = sqlite_settings()
    assert settings.whisper_model == "tiny.en"
    with TestClient(create_app(settings), base_url="http://localhost") as client, running_workers(settings, tmp_path):
        recordings: dict[tuple[str, bool], int] = {}
        for name, (language, _) in clips.items():
            for given in (False, True):
                fields = {"steps": "transcription", **({"model": "base", "language": language} if given else {})}
                with (corpus / name).open("rb") as handle:
                    response = client.post("/recordings", files={"file": (name, handle)}, data=fields)
                assert response.status_code == 201, response.text
                recordings[name, given] = response.json()["data"][0]["id"]

        def all_done() -> bool:
            steps = [client.get(f"/recordings/{rid}").json()["steps"]["transcription"] for rid in recordings.values()]
            assert "failed" not in steps
            return all(step == "completed" for step in steps)

        wait_for(all_done, timeout=1200, interval=0.5, what="the corpus to be transcribed")
        texts: dict[tuple[str, bool], str] = {}
        for (name, given), rid in recordings.items():
            transcript = client.get(f"/recordings/{rid}/transcript").json()
            assert (transcript["model"], transcript["language"]) == ("base", clips[name][0]), name
            assert transcript["version"]["info"]["model"] == "base" and transcript["warnings"] == []
            texts[name, given] = transcript["text"]
    direct = base_given_the_language(corpus, clips, settings)
    failures = []
    for language in LANGUAGES:
        names = [name for name, (lang, _) in clips.items() if lang == language]
        references = [clips[name][1] for name in names]
        ours = error_rate(language, references, [texts[n, False] for n in names])
        given = error_rate(language, references, [texts[n, True] for n in names])
        theirs = error_rate(language, references, [direct[n] for n in names])
        measure = "CER" if language == "zh" else "WER"
        print(
            f"\n{language} {measure}: default settings {ours:.2%}, model=base and the language given {given:.2%} "
            f"(faster-whisper base directly, given the language: {theirs:.2%})"
        )
        if ours > given + 0.01:
            failures.append((language, ours, given))
    assert not failures, failures


def test_openai_translation_of_russian_speech_is_english_and_kept_as_a_translation(
    corpus: Path, sqlite_settings: Any, tmp_path: Path
) -> None:
    settings = sqlite_settings()
    with TestClient(create_app(settings), base_url="http://localhost") as client, running_workers(settings, tmp_path):
        wait_for(
            lambda: any(w["live"] for w in client.get("/workers").json()["data"]), timeout=120, what="a live worker"
        )
        with (corpus / "deepspeech-ru.wav").open("rb") as handle:
            response = client.post(
                "/v1/audio/translations",
                files={"file": ("ru.wav", handle)},
                data={"model": "whisper-1", "response_format": "verbose_json"},
            )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["task"] == "translate" and body["language"] == "english"
        assert not re.search("[а-я]", body["text"].lower()) and len(re.findall("[a-z]+", body["text"].lower())) >= 3
        rid = int(response.headers["X-Stenograph-Recording-Id"])
        versions = client.get(f"/recordings/{rid}/transcript", params={"version": "translation"}).json()
        assert versions["version"]["kind"] == "translation" and versions["model"] == "base"
        assert versions["version"]["info"]["source_language"] == "ru"
        print(f"\ntranslation of deepspeech-ru.wav: {body['text']!r}")
