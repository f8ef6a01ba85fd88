"""Correction: chunking, the guard, repair, overflow retry, cancel, glossary-only mode."""

from __future__ import annotations

import json

import pytest

from stenograph.errors import RetryableError, TaskCancelled
from stenograph.llm.errors import LLMContextOverflow, LLMOutputError
from stenograph.llm.fake import ScriptedLLM
from stenograph.steps.correction.correction import (
    CONTEXT_LINES,
    CorrectionStats,
    correct_segments,
    edit_ratio,
    guard_chunk,
    parse_correction_request,
    plan_chunk,
)
from tests.llm.helpers import make_segments

TEXTS = [f"this is segment number {i} of the meeting about the budget" for i in range(30)]


def answer(pairs: list[tuple[int, str]]) -> str:
    return json.dumps({"segments": [{"id": i, "text": t} for i, t in pairs]})


def test_edit_ratio() -> None:
    assert edit_ratio("hello world", " hello world ") == 0.0
    assert edit_ratio("hello world", "hello word") == pytest.approx(1 / 11)
    assert edit_ratio("abc", "xyz") == 1.0
    assert edit_ratio("IT WAS THE FIRST", "It was the first") == 0.0  # case is not an edit
    assert edit_ratio("short", "a completely different and much longer sentence") > 1.0


def test_plan_chunk() -> None:
    assert plan_chunk([10, 10, 10, 10], 25) == 2
    assert plan_chunk([10, 10, 10, 10], 40) == 4
    assert plan_chunk([50, 10], 25) == 1  # a segment larger than the budget still goes alone
    assert plan_chunk([1] * 100, 1000, max_segments=40) == 40
    assert plan_chunk([], 100) == 0


def test_guard_reasons() -> None:
    chunk = make_segments(["the cat sat on the mat", "hello there", "good morning all", "see you soon"])
    stats = CorrectionStats()
    accepted = guard_chunk(
        chunk,
        [
            (0, "The cat sat on the mat."),  # small fix: accepted
            (1, "hello there"),  # unchanged
            (2, "a totally different sentence about nothing"),  # too many edits
            (2, "good morning, all"),  # duplicate id: both rejected
            (42, "invented"),  # unknown id
            # 3 missing
        ],
        0.35,
        stats,
    )
    assert accepted == {0: "The cat sat on the mat."}
    assert stats.accepted == 1
    assert stats.unchanged == 1
    assert stats.rejected_by_reason == {"unknown_id": 1, "duplicate_id": 1, "missing": 1}


def test_guard_rejects_emptied_and_too_large_edits() -> None:
    chunk = make_segments(["one two three", "four five six", "seven eight", "nine ten"])
    stats = CorrectionStats()
    accepted = guard_chunk(
        chunk,
        [(0, ""), (1, "quite other words"), (2, "Seven, eight."), (3, "nine ten")],
        0.35,
        stats,
    )
    assert accepted == {2: "Seven, eight."}
    assert stats.rejected_by_reason == {"emptied": 1, "edit_ratio": 1}
    assert stats.proposed == 3


def test_guard_distrusts_a_chunk_with_mostly_rejections() -> None:
    chunk = make_segments(["alpha beta", "gamma delta", "epsilon zeta"])
    stats = CorrectionStats()
    accepted = guard_chunk(chunk, [(0, "Alpha beta."), (1, "completely rewritten text")], 0.35, stats)
    assert accepted == {}
    assert stats.rejected_by_reason == {"edit_ratio": 1, "missing": 1, "chunk_unreliable": 1}
    assert stats.accepted == 0


def test_guard_keeps_leading_space_of_whisper_segments() -> None:
    chunk = make_segments([" ask not what your country"])
    assert guard_chunk(chunk, [(0, "Ask not what your country")], 0.35, CorrectionStats()) == {
        0: " Ask not what your country"
    }


def test_perfect_corrections_keep_timing_and_count() -> None:
    segments = make_segments(TEXTS[:5])
    fixes = {1: "This is segment number 1 of the meeting about the budget.", 3: TEXTS[3].capitalize()}
    llm = ScriptedLLM.corrections(fixes)
    result = correct_segments(llm, segments, max_edit_ratio=0.35)
    assert [s.text for s in result.segments] == [fixes.get(i, t) for i, t in enumerate(TEXTS[:5])]
    assert [(s.index, s.start, s.end) for s in result.segments] == [(s.index, s.start, s.end) for s in segments]
    assert result.method == "llm" and result.llm_used
    assert result.llm_description is not None and result.llm_description.kind == "fake"
    assert result.stats.accepted == 2 and result.stats.unchanged == 3 and result.stats.chunks == 1


def test_chunks_fit_the_context_and_carry_read_only_context() -> None:
    segments = make_segments(TEXTS)
    llm = ScriptedLLM.corrections({}, context_tokens=1200, enforce_context=True)
    progress: list[float] = []
    result = correct_segments(llm, segments, on_progress=lambda f, _m: progress.append(f))
    assert result.stats.chunks == len(llm.calls) > 1
    asked = [parse_correction_request(call.messages) for call in llm.calls]
    assert [item["id"] for request in asked for item in request] == list(range(30))  # each once, in order
    for call, request in zip(llm.calls[1:], asked[1:], strict=True):
        context = call.messages[-1]["content"].split("Segments to correct")[0]
        first = request[0]["id"]
        expected = [f"[{i}] {TEXTS[i]}" for i in range(max(0, first - CONTEXT_LINES), first)]
        assert all(line in context for line in expected)
        assert "do not return them" in context
    assert progress == sorted(progress) and progress[-1] == 1.0 and len(progress) == result.stats.chunks
    for call in llm.calls:  # every request fitted: the fake enforces the context
        assert call.answer is not None


def test_context_overflow_halves_the_chunks() -> None:
    segments = make_segments(TEXTS[:8])
    llm = ScriptedLLM([LLMContextOverflow("too long")], responder=ScriptedLLM.corrections({})._responder)
    result = correct_segments(llm, segments)
    assert len(parse_correction_request(llm.calls[0].messages)) == 8
    assert len(parse_correction_request(llm.calls[1].messages)) == 4
    assert [s.text for s in result.segments] == TEXTS[:8]
    assert "too_long" not in result.stats.rejected_by_reason


def test_single_segment_that_overflows_is_kept() -> None:
    segments = make_segments(["a very long segment " * 50, "short one"])
    llm = ScriptedLLM.corrections(lambda i, t: t.upper(), context_tokens=700, enforce_context=True)
    result = correct_segments(llm, segments, max_edit_ratio=1.0)
    assert result.segments[0].text == segments[0].text
    assert result.segments[1].text == "SHORT ONE"
    assert result.stats.rejected_by_reason["too_long"] == 1


def test_malformed_answer_gets_one_repair_and_nothing_usable_at_all_is_a_failure() -> None:
    """A correction whose every chunk came back malformed corrected nothing: it fails (so the summary
    says it summarised the original) instead of completing as an LLM correction that is a copy."""
    segments = make_segments(TEXTS[:3])
    llm = ScriptedLLM.malformed()
    with pytest.raises(LLMOutputError, match="nothing usable for any of the 1 chunk"):
        correct_segments(llm, segments)
    assert len(llm.calls) == 2
    assert "not usable" in llm.calls[1].messages[-1]["content"]


def test_repair_that_works_is_used() -> None:
    segments = make_segments(["helo world", "good bye"])
    llm = ScriptedLLM(["{oops", answer([(0, "hello world"), (1, "good bye")])])
    result = correct_segments(llm, segments)
    assert result.segments[0].text == "hello world"
    assert result.stats.repairs == 1


def test_junk_model_is_harmless() -> None:
    segments = make_segments(TEXTS[:12])
    result = correct_segments(ScriptedLLM.junk(seed=3), segments)
    assert [s.text for s in result.segments] == TEXTS[:12]
    assert result.stats.accepted == 0
    assert result.stats.rejected_by_reason["unknown_id"] >= 1
    assert result.stats.rejected_by_reason["missing"] >= 1


def test_unavailable_llm_raises_retryable() -> None:
    with pytest.raises(RetryableError, match=r"127\.0\.0\.1:9"):
        correct_segments(ScriptedLLM.unavailable(), make_segments(["x y"]))


def test_cancel_between_chunks() -> None:
    segments = make_segments(TEXTS)
    llm = ScriptedLLM.corrections({}, context_tokens=1200)
    polls: list[int] = []

    def should_stop() -> bool:
        polls.append(len(llm.calls))
        return len(llm.calls) >= 1

    with pytest.raises(TaskCancelled):
        correct_segments(llm, segments, should_stop=should_stop)
    assert len(llm.calls) == 1
    assert polls == [0, 1]


def test_prompt_carries_language_and_glossary() -> None:
    llm = ScriptedLLM.corrections({})
    correct_segments(llm, make_segments(["hallo welt"]), glossary=["Kubernetes"], language="de")
    system = llm.calls[0].messages[0]["content"]
    assert "in German" in system and "Kubernetes" in system


def test_without_llm_glossary_is_applied_and_says_so() -> None:
    segments = make_segments(["we use kubernets here", "nothing to fix"])
    result = correct_segments(None, segments, glossary=["Kubernetes"])
    assert [s.text for s in result.segments] == ["we use Kubernetes here", "nothing to fix"]
    assert result.method == "glossary" and not result.llm_used and result.llm_description is None
    assert result.stats.glossary_replacements == 1
    assert result.to_dict()["llm"] is None
