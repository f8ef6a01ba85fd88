"""Extractive summary without an LLM: TextRank over character n-gram TF-IDF vectors.

Method (Mihalcea & Tarau, "TextRank: Bringing Order into Texts", EMNLP 2004, sentence extraction):
each segment is a node; edges are weighted by the cosine similarity of the segments' TF-IDF vectors;
node scores are PageRank (Brin & Page 1998) with damping 0.85, found by power iteration. Vectors are
character n-grams within word boundaries (scikit-learn ``TfidfVectorizer(analyzer="char_wb",
ngram_range=(2, 4))``) instead of words, so the same code works for any language and script, Chinese
and Japanese included (no word segmenter, stop-word list or download needed).

The highest-scoring segments are returned in time order, never rephrased.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer

from stenograph.transcript.types import Segment

__all__ = ["DAMPING", "ScoredSegment", "default_point_count", "select_key_segments", "textrank_scores"]

#: PageRank damping factor, the value of Brin & Page (1998) used by Mihalcea & Tarau (2004).
DAMPING = 0.85


@dataclass(frozen=True, slots=True)
class ScoredSegment:
    """A segment and its TextRank score (scores of one transcript sum to 1)."""

    segment: Segment
    score: float


def textrank_scores(
    texts: Sequence[str], *, damping: float = DAMPING, tolerance: float = 1e-8, max_iterations: int = 200
) -> npt.NDArray[np.float64]:
    """TextRank scores of ``texts``: shape ``(len(texts),)``, non-negative, summing to 1.

    A node without any similar node links to all others (uniform row), so the matrix stays
    stochastic. Texts with no character n-gram at all (empty) score like isolated nodes. Iterates
    ``r = (1 - d) / n + d · Mᵀ r`` until the L1 change is below ``tolerance`` or ``max_iterations``.
    """
    n = len(texts)
    if n == 0:
        return np.zeros(0)
    if n == 1:
        return np.ones(1)
    try:
        vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=True).fit_transform(texts)
    except ValueError:  # empty vocabulary: no text has two characters
        return np.full(n, 1.0 / n)
    similarity = np.asarray((vectors @ vectors.T).toarray(), dtype=np.float64)  # rows are L2-normalised
    np.fill_diagonal(similarity, 0.0)
    row_sums = similarity.sum(axis=1, keepdims=True)
    # Row-normalise; an isolated node links uniformly to the n - 1 others.
    transition = np.where(row_sums > 0, similarity / np.where(row_sums > 0, row_sums, 1.0), 1.0 / (n - 1))
    np.fill_diagonal(transition, 0.0)
    scores = np.full(n, 1.0 / n)
    for _ in range(max_iterations):
        updated = (1.0 - damping) / n + damping * (transition.T @ scores)
        if float(np.abs(updated - scores).sum()) < tolerance:
            scores = updated
            break
        scores = updated
    result: npt.NDArray[np.float64] = scores / scores.sum()
    return result


def default_point_count(segment_count: int) -> int:
    """How many key segments to keep: ``ceil(sqrt(n))`` clamped to [1, 10], at most ``n``."""
    if segment_count <= 0:
        return 0
    return min(segment_count, max(1, min(10, math.ceil(math.sqrt(segment_count)))))


def select_key_segments(segments: Sequence[Segment], *, count: int | None = None) -> list[ScoredSegment]:
    """The ``count`` (default :func:`default_point_count`) most central segments, in time order.

    Segments with blank text are ignored. Ties keep the earlier segment.
    """
    spoken = [segment for segment in segments if segment.text.strip()]
    if not spoken:
        return []
    scores = textrank_scores([segment.text.strip() for segment in spoken])
    keep = default_point_count(len(spoken)) if count is None else max(0, min(count, len(spoken)))
    order = sorted(range(len(spoken)), key=lambda i: (-scores[i], i))[:keep]
    return [ScoredSegment(spoken[i], float(scores[i])) for i in sorted(order, key=lambda i: spoken[i].start)]
