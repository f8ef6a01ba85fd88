"""The Qt side of the tray: a QSystemTrayIcon with Open/Quit, fed by :class:`~stenograph.desktop.status.StatusPoller`.

The poller runs in a thread; Qt widgets belong to the GUI thread, so :class:`QtTray` receives its updates
through Qt signals (queued into the GUI thread) and only its slots touch the icon. Where no tray host
exists (a virtual screen, some desktops) notifications go through ``notify-send`` when it is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from importlib import resources
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot
from PyQt6.QtGui import QAction, QIcon
from PyQt6.QtWidgets import QMenu, QSystemTrayIcon


def icon_path() -> str:
    """The packaged SVG icon's path."""
    return str(resources.files("stenograph.desktop") / "stenograph.svg")


class QtTray(QObject):
    """Thread-safe :class:`~stenograph.desktop.status.Toolkit` over a tray icon.

    ``icon``: a QSystemTrayIcon (or any object with ``setToolTip``/``showMessage``, e.g. a test's fake);
    ``notifier``: the fallback when the icon cannot show messages (``notify-send``), or None.
    """

    status_changed = pyqtSignal(str)
    message = pyqtSignal(str, str)
    menu: QMenu | None = None

    def __init__(self, icon: Any, tray_available: bool, notifier: Callable[[str, str], None] | None) -> None:
        super().__init__()
        self.icon = icon
        self.tray_available = tray_available
        self.notifier = notifier
        self.status_changed.connect(self._set_status)
        self.message.connect(self._notify)

    def set_status(self, text: str) -> None:
        """From any thread: the tooltip text."""
        self.status_changed.emit(text)

    def notify(self, title: str, body: str) -> None:
        """From any thread: a notification."""
        self.message.emit(title, body)

    @pyqtSlot(str)
    def _set_status(self, text: str) -> None:
        self.icon.setToolTip(text)

    @pyqtSlot(str, str)
    def _notify(self, title: str, body: str) -> None:
        if self.tray_available:
            self.icon.showMessage(title, body)
        elif self.notifier is not None:
            self.notifier(title, body)


def notify_send(title: str, body: str) -> None:
    """A notification through libnotify's ``notify-send`` (ignored when it fails)."""
    executable = shutil.which("notify-send")
    if executable:
        subprocess.run([executable, "--app-name=Stenograph", title, body], check=False, timeout=10, capture_output=True)


def build_tray(on_open: Callable[[], None], on_quit: Callable[[], None]) -> QtTray:
    """A tray icon with Open and Quit, shown when the desktop has a tray host (call in the GUI thread,
    after the QApplication exists)."""
    icon = QSystemTrayIcon(QIcon(icon_path()))
    menu = QMenu()
    for label, action in (("Open", on_open), ("Quit", on_quit)):
        item = QAction(label, menu)
        item.triggered.connect(action)
        menu.addAction(item)
    icon.setContextMenu(menu)
    icon.activated.connect(lambda _reason: on_open())
    available = QSystemTrayIcon.isSystemTrayAvailable()
    if available:
        icon.show()
    tray = QtTray(icon, available, None if available else notify_send)
    tray.menu = menu  # keeps the menu alive as long as the tray
    return tray
