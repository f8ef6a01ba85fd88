"""Word error rate of transcripts before and after correction, for tests wired to any transcript source.

The functions take segments, so the integration tests can pass the real pipeline's transcripts; the
corpus tests here pass faster-whisper tiny.en transcripts of the English clips in the speech corpus.
Scored with jiwer after Whisper's ``EnglishTextNormalizer`` (lower case, no punctuation, numbers and
spellings such as "mister" -> "mr" unified), corpus-level (errors summed over clips).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer

from stenograph.llm.base import LLMClient
from stenograph.llm.errors import LLMOutputError
from stenograph.llm.fake import ScriptedLLM
from stenograph.steps.correction.correction import correct_segments
from stenograph.transcript.types import Segment

_NORMALIZE = EnglishTextNormalizer()


def corpus_dir() -> Path:
    """``STENOGRAPH_CORPUS_DIR``, default ``../shared/audio`` relative to the repository root."""
    root = Path(__file__).resolve().parents[2]
    return Path(os.environ.get("STENOGRAPH_CORPUS_DIR") or root.parent / "shared" / "audio")


def text_of(segments: Sequence[Segment]) -> str:
    return " ".join(segment.text.strip() for segment in segments)


def corpus_wer(references: Mapping[str, str], transcripts: Mapping[str, Sequence[Segment]]) -> float:
    """Corpus-level WER (0..1+) of ``transcripts`` against ``references``, both keyed by clip."""
    names = sorted(references)
    truth = [_NORMALIZE(references[name]) for name in names]
    hypothesis = [_NORMALIZE(text_of(transcripts[name])) for name in names]
    return float(jiwer.wer(truth, hypothesis))


def split_reference(segments: Sequence[Segment], reference: str) -> list[str]:
    """The reference's words shared out over ``segments`` in proportion to their word counts."""
    words = reference.split()
    counts = [max(1, len(segment.text.split())) for segment in segments]
    total = sum(counts)
    pieces, used, cumulative = [], 0, 0
    for count in counts:
        cumulative += count
        end = round(len(words) * cumulative / total)
        pieces.append(" ".join(words[used:end]))
        used = end
    return pieces


def correct_all(
    client: LLMClient | None, transcripts: Mapping[str, Sequence[Segment]], **options: object
) -> dict[str, list[Segment]]:
    """Each clip's transcript corrected by ``client`` (options go to ``correct_segments``). A clip whose
    correction fails (nothing usable came back) keeps its transcript, as the pipeline keeps the original
    version when the correction task fails."""
    corrected: dict[str, list[Segment]] = {}
    for name, segments in transcripts.items():
        try:
            corrected[name] = correct_segments(client, segments, **options).segments  # type: ignore[arg-type]
        except LLMOutputError:
            corrected[name] = list(segments)
    return corrected


def wer_with_reference_corrections(
    references: Mapping[str, str], transcripts: Mapping[str, Sequence[Segment]]
) -> tuple[float, float]:
    """(WER before, WER after) a scripted client proposes the reference text of every segment."""
    corrected = {}
    for name, segments in transcripts.items():
        pieces = split_reference(segments, references[name])
        fixes = {segment.index: piece for segment, piece in zip(segments, pieces, strict=True)}
        corrected[name] = correct_segments(ScriptedLLM.corrections(fixes), segments).segments
    return corpus_wer(references, transcripts), corpus_wer(references, corrected)
