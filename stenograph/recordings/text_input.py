"""Text a client sends, made fit to store: no NUL or other control characters.

PostgreSQL refuses NUL in text and JSON (a 500 before this rule), and control characters in names, labels or
options only ever come from mistakes or attacks. :func:`clean_text` removes the C0 controls (NUL included),
DEL and the C1 controls, and the invisible characters that hide or reorder text (zero-width space,
bidirectional overrides); tabs and line breaks are kept only where a text may hold several lines (a segment, a
prompt), and there ``\\r\\n`` and ``\\r`` become ``\\n``.
"""

from __future__ import annotations

import re

__all__ = ["clean_text"]

#: Invisible characters that only hide or reorder text: zero-width space, word joiner, byte-order mark, and the
#: bidirectional embeddings, overrides and isolates (U+202A-202E, U+2066-2069: "Trojan Source", CVE-2021-42574).
#: The zero-width joiner and non-joiner (U+200C, U+200D) stay: Persian and Indic scripts need them.
_INVISIBLE = "\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069"
_CONTROLS = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_INVISIBLE}]")
_CONTROLS_BUT_LINES = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_INVISIBLE}]")


def clean_text(text: str, *, multiline: bool = False) -> str:
    """``text`` without control characters, trimmed; with ``multiline``, tabs and ``\\n`` are kept.

    On one line (the default) each control character (tab and line breaks included) becomes a space, so that
    the words on either side stay apart; inner runs of whitespace are left as they are.
    """
    if multiline:
        return _CONTROLS_BUT_LINES.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    return _CONTROLS.sub(" ", text).strip()
