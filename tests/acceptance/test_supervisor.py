"""The supervisor of ``stenograph serve`` gives up, rather than serving on, when its workers keep dying."""

from __future__ import annotations

from pathlib import Path

from stenograph.settings import build_settings
from stenograph.supervisor import Supervisor
from tests.helpers import wait_for


def test_supervisor_gives_up_when_workers_die_at_start(tmp_path: Path) -> None:
    # A database no server answers for (nothing listens on port 1): every worker exits at once with
    # "cannot start".
    settings = build_settings(data_dir=tmp_path / "data", database_url="postgresql://nobody@127.0.0.1:1/none")
    lines: list[str] = []
    reasons: list[str] = []
    supervisor = Supervisor(settings, 1, emit=lines.append, on_give_up=reasons.append)
    supervisor.start()
    try:
        wait_for(lambda: reasons, timeout=120, interval=0.2, what="the supervisor to give up")
    finally:
        supervisor.stop()
        supervisor.wait(30)
    assert "died 5 times in a row" in reasons[0]
    assert supervisor.gave_up is not None
    assert any(line.startswith("[Worker] cannot start") for line in lines), lines[:5]
    assert sum("restarting in" in line for line in lines) == 5
