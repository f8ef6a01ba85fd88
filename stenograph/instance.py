"""One server per data directory: ``serve`` and ``desktop`` hold ``data_dir/server.lock`` while they run.

The lock is an advisory ``flock`` on an open file, so the kernel releases it when the process dies (no stale
lock after a crash). Beside it, ``data_dir/server.json`` says where the holder serves
(``{"url": "http://127.0.0.1:8000", "pid": 1234}``), so a second ``stenograph desktop`` opens a window on the
running server instead of starting another one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path
from typing import IO

LOCK_FILE = "server.lock"
INFO_FILE = "server.json"


class InstanceLock:
    """The held lock of one data directory; :meth:`release` (or process exit) frees it."""

    def __init__(self, data_dir: Path, handle: IO[str]) -> None:
        self.data_dir = data_dir
        self._handle: IO[str] | None = handle

    def publish(self, url: str) -> None:
        """Record where this process serves (written atomically: a temporary file renamed into place)."""
        temporary = self.data_dir / f".{INFO_FILE}.{os.getpid()}"
        temporary.write_text(json.dumps({"url": url, "pid": os.getpid()}), encoding="utf-8")
        temporary.replace(self.data_dir / INFO_FILE)

    def release(self) -> None:
        """Remove ``server.json`` and free the lock; idempotent."""
        if self._handle is None:
            return
        (self.data_dir / INFO_FILE).unlink(missing_ok=True)
        self._handle.close()
        self._handle = None


def acquire(data_dir: Path) -> InstanceLock | None:
    """Take the data directory's lock without waiting; None when another process holds it.

    Raises:
        OSError: the data directory cannot be created, the lock file opened, or locked for another reason
            than another holder (the file is closed).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = (data_dir / LOCK_FILE).open("a", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    except BaseException:
        handle.close()
        raise
    os.set_inheritable(handle.fileno(), False)
    return InstanceLock(data_dir, handle)


def running_url(data_dir: Path) -> str | None:
    """The URL the lock holder of ``data_dir`` published, or None (none yet, or unreadable)."""
    with contextlib.suppress(OSError, ValueError, TypeError):
        url = json.loads((data_dir / INFO_FILE).read_text(encoding="utf-8"))["url"]
        return str(url) if url else None
    return None
