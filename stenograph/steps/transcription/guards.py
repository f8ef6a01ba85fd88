"""Guards against Whisper's known failure modes: repetition loops and text made up over silence.

Thresholds come from settings:

* ``repetition_max_repeats`` (default 2): a phrase may occur this many times in a row; more are removed.
  Whisper's decoder can fall into a loop and repeat a word or a phrase until the 30 s window ends
  (openai/whisper discussion #679; faster-whisper's ``compression_ratio_threshold`` of 2.4 catches only long
  loops, by re-decoding at a higher temperature).
* ``no_speech_threshold`` (0.6) and ``logprob_threshold`` (-1.0): the rule of openai/whisper's
  ``transcribe()`` (``whisper/transcribe.py``, "no voice activity check"): output is dropped as silence when
  the probability of the no-speech token is above ``no_speech_threshold`` **and** the average log-probability
  of the decoded tokens is below ``logprob_threshold``. Whisper applies it to a 30 s window; we apply it again
  to each segment.
* Invented words (:func:`trim_invented_words`, :func:`invented_text_guard`): on short speech and at the end
  of a recording Whisper tends to finish a sentence the audio does not hold (a half second of speech came
  back as "See what I'm going to do."). Three signs, measured on 0.2-2 s cuts of the corpus' English speech:
  words timed at or after the end of the audio, or squeezed to no duration at a segment's end; a first or
  last word of very low probability (a word cut in half at the edge, :data:`EDGE_MIN_PROBABILITY`); and
  more words than the audio can hold (:data:`MAX_WORDS_PER_SECOND` of the segment's span on spans under
  :data:`SHORT_SPAN_S` of a segment spanning about all the audio (short speech),
  :data:`LONG_MAX_WORDS_PER_SECOND` elsewhere; read English is 2.5-3 words a
  second). Over the cap, the least probable words go first (word timestamps), or without them the words
  after the cap (continuations come last).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from stenograph.transcript.types import Segment, Word

__all__ = [
    "DEFAULT_MAX_NGRAM",
    "RepeatedSegmentFilter",
    "collapse_repeated_segments",
    "collapse_repetitions",
    "collapse_word_repetitions",
    "invented_text_guard",
    "is_hallucinated",
    "trim_invented_words",
]

#: Words a second a short span of speech may hold.
MAX_WORDS_PER_SECOND = 4.0
#: Spans (seconds) shorter than this are held to :data:`MAX_WORDS_PER_SECOND`.
SHORT_SPAN_S = 3.0
#: Words a second on longer spans (fast speech reaches 4-5).
LONG_MAX_WORDS_PER_SECOND = 6.0
#: A first or last word less probable than this is taken for a word cut in half by the edge of the audio.
EDGE_MIN_PROBABILITY = 0.1
#: In short speech (a segment under :data:`SHORT_SPAN_S` spanning about all the audio), words less probable
#: than this are dropped (on 0.2-2 s cuts, most such words were not in the reference).
SHORT_MIN_PROBABILITY = 0.3
#: The span counted for short speech is at least this (seconds), or the whole audio when shorter.
SHORT_SPEECH_FLOOR_S = 0.3
#: A segment starting or ending this close (seconds) to the audio's start or end is at its edge.
EDGE_S = 1.0
#: Words shorter than this (seconds) at a segment's end are squeezed in after the speech.
_SQUEEZED_S = 0.02

#: Longest phrase (in words) whose repetition is looked for.
DEFAULT_MAX_NGRAM = 12
# Text without spaces (Chinese, Japanese...) loops as repeated characters: units of 1 to 12 characters
# repeated in a row.
_CHAR_LOOP = re.compile(r"(.{1,12}?)\1+", re.DOTALL)

T = TypeVar("T")


def _norm(token: str) -> str:
    """A word compared case-insensitively and without surrounding punctuation ("The," == "the")."""
    stripped = "".join(ch for ch in token if not unicodedata.category(ch).startswith("P"))
    return stripped.casefold() or token


def _keep_indices(keys: Sequence[str], max_repeats: int, max_ngram: int) -> list[int]:
    """Indices of ``keys`` kept when every n-gram (n = 1..max_ngram) repeated more than ``max_repeats`` times
    in a row is cut down to ``max_repeats`` occurrences.

    At each position the n giving the longest run of repeats (in words removed) wins; shorter n win ties, so
    "no no no" is seen as "no" repeated, not "no no" repeated.
    """
    kept: list[int] = []
    i = 0
    count = len(keys)
    while i < count:
        best_n, best_reps = 0, 0
        for n in range(1, min(max_ngram, (count - i) // (max_repeats + 1)) + 1):
            gram = keys[i : i + n]
            reps = 1
            while keys[i + reps * n : i + (reps + 1) * n] == gram:
                reps += 1
            if reps > max_repeats and (reps - max_repeats) * n > (best_reps - max_repeats) * best_n:
                best_n, best_reps = n, reps
        if best_n:
            kept.extend(range(i, i + max_repeats * best_n))
            i += best_reps * best_n
        else:
            kept.append(i)
            i += 1
    return kept


def _collapse(items: Sequence[T], key: Callable[[T], str], max_repeats: int, max_ngram: int) -> list[T]:
    keys = [key(item) for item in items]
    current = list(range(len(items)))
    while True:  # repeat: removing one loop can reveal another ("a b a b a b c c c")
        indices = _keep_indices([keys[i] for i in current], max_repeats, max_ngram)
        if len(indices) == len(current):
            return [items[i] for i in current]
        current = [current[i] for i in indices]


def _collapse_chars(token: str, max_repeats: int) -> str:
    def shorten(match: re.Match[str]) -> str:
        unit = match.group(1)
        reps = len(match.group(0)) // len(unit)
        return unit * min(reps, max_repeats)

    # Only long runs: "ll" in "hello" or "!!" must stay.
    return _CHAR_LOOP.sub(lambda m: shorten(m) if len(m.group(0)) >= 8 else m.group(0), token)


def collapse_repetitions(text: str, max_repeats: int, *, max_ngram: int = DEFAULT_MAX_NGRAM) -> str:
    """Cut phrases repeated in a loop inside one segment's text down to ``max_repeats`` occurrences.

    A phrase is 1 to ``max_ngram`` words, compared ignoring case and punctuation;
    ``collapse_repetitions("I think, I think, I think, I think so", 2) == "I think, I think, so"``.
    Words of 8 characters or more made of one short unit repeated ("哈哈哈哈哈哈哈哈") are cut the
    same way.
    Whitespace between kept words becomes one space.

    Raises:
        ValueError: ``max_repeats`` < 1.
    """
    if max_repeats < 1:
        raise ValueError("max_repeats must be at least 1")
    words = text.split()
    if not words:
        return text.strip()
    words = [_collapse_chars(word, max_repeats) if len(word) >= 8 else word for word in words]
    return " ".join(_collapse(words, _norm, max_repeats, max_ngram))


def collapse_word_repetitions(
    words: Sequence[Word], max_repeats: int, *, max_ngram: int = DEFAULT_MAX_NGRAM
) -> list[Word]:
    """:func:`collapse_repetitions` on timed words: the words kept, with their timings.

    Raises:
        ValueError: ``max_repeats`` < 1.
    """
    if max_repeats < 1:
        raise ValueError("max_repeats must be at least 1")
    return _collapse(list(words), lambda w: _norm(w.word.strip()), max_repeats, max_ngram)


def _segment_key(segment: Segment) -> tuple[str | None, str]:
    return segment.channel, " ".join(_norm(word) for word in segment.text.split())


class RepeatedSegmentFilter:
    """Streaming form of :func:`collapse_repeated_segments`: ``accept`` each segment in order.

    Segments are compared within their channel (``Segment.channel``), ignoring case and punctuation.
    """

    def __init__(self, max_repeats: int) -> None:
        if max_repeats < 1:
            raise ValueError("max_repeats must be at least 1")
        self.max_repeats = max_repeats
        self._last: dict[str | None, tuple[str, int]] = {}

    def accept(self, segment: Segment) -> bool:
        """True to keep ``segment``; False when it is one repeat too many of the segments just before it."""
        channel, text = _segment_key(segment)
        last = self._last.get(channel)
        count = last[1] + 1 if last is not None and last[0] == text and text else 1
        self._last[channel] = (text, count)
        return count <= self.max_repeats


def collapse_repeated_segments(segments: Iterable[Segment], max_repeats: int) -> list[Segment]:
    """Drop segments whose text repeats the segments just before it more than ``max_repeats`` times in a row.

    Segments keep their ``index``; renumber them if the gaps matter.

    Raises:
        ValueError: ``max_repeats`` < 1.
    """
    keep = RepeatedSegmentFilter(max_repeats)
    return [segment for segment in segments if keep.accept(segment)]


def is_hallucinated(segment: Segment, no_speech_threshold: float, logprob_threshold: float) -> bool:
    """Whether ``segment`` is text made up over silence, by Whisper's own rule.

    True when ``segment.no_speech_prob > no_speech_threshold`` and ``segment.avg_logprob < logprob_threshold``
    (see the module docstring): a confident decode is kept even when the no-speech probability is high.
    """
    return segment.no_speech_prob > no_speech_threshold and segment.avg_logprob < logprob_threshold


def _allowed_words(span_s: float, whole: bool) -> int:
    rate = MAX_WORDS_PER_SECOND if whole and span_s < SHORT_SPAN_S else LONG_MAX_WORDS_PER_SECOND
    return int(rate * max(span_s, 0.0) + 1e-9)


def trim_invented_words(
    words: Sequence[Word], *, audio_end: float, at_edge: bool = True, whole: bool = True, min_span_s: float = 0.0
) -> list[Word]:
    """``words`` (one segment's, in order, absolute seconds) without the ones the audio cannot hold.

    Dropped, in this order: words starting at or after ``audio_end`` and zero-length words ending the
    segment; when ``at_edge`` (the segment touches the start or the end of the audio), a first or last word
    under :data:`EDGE_MIN_PROBABILITY`; in short speech (``whole`` and under :data:`SHORT_SPAN_S`), every
    word under :data:`SHORT_MIN_PROBABILITY`; then, while more words remain than :func:`_allowed_words` of the
    span (from the first word's start to the last's end clipped to ``audio_end``, at least ``min_span_s``),
    the least probable one.
    The :data:`MAX_WORDS_PER_SECOND` cap holds when ``whole`` (the segment spans about all the audio: short
    speech); elsewhere Whisper's own timestamps bound the segment, and short fast phrases are real ("in his
    power to do for them." in 1.4 s at the end of a 7 s clip): only :data:`LONG_MAX_WORDS_PER_SECOND` holds.
    """
    kept = [w for w in words if w.start < audio_end - _SQUEEZED_S]
    while kept and kept[-1].end - kept[-1].start < _SQUEEZED_S:
        kept.pop()
    if at_edge and len(kept) > 1 and kept[-1].probability < EDGE_MIN_PROBABILITY:
        kept.pop()
    if at_edge and kept and kept[0].probability < EDGE_MIN_PROBABILITY:
        kept.pop(0)
    if whole and kept and kept[-1].end - kept[0].start < SHORT_SPAN_S:
        # Short speech: Whisper guesses whole words from fragments; the unlikely guesses are mostly wrong.
        kept = [w for w in kept if w.probability >= SHORT_MIN_PROBABILITY]
    if not kept:
        return []
    allowed = _allowed_words(max(min(kept[-1].end, audio_end) - kept[0].start, min_span_s), whole)
    while len(kept) > allowed:
        kept.pop(min(range(len(kept)), key=lambda i: kept[i].probability))
    return kept


def invented_text_guard(
    segment: Segment, *, audio_end: float, audio_start: float = 0.0, edge_s: float = EDGE_S
) -> Segment | None:
    """``segment`` without invented words (:func:`trim_invented_words` on its words; without words, its text
    cut to the words its span can hold); None when nothing is left. The segment is at an edge when it starts
    within ``edge_s`` of ``audio_start`` or ends within ``edge_s`` of ``audio_end`` (seconds)."""
    at_start, at_end = segment.start <= audio_start + edge_s, segment.end >= audio_end - edge_s
    at_edge = at_start or at_end
    if segment.words is not None:
        # Word timings of short speech are tight ("Yes." timed 0-0.24 s in a 0.6 s clip): the span counted is
        # at least SHORT_SPEECH_FLOOR_S, or the whole audio when shorter.
        whole = at_start and at_end
        floor = min(audio_end - audio_start, SHORT_SPEECH_FLOOR_S) if whole else 0.0
        words = trim_invented_words(segment.words, audio_end=audio_end, at_edge=at_edge, whole=whole, min_span_s=floor)
        if not words:
            return None
        if len(words) == len(segment.words):
            return segment
        return dataclasses.replace(segment, words=tuple(words), text="".join(w.word for w in words).strip())
    tokens = segment.text.split()
    allowed = _allowed_words(min(segment.end, audio_end) - segment.start, at_start and at_end)
    if allowed == 0:
        return None
    return dataclasses.replace(segment, text=" ".join(tokens[:allowed])) if len(tokens) > allowed else segment
