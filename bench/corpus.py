"""The speech corpus' English single-speaker clips and their reference texts, for the benchmarks and the tests.

Standard library only, so tests (``tests/llm/wer.py``) import it without pulling in the benchmark helpers.
The corpus folder is ``STENOGRAPH_CORPUS_DIR`` (default ``../shared/audio``); its ``MANIFEST.tsv`` is a
tab-separated table with a header row, one row per file, the reference in column ``reference_text``.
"""

from __future__ import annotations

import csv
from pathlib import Path

__all__ = ["ENGLISH_CLIPS", "english_references"]

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
