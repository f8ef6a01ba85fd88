"""Writing a finished recording's outputs next to its source (or into ``STENOGRAPH_EXPORT_DIR``).

Each file is written to a temporary file in the target folder, flushed and fsynced, then put in place in one
step: ``os.replace`` when overwriting is asked (``STENOGRAPH_EXPORT_OVERWRITE``), else ``os.link``, which
fails rather than replace a file that exists (a person's file, or an earlier export), and the next free name
``<base> (2).<ext>``, ``<base> (3).<ext>``... is tried. A reader never sees a half-written file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

#: Most ``" (n)"`` suffixes tried before giving up on a name.
MAX_SUFFIX = 1000


def write_atomically(folder: Path, base: str, suffix: str, text: str, *, overwrite: bool) -> Path:
    """Write ``text`` (UTF-8) as ``folder/<base><suffix>``, or the first free ``<base> (n)<suffix>``.

    Returns:
        The path written.

    Raises:
        OSError: the folder cannot be written, or :data:`MAX_SUFFIX` names are taken.
    """
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{base}.", suffix=".part")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if overwrite:
            target = folder / f"{base}{suffix}"
            os.replace(temporary, target)
            return target
        return _link_free_name(Path(temporary), folder, base, suffix)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _link_free_name(temporary: Path, folder: Path, base: str, suffix: str) -> Path:
    for number in range(1, MAX_SUFFIX + 1):
        target = folder / (f"{base}{suffix}" if number == 1 else f"{base} ({number}){suffix}")
        try:
            os.link(temporary, target)
            return target
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # A file system without hard links (some network shares): check, then rename (a small race).
            if target.exists():
                continue
            os.replace(temporary, target)
            return target
    raise OSError(errno.EEXIST, f"{MAX_SUFFIX} names of {base}{suffix} are taken in {folder}")
