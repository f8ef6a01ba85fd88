"""A second ``stenograph desktop`` asks the first to bring its window forward, over a Unix socket.

The desktop that holds the data directory listens on ``data_dir/desktop.sock``; a later launch connects,
sends ``raise\\n`` and reads ``ok\\n``. A ``serve`` holder has no such socket: the later launch then opens a
window of its own on the server's address.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from pathlib import Path

SOCKET_FILE = "desktop.sock"


class ForwardListener:
    """Accepts ``raise`` requests and calls ``bring_forward`` for each, in a daemon thread."""

    def __init__(self, data_dir: Path, bring_forward: Callable[[], None]) -> None:
        self.path = data_dir / SOCKET_FILE
        self.bring_forward = bring_forward
        self.path.unlink(missing_ok=True)  # a crashed holder's socket: the lock is ours now
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.server.bind(str(self.path))
            self.server.listen(4)
        except OSError:
            self.server.close()  # not left open for the garbage collector
            raise
        threading.Thread(target=self._serve, name="desktop-forward", daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return  # closed
            with connection:
                connection.settimeout(5)
                with contextlib.suppress(OSError):
                    if connection.recv(16).strip() == b"raise":
                        print("[Desktop] another launch asked for the window: bringing it forward", flush=True)
                        self.bring_forward()
                        connection.sendall(b"ok\n")

    def close(self) -> None:
        """Stop listening and remove the socket file."""
        self.server.close()
        self.path.unlink(missing_ok=True)


def listen(data_dir: Path, bring_forward: Callable[[], None]) -> ForwardListener | None:
    """Start listening; None when the socket cannot be made (a path too long for AF_UNIX, a read-only dir)."""
    try:
        return ForwardListener(data_dir, bring_forward)
    except OSError:
        return None


def ask_forward(data_dir: Path, timeout: float = 10.0) -> bool:
    """Ask the desktop holding ``data_dir`` to bring its window forward: True when it did."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        client.connect(str(data_dir / SOCKET_FILE))
        client.sendall(b"raise\n")
        return client.recv(16).strip() == b"ok"
    return False
