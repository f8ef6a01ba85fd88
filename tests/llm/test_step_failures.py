"""A step's failure does not take the next step with it: with the LLM server failing, the correction fails
and the summary still runs, on the original transcript, falling back to the extractive method and saying
why. Real worker, Whisper tiny.en, a fake OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stenograph.api import create_app
from tests.audio_factory import AudioFactory
from tests.helpers import running_workers, wait_for
from tests.llm.helpers import FakeServer

pytestmark = pytest.mark.slow

CHAT = ("POST", "/v1/chat/completions")


@pytest.mark.parametrize(
    "failure", [(500, {"error": {"message": "model crashed"}}), (200, b"<html>proxy error page</html>")]
)
def test_a_failed_correction_leaves_a_summary_of_the_original(
    failure: tuple[int, Any], fake_server: FakeServer, sqlite_settings: Any, audio: AudioFactory, tmp_path: Path
) -> None:
    fake_server.reply(*CHAT, failure)
    settings = sqlite_settings(llm="openai", llm_base_url=f"{fake_server.url}/v1", llm_model="m", max_attempts=2)
    wav = audio.speech_wav("The budget meeting agreed to hire two engineers next month.")
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        with wav.open("rb") as handle:
            created = client.post("/recordings", files={"file": (wav.name, handle)}).json()["data"][0]
        ids = {task["type"]: task["id"] for task in created["tasks"]}
        assert set(ids) == {"transcription", "correction", "summary"}
        with running_workers(settings, tmp_path):
            summary = wait_for(
                lambda: (t := client.get(f"/tasks/{ids['summary']}").json())["status"] in ("completed", "failed") and t,
                timeout=240,
                what="the summary to end",
            )
        correction = client.get(f"/tasks/{ids['correction']}").json()
        assert correction["status"] == "failed", correction
        assert fake_server.url in correction["error"]["message"]  # names the server
        assert "JSONDecodeError" not in correction["error"]["message"]
        assert summary["status"] == "completed", summary
        assert summary["result"]["method"] == "extractive"
        assert summary["result"]["source_version"] == {"number": 1, "kind": "original"}
        assert fake_server.url in (summary["result"]["fallback"] or "")
        notes = client.get(f"/recordings/{created['id']}/summary", params={"format": "json"}).json()
        assert notes["source_version"]["kind"] == "original" and notes["key_points"]
        assert "could not write this summary" in notes["markdown"]
