"""Summaries: extractive TextRank (incl. Chinese), LLM single call, map-reduce, repair, templates, no speech,
and the timestamps every key point, decision and action item cites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stenograph.errors import PermanentError, TaskCancelled
from stenograph.llm.errors import LLMTimeout
from stenograph.llm.fake import ScriptedLLM
from stenograph.steps.summary.extractive import default_point_count, select_key_segments, textrank_scores
from stenograph.steps.summary.summary import (
    EXTRACTIVE_TITLE,
    SUMMARY_SCHEMA,
    cite,
    format_timestamp,
    list_templates,
    load_template,
    parse_timestamp,
    summarize,
)
from tests.llm.helpers import make_segments

BUDGET = [
    "Today we discuss the budget for next year.",
    "The budget for marketing grows by ten percent.",
    "I had pasta for lunch.",
    "We agree the budget for engineering stays the same.",
    "The weather is nice.",
    "So the budget is decided: marketing up, engineering flat.",
]
#: BUDGET with the owner the scripted summaries name (a name nobody says is dropped by the guard).
BUDGET_ANNA = [*BUDGET, "Anna, please send the budget to finance."]


def summary_json(**fields: Any) -> str:
    data: dict[str, Any] = {
        "title": "Budget meeting",
        "summary": "The team set next year's budget.",
        "key_points": [{"text": "Marketing grows by ten percent.", "timestamp": "00:05"}],
        "decisions": [{"text": "Engineering budget stays flat.", "timestamp": "00:15"}],
        "action_items": [{"text": "Send the budget to finance", "owner": "Anna", "timestamp": "00:30"}],
    }
    data.update(fields)
    return json.dumps(data)


# --- extractive -----------------------------------------------------------------------------------
def test_textrank_prefers_central_segments() -> None:
    scores = textrank_scores(BUDGET)
    assert scores.shape == (6,)
    assert scores.sum() == pytest.approx(1.0)
    off_topic = {2, 4}
    assert max(scores[i] for i in off_topic) < min(scores[i] for i in range(6) if i not in off_topic)


def test_textrank_chinese_without_word_segmentation() -> None:
    texts = [
        "今天我们讨论明年的预算。",
        "市场部的预算增加百分之十。",
        "我中午吃了面条。",
        "工程部的预算保持不变。",
        "预算就这样决定了。",
    ]
    scores = textrank_scores(texts)
    assert int(np.argmin(scores)) == 2  # the lunch remark shares no n-gram with the budget talk


def test_textrank_edge_cases() -> None:
    assert textrank_scores([]).shape == (0,)
    assert textrank_scores(["only one"]).tolist() == [1.0]
    assert textrank_scores(["a", "b"]).tolist() == [0.5, 0.5]
    assert textrank_scores(["same words", "other thing", "xyz"]).sum() == pytest.approx(1.0)


def test_key_segments_in_time_order() -> None:
    segments = make_segments(BUDGET)
    chosen = select_key_segments(segments, count=3)
    assert [c.segment.index for c in chosen] == sorted(c.segment.index for c in chosen)
    assert {c.segment.index for c in chosen}.isdisjoint({2, 4})
    assert default_point_count(100) == 10 and default_point_count(4) == 2 and default_point_count(0) == 0


def test_extractive_summary_is_labelled() -> None:
    result = summarize(None, make_segments(BUDGET), language="en")
    assert result.method == "extractive" and result.llm is None
    assert result.title == EXTRACTIVE_TITLE
    assert result.markdown.startswith(f"# {EXTRACTIVE_TITLE}\n")
    assert "TextRank" in result.summary
    for point in result.key_points:
        assert point.timestamp_s is not None
        assert f"{point.text} [{format_timestamp(point.timestamp_s)}]" in result.markdown
    assert {p.text for p in result.key_points} <= set(BUDGET)  # quoted, never rephrased
    assert result.to_dict()["method"] == "extractive"


def test_extractive_chinese() -> None:
    segments = make_segments(
        ["今天我们讨论明年的预算。", "市场部的预算增加百分之十。", "我中午吃了面条。", "预算就这样决定了。"]
    )
    result = summarize(None, segments, language="zh")
    assert result.key_points and all(p.text in {s.text for s in segments} for p in result.key_points)
    assert "我中午吃了面条。" not in {p.text for p in result.key_points}


@pytest.mark.parametrize("texts", [[], ["", "  "], ["[Music]", "(silence)", "..."]])
def test_no_speech_never_invents(texts: list[str]) -> None:
    llm = ScriptedLLM()  # any call would fail the test
    for client in (None, llm):
        result = summarize(client, make_segments(texts), language="en")
        assert result.summary == "No speech was detected in this recording."
        assert result.key_points == [] and result.decisions == [] and result.action_items == []
    assert llm.calls == []


# --- with an LLM ----------------------------------------------------------------------------------
def test_llm_summary_single_call() -> None:
    llm = ScriptedLLM([summary_json()])
    result = summarize(llm, make_segments(BUDGET_ANNA), language="en")
    assert len(llm.calls) == 1
    user = llm.calls[0].messages[-1]["content"]
    assert "[00:05] The budget for marketing grows by ten percent." in user
    assert "Write every field in English" in llm.calls[0].messages[0]["content"]
    assert result.method == "llm" and result.llm is not None and result.llm["kind"] == "fake"
    assert result.key_points[0].timestamp_s == 5.0
    assert result.action_items[0].owner == "Anna"
    md = result.markdown
    assert md.startswith("# Budget meeting")
    assert "- Marketing grows by ten percent. [00:05]" in md
    assert "## Decisions" in md and "- Send the budget to finance — **Anna** [00:30]" in md


def test_decisions_and_action_items_cite_the_timestamps_of_the_answer() -> None:
    llm = ScriptedLLM([summary_json()])
    result = summarize(llm, make_segments(BUDGET_ANNA), language="en")
    assert [(d.text, d.timestamp_s) for d in result.decisions] == [("Engineering budget stays flat.", 15.0)]
    assert [(a.text, a.owner, a.timestamp_s) for a in result.action_items] == [
        ("Send the budget to finance", "Anna", 30.0)
    ]
    data = result.to_dict()
    assert data["decisions"] == [{"text": "Engineering budget stays flat.", "timestamp_s": 15.0}]
    assert data["action_items"] == [{"text": "Send the budget to finance", "owner": "Anna", "timestamp_s": 30.0}]
    assert "## Decisions\n\n- Engineering budget stays flat. [00:15]\n" in result.markdown
    schema = SUMMARY_SCHEMA["properties"]
    assert schema["decisions"]["items"]["required"] == ["text", "timestamp"]
    assert schema["action_items"]["items"]["required"] == ["text", "owner", "timestamp"]
    assert "decision's and action item's timestamp" in llm.calls[0].messages[0]["content"]


def test_a_made_up_timestamp_of_any_item_is_snapped_as_a_key_points_is() -> None:
    """No segment starts at 00:17 or 09:59: each is moved to the nearest segment start, the key points' rule."""
    made_up = [{"text": "Engineering stays flat.", "timestamp": "00:17"}]
    llm = ScriptedLLM(
        [
            summary_json(
                key_points=[{"text": "Engineering stays flat.", "timestamp": "00:17"}],
                decisions=made_up,
                action_items=[{"text": "Send the budget to finance", "owner": "Anna", "timestamp": "09:59"}],
            )
        ]
    )
    result = summarize(llm, make_segments(BUDGET_ANNA), language="en")
    assert result.key_points[0].timestamp_s == result.decisions[0].timestamp_s == 15.0
    assert result.action_items[0].timestamp_s == 30.0  # past the end: the last segment
    assert "- Send the budget to finance — **Anna** [00:30]" in result.markdown
    assert cite("00:17", [0.0, 5.0, 15.0, 20.0]) == 15.0 and cite("00:10", [5.0, 15.0]) == 5.0
    assert cite("soon", [0.0]) is None and cite("00:05", []) is None


def test_a_decision_or_action_item_timestamp_that_is_not_mm_ss_gets_the_repair_prompt() -> None:
    bad = summary_json(decisions=[{"text": "Engineering budget stays flat.", "timestamp": "later"}])
    worse = summary_json(action_items=[{"text": "Send it", "owner": "Anna", "timestamp": "end"}])
    for wrong in (bad, worse):
        llm = ScriptedLLM([wrong, summary_json()])
        result = summarize(llm, make_segments(BUDGET_ANNA), language="en")
        assert len(llm.calls) == 2 and "timestamp" in llm.calls[1].messages[-1]["content"]
        assert result.method == "llm" and result.decisions[0].timestamp_s == 15.0


def test_timestamps_snap_to_segment_starts_and_headings_follow_language() -> None:
    llm = ScriptedLLM([summary_json(key_points=[{"text": "x", "timestamp": "[00:12]"}], action_items=[])])
    result = summarize(llm, make_segments(BUDGET), language="de")
    assert result.key_points[0].timestamp_s == 10.0
    assert "## Kernpunkte" in result.markdown and "## Aufgaben" not in result.markdown


def test_map_reduce_when_transcript_does_not_fit() -> None:
    long = make_segments([f"{BUDGET[i % 6]} Point {i}." for i in range(120)], seconds=10)

    def respond(messages: Any, _schema: Any) -> str:
        user = messages[-1]["content"]
        if user.startswith("These are summaries"):
            return summary_json(title="Budget whole", key_points=[{"text": "merged", "timestamp": "05:00"}])
        return summary_json(title="Budget part", key_points=[{"text": "partial", "timestamp": "00:10"}])

    llm = ScriptedLLM(responder=respond, context_tokens=1600, enforce_context=True)
    progress: list[float] = []
    result = summarize(llm, long, language="en", on_progress=lambda f, _m: progress.append(f))
    map_calls = [c for c in llm.calls if c.messages[-1]["content"].startswith("This is part")]
    reduce_calls = [c for c in llm.calls if c.messages[-1]["content"].startswith("These are summaries")]
    assert len(map_calls) >= 2 and len(reduce_calls) >= 1
    seen = "\n".join(c.messages[-1]["content"] for c in map_calls)
    for segment in long:  # nothing was dropped: every line went to some map call
        assert f"[{format_timestamp(segment.start)}] {segment.text}" in seen
    assert all(call.answer is not None for call in llm.calls)  # every prompt fitted
    reduce_prompt = reduce_calls[0].messages[-1]["content"]
    assert "- [00:10] partial" in reduce_prompt
    assert "Decision: [00:15] Engineering budget stays flat." in reduce_prompt  # the parts' citations go on
    assert "Action item: [00:30] Send the budget to finance (owner: Anna)" in reduce_prompt
    assert result.title == "Budget whole" and result.key_points[0].timestamp_s == 300.0
    assert result.decisions[0].timestamp_s == 10.0 and result.action_items[0].timestamp_s == 30.0
    assert result.stats["chunks"] == len(map_calls)
    assert progress[-1] == 1.0


def test_an_answer_that_cannot_be_parsed_after_a_repair_falls_back_to_an_extractive_summary() -> None:
    llm = ScriptedLLM([summary_json(key_points=[{"text": "x", "timestamp": "soon"}]), '{"title": 1}'])
    result = summarize(llm, make_segments(BUDGET))
    assert len(llm.calls) == 2
    assert result.method == "extractive" and result.key_points  # quoted segments, with their timestamps
    assert result.fallback is not None and "summary answer does not match" in result.fallback
    assert "could not write this summary" in result.markdown  # the reader is told


def test_an_unreachable_llm_falls_back_to_an_extractive_summary_saying_why() -> None:
    llm = ScriptedLLM([LLMTimeout("LLM server at http://127.0.0.1:9/v1 did not answer within 120 s")] * 3)
    result = summarize(llm, make_segments(BUDGET))
    assert result.method == "extractive"
    assert result.fallback is not None and "127.0.0.1:9" in result.fallback and "did not answer" in result.fallback
    assert result.to_dict()["fallback"] == result.fallback


def test_summary_repair_that_works() -> None:
    llm = ScriptedLLM(["not json at all", summary_json()])
    assert summarize(llm, make_segments(BUDGET)).title == "Budget meeting"


def test_summary_cancel() -> None:
    with pytest.raises(TaskCancelled):
        summarize(ScriptedLLM(), make_segments(BUDGET), should_stop=lambda: True)


def test_context_too_small_is_never_a_truncation_but_an_extractive_summary_saying_so() -> None:
    llm = ScriptedLLM(context_tokens=300)
    result = summarize(llm, make_segments(BUDGET))
    assert llm.calls == [] and result.method == "extractive"
    assert result.fallback is not None and "llm_context_tokens" in result.fallback


# --- templates and timestamps ---------------------------------------------------------------------
def test_builtin_templates_and_user_templates(tmp_path: Path) -> None:
    names = [t.name for t in list_templates(None)]
    assert names == ["interview", "lecture-notes", "meeting-notes"]
    assert "action_items" in load_template("meeting-notes").instructions
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "standup.md").write_text("# Stand-up\n\nList blockers as key points.\n")
    (tmp_path / "templates" / "meeting-notes.md").write_text("# Our notes\n\nOur own rules.\n")
    assert load_template("standup", tmp_path).title == "Stand-up"
    assert load_template("meeting-notes", tmp_path).source == "user"
    llm = ScriptedLLM([summary_json()])
    summarize(llm, make_segments(BUDGET), template="standup", data_dir=tmp_path)
    assert "List blockers as key points." in llm.calls[0].messages[0]["content"]


@pytest.mark.parametrize("name", ["nope", "../etc/passwd", ""])
def test_unknown_template_is_permanent(name: str) -> None:
    with pytest.raises(PermanentError, match="available: interview, lecture-notes, meeting-notes"):
        load_template(name)


def test_timestamps() -> None:
    assert format_timestamp(0) == "00:00" and format_timestamp(75.9) == "01:15" and format_timestamp(4502) == "75:02"
    assert parse_timestamp("[01:15]") == 75 and parse_timestamp("1:02:03") == 3723 and parse_timestamp("x") is None
