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

Limits (:func:`check_glossary`, the one rule for every way a glossary comes in: an upload's ``glossary``
field, ``PUT /glossary``, a step re-run's body and ``STENOGRAPH_GLOSSARY``): at most :data:`MAX_TERMS`
terms, each at most :data:`MAX_TERM_CHARS` characters of letters, digits, spaces and the punctuation in
:data:`TERM_PUNCTUATION`; no line breaks or other control characters. Whisper gets as many terms as fit
in :data:`HOTWORDS_MAX_CHARS` characters (:func:`hotwords_that_fit`): faster-whisper puts hotwords in its
prompt of previous text, which holds at most 223 tokens.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_THRESHOLD",
    "HOTWORDS_MAX_CHARS",
    "MAX_TERMS",
    "MAX_TERM_CHARS",
    "MIN_FUZZY_CHARS",
    "TERM_PUNCTUATION",
    "GlossaryResult",
    "apply_glossary",
    "check_glossary",
    "hotwords_that_fit",
    "similarity",
]

DEFAULT_THRESHOLD = 0.85
MIN_FUZZY_CHARS = 5

_WORD = re.compile(r"\w+(?:['’-]\w+)*")

#: The most terms one glossary holds.
MAX_TERMS = 100
#: The longest term, in characters.
MAX_TERM_CHARS = 64
#: Characters a term may hold besides letters (with their accents and marks), digits and spaces.
TERM_PUNCTUATION = ".'’-&+#/"
#: Characters of hotwords (joined by ", ") given to Whisper: about 100 tokens, under half its prompt.
HOTWORDS_MAX_CHARS = 300


def _allowed(char: str) -> bool:
    return char == " " or char in TERM_PUNCTUATION or unicodedata.category(char)[0] in ("L", "M", "N")


def check_glossary(terms: Sequence[str]) -> list[str]:
    """The terms trimmed, inner whitespace runs made one space, empty ones and repeats dropped (order kept).

    Raises:
        ValueError: more than :data:`MAX_TERMS` terms, a term longer than :data:`MAX_TERM_CHARS`
            characters, or one holding a character other than letters, digits, spaces and
            :data:`TERM_PUNCTUATION` (line breaks and control characters included); the message names it.
    """
    if isinstance(terms, str):
        raise ValueError("the glossary must be a list of terms")
    clean: list[str] = []
    for raw in terms:
        if not isinstance(raw, str):
            raise ValueError("every glossary term must be text")
        bad = [c for c in raw.strip(" ") if not _allowed(c)]
        if bad:
            shown = repr(bad[0]) if bad[0].isprintable() else f"U+{ord(bad[0]):04X}"
            raise ValueError(
                f"the glossary term {raw[:MAX_TERM_CHARS]!r} holds {shown}: terms may hold letters, digits, "
                f"spaces and {' '.join(TERM_PUNCTUATION)} only"
            )
        term = " ".join(raw.split())
        if len(term) > MAX_TERM_CHARS:
            raise ValueError(
                f"the glossary term {term[:20]!r}... is {len(term)} characters long; at most {MAX_TERM_CHARS} "
                "are allowed"
            )
        if term and term not in clean:
            clean.append(term)
    if len(clean) > MAX_TERMS:
        raise ValueError(f"the glossary has {len(clean)} terms; at most {MAX_TERMS} are allowed")
    return clean


def hotwords_that_fit(terms: Sequence[str], max_chars: int = HOTWORDS_MAX_CHARS) -> list[str]:
    """The first terms whose ``", "``-joined text fits in ``max_chars`` characters (the rest are left out)."""
    kept: list[str] = []
    used = 0
    for term in terms:
        cost = len(term) + (2 if kept else 0)
        if used + cost > max_chars:
            break
        kept.append(term)
        used += cost
    return kept


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
