"""Subtitle cues from words (stenograph/transcript/cues.py): the rules of docs/subtitles.md, as properties
over generated transcripts (Hypothesis, derandomized: the same examples every run) and as examples;
re-alignment after an edit; SRT/VTT parsed back by independent parsers (``srt``, ``webvtt-py``)."""

from __future__ import annotations

import io
import itertools

import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from stenograph.transcript.cues import (
    MAX_CUE_S,
    MAX_LINE_CHARS,
    MAX_LINES,
    MAX_PAUSE_IN_CUE_S,
    MAX_WIDE_LINE_CHARS,
    MIN_CUE_S,
    Cue,
    build_cues,
    timed_tokens,
)
from stenograph.transcript.formats import to_srt, to_vtt
from stenograph.transcript.types import Segment, Word

EPS = 1e-6
LABELS = (None, "Ann", "left", "A speaker named at length")
_letters = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéß", min_size=1, max_size=12)
_token = st.tuples(_letters, st.sampled_from(["", "", "", "", ",", ".", "?", ";", "!"])).map("".join)


@st.composite
def transcripts(draw: st.DrawFn, with_words: bool = True) -> list[Segment]:
    """Segments in time order, one label each, with words (a token each) or without."""
    segments, at = [], draw(st.floats(0, 5))
    for index in range(draw(st.integers(1, 8))):
        label = draw(st.sampled_from(LABELS))
        tokens = draw(st.lists(_token, min_size=1, max_size=30))
        words, start = [], at
        for token in tokens:
            at += draw(st.sampled_from([0.0, 0.0, 0.05, 0.1, 0.3, 0.6, 2.0]))  # pauses, some long
            length = draw(st.floats(0.0, 0.9))
            words.append(Word(at, at + length, " " + token, 0.9))
            at += length
        segment = Segment(
            index,
            start,
            max(at, start + 0.01),
            " ".join(tokens),
            words=tuple(words) if with_words else None,
            channel=label if label == "left" else None,
            speaker=label if label not in (None, "left") else None,
        )
        segments.append(segment)
        at += draw(st.sampled_from([0.0, 0.2, 1.0, 3.0]))
    return segments


def _label(segment: Segment) -> str | None:
    return segment.speaker or segment.channel


def _check_rules(segments: list[Segment], cues: list[Cue]) -> None:
    # Every token shown once, in order, each cue holding one label's tokens (a new speaker: a new cue).
    stream = [(token, _label(s)) for s in segments for token in s.text.split()]
    at = 0
    for cue in cues:
        tokens = " ".join(cue.text_lines).split()
        assert [t for t, _ in stream[at : at + len(tokens)]] == tokens
        assert {label for _, label in stream[at : at + len(tokens)]} == {cue.label}
        at += len(tokens)
    assert at == len(stream)
    for number, cue in enumerate(cues):
        assert 1 <= len(cue.lines) <= MAX_LINES, cue
        assert all(len(line) <= MAX_LINE_CHARS for line in cue.lines), cue
        assert cue.label is None or cue.lines[0].startswith(f"{cue.label}: ")
        assert cue.start < cue.end <= cue.start + MAX_CUE_S + EPS, cue
        following = cues[number + 1].start if number + 1 < len(cues) else float("inf")
        # At least MIN_CUE_S where the next cue leaves room for it.
        assert cue.end - cue.start >= min(MIN_CUE_S, following - cue.start) - EPS, (cue, following)
        assert cue.start <= following


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(transcripts())
def test_cue_rules_hold_for_timed_words(segments: list[Segment]) -> None:
    cues = build_cues(segments)
    _check_rules(segments, cues)
    # Cues follow the words: no cue bridges a long pause, and each starts at its first word.
    words = [w for s in segments for w in timed_tokens(s)]
    at = 0
    for cue in cues:
        count = len(" ".join(cue.text_lines).split())
        mine = words[at : at + count]
        assert cue.start == mine[0].start
        assert all(b.start - a.end <= MAX_PAUSE_IN_CUE_S + EPS for a, b in itertools.pairwise(mine))
        at += count


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(transcripts(with_words=False))
def test_cue_rules_hold_for_segments_without_words(segments: list[Segment]) -> None:
    _check_rules(segments, build_cues(segments))


def _timed(text: str, start: float = 0.0, step: float = 0.4, gap_after: dict[int, float] | None = None) -> Segment:
    words, at = [], start
    for number, token in enumerate(text.split()):
        words.append(Word(at, at + step - 0.05, " " + token, 0.9))
        at += step + (gap_after or {}).get(number, 0.0)
    return Segment(0, start, at, text, words=tuple(words))


def test_a_long_segment_is_cut_at_its_sentence_end_then_at_a_comma() -> None:
    text = (
        "We went down to the river early in the morning. When we got there, the boats had gone "
        "and nobody could tell us where"
    )
    cues = build_cues([_timed(text)])
    shown = [" ".join(c.text_lines) for c in cues]
    assert shown[0] == "We went down to the river early in the morning."
    assert shown[1].startswith("When we got there,")
    assert all(c.end - c.start <= MAX_CUE_S for c in cues)


def test_a_pause_is_preferred_to_a_cut_inside_a_phrase() -> None:
    text = "so we waited for the others to come back and then we all walked home together slowly"
    cues = build_cues([_timed(text, gap_after={8: 0.8})])  # a pause after "back"
    assert " ".join(cues[0].text_lines).endswith("come back")


def test_two_lines_break_after_punctuation_and_a_speaker_name_counts() -> None:
    segment = Segment(0, 0.0, 4.0, "When we got to the old river, the boats had all gone away", speaker="Ann")
    [cue] = build_cues([segment])
    assert cue.lines == ("Ann: When we got to the old river,", "the boats had all gone away")
    text = "We will all meet again on the 1st of May"  # 40 characters: one line, unless a name comes first
    assert build_cues([Segment(0, 0.0, 3.0, text)])[0].lines == (text,)
    named = build_cues([Segment(0, 0.0, 3.0, text, speaker="Ann")])[0].lines
    assert len(named) == 2 and all(len(line) <= MAX_LINE_CHARS for line in named)
    # Without punctuation the lines are as even as can be.
    plain = build_cues([Segment(0, 0.0, 4.0, "so we went on walking along the road until we came to the sea")])
    assert plain[0].lines == ("so we went on walking along the", "road until we came to the sea")


def test_a_new_speaker_starts_a_new_cue_even_mid_second() -> None:
    segments = [
        Segment(0, 0.0, 0.4, "Hi.", channel="left", words=(Word(0.0, 0.4, " Hi.", 0.9),)),
        Segment(1, 0.5, 0.9, "Hello.", channel="right", words=(Word(0.5, 0.9, " Hello.", 0.9),)),
        Segment(2, 3.0, 3.3, "Bye.", channel="right", words=(Word(3.0, 3.3, " Bye.", 0.9),)),
    ]
    cues = build_cues(segments)
    assert [c.lines for c in cues] == [("left: Hi.",), ("right: Hello.",), ("right: Bye.",)]
    # A short cue is held to MIN_CUE_S where the next allows, up to the next cue otherwise.
    assert (cues[0].start, cues[0].end) == (0.0, 0.5)
    assert (cues[1].start, cues[1].end) == (0.5, 1.5)
    assert (cues[2].start, cues[2].end) == (3.0, 4.0)


def test_a_sentence_that_can_stand_a_second_gets_its_own_cue() -> None:
    cues = build_cues([_timed("We met at noon by the gate. Then we left.")])  # 0.4 s a word
    assert [" ".join(c.text_lines) for c in cues] == ["We met at noon by the gate.", "Then we left."]


def test_short_sentences_are_joined_to_reach_a_second() -> None:
    segments = [_timed("Yes.", 0.0, 0.3), Segment(1, 0.35, 0.65, "Okay.", words=(Word(0.35, 0.6, " Okay.", 0.9),))]
    segments.append(Segment(2, 0.7, 1.2, "Let's go.", words=(Word(0.7, 0.9, " Let's", 0.9), Word(0.9, 1.2, " go.", 1))))
    [cue] = build_cues(segments)
    assert cue.lines == ("Yes. Okay. Let's go.",)
    assert cue.end - cue.start >= MIN_CUE_S


def test_edited_text_is_realigned_and_keeps_the_times_of_kept_words() -> None:
    original = _timed("the quick brown fox jumps over the lazy dog")  # word n at 0.4 n s
    text = "The quick red fox, it jumps over a very lazy dog!"
    edited = Segment(0, original.start, original.end, text, words=original.words)
    words = timed_tokens(edited)
    assert [w.word for w in words] == edited.text.split()
    by_token = {w.word: (round(w.start, 3), round(w.end, 3)) for w in words}
    assert by_token["The"] == (0.0, 0.35) and by_token["quick"] == (0.4, 0.75)  # case ignored
    assert by_token["red"] == (0.8, 1.15)  # replaced one for one: the old word's time
    assert by_token["fox,"] == (1.2, 1.55)  # punctuation ignored
    assert 1.55 <= by_token["it"][0] <= by_token["it"][1] <= 1.6  # inserted: between its neighbours
    assert by_token["jumps"] == (1.6, 1.95) and by_token["dog!"] == (3.2, 3.55)
    assert 2.4 <= by_token["a"][0] < by_token["very"][0] < by_token["very"][1] <= 2.75  # "the" → "a very"
    assert all(b.start >= a.start for a, b in itertools.pairwise(words))
    [cue] = build_cues([edited])
    assert " ".join(cue.text_lines) == edited.text  # the exported version's text, not the words'


def test_a_rewritten_segment_still_spans_its_time() -> None:
    original = _timed("one two three four")
    words = timed_tokens(Segment(0, 0.0, original.end, "Completely different words here now", words=original.words))
    assert len(words) == 5 and words[0].start == 0.0 and abs(words[-1].end - 1.55) < 1e-9


def test_srt_parses_back_with_the_srt_library() -> None:
    segments = [
        _timed("We went down to the river early in the morning, and the boats had all gone away already."),
        Segment(1, 9.0, 12.0, "A < B & C --> D", speaker="Ann"),
    ]
    text = to_srt(segments)
    parsed = list(srt.parse(text))
    cues = build_cues(segments)
    assert [p.index for p in parsed] == list(range(1, len(cues) + 1))
    assert [p.content.split("\n") for p in parsed] == [list(c.lines) for c in cues]
    assert all(p.start < p.end for p in parsed)
    assert parsed[-1].content == "Ann: A < B & C → D"


def test_vtt_parses_back_with_webvtt_py() -> None:
    segments = [
        _timed("We went down to the river early in the morning, and the boats had all gone away already."),
        Segment(1, 9.0, 12.0, "A < B & C", speaker="Ann"),
    ]
    text = to_vtt(segments)
    parsed = webvtt.from_buffer(io.StringIO(text))
    cues = build_cues(segments)
    assert len(parsed.captions) == len(cues)
    assert [c.lines for c in parsed.captions][:-1] == [list(c.text_lines) for c in cues][:-1]
    assert parsed.captions[-1].raw_text == "<v Ann>A &lt; B &amp; C"
    assert all(c.start_in_seconds < c.end_in_seconds for c in parsed.captions)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.integers(1, 25), st.data())
def test_realignment_keeps_kept_words_times_and_places_new_ones_between(count: int, data: st.DataObject) -> None:
    original = _timed(" ".join(f"w{n}" for n in range(count)), start=1.0)
    times = {w.word.strip(): (w.start, w.end) for w in original.words or ()}
    edited: list[str] = []
    for n in range(count):
        if data.draw(st.booleans(), label=f"insert before w{n}"):
            edited.append(f"new{n}")
        if data.draw(st.integers(0, 3), label=f"keep w{n}"):  # kept 3 times in 4
            edited.append(f"W{n}," if n % 2 else f"w{n}")  # case and punctuation changed on some
    edited = edited or ["new"]
    words = timed_tokens(Segment(0, original.start, original.end, " ".join(edited), words=original.words))
    assert [w.word for w in words] == edited
    assert all(original.start <= w.start <= w.end <= original.end for w in words)
    assert all(b.start >= a.start for a, b in itertools.pairwise(words))
    for number, word in enumerate(words):
        key = word.word.lower().rstrip(",")
        if key in times:
            assert (word.start, word.end) == times[key]
        else:  # new: between the kept neighbours' times
            before = [
                times[w.word.lower().rstrip(",")][1] for w in words[:number] if w.word.lower().rstrip(",") in times
            ]
            after = [
                times[w.word.lower().rstrip(",")][0] for w in words[number:] if w.word.lower().rstrip(",") in times
            ]
            assert (before[-1] if before else original.start) - EPS <= word.start
            assert word.end <= (after[0] if after else original.end) + EPS


def _chinese(pieces: list[str], start: float = 0.0, step: float = 0.5) -> Segment:
    """A Chinese segment as Whisper gives it: text without spaces, words of one to three characters."""
    words = tuple(Word(start + n * step, start + (n + 1) * step - 0.02, piece, 0.9) for n, piece in enumerate(pieces))
    return Segment(0, start, start + len(pieces) * step, "".join(pieces), words=words)


def test_chinese_is_cut_by_characters_into_lines_of_16_and_cues_of_7_seconds() -> None:
    """Text written without spaces is one token to a whitespace split; cut by characters, it keeps Netflix's
    16 characters a line and 7 s a cue, shows no spaces, and each cue starts in its first character's word."""
    pieces = ["我们", "今天", "讨论", "明年", "的", "预算，", "首先", "是", "人工", "智能", "AI", "项目"]
    pieces += ["的", "经费，"]
    pieces += ["然后", "是", "市场", "部门", "的", "计划。", "大家", "有", "什么", "意见", "吗？"] * 2
    segment = _chinese(pieces)
    assert segment.words is not None
    cues = build_cues([segment])
    assert "".join("".join(c.text_lines) for c in cues) == segment.text
    assert len(cues) > 3
    ends = list(itertools.accumulate(len(p) for p in pieces))
    offset = 0
    for cue in cues:
        assert 1 <= len(cue.lines) <= MAX_LINES and all(len(line) <= MAX_WIDE_LINE_CHARS for line in cue.lines), cue
        assert " " not in "".join(cue.lines) and cue.end - cue.start <= MAX_CUE_S + EPS, cue
        word = segment.words[next(n for n, end in enumerate(ends) if end > offset)]
        assert word.start - EPS <= cue.start < word.end, (cue, word)
        offset += len("".join(cue.text_lines))
    assert any(line.endswith(("，", "。", "？")) for c in cues for line in c.text_lines)  # cut at punctuation


def test_spaced_scripts_next_to_chinese_keep_their_words_and_korean_is_not_cut_into_syllables() -> None:
    mixed = build_cues([_chinese(["使用", "Stenograph", "转写", "会议。"])])
    assert ["".join(c.text_lines) for c in mixed] == ["使用Stenograph转写会议。"]
    korean = Segment(0, 0.0, 3.0, "안녕하세요 여러분 오늘 회의를 시작하겠습니다")
    assert [" ".join(c.text_lines) for c in build_cues([korean])] == [korean.text]
