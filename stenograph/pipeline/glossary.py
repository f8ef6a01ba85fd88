"""Glossary correction without an LLM: near-miss spellings of glossary terms become the term.

Match rule (documented, deterministic): a glossary term of *k* words is compared with every run of *k*
consecutive words of the text (words are ``\\w`` runs with inner apostrophes/hyphens; text between
them, punctuation included, is kept as is). Comparison is case-insensitive, on the words joined by one
space, with :class:`difflib.SequenceMatcher` (``ratio() = 2·M / T``, Ratcliff/Obershelp matching, as
documented in the Python standard library). A run whose ratio is at least ``threshold`` (0.85 by
default: one wrong letter in a 7-letter word gives 0.857) and that differs from the term is replaced
by the term's spelling. Longer terms are tried first and a word is replaced at most once.

Terms shorter than :data:`MIN_FUZZY_CHARS` characters only have their case fixed (fuzzy matching
short words would rewrite ordinary words). Scripts without spaces between words (Chinese, Japanese)
are not split into words here, so only whole-run matches apply to them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DEFAULT_THRESHOLD", "MIN_FUZZY_CHARS", "GlossaryResult", "apply_glossary", "similarity"]

DEFAULT_THRESHOLD = 0.85
MIN_FUZZY_CHARS = 5

_WORD = re.compile(r"\w+(?:['’-]\w+)*")


@dataclass(frozen=True, slots=True)
class GlossaryResult:
    """The corrected text and the replacements made as ``(old, new)`` pairs, in text order."""

    text: str
    replacements: tuple[tuple[str, str], ...]


def similarity(a: str, b: str) -> float:
    """Case-insensitive :class:`difflib.SequenceMatcher` ratio of two strings, in [0, 1]."""
    return difflib.SequenceMatcher(None, a.casefold(), b.casefold(), autojunk=False).ratio()


def apply_glossary(text: str, glossary: Sequence[str], *, threshold: float = DEFAULT_THRESHOLD) -> GlossaryResult:
    """Replace near-miss spellings of ``glossary`` terms in ``text`` (see the module doc for the rule).

    Args:
        text: one segment's text.
        glossary: terms as they should be spelled ("Kubernetes", "Anna Schmidt").
        threshold: the least similarity (0 to 1) that counts as a near miss.

    Returns:
        The new text and the replacements made; the text is unchanged when nothing matched.
    """
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    unique = {term.strip() for term in glossary if term.strip()}
    terms = sorted(unique, key=lambda term: (-len(_WORD.findall(term)), -len(term), term))
    taken = [False] * len(words)
    edits: list[tuple[int, int, str]] = []
    for term in terms:
        k = len(_WORD.findall(term))
        if k == 0:
            continue
        fuzzy = len(term) >= MIN_FUZZY_CHARS
        position = 0
        while position + k <= len(words):
            span = range(position, position + k)
            if any(taken[i] for i in span):
                position += 1
                continue
            start, end = words[position][0], words[position + k - 1][1]
            candidate = " ".join(text[words[i][0] : words[i][1]] for i in span)
            same = candidate.casefold() == " ".join(_WORD.findall(term)).casefold()
            if (same or (fuzzy and similarity(candidate, term) >= threshold)) and text[start:end] != term:
                edits.append((start, end, term))
                for i in span:
                    taken[i] = True
                position += k
            else:
                position += 1
    if not edits:
        return GlossaryResult(text, ())
    edits.sort()
    pieces: list[str] = []
    cursor = 0
    for start, end, term in edits:
        pieces += [text[cursor:start], term]
        cursor = end
    pieces.append(text[cursor:])
    return GlossaryResult("".join(pieces), tuple((text[s:e], term) for s, e, term in edits))
