"""Subtitle cues built from timed words: the rules of ``docs/subtitles.md``.

Sources: the Netflix Timed Text Style Guide, General Requirements (at most 42 characters a line, at most
2 lines, a cue shown 5/6 s to 7 s; line breaks after punctuation, before conjunctions and prepositions) and
the BBC Subtitle Guidelines (break at natural linguistic units, new subtitle on a change of speaker, a
subtitle should not bridge a long pause; prefer a bottom-heavy pair of lines).

The rules, as applied here:

1. A cue holds one speaker's words (its label: :func:`~stenograph.transcript.formats.segment_label`); a new
   label always starts a new cue. The label is shown as ``label: `` on the first line and counts within its
   :data:`MAX_LINE_CHARS`.
2. A cue has at most :data:`MAX_LINES` lines of at most :data:`MAX_LINE_CHARS` characters (a single word
   longer than a line is the only exception), spans at most :data:`MAX_CUE_S` seconds of speech and never
   bridges a pause longer than :data:`MAX_PAUSE_IN_CUE_S`.
3. Among the ways to cut a run of words into such cues, the cheapest is taken (dynamic programming): a cut
   after a sentence's end is a gain, after a pause or a clause's punctuation costs little, elsewhere most;
   each cue costs a little (fewer, fuller cues win) and a cue shorter than :data:`MIN_CUE_S` costs in
   proportion to what it lacks. So a sentence gets its own cue when it can be shown for a second, short
   sentences are joined, and a long one is cut at its commas and pauses.
4. A cue is shown from its first word's start to its last word's end, held on to at least
   :data:`MIN_CUE_S` where the next cue leaves room, and never longer than :data:`MAX_CUE_S`.

The words come from :func:`timed_tokens`: the segment's *text* split on whitespace, each token timed by
its word in ``segment.words`` after aligning the two (``difflib.SequenceMatcher`` on case- and
punctuation-free tokens), so a corrected or edited text keeps the times of the words it kept, and new
words take times interpolated between their aligned neighbours. A segment without words has its time
shared among its tokens in proportion to their characters.
"""

from __future__ import annotations

import difflib
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from stenograph.transcript.types import Segment, Word

__all__ = [
    "MAX_CUE_S",
    "MAX_LINES",
    "MAX_LINE_CHARS",
    "MAX_PAUSE_IN_CUE_S",
    "MAX_WIDE_LINE_CHARS",
    "MIN_CUE_S",
    "Cue",
    "build_cues",
    "layout_lines",
    "timed_tokens",
]

#: Characters a line may hold, a shown speaker label included (Netflix: 42 for Latin scripts).
MAX_LINE_CHARS = 42
#: Characters a line may hold in Chinese or Japanese (Netflix: 16 for Simplified and Traditional Chinese, and
#: for Japanese): each such character counts ``MAX_LINE_CHARS / MAX_WIDE_LINE_CHARS`` in a line's length.
MAX_WIDE_LINE_CHARS = 16
#: Lines a cue may hold (Netflix, BBC: two).
MAX_LINES = 2
#: The longest a cue is shown, in seconds (Netflix: 7 s).
MAX_CUE_S = 7.0
#: The shortest a cue is shown where the speech allows, in seconds (Netflix: 5/6 s; we aim at 1 s).
MIN_CUE_S = 1.0
#: A silence longer than this (seconds) always ends a cue (BBC: a subtitle does not bridge a long pause).
MAX_PAUSE_IN_CUE_S = 1.5
#: A silence at least this long (seconds) is a good place to cut.
PAUSE_S = 0.5

_SENTENCE_END = (".", "!", "?", "…", "。", "！", "？")
_CLAUSE_END = (",", ";", ":", "—", "–", "，", "；", "：", "、")
_CLOSERS = "\"'»”’)]"
#: The cost of a cut after a sentence's end (a gain: a sentence that can stand alone gets its own cue), a
#: pause, a clause's punctuation, and anywhere else.
_CUT_SENTENCE, _CUT_PAUSE, _CUT_CLAUSE, _CUT_OTHER = -3.0, 1.0, 1.0, 5.0
#: The cost of each cue, and of each second a cue lacks to reach MIN_CUE_S.
_PER_CUE, _PER_SHORT_S = 2.0, 8.0


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle: shown from ``start`` to ``end`` (seconds), ``lines`` of text (the first starting with
    ``label: `` when ``label`` is set; ``text_lines`` are the same lines without it)."""

    start: float
    end: float
    label: str | None
    text_lines: tuple[str, ...]

    @property
    def lines(self) -> tuple[str, ...]:
        if not self.label or not self.text_lines:
            return self.text_lines
        return (f"{self.label}: {self.text_lines[0]}", *self.text_lines[1:])


def _norm(token: str) -> str:
    """A token compared without case and punctuation ("The," == "the")."""
    kept = "".join(ch for ch in token.casefold() if unicodedata.category(ch)[0] in "LN")
    return kept or token.casefold()


def _unspaced(ch: str) -> bool:
    """Whether ``ch`` belongs to a script written without spaces between words (Han ideographs, kana, their
    full-width punctuation): such text is cut into characters, shown without spaces, and counts wide."""
    code = ord(ch)
    return (
        0x3000 <= code <= 0x30FF  # CJK symbols and punctuation, hiragana, katakana
        or 0x3400 <= code <= 0x4DBF  # CJK unified ideographs extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
        or 0xFF00 <= code <= 0xFF65  # full-width forms (！，：？ ...)
        or 0x20000 <= code <= 0x3134F  # CJK unified ideographs extensions B to G
    )


def _units(token: str) -> list[str]:
    """``token`` cut before each character of an unspaced script (:func:`_unspaced`), punctuation kept with
    the character before it: "我们讨论AI预算。" gives 我, 们, 讨, 论, AI, 预, 算。"""
    units: list[str] = []
    for ch in token:
        glued = unicodedata.category(ch)[0] == "P" or (units and not _unspaced(ch) and not _unspaced(units[-1][-1]))
        if units and glued:
            units[-1] += ch
        else:
            units.append(ch)
    return units


def _join(tokens: Sequence[str]) -> str:
    """``tokens`` as shown: a space between two, except next to a character of an unspaced script."""
    out = ""
    for token in tokens:
        if out and token and not (_unspaced(out[-1]) or _unspaced(token[0])):
            out += " "
        out += token
    return out


def _width(text: str) -> float:
    """``text``'s length on a line: :data:`MAX_LINE_CHARS` / :data:`MAX_WIDE_LINE_CHARS` for a character of an
    unspaced script, 1 for any other."""
    wide = MAX_LINE_CHARS / MAX_WIDE_LINE_CHARS
    return sum(wide if _unspaced(ch) else 1.0 for ch in text)


def _split_unspaced(words: Sequence[Word]) -> list[Word]:
    """``words`` with each one holding unspaced script cut into :func:`_units`, its time shared by characters."""
    out: list[Word] = []
    for word in words:
        units = _units(word.word) if any(_unspaced(ch) for ch in word.word) else [word.word]
        if len(units) == 1:
            out.append(word)
        else:
            shared = _shared(word.start, word.end, units, spaced=False)
            out.extend(Word(w.start, w.end, w.word, word.probability) for w in shared)
    return out


def _shared(start: float, end: float, tokens: Sequence[str], *, spaced: bool = True) -> list[Word]:
    """``tokens`` timed over ``start``..``end``, each in proportion to its characters (plus one for a space
    when ``spaced``)."""
    weights = [len(t) + (1 if spaced else 0) for t in tokens]
    total = sum(weights) or 1
    out, at = [], start
    span = max(0.0, end - start)
    for token, weight in zip(tokens, weights, strict=True):
        nxt = at + span * weight / total
        out.append(Word(at, nxt, token, 1.0))
        at = nxt
    return out


def _word_pieces(words: Sequence[Word]) -> list[Word]:
    """Words split on whitespace (a word holding several pieces shares its time among them)."""
    pieces: list[Word] = []
    for word in words:
        parts = word.word.split()
        if len(parts) == 1:
            pieces.append(Word(word.start, word.end, parts[0], word.probability))
        elif parts:
            pieces.extend(_shared(word.start, word.end, parts))
    return pieces


def timed_tokens(segment: Segment, tokens: Sequence[str] | None = None, *, by_character: bool = False) -> list[Word]:
    """The segment's text tokens (``tokens``, default its text split on whitespace), each with a time.

    Tokens matching a word of ``segment.words`` (case and punctuation aside, aligned by
    ``difflib.SequenceMatcher``) take its time; a run of replaced words shares the run's time; inserted
    tokens share the gap between their neighbours (the segment's start or end at the edges). Without
    words, the segment's time is shared by characters. Starts never decrease. With ``by_character``, text
    of an unspaced script (Chinese, Japanese) is cut into characters first, in the tokens and in the words
    (a word's time shared by its characters), so that each character is aligned and timed.
    """
    toks = list(tokens) if tokens is not None else segment.text.split()
    if by_character:
        toks = [unit for token in toks for unit in (_units(token) if any(map(_unspaced, token)) else [token])]
    if not toks:
        return []
    pieces = _word_pieces(segment.words or ())
    if by_character:
        pieces = _split_unspaced(pieces)
    if not pieces:
        return _shared(segment.start, segment.end, toks)
    old = [_norm(p.word) for p in pieces]
    new = [_norm(t) for t in toks]
    out: list[Word] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            out.extend(Word(p.start, p.end, t, p.probability) for p, t in zip(pieces[i1:i2], toks[j1:j2], strict=True))
        elif tag == "replace":
            out.extend(_shared(pieces[i1].start, pieces[i2 - 1].end, toks[j1:j2]))
        elif tag == "insert":
            before = pieces[i1 - 1].end if i1 > 0 else min(segment.start, pieces[0].start)
            after = pieces[i1].start if i1 < len(pieces) else max(segment.end, pieces[-1].end)
            out.extend(_shared(before, max(before, after), toks[j1:j2]))
    return _monotonic(out)


def _monotonic(words: list[Word]) -> list[Word]:
    fixed: list[Word] = []
    for word in words:
        start = max(word.start, fixed[-1].start) if fixed else word.start
        fixed.append(Word(start, max(start, word.end), word.word, word.probability))
    return fixed


def _cut_cost(word: Word, following: Word) -> float:
    """What cutting between ``word`` and ``following`` costs (the cheaper, the better a place)."""
    text = word.word.rstrip(_CLOSERS)
    if text.endswith(_SENTENCE_END):
        return _CUT_SENTENCE
    if following.start - word.end >= PAUSE_S:
        return _CUT_PAUSE
    if text.endswith(_CLAUSE_END):
        return _CUT_CLAUSE
    return _CUT_OTHER


def layout_lines(tokens: Sequence[str], label: str | None = None) -> tuple[str, ...] | None:
    """``tokens`` on at most :data:`MAX_LINES` lines of at most :data:`MAX_LINE_CHARS` characters (a Chinese or
    Japanese character counting wide: :func:`_width`), the first line's counted with ``"label: "`` before it;
    None when they do not fit (one token always fits, on one line). Of two-line layouts, a break after
    punctuation wins, then the most even (the lower line longer on a tie)."""
    prefix = _width(label) + 2 if label else 0
    whole = _join(tokens)
    if prefix + _width(whole) <= MAX_LINE_CHARS or len(tokens) == 1:
        return (whole,)
    best: tuple[float, int] | None = None
    for cut in range(1, len(tokens)):
        top = prefix + _width(_join(tokens[:cut]))
        bottom = _width(_join(tokens[cut:]))
        if top > MAX_LINE_CHARS or bottom > MAX_LINE_CHARS:
            continue
        last = tokens[cut - 1].rstrip(_CLOSERS)
        punct = 0.0 if last.endswith(_SENTENCE_END + _CLAUSE_END) else 12.0
        cost = punct + abs(top - bottom) * 0.5 + (1.0 if top > bottom else 0.0)
        if best is None or cost < best[0]:
            best = (cost, cut)
    if best is None:
        return None
    return (_join(tokens[: best[1]]), _join(tokens[best[1] :]))


def _fits(tokens: Sequence[str], prefix: float) -> bool:
    """Whether ``tokens`` fit :data:`MAX_LINES` (2) lines as :func:`layout_lines` lays them out: the top line
    filled greedily (``prefix`` characters of label first), the rest on the bottom one."""
    if prefix + _width(_join(tokens)) <= MAX_LINE_CHARS or len(tokens) == 1:
        return True
    for count in range(1, len(tokens) + 1):
        if prefix + _width(_join(tokens[:count])) > MAX_LINE_CHARS:
            return count > 1 and _width(_join(tokens[count - 1 :])) <= MAX_LINE_CHARS
    return True


def _cues_of_run(words: Sequence[Word], label: str | None) -> list[Cue]:
    """One speaker's run of words cut into cues (rule 3): the cheapest cuts by dynamic programming over the
    cut positions, each cue checked against rule 2. ``cost[i]`` is the cheapest way to show ``words[:i]``."""
    n = len(words)
    prefix = _width(label) + 2 if label else 0
    tokens = [w.word for w in words]
    cuts = [_cut_cost(words[j - 1], words[j]) if j < n else 0.0 for j in range(n + 1)]
    cost = [0.0] + [math.inf] * n
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            if i < j - 1 and (
                words[j - 1].end - words[i].start > MAX_CUE_S
                or words[i + 1].start - words[i].end > MAX_PAUSE_IN_CUE_S
                or not _fits(tokens[i:j], prefix)
            ):
                break
            duration = words[j - 1].end - words[i].start
            here = _PER_CUE + _PER_SHORT_S * max(0.0, MIN_CUE_S - duration) + cuts[j]
            if cost[i] + here < cost[j]:
                cost[j], back[j] = cost[i] + here, i
    cues: list[Cue] = []
    j = n
    while j > 0:
        i = back[j]
        lines = layout_lines(tokens[i:j], label) or (_join(tokens[i:j]),)
        cues.append(Cue(words[i].start, words[j - 1].end, label, lines))
        j = i
    return cues[::-1]


def _runs(segments: Iterable[Segment]) -> list[tuple[str | None, list[Word]]]:
    """Consecutive segments of one label, as (label, their timed tokens)."""
    from stenograph.transcript.formats import cue_text, segment_label  # here: formats imports this module

    runs: list[tuple[str | None, list[Word]]] = []
    previous: object = object()
    for segment in segments:
        raw = segment_label(segment)
        label = cue_text(raw) if raw else None
        words = timed_tokens(segment, cue_text(segment.text).split(), by_character=True)
        if not words:
            continue
        if label != previous or not runs:
            runs.append((label, []))
            previous = label
        runs[-1][1].extend(words)
    return runs


def build_cues(segments: Iterable[Segment]) -> list[Cue]:
    """The subtitle cues of ``segments`` (rules 1-4 of this module), sorted by start. Times in seconds."""
    cues: list[Cue] = []
    for label, words in _runs(segments):
        cues.extend(_cues_of_run(words, label))
    cues.sort(key=lambda c: c.start)
    timed = []
    for number, cue in enumerate(cues):
        following = cues[number + 1].start if number + 1 < len(cues) else math.inf
        end = max(cue.end, min(cue.start + MIN_CUE_S, following))
        end = min(end, cue.start + MAX_CUE_S)
        timed.append(Cue(cue.start, max(end, cue.start + 0.001), cue.label, cue.text_lines))
    return timed
