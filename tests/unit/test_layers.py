"""The front ends (the API and the CLI) reach the database only through the service: none of their modules
imports SQLAlchemy or the database package, or opens a connection or transaction on an engine."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "stenograph"
FRONT_ENDS = sorted([*(PACKAGE / "api").rglob("*.py"), *PACKAGE.glob("cli*.py")])
#: Modules a front end must not import: they build SQL or open connections.
FORBIDDEN = ("sqlalchemy", "stenograph.db", "stenograph.queue.manager", "stenograph.queue.statements")


def offences(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        found += [f"line {node.lineno}: imports {m}" for m in modules if m.startswith(FORBIDDEN)]
        call = node.func if isinstance(node, ast.Call) else None
        if isinstance(call, ast.Attribute) and call.attr in ("connect", "begin", "execute", "exec_driver_sql"):
            found.append(f"line {node.lineno}: calls {ast.unparse(call)}()")
    return found


def test_the_scan_sees_what_it_looks_for() -> None:
    sample = "from sqlalchemy import select\nimport stenograph.db.models\nwith engine.begin() as c:\n    c.execute(q)\n"
    assert len(offences(sample)) == 4
    assert offences("from stenograph.service import Stenograph\nservice.list_recordings()\n") == []


@pytest.mark.parametrize("path", FRONT_ENDS, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_front_ends_reach_the_database_only_through_the_service(path: Path) -> None:
    assert FRONT_ENDS and offences(path.read_text(encoding="utf-8")) == []
