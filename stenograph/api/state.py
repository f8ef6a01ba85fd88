"""What the API's routes share: settings, engine and queue, built once per app by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy import Engine

from stenograph.queue import TaskQueue
from stenograph.settings import Settings


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    queue: TaskQueue


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.stenograph
    return state


StateDep = Annotated[AppState, Depends(get_state)]


#: The largest id a database integer holds (64-bit signed).
MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A positive id.")]
OffsetQuery = Annotated[int, Query(ge=0, le=2**31, description="Rows to skip.")]
