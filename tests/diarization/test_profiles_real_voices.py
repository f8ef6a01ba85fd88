"""Voice profiles on real voices through the real diarization engine: the LJ Speech reader named in one
utterance is recognised in the other; JFK's voice is not taken for hers. The tasks run in the test's process
(transcription's segments scripted), as in tests/integration/test_speaker_profiles.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stenograph.api import create_app
from stenograph.settings import Settings
from stenograph.steps.diarization.engine import PyannoteGe2eDiarizer
from stenograph.steps.diarization.models import assemble_models
from stenograph.steps.speakers.profiles import profile_threshold
from tests.integration.test_speaker_profiles import diarized_file, latest, profiles, rename

pytestmark = [pytest.mark.slow, pytest.mark.corpus]


def test_the_lj_pair_matches_through_the_real_engine_and_another_voice_does_not(
    sqlite_settings: Callable[..., Settings], corpus: Path, tmp_path: Path
) -> None:
    settings = sqlite_settings()
    engine = PyannoteGe2eDiarizer(assemble_models(tmp_path / "models"))
    with TestClient(create_app(settings), base_url="http://localhost") as client:

        def run(name: str) -> int:
            return diarized_file(client, settings, (corpus / name).read_bytes(), engine)

        first = run("LJ001-0001.wav")
        assert latest(client, first)["version"]["info"]["speakers"] == ["Speaker 1"]
        rename(client, first, {"Speaker 1": "Linda"})
        assert profiles(client)["Linda"]["embeddings"] == 1
        second = run("LJ001-0007.wav")
        matched = latest(client, second)["version"]["info"]["profiles"]
        assert matched["Speaker 1"]["name"] == "Linda"
        assert matched["Speaker 1"]["confidence"] >= profile_threshold(engine.model)
        assert {s["speaker"] for s in latest(client, second)["segments"]} == {"Linda"}
        other = run("jfk.wav")
        assert "profiles" not in latest(client, other)["version"]["info"]
        assert "Linda" not in {s["speaker"] for s in latest(client, other)["segments"]}
