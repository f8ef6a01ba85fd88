"""The correction and summary steps' ``run`` with the scripted LLM (:class:`ScriptedLLM`), against a real
database: what they write, what their results say, and the summary's extractive fallback."""

from __future__ import annotations

import json

from stenograph.llm.errors import LLMTimeout
from stenograph.llm.fake import ScriptedLLM
from stenograph.recordings.store import TranscriptStore
from stenograph.steps.base import run_step
from stenograph.steps.correction.step import STEP as CORRECTION
from stenograph.steps.summary.step import STEP as SUMMARY
from tests.steps.conftest import MakeContext, segments

TRANSCRIPT = segments(
    (0.0, 4.0, "today we discuss the budget for next year"),
    (4.0, 8.0, "the budget for marketing grows by ten percent"),
    (8.0, 12.0, "we deploy on kubernets next week"),
)


def original(store: TranscriptStore, recording_id: int) -> int:
    version = store.create_version(
        recording_id, "original", TRANSCRIPT, task_id=None, language="en", info={"duration_s": 12.0, "model": "x"}
    )
    return version.id


def test_correction_writes_a_corrected_version_from_the_llm(
    make_context: MakeContext, store: TranscriptStore, recording_id: int
) -> None:
    original(store, recording_id)
    llm = ScriptedLLM.corrections({2: "we deploy on Kubernetes next week"})
    ctx, _ = make_context("correction", llm=llm)
    result = run_step(CORRECTION, ctx, {"recording_id": recording_id, "glossary": ["Kubernetes"]})
    version = store.pick_version(recording_id, "latest")
    assert result["version_id"] == version.id and version.kind == "corrected"
    assert result["method"] == "llm" and result["llm"] is not None
    assert [s.text for s in store.segments(version.id)][2] == "we deploy on Kubernetes next week"
    assert version.info["source_version"] == 1 and version.info["model"] == "x"
    assert llm.calls and "in English." in llm.calls[0].messages[0]["content"]  # the one language table


def test_correction_without_an_llm_applies_the_glossary(
    make_context: MakeContext, store: TranscriptStore, recording_id: int
) -> None:
    original(store, recording_id)
    ctx, _ = make_context("correction")
    result = run_step(CORRECTION, ctx, {"recording_id": recording_id, "glossary": ["Kubernetes"]})
    assert result["llm"] is None
    texts = [s.text for s in store.segments(result["version_id"])]
    assert texts[2] == "we deploy on Kubernetes next week"


def summary_answer() -> str:
    return json.dumps(
        {
            "title": "Budget meeting",
            "summary": "The team set next year's budget.",
            "key_points": [{"text": "Marketing grows by ten percent.", "timestamp": "00:04"}],
            "decisions": [{"text": "Marketing grows.", "timestamp": "00:04"}],
            "action_items": [{"text": "Send the budget to finance", "owner": "Anna", "timestamp": "00:08"}],
        }
    )


def test_summary_with_the_llm(make_context: MakeContext, store: TranscriptStore, recording_id: int) -> None:
    original(store, recording_id)
    ctx, _ = make_context("summary", llm=ScriptedLLM([summary_answer()]))
    result = run_step(SUMMARY, ctx, {"recording_id": recording_id, "template": None})
    assert result["method"] == "llm" and result["fallback"] is None and result["llm"] is not None
    assert result["template"] == ctx.settings.summary_template
    assert result["source_version"] == {"number": 1, "kind": "original"}
    saved = store.latest_summary(recording_id)
    assert "Budget meeting" in json.dumps(saved, default=str)
    # Every item cites the start of its segment, in the stored JSON and in the Markdown.
    assert saved["data"]["decisions"] == [{"text": "Marketing grows.", "timestamp_s": 4.0}]
    assert saved["data"]["action_items"] == [{"text": "Send the budget to finance", "owner": None, "timestamp_s": 8.0}]
    assert "- Marketing grows. [00:04]" in saved["markdown"]
    assert "- Send the budget to finance [00:08]" in saved["markdown"]


def test_summary_falls_back_to_the_extractive_method_saying_why(
    make_context: MakeContext, store: TranscriptStore, recording_id: int
) -> None:
    original(store, recording_id)
    down = ScriptedLLM([LLMTimeout("LLM server at http://127.0.0.1:9/v1 did not answer within 120 s")] * 3)
    ctx, _ = make_context("summary", llm=down)
    result = run_step(SUMMARY, ctx, {"recording_id": recording_id})
    assert result["method"] == "extractive" and result["llm"] is None
    assert result["fallback"] is not None and "127.0.0.1:9" in result["fallback"]


def test_summary_without_an_llm_is_extractive(
    make_context: MakeContext, store: TranscriptStore, recording_id: int
) -> None:
    original(store, recording_id)
    ctx, _ = make_context("summary")
    result = run_step(SUMMARY, ctx, {"recording_id": recording_id})
    assert result["method"] == "extractive" and result["fallback"] is None
