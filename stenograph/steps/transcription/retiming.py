"""Whisper's segment timing kept when its decoder is conditioned on text (a glossary, an initial prompt).

The cause. faster-whisper 1.2.1 puts ``hotwords`` and ``initial_prompt`` in the previous-text prompt
(``<|startofprev|> Stenograph<|startoftranscript|>``: ``WhisperModel.get_prompt``). When Whisper itself
fills that prompt with the previous 30 s window's output, the text carries its timestamp tokens
(``<|0.00|> And so...<|10.80|><|10.80|> Printing...``), and the model goes on emitting a timestamp pair at
each phrase. A prompt of plain text has none, and the model imitates it: on five corpus clips joined
(44.9 s) tiny.en emitted ``<|0.00|>`` then 29 s of text and one closing ``<|29.20|>``, so faster-whisper
made one 29.2 s segment where the plain run made four (``_split_segments_by_timestamps`` can only cut at
timestamp pairs). Giving the prompt timestamp tokens of its own brings segments back, but then tiny.en
copies their granularity (round half seconds) and cuts where the plain run does not; measured, not kept.

The fix here. A decoded segment longer than :data:`RETIME_OVER_S` is decoded once more, alone and with no
text conditioning (no prompt, no hotwords, ``condition_on_previous_text=False``): that decode's segments
are Whisper's own timing for that audio. The conditioned text (the one that spells the glossary right) is
then shared out over those segments by aligning its words with theirs (``difflib.SequenceMatcher``), so the
text stays the conditioned one and the boundaries are Whisper's plain ones. Timed words, when asked for,
follow their text. Costs one extra decode of at most 30 s of audio per long segment.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["RETIME_OVER_S", "Decoded", "decoded", "retime", "retimed", "split_text"]

#: Segments longer than this (seconds) are re-timed. Whisper's own segments are phrases of 2-10 s.
RETIME_OVER_S = 12.0
#: Audio after a long segment's end also given to the re-timing decode, so its last word is whole.
_TAIL_S = 0.5
_SAMPLE_RATE = 16000
_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True, slots=True)
class Decoded:
    """A segment as faster-whisper gives it (the fields :class:`FasterWhisperTranscriber` reads); times in
    seconds from the start of the audio that was decoded."""

    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    words: Sequence[Any] | None
    tokens: Sequence[int] = ()
    #: Set on a last, unfinished piece: decoding should start again at ``start``, from its audio.
    restart: bool = False


def _key(word: str) -> str:
    return "".join(_WORD.findall(word.casefold()))


def _map_index(blocks: Sequence[difflib.Match], b_index: int, a_len: int) -> int:
    """The index in sequence a facing ``b_index`` in sequence b, from the matching blocks: a word of b inside
    a block maps to its match; one between blocks keeps its offset after the previous block, clipped."""
    a_after, b_after = 0, 0  # ends of the previous block
    for block in blocks:
        if b_index < block.b:
            return min(a_after + (b_index - b_after), block.a)
        if b_index < block.b + block.size:
            return block.a + (b_index - block.b)
        a_after, b_after = block.a + block.size, block.b + block.size
    return min(a_after + (b_index - b_after), a_len)


def split_text(text: str, plain_texts: Sequence[str]) -> list[str]:
    """``text`` cut into ``len(plain_texts)`` pieces that face ``plain_texts`` word for word (an empty piece
    where nothing of ``text`` faces one). Words are compared ignoring case and punctuation.

    ``split_text("a b c d", ["a b", "x d"]) == ["a b", "c d"]``.
    """
    words = text.split()
    plain = [piece.split() for piece in plain_texts]
    flat = [_key(word) for piece in plain for word in piece]
    matcher = difflib.SequenceMatcher(a=[_key(word) for word in words], b=flat, autojunk=False)
    blocks = [block for block in matcher.get_matching_blocks() if block.size]
    cuts, position = [0], 0
    for piece in plain[:-1]:
        position += len(piece)
        cuts.append(max(cuts[-1], _map_index(blocks, position, len(words))))
    cuts.append(len(words))
    return [" ".join(words[a:b]) for a, b in itertools.pairwise(cuts)]


def decoded(segment: Any) -> Decoded:
    """A faster-whisper ``Segment`` as :class:`Decoded`."""
    return Decoded(
        float(segment.start),
        float(segment.end),
        segment.text,
        float(segment.avg_logprob),
        float(segment.no_speech_prob),
        float(getattr(segment, "compression_ratio", 0.0)),
        segment.words,
        tuple(getattr(segment, "tokens", ()) or ()),
    )


def retime(
    model: Any,
    audio: npt.NDArray[np.float32],
    segments: Sequence[Any],
    *,
    language: str | None,
    beam_size: int,
    vad: bool,
) -> list[Decoded]:
    """The text of ``segments`` (consecutive, decoded from ``audio``, times from its start) cut at the
    boundaries an unconditioned decode of their audio finds. ``segments`` as they are when that decode finds
    one segment or fewer.

    When the last of ``segments`` has no closing timestamp (:func:`_is_open`), the last piece is returned
    with ``restart=True`` and ``start`` where decoding should start again.

    Args:
        model: a ``faster_whisper.WhisperModel``.
        audio: 16 kHz mono samples the segments were decoded from.
        segments: faster-whisper ``Segment`` objects (or :class:`Decoded`), at least one.
        language, beam_size, vad: as for the first decode.
    """
    group = [decoded(segment) for segment in segments]
    begin, finish = group[0].start, group[-1].end
    first = max(0, round(begin * _SAMPLE_RATE))
    last = min(len(audio), round((finish + _TAIL_S) * _SAMPLE_RATE))
    raw, _ = model.transcribe(
        audio[first:last],
        language=language,
        beam_size=beam_size,
        vad_filter=vad,
        condition_on_previous_text=False,
        without_timestamps=False,
    )
    offset = first / _SAMPLE_RATE
    plain = [(offset + p.start, offset + p.end, p.text) for p in raw if p.start + offset < finish - 0.2]
    if len(plain) < 2:
        return group
    texts = split_text(" ".join(piece.text for piece in group), [text for _, _, text in plain])
    words: list[Any] | None = None
    if all(piece.words is not None for piece in group):
        words = [word for piece in group for word in piece.words or ()]
    pieces: list[Decoded] = []
    used = 0
    for number, ((start, end, _), text) in enumerate(zip(plain, texts, strict=True)):
        if not text:
            continue
        mine: list[Any] | None = None
        if words is not None:
            count = len(text.split())
            mine, used = words[used : used + count], used + count
        pieces.append(
            dataclasses.replace(
                group[0],
                start=begin if not pieces else start,
                end=finish if number == len(plain) - 1 else min(end, finish),
                text=" " + text,
                words=mine,
            )
        )
    if not pieces:
        return group
    if words is not None and used < len(words):
        pieces[-1] = dataclasses.replace(pieces[-1], words=[*(pieces[-1].words or []), *words[used:]])
    pieces[-1] = dataclasses.replace(pieces[-1], end=finish)
    if _is_open(model, group[-1]) and len(pieces) > 1:
        # No closing timestamp: the decoder ran to the end of its 30 s input, maybe inside a word, and
        # faster-whisper would go on from there. Keep the whole pieces and start again after them.
        return [*pieces[:-1], dataclasses.replace(pieces[-1], restart=True, start=pieces[-2].end)]
    return pieces


def _is_open(model: Any, segment: Any) -> bool:
    """Whether ``segment``'s tokens end with text (no closing timestamp); timestamps come after
    ``<|endoftext|>`` in Whisper's vocabulary."""
    tokens = getattr(segment, "tokens", None)
    tokenizer = getattr(model, "hf_tokenizer", None)
    if not tokens or tokenizer is None:
        return False
    end_of_text = tokenizer.token_to_id("<|endoftext|>")
    return end_of_text is not None and int(tokens[-1]) < int(end_of_text)


def retimed(
    model: Any, raw: Iterable[Any], audio: npt.NDArray[np.float32], *, language: str | None, beam_size: int, vad: bool
) -> Iterator[Any]:
    """faster-whisper's segments ``raw`` of ``audio``, each longer than :data:`RETIME_OVER_S` cut at Whisper's
    own boundaries (:func:`retime`: a prompt or hotwords made the decoder stop emitting timestamps).

    Re-timing every 30 s decode of a conditioned run was tried and dropped: an unconditioned decode that
    starts a fraction of a second away from the plain run's start cuts elsewhere too (tiny.en, measured).
    """
    for produced in raw:
        if produced.end - produced.start > RETIME_OVER_S:
            yield from retime(model, audio, [produced], language=language, beam_size=beam_size, vad=vad)
        else:
            yield produced
