"""Functions stay under about 80 lines, or say why not: a function of stenograph/ (migrations aside) over
:data:`MAX_LINES` lines needs a comment saying why it is long (``# Long because ...``) on its ``def`` line or
within the first :data:`WINDOW` lines after its signature."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "stenograph"
SKIPPED = PACKAGE / "db" / "migrations"
#: The most lines a function may span (``def`` to its last line, decorators aside) without a comment.
MAX_LINES = 80
#: Lines after a function's signature where the comment may be.
WINDOW = 3
#: A comment that says why a function is long.
WHY = re.compile(r"\blong\b", re.IGNORECASE)

MODULES = sorted(path for path in PACKAGE.rglob("*.py") if SKIPPED not in path.parents)


def _comments(source: str) -> dict[int, str]:
    """Each line's comment, by line number."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {token.start[0]: token.string for token in tokens if token.type == tokenize.COMMENT}


def _signature_ends(source: str) -> list[int]:
    """The line numbers where logical lines end (a ``def``'s signature ends at the first one at or after it)."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [token.start[0] for token in tokens if token.type == tokenize.NEWLINE]


def offences(source: str) -> list[str]:
    """The functions of ``source`` over :data:`MAX_LINES` lines with no comment saying why."""
    comments = _comments(source)
    ends = _signature_ends(source)
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length <= MAX_LINES:
            continue
        signature_end = min(line for line in ends if line >= node.lineno)
        window = range(node.lineno, signature_end + WINDOW + 1)
        if not any(WHY.search(comments.get(line, "")) for line in window):
            found.append(f"line {node.lineno}: {node.name} is {length} lines long, with no comment saying why")
    return found


def _function(lines: int, comment: str = "") -> str:
    body = "".join(f"    x{i} = {i}\n" for i in range(lines - 3))
    return f"def f(\n    a: int,\n) -> None:\n{comment}{body}"


def test_the_scan_sees_what_it_looks_for() -> None:
    assert offences(_function(80)) == []
    assert len(offences(_function(81))) == 1
    assert offences(_function(81, "    # Long because it is one loop.\n")) == []
    assert len(offences(_function(81, "    # a comment that gives no reason\n"))) == 1
    late = _function(81).replace("    x3 = 3\n", "    # Long because it is one loop.\n    x3 = 3\n")
    assert len(offences(late)) == 1


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_functions_are_short_or_say_why(path: Path) -> None:
    assert offences(path.read_text(encoding="utf-8")) == []
