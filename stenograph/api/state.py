"""What the API's routes share: settings, engine and queue, built once per app by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
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
