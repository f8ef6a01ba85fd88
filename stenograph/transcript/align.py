"""Aligning two transcript versions by time, for diffs: a split or renumbered segment still meets its text.

Segments of both versions are swept in order of start time and grouped while they overlap in time (by more
than :data:`MIN_SHARED_S`); each group is one row holding the base version's texts and the other version's
texts of that stretch, joined by spaces. Versions with the same segments give one row per segment; a segment
split in two by speaker assignment gives one row whose texts are equal (unchanged).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stenograph.transcript.types import Segment

__all__ = ["MIN_SHARED_S", "AlignedRow", "align_by_time"]

#: Seconds two segments must share to be compared (segments that merely touch are not).
MIN_SHARED_S = 0.01


@dataclass(frozen=True, slots=True)
class AlignedRow:
    """One stretch of time: its start/end (seconds) and the segments of each version in it."""

    start: float
    end: float
    before: list[Segment]
    after: list[Segment]

    @staticmethod
    def _text(segments: Sequence[Segment]) -> str | None:
        return " ".join(s.text.strip() for s in segments) if segments else None

    @property
    def before_text(self) -> str | None:
        return self._text(self.before)

    @property
    def after_text(self) -> str | None:
        return self._text(self.after)


def align_by_time(before: Sequence[Segment], after: Sequence[Segment]) -> list[AlignedRow]:
    """Rows of overlapping segments of ``before`` and ``after``, in time order (see the module's docstring)."""
    items = sorted(
        [(s.start, s.end, 0, s) for s in before] + [(s.start, s.end, 1, s) for s in after],
        key=lambda item: (item[0], item[1], item[2]),
    )
    rows: list[AlignedRow] = []
    group: tuple[list[Segment], list[Segment]] = ([], [])
    start = end = 0.0
    for seg_start, seg_end, side, segment in items:
        if (group[0] or group[1]) and seg_start > end - MIN_SHARED_S:
            rows.append(AlignedRow(start, end, *group))
            group = ([], [])
        if not (group[0] or group[1]):
            start, end = seg_start, seg_end
        end = max(end, seg_end)
        group[side].append(segment)
    if group[0] or group[1]:
        rows.append(AlignedRow(start, end, *group))
    return rows
