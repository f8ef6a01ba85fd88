"""The recording page highlights the word being played and seeks to a word when it is clicked; the
browser's re-alignment of words to an edited text (``timedTokens``) follows the exports' rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import Watched
from .test_recording_flow import open_recording, upload, watch_transcription

pytestmark = pytest.mark.web


def _distinct_starts(words: Any) -> list[tuple[int, float]]:
    """(position, start) of the words whose start differs from the next word's (so one is highlighted)."""
    starts = [float(words.nth(k).get_attribute("data-start") or 0) for k in range(words.count())]
    return [(k, t) for k, t in enumerate(starts) if k + 1 == len(starts) or starts[k + 1] > t + 0.05]


def test_the_word_being_played_is_highlighted_and_a_click_seeks_there(web: Watched, espeak_wav: Path) -> None:
    page = web.page
    recording = upload(web, espeak_wav, "transcription")
    watch_transcription(web, recording)
    open_recording(web, recording)
    words = page.get_by_test_id("word")
    expect(words.first).to_be_visible()
    candidates = _distinct_starts(words)
    assert len(candidates) >= 6, candidates  # word timestamps are on by default: words have their own times
    player = page.get_by_test_id("player")
    page.wait_for_function("el => el.readyState >= 1", arg=player.element_handle())
    active = page.locator('[data-testid="word"][data-active="true"]')

    # The highlight follows the player's position.
    for k, start in (candidates[1], candidates[-2]):
        player.evaluate("(el, t) => { el.pause(); el.currentTime = t; }", start + 0.02)
        expect(words.nth(k)).to_have_attribute("data-active", "true")
        expect(active).to_have_count(1)

    # A click on a word seeks to its start (and plays).
    k, start = candidates[len(candidates) // 2]
    words.nth(k).click()
    page.evaluate("el => el.pause()", player.element_handle())
    current = float(player.evaluate("el => el.currentTime"))
    assert start - 0.05 <= current < start + 1.5, (start, current)
    expect(active).to_have_count(1)
    assert web.errors_except() == []


def test_timed_tokens_realign_words_to_an_edited_text(web: Watched) -> None:
    web.goto("#/upload")
    web.page.get_by_test_id("page-upload").wait_for()
    got = web.page.evaluate(
        """async () => {
          const c = await import('/static/js/composables/index.js');
          const words = 'the quick brown fox jumps'.split(' ').map((w, n) => ({word: ' ' + w, start: n, end: n + 0.5}));
          const seg = {start: 0, end: 5, text: 'The quick red fox, it jumps', words};
          const tokens = c.timedTokens(seg);
          const bare = c.timedTokens({start: 0, end: 4, text: 'ab ab', words: null});
          return {tokens, bare, at: [c.wordAt(tokens, -1), c.wordAt(tokens, 2.2), c.wordAt(tokens, 9)]};
        }"""
    )
    tokens = [(t["word"], round(t["start"], 3), round(t["end"], 3)) for t in got["tokens"]]
    assert tokens[:4] == [("The", 0, 0.5), ("quick", 1, 1.5), ("red", 2, 2.5), ("fox,", 3, 3.5)]
    assert tokens[4][0] == "it" and 3.5 <= tokens[4][1] <= tokens[4][2] <= 4  # inserted: between neighbours
    assert tokens[5] == ("jumps", 4, 4.5)
    assert [(t["start"], t["end"]) for t in got["bare"]] == [(0, 2), (2, 4)]  # no words: shared by characters
    assert got["at"] == [-1, 2, 5]


def test_chinese_words_are_timed_and_shown_by_character_without_spaces(web: Watched) -> None:
    """As the subtitles do (stenograph/transcript/cues.py): text without spaces is cut into characters, each
    timed within its Whisper word, and shown without spaces; a Latin word inside it stays whole."""
    web.goto("#/upload")
    web.page.get_by_test_id("page-upload").wait_for()
    got = web.page.evaluate(
        """async () => {
          const c = await import('/static/js/composables/index.js');
          const words = [['我们', 0, 0.5], ['讨论', 0.5, 1], ['Stenograph', 1, 2], ['的', 2, 2.3], ['预算。', 2.3, 3]]
            .map(([word, start, end]) => ({word, start, end}));
          return c.timedTokens({start: 0, end: 3, text: '我们讨论Stenograph的预算。', words});
        }"""
    )
    assert [t["word"] for t in got] == ["我", "们", "讨", "论", "Stenograph", "的", "预", "算。"]
    assert "".join(t["space"] + t["word"] for t in got) == "我们讨论Stenograph的预算。"
    assert [round(t["start"], 2) for t in got] == [0, 0.25, 0.5, 0.75, 1, 2, 2.3, 2.53]
