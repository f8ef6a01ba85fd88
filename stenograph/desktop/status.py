"""The tray's live state and the desktop notifications, computed from the API (no Qt here).

:class:`StatusPoller` asks ``GET /tasks?status=running|pending`` for the counts and ``GET /recordings`` for
each recording's step states every ``interval`` seconds, and tells a :class:`Toolkit` what to show: the
tray's tooltip text, and a notification when a recording's pipeline ends (every step ``completed``: done;
any step ``failed`` and none still ``pending``/``running``: failed). Recordings already finished at the
first poll raise no notification.
"""

from __future__ import annotations

import logging
import threading
from typing import Literal, Protocol

import httpx

log = logging.getLogger(__name__)

Outcome = Literal["completed", "failed"]


class Toolkit(Protocol):
    """What the poller asks of the desktop toolkit (the Qt tray; a fake in tests)."""

    def set_status(self, text: str) -> None:
        """Show ``text`` as the tray's live state (tooltip)."""

    def notify(self, title: str, body: str) -> None:
        """Show a desktop notification."""


def pipeline_outcome(steps: dict[str, str]) -> Outcome | None:
    """How a recording's pipeline ended from its step states, or None while it runs (or was cancelled)."""
    states = set(steps.values())
    if not states or states & {"pending", "running"}:
        return None
    if "failed" in states:
        return "failed"
    return "completed" if states == {"completed"} else None


def status_text(running: int, pending: int) -> str:
    """The tray's tooltip, e.g. ``Stenograph: 1 running, 3 pending``."""
    return f"Stenograph: {running} running, {pending} pending"


class StatusPoller:
    """Polls the API at ``client``'s base URL and drives ``toolkit``; :meth:`run` until :meth:`stop`."""

    def __init__(self, client: httpx.Client, toolkit: Toolkit, interval: float = 2.0) -> None:
        self.client = client
        self.toolkit = toolkit
        self.interval = interval
        self._known: dict[int, Outcome | None] | None = None
        self._stopped = threading.Event()

    def _count(self, status: str) -> int:
        response = self.client.get("/tasks", params={"status": status, "limit": 1})
        response.raise_for_status()
        return int(response.json()["count"])

    def poll_once(self) -> None:
        """One round: the tooltip, then a notification per pipeline that ended since the last round.

        Raises:
            httpx.HTTPError: the API did not answer (or answered an error).
        """
        self.toolkit.set_status(status_text(self._count("running"), self._count("pending")))
        response = self.client.get("/recordings", params={"limit": 100})
        response.raise_for_status()
        first = self._known is None
        known = self._known or {}
        for recording in response.json()["data"]:
            outcome = pipeline_outcome(recording["steps"])
            rid = int(recording["id"])
            if not first and outcome is not None and known.get(rid) != outcome:
                if outcome == "completed":
                    self.toolkit.notify("Transcription done", f"{recording['name']} is ready.")
                else:
                    self.toolkit.notify("Transcription failed", f"{recording['name']}: a step failed.")
            known[rid] = outcome
        self._known = known

    def run(self) -> None:
        """Poll every ``interval`` seconds until :meth:`stop`; API errors are logged and retried."""
        while not self._stopped.is_set():
            try:
                self.poll_once()
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                log.debug("status poll failed: %s", exc)
            self._stopped.wait(self.interval)

    def stop(self) -> None:
        """End :meth:`run` after its current round."""
        self._stopped.set()
