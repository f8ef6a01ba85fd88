"""Matching a recording's voices to voice profiles: one pure function (docs/speaker-profiles.md).

A speaker's score against a profile is the highest cosine similarity of the speaker's embedding to one of the
profile's embeddings (a profile holding a voice in several conditions matches any of them). Pairs at or above
the threshold (``Settings.diarization_profile_threshold``, else the embedding model's own,
:func:`profile_threshold`, measured: docs/diarization.md) are taken best first, each profile and each speaker
at most once: two voices of one recording are two people. Embeddings of another length (another embedding
model: CAM++ is 192-d, GE2E 256-d) are never compared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stenograph.recordings.profiles import ProfileVoices

__all__ = ["PROFILE_THRESHOLDS", "ProfileMatch", "cosine_rows", "match_profiles", "profile_threshold"]

#: the lowest cosine similarity that matches a profile, by embedding model (docs/diarization.md).
PROFILE_THRESHOLDS = {"campplus": 0.55, "ge2e": 0.72}


def profile_threshold(model: str, configured: float | None = None) -> float:
    """The match threshold for voices of the diarization model ``model`` (its stored name): ``configured``
    when set, else GE2E's for a GE2E diarization and CAM++'s for any other."""
    if configured is not None:
        return configured
    return PROFILE_THRESHOLDS["ge2e" if "ge2e" in model else "campplus"]


@dataclass(frozen=True, slots=True)
class ProfileMatch:
    """A speaker labelled with a profile: its id, name and ``confidence`` (the cosine similarity, -1..1)."""

    profile_id: int
    name: str
    confidence: float


def _unit(vectors: npt.ArrayLike) -> npt.NDArray[np.float64]:
    matrix = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(matrix / np.where(norms > 0, norms, 1.0))


def cosine_rows(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Cosine similarities of the rows of ``a`` (shape ``(n, d)``) to those of ``b`` (``(m, d)``): ``(n, m)``
    (a zero vector has similarity 0 to everything)."""
    return _unit(a) @ _unit(b).T


def match_profiles(
    voices: Mapping[str, Sequence[float]], profiles: Sequence[ProfileVoices], threshold: float
) -> dict[str, ProfileMatch]:
    """Which speakers are which profiles.

    Args:
        voices: each speaker's embedding (``{"Speaker 1": [...]}``, any length ``d``, normalised or not).
        profiles: the profiles with their embeddings (each of length ``d``; others are skipped).
        threshold: the lowest cosine similarity that matches.

    Returns:
        ``{speaker: ProfileMatch}`` for the speakers matched, one profile per speaker and one speaker per profile,
        the best-scoring pairs first; empty when there are no voices or no profiles.
    """
    pairs: list[tuple[float, str, ProfileVoices]] = []
    for speaker, embedding in voices.items():
        for profile in profiles:
            usable = [e for e in profile.embeddings if len(e) == len(embedding)]
            if not usable or not len(embedding):
                continue
            score = float(cosine_rows([embedding], usable).max())
            if score >= threshold:
                pairs.append((score, speaker, profile))
    matches: dict[str, ProfileMatch] = {}
    taken: set[int] = set()
    for score, speaker, profile in sorted(pairs, key=lambda p: (-p[0], p[1], p[2].id)):
        if speaker in matches or profile.id in taken:
            continue
        matches[speaker] = ProfileMatch(profile.id, profile.name, round(score, 4))
        taken.add(profile.id)
    return matches
