"""The speech corpus' English single-speaker clips and their reference texts, for the benchmarks and the tests.

Standard library only, so tests (``tests/llm/wer.py``) import it without pulling in the benchmark helpers.
The corpus folder is ``STENOGRAPH_CORPUS_DIR`` (default ``../shared/audio``); its ``MANIFEST.tsv`` is a
tab-separated table with a header row, one row per file, the reference in column ``reference_text``.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Mapping
from pathlib import Path

__all__ = ["ENGLISH_CLIPS", "english_references", "shuffled_order"]

#: English clips with a single-speaker reference (stereo_diarization has two overlapping talkers;
#: jfk.flac and the 8 kHz LDC93S1 copy repeat other clips).
ENGLISH_CLIPS = (
    "jfk.wav",
    "librispeech-1995-1837-0001.wav",
    "LDC93S1.wav",
    "LJ001-0001.wav",
    "LJ001-0007.wav",
    "sense_and_sensibility_01_austen_64kb-0870.wav",
    "sense_and_sensibility_01_austen_64kb-0920.wav",
)


def english_references(folder: Path) -> dict[str, str]:
    """``{file name: reference text}`` of :data:`ENGLISH_CLIPS` found in ``folder / "MANIFEST.tsv"``.

    Raises:
        OSError: the manifest cannot be read.
    """
    with (folder / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    header = rows[0]
    table = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    return {name: table[name]["reference_text"] for name in ENGLISH_CLIPS if name in table}


def shuffled_order(durations: Mapping[str, float], min_seconds: float, seed: int, gap_s: float = 1.0) -> list[str]:
    """Clip names for a recording of at least ``min_seconds``: rounds of every clip of ``durations``
    (``{name: seconds}``), each round in its own shuffled order (``random.Random(seed)``), ``gap_s`` seconds of
    silence counted after each clip. The same arguments give the same order.

    Raises:
        ValueError: ``durations`` empty or a round lasting no time.
    """
    names = sorted(durations)
    round_s = sum(durations[name] + gap_s for name in names)
    if not names or round_s <= 0:
        raise ValueError("durations must name clips that last some time")
    rng = random.Random(seed)
    order: list[str] = []
    total = 0.0
    while total < min_seconds:
        batch = list(names)
        rng.shuffle(batch)
        order.extend(batch)
        total += round_s
    return order
