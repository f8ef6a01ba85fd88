"""Shared pieces for model files shipped in PyPI packages (Gemma, Qwen, Whisper base, diarization).

Each model module keeps its own names, messages and error class; this module holds only what they did
alike: hashing a file, an exclusive file lock, "hash once per process", finding a package's folder without
importing it, and assembling one file from package parts into the data directory with a SHA-256 (and,
optionally, size) check and a ``.verified`` stamp. Standard library only, so :mod:`stenograph.llm` and
:mod:`stenograph.steps` can both import it without cycles.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "BLOCK",
    "assemble_file",
    "copy_hashed",
    "file_lock",
    "package_dir",
    "sha256_file",
    "stamp_verified",
    "verify_once",
    "write_stamp",
]

#: Read size in bytes when hashing or copying (1 MiB).
BLOCK = 1 << 20

_seen_lock = threading.Lock()


def sha256_file(path: Path) -> str:
    """The hex SHA-256 of the file at ``path``, read in :data:`BLOCK` pieces.

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created with its folder if missing) for the ``with`` body."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def package_dir(module: str) -> Path | None:
    """The folder of the installed package ``module``, found without importing it; None when not installed."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def verify_once(path: Path, expected: str, seen: set[tuple[str, int, int]], *, size: int | None = None) -> bool:
    """Whether ``path`` has SHA-256 ``expected`` (and ``size`` bytes when given), hashed once per process.

    ``seen`` is the caller's cache of checked files, keyed by (resolved path, size, mtime in ns); a file that
    passes is added to it, so a later call for the unchanged file returns True without reading it.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _seen_lock:
        if key in seen:
            return True
    if (size is not None and stat.st_size != size) or sha256_file(path) != expected:
        return False
    with _seen_lock:
        seen.add(key)
    return True


def copy_hashed(sources: Iterable[Path], out: BinaryIO) -> str:
    """Write the files ``sources`` one after another to ``out``; returns the hex SHA-256 of what was written."""
    digest = hashlib.sha256()
    for source in sources:
        with source.open("rb") as handle:
            while block := handle.read(BLOCK):
                digest.update(block)
                out.write(block)
    return digest.hexdigest()


def _stamp_text(path: Path, sha256: str) -> str:
    stat = path.stat()
    return json.dumps({"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def write_stamp(target: Path, sha256: str) -> None:
    """Record in ``<target>.verified`` that ``target`` (as it is now: size, mtime) has SHA-256 ``sha256``."""
    _stamp_path(target).write_text(_stamp_text(target, sha256))


def stamp_verified(target: Path, sha256: str, *, size: int | None = None) -> bool:
    """Whether ``target`` is a file with SHA-256 ``sha256`` (and ``size`` bytes when given).

    A ``<target>.verified`` stamp matching the file's size and mtime is trusted; otherwise the file is hashed
    and, when it matches, the stamp is (re)written.
    """
    if not target.is_file() or (size is not None and target.stat().st_size != size):
        return False
    stamp = _stamp_path(target)
    if stamp.is_file() and stamp.read_text() == _stamp_text(target, sha256):
        return True
    if sha256_file(target) == sha256:
        write_stamp(target, sha256)
        return True
    return False


def assemble_file(
    target: Path, chunks: Iterable[Path], sha256: str, *, prefix: str, mismatch: Callable[[str], Exception]
) -> None:
    """Concatenate ``chunks`` into ``target``, checked against ``sha256``, and stamp it (:func:`write_stamp`).

    The bytes go to a temporary file beside ``target`` (named ``<prefix>…part``), hashed while written, made
    mode 0644 and renamed into place, so a reader never sees a partial file. Locking, if any, is the caller's.

    Raises:
        Exception: ``mismatch(actual_digest)`` when the digest differs; nothing is left in place then.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            actual = copy_hashed(chunks, out)
        if actual != sha256:
            raise mismatch(actual)
        os.chmod(temp_name, 0o644)  # mkstemp creates 0600; the model is not secret
        os.replace(temp_name, target)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
    write_stamp(target, sha256)
