"""``stenograph desktop``: the API and the workers of ``serve`` behind a native window (pywebview over Qt).

One process per data directory serves (:mod:`stenograph.instance`): a launch that finds the lock held opens
a window on the server that holds it and starts nothing. Closing the window (its close button, the tray's
Quit, SIGTERM or SIGINT) stops the API and then the workers through their graceful stage, as Ctrl-C stops
``serve``: running tasks get ``shutdown_grace_seconds``, none stays ``running``.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any
from urllib.parse import quote

import httpx

from stenograph.desktop.bridge import DesktopApi
from stenograph.desktop.forward import ForwardListener, ask_forward, listen
from stenograph.desktop.status import StatusPoller
from stenograph.instance import acquire, running_url
from stenograph.settings import Settings

#: Seconds to wait for the API to listen (migrations run first), or for a running server's address.
START_TIMEOUT = 120.0
TITLE = "Stenograph"
_WAKEUP: list[socket.socket] = []


def _qt_environment() -> None:
    """Qt WebEngine's Chromium refuses to run as root without ``--no-sandbox`` (containers, CI)."""
    if os.geteuid() == 0:
        flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
        if "--no-sandbox" not in flags:
            os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{flags} --no-sandbox".strip()


class Closer:
    """What SIGTERM/SIGINT do: close the window once it is shown, or keep it from opening.

    Qt's event loop runs no Python between events, so a signal is seen through :func:`signal.set_wakeup_fd`
    by a thread, which calls the window's ``destroy`` (thread-safe in pywebview). Install in the main thread.
    """

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._target: Callable[[], None] | None = None
        self._lock = threading.Lock()
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        _WAKEUP.extend((reader, writer))  # alive as long as the process
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        threading.Thread(target=self._watch, args=(reader,), name="desktop-signals", daemon=True).start()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.requested.set()  # runs in the main thread when Python gets control (before or after the window)

    def _watch(self, reader: socket.socket) -> None:
        while data := reader.recv(1):
            name = signal.Signals(data[0]).name
            print(f"[Supervisor] {name}: closing the window, stopping the API and the workers", flush=True)
            self.close()

    def close(self) -> None:
        """Close the window (now if shown, else as soon as it is)."""
        with self._lock:
            self.requested.set()
            target = self._target
        if target is not None:
            target()

    def attach(self, target: Callable[[], None]) -> None:
        """The window is shown: ``target`` closes it (called at once when a close was already asked)."""
        with self._lock:
            self._target = target
        if self.requested.is_set():
            target()


def _wait_for_url(settings: Settings, closer: Closer) -> str | None:
    """The running server's address (its holder may still be starting), None after START_TIMEOUT or a signal."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        url = running_url(settings.data_dir)
        if url:
            return url
        if closer.requested.wait(0.2):
            return None
    return None


def open_window(url: str, settings: Settings, with_tray: bool, closer: Closer) -> None:
    """Show the web app at ``url`` in a native window until it is closed (blocks in the Qt event loop).

    ``with_tray``: also the tray icon (running/pending counts, Open/Quit) and pipeline notifications.
    """
    _qt_environment()
    import webview
    from PyQt6 import QtWebEngineWidgets  # noqa: F401 - must load before the QApplication exists
    from PyQt6.QtWidgets import QApplication

    from stenograph.desktop.tray import build_tray

    headers = {"Authorization": f"Bearer {settings.api_token}"} if settings.api_token else {}
    client = httpx.Client(base_url=url, headers=headers, timeout=30)
    api = DesktopApi(client, open_dialog=webview.OPEN_DIALOG, save_dialog=webview.SAVE_DIALOG)
    # With a token, the sign-in link sets the session cookie and redirects to / (the fragment is kept).
    sign_in = f"?token={quote(settings.api_token)}" if settings.api_token else ""
    window = webview.create_window(TITLE, f"{url}/{sign_in}#/processing", js_api=api, width=1200, height=800)
    api.attach(window)
    window.events.shown += lambda: closer.attach(window.destroy)
    qt_app = QApplication.instance() or QApplication([TITLE])
    qt_app.setApplicationName("stenograph")
    poller: StatusPoller | None = None
    listener: ForwardListener | None = None
    if with_tray:

        def bring_forward() -> None:
            window.restore()
            window.show()

        tray = build_tray(on_open=bring_forward, on_quit=window.destroy)
        poller = StatusPoller(client, tray)
        threading.Thread(target=poller.run, name="desktop-status", daemon=True).start()
        listener = listen(settings.data_dir, bring_forward)
    try:
        webview.start(gui="qt", private_mode=False, storage_path=str(settings.data_dir / "desktop-webview"))
    finally:
        if poller is not None:
            poller.stop()
        if listener is not None:
            listener.close()
        client.close()


def run_desktop(settings: Settings, window: Callable[[str, Settings, bool, Closer], Any] = open_window) -> int:
    """The ``desktop`` command: the exit status (0 when everything stopped cleanly).

    Raises:
        The errors of :data:`stenograph.service.database.DATABASE_ERRORS` (the database cannot be used).
    """
    from stenograph.serving import Service

    closer = Closer()
    lock = acquire(settings.data_dir)
    if lock is None:
        url = _wait_for_url(settings, closer)
        if url is None:
            print(f"another Stenograph holds {settings.data_dir} but publishes no address", flush=True)
            return 2
        if ask_forward(settings.data_dir):
            print(f"Stenograph already runs on {url}: brought its window forward", flush=True)
            return 0
        print(f"Stenograph already runs on {url}: opening a window on it", flush=True)
        if not closer.requested.is_set():
            window(url, settings, False, closer)
        return 0
    try:
        service = Service(settings)
        service.start()
        if not service.wait_started(START_TIMEOUT):
            service.stop()
            service.join()
            return 1
        lock.publish(service.url)
        print(f"Stenograph on {service.url} (data in {settings.data_dir}) in a desktop window", flush=True)
        try:
            if not closer.requested.is_set():
                window(service.url, settings, True, closer)
        finally:
            print("[Supervisor] window closed: stopping the API and the workers", flush=True)
            service.stop()
            status = service.join()
        return status
    finally:
        lock.release()
