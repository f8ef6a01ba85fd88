"""The span guard: a proposal must not take another segment's words, nor drop its own.

A model that corrects segment by segment can move a boundary: it folds the next segment's words into
this one (and then omits the next one, whose original is kept: the words appear twice), gives this
segment's tail to the next, or shifts every text down by one id around an invented segment. Each of
those passes an edit-ratio test when the moved text is short. :func:`span_violations` finds them on
word alignments, so the corrected transcript never holds a span twice that the original held once,
nor loses one:

* **borrowed from a neighbour** (``neighbour_words``): the words a proposal adds (not aligned with
  its own original) at its end begin the next segment's original, or those at its start end the
  previous segment's original; or an added run of two or more words occurs in a neighbour's original
  but not in its own. Both segments of the pair keep their original text (the boundary moved: the
  neighbour's own proposal is part of the same move).
* **borrowed from another segment** (``neighbour_words``): an added run of
  :data:`FAR_RUN_WORDS` words or more occurs in another segment's original in the chunk, or the
  proposal is another segment's original (two words or more; a swap or a shift).
* **dropped words** (``drops_words``): a run of the original's words is deleted with nothing in its
  place, two words or more, or one at the segment's start or end; fillers (:data:`FILLERS`) and
  repeated words ("the the") may go.
* **added words** (``adds_words``): :data:`INVENTED_RUN_WORDS` words or more added in one place
  (an invented segment folded into a real one). The model cannot hear the audio: it can respell a
  misheard word, not restore a phrase.

Words are compared case- and punctuation-blind (:func:`words`). Alignment: :class:`difflib.SequenceMatcher`
on word lists (Ratcliff/Obershelp), without its junk heuristic.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["FAR_RUN_WORDS", "FILLERS", "SpanViolations", "span_violations", "words"]

#: Words a correction may delete anywhere: hesitations, not content.
FILLERS = frozenset({"um", "uh", "er", "erm", "ah", "eh", "hmm", "mm", "uhm", "umm"})
#: Shortest run of added words that, found in a non-adjacent segment's original, counts as taken from it.
FAR_RUN_WORDS = 3

#: Words a proposal may add in one place (``gonna`` → ``going to``); more are made up.
INVENTED_RUN_WORDS = 2
#: Positions at each end of a proposal where an added word alike the neighbour's boundary word counts as
#: taken from it (``Price. Priceq design`` after a segment "Price.").
EDGE_WORDS = 2
#: Character similarity (:meth:`difflib.SequenceMatcher.ratio`) from which two words count as one.
ALIKE_RATIO = 0.8

_WORD = re.compile(r"\w+(?:['’]\w+)*")


def words(text: str) -> list[str]:
    """``text``'s words, case-folded, without punctuation (``"Don't, Bob!"`` → ``["don't", "bob"]``)."""
    return _WORD.findall(text.casefold())


@dataclass(frozen=True, slots=True)
class SpanViolations:
    """Segment indices to keep as they were: ``borrowed`` (words moved between segments, both sides of
    each move), ``dropped`` (a proposal that loses words) and ``invented`` (one that adds a phrase)."""

    borrowed: frozenset[int]
    dropped: frozenset[int]
    invented: frozenset[int]


def _additions(original: list[str], proposed: list[str]) -> tuple[list[list[str]], list[str], list[str]]:
    """Runs of ``proposed`` not aligned with ``original``; also the leading and trailing added words."""
    matcher = difflib.SequenceMatcher(None, original, proposed, autojunk=False)
    runs = [proposed[j1:j2] for tag, _i1, _i2, j1, j2 in matcher.get_opcodes() if tag in ("insert", "replace")]
    blocks = [block for block in matcher.get_matching_blocks() if block.size]
    if not blocks:
        return runs, proposed, proposed
    first, last = blocks[0], blocks[-1]
    return runs, proposed[: first.b], proposed[last.b + last.size :]


def _alike(a: str, b: str) -> bool:
    """The same word, or one the model corrected while moving it (character similarity at least
    :data:`ALIKE_RATIO`, words of 4 characters or more)."""
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= ALIKE_RATIO


def _same_words(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether two word lists are the same up to alike words (a segment's text swapped in whole)."""
    return len(a) == len(b) and all(_alike(x, y) for x, y in zip(a, b, strict=True))


def _windows(tokens: Sequence[str], n: int) -> list[Sequence[str]]:
    return [tokens[i : i + n] for i in range(len(tokens) - n + 1)]


def _holds(windows: Sequence[Sequence[str]], window: Sequence[str]) -> bool:
    return any(all(_alike(a, b) for a, b in zip(window, other, strict=True)) for other in windows)


def _shares_run(run: Sequence[str], other: Sequence[str], own: Sequence[str], n: int) -> bool:
    """Whether ``run`` holds ``n`` consecutive words that ``other`` holds and ``own`` does not (alike
    words, :func:`_alike`, count as the same)."""
    if len(run) < n or len(other) < n:
        return False
    others, owns = _windows(other, n), _windows(own, n)
    return any(_holds(others, window) and not _holds(owns, window) for window in _windows(run, n))


def _takes_from(original: list[str], proposed: list[str], previous: list[str], following: list[str]) -> set[str]:
    """Which neighbours (``"previous"``, ``"following"``) the proposal took words from.

    The proposal is aligned with the three originals in a row (previous, own, following): a matched
    block in a neighbour's part, of two words or holding the word at the boundary, and not wholly
    aligned with the segment's own original, was taken from it.
    Words corrected while moved escape that alignment, so an added word at the proposal's edge alike
    the neighbour's boundary word counts too, as does an added two-word run the neighbour holds.
    """
    taken = set()
    own_matcher = difflib.SequenceMatcher(None, original, proposed, autojunk=False)
    aligned = {b + k for _a, b, size in own_matcher.get_matching_blocks() for k in range(size)}
    around = [*previous, *original, *following]
    own_start, own_end = len(previous), len(previous) + len(original)
    matcher = difflib.SequenceMatcher(None, around, proposed, autojunk=False)
    for block in matcher.get_matching_blocks():
        end = block.a + block.size
        if not block.size or all(block.b + k in aligned for k in range(block.size)):
            continue  # words the proposal's own original explains
        if block.a < own_start and (min(end, own_start) - block.a >= 2 or end >= own_start):
            taken.add("previous")
        if end > own_end and (end - max(block.a, own_end) >= 2 or block.a <= own_end):
            taken.add("following")
    runs, leading, trailing = _additions(original, proposed)
    edge = EDGE_WORDS
    head = [*leading, *(proposed[j] for j in range(min(edge, len(proposed))) if j not in aligned)]
    tail = [*trailing, *(proposed[j] for j in range(max(0, len(proposed) - edge), len(proposed)) if j not in aligned)]
    if previous and any(_alike(word, previous[-1]) for word in head) and original[:1] != leading[:1]:
        taken.add("previous")
    if following and any(_alike(word, following[0]) for word in tail) and original[-1:] != trailing[-1:]:
        taken.add("following")
    for run in runs:
        if _shares_run(run, previous, original, 2):
            taken.add("previous")
        if _shares_run(run, following, original, 2):
            taken.add("following")
    return taken


def _repeat_or_filler(original: Sequence[str], k: int) -> bool:
    word = original[k]
    return word in FILLERS or (k > 0 and original[k - 1] == word) or (k + 1 < len(original) and original[k + 1] == word)


def _drops(original: list[str], proposed: list[str]) -> bool:
    """Whether the proposal deletes original words outright (see the module doc): a block of the
    alignment that loses two words or more (one at the segment's start or end), not counting fillers and
    repeated words."""
    matcher = difflib.SequenceMatcher(None, original, proposed, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag not in ("delete", "replace"):
            continue
        content = sum(not _repeat_or_filler(original, k) for k in range(i1, i2))
        lost = min(content, (i2 - i1) - (j2 - j1))
        at_edge = i1 == 0 or i2 == len(original)
        if lost >= 2 or (lost >= 1 and at_edge):
            return True
    return False


def _invents(original: list[str], proposed: list[str]) -> bool:
    """Whether the proposal adds :data:`INVENTED_RUN_WORDS` words or more where the original had fewer:
    the model cannot hear the audio, so it cannot restore a phrase; it can only make one up."""
    matcher = difflib.SequenceMatcher(None, original, proposed, autojunk=False)
    return any(
        (j2 - j1) - (i2 - i1) >= INVENTED_RUN_WORDS
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag in ("insert", "replace")
    )


def span_violations(
    originals: Sequence[tuple[int, str]],
    proposals: Mapping[int, str],
    *,
    before: str = "",
    after: str = "",
) -> SpanViolations:
    """The proposals that move words between segments or drop them (see the module doc).

    Args:
        originals: the chunk's ``(segment index, original text)``, in transcript order.
        proposals: proposed text by segment index (one per segment; absent: no proposal).
        before: the original text of the segment just before the chunk ("" when none).
        after: the original text of the segment just after the chunk ("" when none).

    Returns:
        The indices to keep as they were, split by reason.
    """
    texts = [words(text) for _index, text in originals]
    indices = [index for index, _text in originals]
    borrowed: set[int] = set()
    dropped: set[int] = set()
    invented: set[int] = set()
    for position, index in enumerate(indices):
        if index not in proposals:
            continue
        original, proposed = texts[position], words(proposals[index])
        if original == proposed:
            continue
        previous = texts[position - 1] if position > 0 else words(before)
        following = texts[position + 1] if position + 1 < len(texts) else words(after)
        taken = _takes_from(original, proposed, previous, following)
        if taken:
            borrowed.add(index)
            if "previous" in taken and position > 0:
                borrowed.add(indices[position - 1])
            if "following" in taken and position + 1 < len(indices):
                borrowed.add(indices[position + 1])
            continue
        runs, _leading, _trailing = _additions(original, proposed)
        far = [text for k, text in enumerate(texts) if abs(k - position) > 1]
        if any(_shares_run(run, other, original, FAR_RUN_WORDS) for run in runs for other in far) or (
            len(proposed) >= 2 and any(_same_words(proposed, other) for k, other in enumerate(texts) if k != position)
        ):
            borrowed.add(index)
        elif _drops(original, proposed):
            dropped.add(index)
        elif _invents(original, proposed):
            invented.add(index)
    return SpanViolations(frozenset(borrowed), frozenset(dropped - borrowed), frozenset(invented - borrowed))
