"""The transcription step's ``run`` with a scripted transcriber, against a real database: segments are
stored and a version completed; a retry resumes from the last stored segment without doubling one."""

from __future__ import annotations

import pytest

from stenograph.errors import PermanentError, TaskCancelled
from stenograph.recordings.store import TranscriptStore
from stenograph.steps.base import StepContext, run_step
from stenograph.steps.transcription.fake import ScriptedTranscriber
from stenograph.steps.transcription.step import STEP, resume_point
from stenograph.transcript.types import Segment, TranscriptInfo
from tests.steps.conftest import MakeContext, segments

SCRIPT = segments((0.0, 2.0, "one"), (2.0, 4.0, "two"), (4.0, 6.5, "three"), (6.5, 9.0, "four"))


def test_transcription_stores_the_segments_and_completes_a_version(
    make_context: MakeContext, store: TranscriptStore, recording_id: int
) -> None:
    fake = ScriptedTranscriber(SCRIPT)
    ctx, task = make_context("transcription", transcriber=fake)
    result = run_step(STEP, ctx, {"recording_id": recording_id})
    version = store.pick_version(recording_id, "latest")
    assert result["version_id"] == version.id and version.kind == "original"
    assert result["segments"] == 4 and result["resumed_at_s"] is None and result["model"] == "scripted"
    assert [s.text for s in store.segments(version.id)] == ["one", "two", "three", "four"]
    assert [c.start_at for c in fake.calls] == [0.0]
    assert task.progress[-1] == (1.0, "done")


def test_a_retry_resumes_after_the_last_stored_segment_without_doubling_it(
    make_context: MakeContext, store: TranscriptStore, recording_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("stenograph.steps.transcription.step.SEGMENT_BATCH", 1)  # each segment stored at once
    first = ScriptedTranscriber(SCRIPT, error=RuntimeError("the slot process died"), error_after=2)
    ctx, task = make_context("transcription", transcriber=first)
    with pytest.raises(RuntimeError):
        run_step(STEP, ctx, {"recording_id": recording_id})
    draft, stored = store.draft_version(recording_id, task.task_id)
    assert [s.text for s in stored] == ["one", "two"] and draft.language == "en"

    again = ScriptedTranscriber(SCRIPT)
    task.attempt = 2
    retry = StepContext(task, store=store, transcriber=lambda _settings, _model: again)
    result = run_step(STEP, retry, {"recording_id": recording_id, "options": {}})
    assert [(c.start_at, c.first_index) for c in again.calls] == [(4.0, 2)]
    assert again.calls[0].options.language == "en"  # the first run's language, kept
    assert result["resumed_at_s"] == 4.0 and result["segments"] == 4
    texts = [(s.index, s.text) for s in store.segments(result["version_id"])]
    assert texts == [(0, "one"), (1, "two"), (2, "three"), (3, "four")]


def test_resume_point_of_split_channels_is_the_earliest_channel() -> None:
    stored = [Segment(0, 0.0, 3.0, "l1", channel="left"), Segment(1, 0.5, 5.0, "r1", channel="right")]
    assert resume_point(stored) == (3.0, {"left": 3.0, "right": 5.0})
    assert resume_point(segments((0.0, 2.5, "mono"))) == (2.5, {})
    assert resume_point([]) == (0.0, {})


def test_a_cancel_keeps_the_segments_so_far(
    make_context: MakeContext, store: TranscriptStore, recording_id: int
) -> None:
    ctx, task = make_context("transcription")
    stopping = ScriptedTranscriber(SCRIPT, before_segment=lambda s: setattr(task, "cancelled", s.index >= 1))
    ctx = StepContext(task, store=store, transcriber=lambda _settings, _model: stopping)
    with pytest.raises(TaskCancelled):
        run_step(STEP, ctx, {"recording_id": recording_id})
    _, stored = store.draft_version(recording_id, task.task_id)
    assert [s.text for s in stored] == ["one", "two"]


def test_params_that_name_no_recording_are_a_permanent_error(make_context: MakeContext) -> None:
    ctx, _ = make_context("transcription")
    with pytest.raises(PermanentError, match="recording_id"):
        run_step(STEP, ctx, {"options": {}})
    with pytest.raises(PermanentError, match="was deleted"):
        run_step(STEP, ctx, {"recording_id": 999_999})


def test_a_translation_is_its_own_version_and_earlier_versions_stay(
    make_context: MakeContext, store: TranscriptStore, recording_id: int
) -> None:
    info = TranscriptInfo(language="de", language_probability=0.98, duration_s=9.0, model="base")
    ctx, _ = make_context("transcription", transcriber=ScriptedTranscriber(SCRIPT, info=info))
    original = run_step(STEP, ctx, {"recording_id": recording_id})
    ctx, _ = make_context("transcription", transcriber=ScriptedTranscriber(SCRIPT, info=info))
    result = run_step(STEP, ctx, {"recording_id": recording_id, "options": {"task": "translate"}})
    assert result["kind"] == "translation" and result["language"] == "en" and result["source_language"] == "de"
    versions = store.versions(recording_id)
    assert [(v.kind, v.language) for v in versions] == [("original", "de"), ("translation", "en")]
    assert versions[0].id == original["version_id"] and versions[1].id == result["version_id"]
    assert versions[1].info["source_language"] == "de" and versions[1].info["model"] == "base"
    assert versions[1].info["options"]["task"] == "translate"
    assert store.pick_version(recording_id, "translation").id == result["version_id"]
