"""The ask step's ``run`` with the scripted LLM against a real database: an answer citing its timestamp,
"does not say" when the transcript does not (said by the model, or found by the verification), a library
question answered from the one recording that holds the answer, the partial answer as progress, a cancel
while the answer streams, and the answer without a model."""

from __future__ import annotations

import itertools

import pytest

from stenograph.errors import TaskCancelled
from stenograph.llm.fake import ScriptedLLM
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import PIPELINE_STEPS, Settings, build_settings
from stenograph.steps.ask.answer import NOT_FOUND, verify
from stenograph.steps.ask.retrieval import Passage, content_words, rank_passages, timestamp
from stenograph.steps.ask.step import PARTIAL_FRACTION
from stenograph.steps.ask.step import STEP as ASK
from stenograph.steps.base import run_step
from stenograph.steps.registry import TASK_TYPES, get_step
from tests.ask.fakes import StreamingLLM, honest_responder, passage_lines
from tests.steps.conftest import MakeContext, segments

MEETING = segments(
    (0.0, 5.0, "good morning everyone let us start with the agenda"),
    (5.0, 11.0, "first the office move to the new building in march"),
    (71.0, 78.0, "the marketing budget for next year is forty thousand euros"),
    (78.0, 84.0, "Anna will send the figures to the board on friday"),
    (84.0, 90.0, "any other business no then we close here"),
)


def transcribed(store: TranscriptStore, recording_id: int, spans: object = MEETING) -> None:
    store.create_version(recording_id, "original", spans, task_id=None, language="en", info={})  # type: ignore[arg-type]


def test_ask_is_an_interactive_task_type_outside_the_upload_pipeline(tmp_path: object) -> None:
    assert "ask" in TASK_TYPES and "ask" not in PIPELINE_STEPS
    assert get_step("ask").interactive
    settings = build_settings(data_dir=tmp_path)
    assert "ask" not in settings.pipeline_steps and "ask" in settings.task_types


def test_answer_cites_the_timestamp_of_its_passage(
    make_context: MakeContext, store: TranscriptStore, recording_id: int
) -> None:
    transcribed(store, recording_id)
    llm = ScriptedLLM(responder=honest_responder("budget"))
    ctx, _ = make_context("ask", llm=llm)
    result = run_step(ASK, ctx, {"question": "How big is the marketing budget?", "recording_id": recording_id})
    assert result["found"] is True and result["method"] == "llm"
    assert "[01:11]" in result["answer"] and "forty thousand euros" in result["answer"]
    assert [(c["timestamp"], c["start"], c["recording_id"]) for c in result["citations"]] == [
        ("01:11", 71.0, recording_id)
    ]
    # The model was given the passage, tagged as it must cite it.
    lines = passage_lines(llm.calls[0].messages)
    assert ("[01:11]", "the marketing budget for next year is forty thousand euros") in lines


def test_an_answer_the_transcript_does_not_hold_is_does_not_say(
    make_context: MakeContext, store: TranscriptStore, recording_id: int
) -> None:
    transcribed(store, recording_id)
    llm = ScriptedLLM(responder=honest_responder("parking"))
    ctx, _ = make_context("ask", llm=llm)
    result = run_step(ASK, ctx, {"question": "Where will the team park during the move?", "recording_id": recording_id})
    assert result == result | {"answer": NOT_FOUND, "found": False, "citations": []}


def test_no_matching_passage_is_does_not_say_without_asking_the_model(
    make_context: MakeContext, store: TranscriptStore, recording_id: int
) -> None:
    transcribed(store, recording_id)
    llm = ScriptedLLM()  # any call fails the test
    ctx, _ = make_context("ask", llm=llm)
    result = run_step(ASK, ctx, {"question": "Which vaccine schedule?", "recording_id": recording_id})
    assert result["answer"] == NOT_FOUND and not llm.calls


@pytest.mark.parametrize(
    ("invented", "why"),
    [
        ("The budget is two million dollars for the stadium [01:11].", "do not support"),
        ("The budget is forty thousand euros [09:59].", "cites passages it was not given (09:59)"),
        ("The budget is forty thousand euros [01:11] and [01:12].", "cites passages it was not given (01:12)"),
        ("The budget is two million dollars for the stadium.", "cites no passage"),
    ],
)
def test_an_answer_its_citations_do_not_support_is_replaced(
    make_context: MakeContext, store: TranscriptStore, recording_id: int, invented: str, why: str
) -> None:
    transcribed(store, recording_id)
    ctx, _ = make_context("ask", llm=ScriptedLLM([invented]))
    result = run_step(ASK, ctx, {"question": "What is the marketing budget?", "recording_id": recording_id})
    assert result["answer"] == NOT_FOUND and result["found"] is False
    assert why in result["reason"]


def test_a_supported_answer_citing_no_passage_is_kept_with_its_citation_added(
    make_context: MakeContext, store: TranscriptStore, recording_id: int
) -> None:
    transcribed(store, recording_id)
    ctx, _ = make_context("ask", llm=ScriptedLLM(["The marketing budget is forty thousand euros."]))
    result = run_step(ASK, ctx, {"question": "What is the marketing budget?", "recording_id": recording_id})
    assert result["found"] is True and result["reason"] is None
    assert result["answer"] == "The marketing budget is forty thousand euros. [01:11]"
    assert [c["timestamp"] for c in result["citations"]] == ["01:11"]


def test_an_uncited_answer_two_passages_support_cites_both(
    make_context: MakeContext, store: TranscriptStore, recording_id: int
) -> None:
    transcribed(store, recording_id)
    answer = "The office moves to the new building in march; the marketing budget is forty thousand euros."
    ctx, _ = make_context("ask", llm=ScriptedLLM([answer]))
    result = run_step(
        ASK, ctx, {"question": "When is the office move and what is the budget?", "recording_id": recording_id}
    )
    assert result["found"] is True
    assert result["answer"] == answer + " [00:05] [01:11]"
    assert [c["timestamp"] for c in result["citations"]] == ["00:05", "01:11"]


def test_an_uncited_library_answer_gets_recording_tags_and_a_pair_when_neither_passage_is_enough() -> None:
    budget = Passage(7, "planning.wav", 2, 71.0, 78.0, "the marketing budget is forty thousand euros", score=2.0)
    move = Passage(9, "standup.wav", 0, 5.0, 11.0, "the office move to the new building in march", score=1.0)
    kept = verify("The budget is forty thousand euros.", [move, budget], library=True)
    assert kept.found and kept.text == "The budget is forty thousand euros. [#7 01:11]" and kept.citations == [budget]
    # Neither alone holds half of the words (budget forty thousand euros office building march pizza lunch
    # tuesday): the two together do.
    both = verify("Budget forty thousand euros; office building march; pizza lunch tuesday.", [move, budget], True)
    assert both.found and both.text.endswith("tuesday. [#9 00:05] [#7 01:11]") and both.citations == [move, budget]
    refused = verify("Pizza for lunch on tuesday and wednesday.", [move, budget], library=True)
    assert not refused.found and refused.text == NOT_FOUND and "cites no passage" in (refused.reason or "")


def test_a_library_question_cites_the_one_recording_that_answers_it(
    make_context: MakeContext, store: TranscriptStore, settings: Settings
) -> None:
    others = [
        (
            "standup.wav",
            segments((0.0, 4.0, "yesterday I fixed the login page"), (4.0, 9.0, "today the budget review")),
        ),
        (
            "lecture.wav",
            segments((0.0, 6.0, "photosynthesis turns light into sugar"), (6.0, 12.0, "plants need water")),
        ),
        ("podcast.wav", segments((0.0, 6.0, "welcome to the show about old cars"), (6.0, 12.0, "a classic engine"))),
    ]
    ids = {}
    for name, spans in [*others[:2], ("planning.wav", MEETING), others[2]]:
        rid = store.create_recording(name=name, stored_name=name, size_bytes=1, duration_s=90.0, media={}, options={})
        transcribed(store, rid, spans)
        ids[name] = rid
    llm = ScriptedLLM(responder=honest_responder("forty thousand"))
    ctx, _ = make_context("ask", llm=llm)
    result = run_step(ASK, ctx, {"question": "How many euros is the marketing budget?", "recording_id": None})
    planning = ids["planning.wav"]
    assert f"[#{planning} 01:11]" in result["answer"]
    assert [(c["recording_id"], c["recording_name"], c["timestamp"]) for c in result["citations"]] == [
        (planning, "planning.wav", "01:11")
    ]
    # Without a model, the best passage is the same one.
    ctx, _ = make_context("ask", llm=None)
    passages = run_step(ASK, ctx, {"question": "How many euros is the marketing budget?", "recording_id": None})
    assert passages["method"] == "passages" and passages["citations"][0]["recording_id"] == planning


def test_the_partial_answer_is_the_progress_message_while_it_streams(
    make_context: MakeContext, store: TranscriptStore, recording_id: int
) -> None:
    transcribed(store, recording_id)
    llm = StreamingLLM(responder=honest_responder("anna"))
    ctx, task = make_context("ask", llm=llm)
    result = run_step(ASK, ctx, {"question": "Who sends the figures to the board?", "recording_id": recording_id})
    partials = [message for fraction, message in task.progress if fraction == PARTIAL_FRACTION]
    assert len(partials) >= 5 and partials[-1].strip() == result["answer"]
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(partials))
    assert "[01:18]" in result["answer"] and result["found"]


def test_a_cancel_stops_the_answer_between_two_pieces(
    make_context: MakeContext, store: TranscriptStore, recording_id: int
) -> None:
    transcribed(store, recording_id)
    llm = StreamingLLM(responder=honest_responder("anna"))
    ctx, task = make_context("ask", llm=llm)
    original_report = task.report_progress

    def cancel_after_first_piece(fraction: float, message: str = "", eta_s: float | None = None) -> None:
        original_report(fraction, message, eta_s)
        if fraction == PARTIAL_FRACTION:
            task.cancelled = True

    task.report_progress = cancel_after_first_piece  # type: ignore[method-assign]
    with pytest.raises(TaskCancelled):
        run_step(ASK, ctx, {"question": "Who sends the figures?", "recording_id": recording_id})
    assert llm.pieces_sent == 2  # the second piece was taken, and the cancel seen before its report


def test_retrieval_scores_the_passage_with_the_rare_words_first() -> None:
    from stenograph.steps.ask.retrieval import _passages

    passages = _passages(1, "r", MEETING)
    best = rank_passages("When does the office move to the new building?", passages, 2)
    assert best[0].start == 5.0
    assert content_words("What are the budgets?") == ["budget"]
    assert timestamp(75.9) == "01:15" and timestamp(3725) == "62:05"
