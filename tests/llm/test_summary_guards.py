"""The summary guard: template text echoed as content is repaired or dropped; unsaid names are dropped."""

from __future__ import annotations

import json
from typing import Any

from stenograph.llm.fake import ScriptedLLM
from stenograph.steps.summary.guards import echoes_template, fragments, repair_summary, unsaid_names
from stenograph.steps.summary.summary import load_template, summarize
from tests.llm.helpers import make_segments

MEETING = [
    "Let's settle the launch date for the new app.",
    "Maria thinks Friday is too early, the tests are not done.",
    "Then we launch on Monday, agreed.",
    "Tom will write the release notes by Thursday.",
]


def answer(**fields: Any) -> str:
    data: dict[str, Any] = {
        "title": "Launch date",
        "summary": "The team moved the app launch to Monday.",
        "key_points": [{"text": "Friday is too early because the tests are not done.", "timestamp": "00:05"}],
        "decisions": [{"text": "The app launches on Monday.", "timestamp": "00:10"}],
        "action_items": [{"text": "Write the release notes by Thursday", "owner": "Tom", "timestamp": "00:15"}],
    }
    data.update(fields)
    return json.dumps(data)


def test_the_reported_echoed_title_is_replaced_by_the_template_title() -> None:
    llm = ScriptedLLM([answer(title="A Short Title Naming What the Meeting Was About")])
    result = summarize(llm, make_segments(MEETING), language="en")
    assert result.title == "Meeting notes"
    assert result.markdown.startswith("# Meeting notes\n")
    assert result.stats["guard"]["echoed"] == ["title"]
    assert [d.text for d in result.decisions] == ["The app launches on Monday."]  # the rest is untouched


def test_echoed_items_are_dropped_and_an_echoed_summary_rebuilt_from_the_key_points() -> None:
    llm = ScriptedLLM(
        [
            answer(
                summary="Two to four sentences: the purpose of the meeting and its outcome.",
                decisions=[
                    {"text": "Every decision the participants agreed on, one sentence each.", "timestamp": "00:10"},
                    {"text": "Launch on Monday.", "timestamp": "00:10"},
                ],
                action_items=[
                    {"text": "Every task someone agreed to do, with its owner", "owner": "", "timestamp": "00:15"},
                    {"text": "Write the release notes", "owner": "Tom", "timestamp": "00:15"},
                ],
            )
        ]
    )
    result = summarize(llm, make_segments(MEETING), language="en")
    assert result.summary == "Friday is too early because the tests are not done."
    assert [d.text for d in result.decisions] == ["Launch on Monday."]
    assert [(item.text, item.owner) for item in result.action_items] == [("Write the release notes", "Tom")]
    assert result.stats["guard"]["echoed"] == ["decisions[0]", "action_items[0]", "summary"]


def test_content_that_merely_shares_words_with_the_template_is_kept() -> None:
    template = load_template("meeting-notes")
    echo = fragments(template.instructions)
    assert echoes_template("A Short Title Naming What the Meeting Was About", echo)
    assert echoes_template("the main points discussed, in the order they came up", echo)
    assert not echoes_template("The meeting was about the launch date of the app", echo)
    assert not echoes_template(
        "The purpose of the meeting was to fix the launch date, and its outcome is a Monday launch.", echo
    )
    assert not echoes_template("Launch date", echo)


def test_an_owner_nobody_named_is_dropped_and_items_with_unsaid_names_go() -> None:
    llm = ScriptedLLM(
        [
            answer(
                key_points=[
                    {"text": "Maria says Friday is too early.", "timestamp": "00:05"},
                    {"text": "The launch was moved after a call with Jennifer.", "timestamp": "00:10"},
                ],
                action_items=[{"text": "Write the release notes", "owner": "Robert", "timestamp": "00:15"}],
            )
        ]
    )
    result = summarize(llm, make_segments(MEETING), language="en")
    assert [point.text for point in result.key_points] == ["Maria says Friday is too early."]
    assert result.action_items[0].owner is None
    assert result.stats["guard"]["owners_dropped"] == ["Robert"]
    assert result.stats["guard"]["unsaid_names"] == ["Jennifer"]


def test_speaker_names_count_as_said() -> None:
    data = json.loads(answer(action_items=[{"text": "Book the room", "owner": "Priya", "timestamp": "00:15"}]))
    repaired, report = repair_summary(
        data, template_title="Meeting notes", instructions=[], transcript=MEETING, speaker_names=["Priya"]
    )
    assert repaired["action_items"][0]["owner"] == "Priya" and not report
    assert unsaid_names("We asked Priya and Tom about it.", {"tom"}) == ["Priya"]


def test_a_title_and_summary_sentences_about_what_nobody_said_are_replaced() -> None:
    """Issue 12 ("a topic never said"), as measured on the JFK clip: the title named another president."""
    jfk = [
        "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
    ]
    llm = ScriptedLLM(
        [
            answer(
                title="A speech by President Franklin D. Roosevelt on the Great Depression",
                summary="Roosevelt spoke about the Depression. He asks what you can do for your country.",
                key_points=[{"text": "Ask what you can do for your country.", "timestamp": "00:00"}],
                decisions=[],
                action_items=[],
            )
        ]
    )
    result = summarize(llm, make_segments(jfk), language="en")
    assert result.title == "Meeting notes"
    assert result.summary == "He asks what you can do for your country."
    assert result.stats["guard"]["unsupported_title"].startswith("A speech by President Franklin")
    assert "Depression" in result.stats["guard"]["unsaid_names"]
