"""The whole pipeline through the queue with a real LLM: llama-cpp-python's own OpenAI-compatible server
on loopback, and the embedded engine, both running Gemma 3 270M (a weak base model: it must be harmless).

Every step's task says which LLM it used; a summary the model cannot fit to the schema fails with a
clear message (never invented content, never a silent truncation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stenograph.api import create_app
from tests.helpers import running_workers, wait_for

pytestmark = pytest.mark.slow


def run_pipeline(settings: Any, clip: Path, steps: str, log_dir: Path) -> tuple[TestClient, dict[str, Any]]:
    client = TestClient(create_app(settings), base_url="http://localhost")
    with clip.open("rb") as handle:
        response = client.post("/recordings", files={"file": (clip.name, handle)}, data={"steps": steps})
    assert response.status_code == 201, response.text
    recording = response.json()["data"][0]
    last = recording["tasks"][-1]["id"]
    with running_workers(settings, log_dir):
        wait_for(
            lambda: client.get(f"/tasks/{last}").json()["status"] in ("completed", "failed"),
            timeout=1200,
            interval=0.5,
            what="the pipeline to finish",
        )
    return client, client.get(f"/recordings/{recording['id']}").json()


def test_pipeline_through_llama_cpp_server(
    llama_server: str, corpus: Path, sqlite_settings: Any, tmp_path: Path
) -> None:
    settings = sqlite_settings(llm="openai", llm_base_url=llama_server, llm_model="gemma-3-270m", lease_seconds=60)
    client, recording = run_pipeline(settings, corpus / "jfk.wav", "transcription,correction,summary", tmp_path)
    tasks = {t["type"]: t for t in recording["tasks"]}
    assert tasks["transcription"]["status"] == "completed"
    correction = tasks["correction"]
    assert correction["status"] == "completed", correction["error"]
    assert correction["result"]["method"] == "llm"
    assert correction["result"]["llm"]["kind"] == "openai" and correction["result"]["llm"]["local"] is True
    assert correction["result"]["llm"]["warning"] is None
    diff = client.get(f"/recordings/{recording['id']}/transcript/diff", params={"other": "corrected"}).json()
    original = client.get(f"/recordings/{recording['id']}/transcript", params={"version": "original"}).json()
    assert [(s["start"], s["end"]) for s in diff["segments"]] == [(s["start"], s["end"]) for s in original["segments"]]
    summary = tasks["summary"]
    if summary["status"] == "completed":
        markdown = client.get(f"/recordings/{recording['id']}/summary").text
        assert markdown.strip() and summary["result"]["method"] == "llm"
    else:  # the weak model's answer did not fit the schema even after the repair attempt
        assert summary["error"]["kind"] == "llm_bad_output", summary["error"]
        assert "schema" in summary["error"]["message"] or "JSON" in summary["error"]["message"]
        assert summary["attempts"] == 1  # not retried: retrying cannot fix it


def test_correction_through_the_embedded_engine(
    gemma_path: Path, corpus: Path, sqlite_settings: Any, tmp_path: Path
) -> None:
    from stenograph.llm.embedded import llama_cpp_available

    if not llama_cpp_available():
        pytest.skip("llama_cpp is not installed (pip install 'stenograph[embedded]')")
    settings = sqlite_settings(llm="embedded", llm_gguf_path=str(gemma_path), llm_context_tokens=4096, lease_seconds=60)
    _, recording = run_pipeline(settings, corpus / "LDC93S1.wav", "transcription,correction", tmp_path)
    correction = next(t for t in recording["tasks"] if t["type"] == "correction")
    assert correction["status"] == "completed", correction["error"]
    assert correction["result"]["llm"]["kind"] == "embedded" and correction["result"]["llm"]["local"] is True
