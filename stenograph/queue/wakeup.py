"""Waking local workers the moment a task is enqueued, without a busy loop.

Each worker binds a Linux abstract-namespace Unix datagram socket and writes its name to a file in
``<data_dir>/wakeup/``. Enqueueing sends one byte to each registered socket; the worker's loop waits on
the socket with its poll interval as the timeout. Abstract names avoid the 108-byte path limit of Unix
sockets, and vanish with the process. Where this is unavailable, workers still poll.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
from pathlib import Path

log = logging.getLogger("stenograph.wakeup")


class WakeupListener:
    """The worker's end: a socket to wait on (``fileno()``), drained with :meth:`drain`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.name = f"stenograph-{os.getpid()}-{secrets.token_hex(6)}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.name)
        self.sock.setblocking(False)
        self.path = directory / f"{self.name}.wakeup"
        self.path.write_text(self.name)

    def fileno(self) -> int:
        return self.sock.fileno()

    def drain(self) -> None:
        """Read every pending wake-up byte."""
        while True:
            try:
                self.sock.recv(64)
            except (BlockingIOError, InterruptedError):
                return

    def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.sock.close()


def notify_local(directory: Path) -> None:
    """Wake every worker registered in ``directory``; forget the registrations of dead ones."""
    try:
        entries = list(directory.glob("*.wakeup"))
    except OSError:
        return
    if not entries:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for entry in entries:
            try:
                sock.sendto(b"!", "\0" + entry.read_text())
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
            except (BlockingIOError, OSError) as exc:  # its buffer is full: it is awake already
                log.debug("wake-up of %s skipped: %s", entry.name, exc)
