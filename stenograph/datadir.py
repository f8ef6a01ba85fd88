"""The identity of a data directory: a random id kept in ``data_dir/instance-id``.

Recordings remember the id of the data directory that holds their file (``recordings.store_id``), and
tasks that need the file carry it as their ``affinity``: a worker claims such a task only when its own
data directory has that id, or when it can fetch files from the API server (``STENOGRAPH_SERVER_URL``).
Two ``stenograph serve`` processes sharing one PostgreSQL database with different data directories then
never take each other's transcriptions. A path cannot serve as the id: two machines may both use ``./data``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

#: The file holding the id, inside the data directory.
ID_FILE = "instance-id"


def data_dir_id(data_dir: Path) -> str:
    """The id of ``data_dir`` (32 hex characters), created on first use.

    Creation is atomic (a temporary file linked into place), so processes starting at once agree on one id.

    Raises:
        OSError: the data directory cannot be created or written.
    """
    path = data_dir / ID_FILE
    with contextlib.suppress(FileNotFoundError):
        existing = path.read_text(encoding="ascii").strip()
        if existing:
            return existing
    data_dir.mkdir(parents=True, exist_ok=True)
    temporary = data_dir / f".{ID_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    temporary.write_text(secrets.token_hex(16) + "\n", encoding="ascii")
    try:
        os.link(temporary, path)  # fails when another process made it first: theirs wins
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()
