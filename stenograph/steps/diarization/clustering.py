"""Clustering (window, local speaker) embeddings into global speakers.

Agglomerative hierarchical clustering on cosine distance (complete linkage, scipy), as in pyannote.audio 3.x's
``AgglomerativeClustering`` (``pyannote/audio/pipelines/clustering.py``: a linkage tree cut at a distance
threshold, or at a fixed number of clusters; clusters smaller than a minimum size are then merged into the
nearest large one). Memory stays bounded on long recordings: at most ``max_points`` embeddings (those backed by
the most speech) build the tree, which is O(n²); the others join the nearest cluster centroid.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist, squareform

__all__ = ["cluster_embeddings", "normalise"]

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


def normalise(rows: FloatArray) -> FloatArray:
    """Rows divided by their L2 norm (zero rows stay zero)."""
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    out: FloatArray = (rows / np.maximum(norms, 1e-8)).astype(np.float32)
    return out


def _cut(tree: npt.NDArray[np.float64], n: int, threshold: float, low: int, high: int) -> IntArray:
    """Labels 0.. from cutting ``tree`` at ``threshold``, with the count then held within ``low..high``."""
    labels = fcluster(tree, t=threshold, criterion="distance")
    count = len(np.unique(labels))
    if count < low or count > high:
        labels = fcluster(tree, t=min(max(count, low), high, n), criterion="maxclust")
    _, dense = np.unique(labels, return_inverse=True)
    return dense.astype(np.int64)


def _merge_small(points: FloatArray, labels: IntArray, weights: FloatArray, fraction: float, low: int) -> IntArray:
    """Give members of clusters holding under ``fraction`` of the total ``weights`` (speech) to the nearest
    larger cluster by centroid cosine (keeping at least ``low`` clusters)."""
    share = np.bincount(labels, weights=weights) / max(float(weights.sum()), 1e-9)
    order = np.argsort(-share)
    large = [int(c) for c in order if share[c] >= fraction]
    for c in order:
        if len(large) >= low:
            break
        if int(c) not in large:
            large.append(int(c))
    if not large or len(large) == len(share):
        return labels
    centroids = normalise(np.stack([points[labels == c].mean(axis=0) for c in large]))
    out = labels.copy()
    for index in np.flatnonzero(~np.isin(labels, large)):
        out[index] = large[int(np.argmax(centroids @ points[index]))]
    _, dense = np.unique(out, return_inverse=True)
    return dense.astype(np.int64)


def cluster_embeddings(
    embeddings: FloatArray,
    weights: FloatArray,
    *,
    threshold: float,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int | None = None,
    max_points: int = 2000,
    min_cluster_fraction: float = 0.03,
    groups: npt.NDArray[np.int64] | None = None,
) -> IntArray:
    """Cluster ``embeddings`` (shape ``(n, d)``) into speakers; ``weights`` (shape ``(n,)``, e.g. seconds of
    speech behind each embedding) choose which to keep when ``n > max_points``.

    Args:
        threshold: cosine distance (1 - cosine similarity) at which the complete-linkage tree is cut.
        num_speakers: the exact count (else found, within ``min_speakers``..``max_speakers``).
        min_cluster_fraction: clusters holding less than this fraction of the speech (``weights``) are merged
            into the nearest larger one, unless that would leave fewer than ``min_speakers``.
        groups: shape ``(n,)``; embeddings of one group (one window's local speakers, which the segmentation
            model already told apart) cannot link: their distance is set to the maximum, 2, so with complete
            linkage no cluster under the threshold holds two of them.

    Returns:
        labels 0..k-1, shape ``(n,)``.
    """
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    high = max_speakers if max_speakers is not None else n
    low = min_speakers
    if num_speakers is not None:
        low = high = num_speakers
    high = max(1, min(high, n))
    low = max(1, min(low, high))
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    points = normalise(embeddings)
    chosen = np.arange(n) if n <= max_points else np.sort(np.argsort(-weights, kind="stable")[:max_points])
    distances = squareform(pdist(points[chosen].astype(np.float64), metric="cosine"), checks=False)
    if groups is not None:
        chosen_groups = groups[chosen]
        same = chosen_groups[:, None] == chosen_groups[None, :]
        np.fill_diagonal(same, False)
        distances[same] = 2.0
    tree = linkage(squareform(np.clip(distances, 0.0, 2.0), checks=False), method="complete")
    sub = _cut(tree, len(chosen), threshold, low, high)
    if num_speakers is None:
        sub = _merge_small(points[chosen], sub, weights[chosen].astype(np.float32), min_cluster_fraction, low)
    if len(chosen) == n:
        return sub
    centroids = normalise(np.stack([points[chosen][sub == c].mean(axis=0) for c in range(int(sub.max()) + 1)]))
    labels = np.argmax(points @ centroids.T, axis=1).astype(np.int64)
    labels[chosen] = sub
    result: IntArray = labels
    return result
