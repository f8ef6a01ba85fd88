"""match_profiles: the best pairs at or above the threshold, one profile per speaker and one speaker per profile."""

from __future__ import annotations

import pytest

from stenograph.recordings.profiles import ProfileVoices
from stenograph.steps.speakers.profiles import cosine_rows, match_profiles, profile_threshold


def test_each_voice_takes_its_best_profile_at_most_once() -> None:
    profiles = [
        ProfileVoices(1, "Dana", [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
        ProfileVoices(2, "Ann", [[0.0, 1.0, 0.0]]),
    ]
    voices = {"Speaker 1": [0.9, 0.1, 0.0], "Speaker 2": [1.0, 0.0, 0.05], "Speaker 3": [0.1, 1.0, 0.0]}
    found = match_profiles(voices, profiles, threshold=0.72)
    assert {s: (m.name, m.profile_id) for s, m in found.items()} == {"Speaker 2": ("Dana", 1), "Speaker 3": ("Ann", 2)}
    assert found["Speaker 2"].confidence == pytest.approx(
        float(cosine_rows([1.0, 0.0, 0.05], [1.0, 0, 0])[0, 0]), abs=1e-4
    )


def test_a_profile_matches_any_of_its_embeddings_and_nothing_under_the_threshold() -> None:
    profiles = [ProfileVoices(1, "Dana", [[1.0, 0.0], [0.0, 1.0]])]
    assert match_profiles({"Speaker 1": [0.0, 2.0]}, profiles, 0.72)["Speaker 1"].confidence == pytest.approx(1.0)
    assert match_profiles({"Speaker 1": [1.0, 1.0]}, profiles, 0.72) == {}  # cosine 0.707
    assert match_profiles({"Speaker 1": [1.0, 0.0, 0.0]}, profiles, 0.0) == {}  # another engine's length
    assert match_profiles({}, profiles, 0.72) == {} and match_profiles({"Speaker 1": [1.0, 0.0]}, [], 0.72) == {}


def test_the_threshold_follows_the_embedding_model_unless_configured() -> None:
    assert profile_threshold("pyannote-segmentation-3.0+3dspeaker-campplus") == 0.55
    assert profile_threshold("pyannote-segmentation-3.0+resemblyzer-ge2e+by-channel") == 0.72
    assert profile_threshold("pyannote-segmentation-3.0+resemblyzer-ge2e", 0.9) == 0.9
