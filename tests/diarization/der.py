"""Diarization error rate, scored on 10 ms frames (an equivalent of NIST md-eval / pyannote.metrics' DER).

DER = (missed speech + false alarm + speaker confusion) / reference speech, each counted per speaker per
frame, so overlapping speech is scored (a frame where two speak counts twice). Reference and hypothesis
labels are matched one to one to maximise their common time (Hungarian algorithm, scipy), as md-eval does.
Frames within ``collar`` seconds of any reference segment's start or end are not scored (md-eval's collar,
0.25 s on each side; pyannote.metrics calls the same thing ``collar=0.5``, the total width).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

Segment = tuple[float, float, str]
STEP = 0.01


@dataclass(frozen=True, slots=True)
class DerResult:
    """Seconds of each error, the scored reference speech, and the rate (0..)."""

    missed: float
    false_alarm: float
    confusion: float
    reference: float

    @property
    def der(self) -> float:
        """(missed + false alarm + confusion) / reference (0 when there is no reference speech)."""
        return (self.missed + self.false_alarm + self.confusion) / self.reference if self.reference else 0.0


def _grid(segments: list[Segment], labels: list[str], frames: int) -> np.ndarray:
    grid = np.zeros((frames, max(1, len(labels))), dtype=bool)
    index = {label: i for i, label in enumerate(labels)}
    for start, end, label in segments:
        grid[round(start / STEP) : round(end / STEP), index[label]] = True
    return grid


def diarization_error(reference: list[Segment], hypothesis: list[Segment], collar: float = 0.25) -> DerResult:
    """Score ``hypothesis`` against ``reference`` (both ``(start_s, end_s, label)``)."""
    end = max([b for _, b, _ in reference + hypothesis] + [0.0])
    frames = round(end / STEP) + 1
    ref_labels = sorted({label for _, _, label in reference})
    hyp_labels = sorted({label for _, _, label in hypothesis})
    ref = _grid(reference, ref_labels, frames)
    hyp = _grid(hypothesis, hyp_labels, frames)
    scored = np.ones(frames, dtype=bool)
    width = round(collar / STEP)
    for start, stop, _ in reference:
        for edge in (round(start / STEP), round(stop / STEP)):
            scored[max(0, edge - width) : edge + width] = False
    ref, hyp = ref[scored], hyp[scored]
    common = ref.T.astype(np.int64) @ hyp.astype(np.int64)
    rows, cols = linear_sum_assignment(-common)
    mapped = np.zeros(len(ref), dtype=np.int64)
    for r, c in zip(rows, cols, strict=True):
        mapped += ref[:, r] & hyp[:, c]
    n_ref, n_hyp = ref.sum(axis=1), hyp.sum(axis=1)
    return DerResult(
        missed=float(np.maximum(n_ref - n_hyp, 0).sum() * STEP),
        false_alarm=float(np.maximum(n_hyp - n_ref, 0).sum() * STEP),
        confusion=float((np.minimum(n_ref, n_hyp) - mapped).sum() * STEP),
        reference=float(n_ref.sum() * STEP),
    )
