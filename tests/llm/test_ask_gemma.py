"""Slow: the ask step's model path through the embedded engine running Gemma 3 270M (the tests' fast
model): the answer streams in pieces, and whatever the weak model says, the step answers either with a
citation it was given or "The recording does not say." (the verification, not the model, decides)."""

from __future__ import annotations

from typing import Any

import pytest

from stenograph.steps.ask import answer
from stenograph.steps.ask.answer import NOT_FOUND, answer_question
from stenograph.steps.ask.retrieval import _passages, rank_passages, with_neighbours
from tests.steps.conftest import segments

pytestmark = pytest.mark.slow

MEETING = segments(
    (0.0, 5.0, "good morning everyone let us start with the agenda"),
    (71.0, 78.0, "the marketing budget for next year is forty thousand euros"),
    (78.0, 84.0, "Anna will send the figures to the board on friday"),
)


def test_gemma_streams_an_answer_that_is_cited_or_does_not_say(
    gemma_embedded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(answer, "MAX_ANSWER_TOKENS", 48)  # the plumbing, not the weak model's prose
    pieces = list(gemma_embedded.stream_chat([{"role": "user", "content": "Count from one to five."}], max_tokens=24))
    assert len(pieces) >= 2 and "".join(pieces).strip()
    every = _passages(1, "planning.wav", MEETING)
    question = "How big is the marketing budget?"
    passages = with_neighbours(rank_passages(question, every, 8), every)
    partials: list[str] = []
    result = answer_question(gemma_embedded, question, passages, library=False, on_partial=partials.append)
    assert len(partials) >= 2  # streamed
    if result.found:
        assert result.citations and all(c.start in (0.0, 71.0, 78.0) for c in result.citations)
    else:
        assert result.text == NOT_FOUND
    print(f"\nGemma answered {result.text!r} (found={result.found}, reason={result.reason})")
