"""The shared pieces of packaged model files: hashing, hash once, the ``.verified`` stamp and assembly."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from stenograph.packaged_models import assemble_file, sha256_file, stamp_verified, verify_once


class Mismatch(Exception):
    pass


def chunks(folder: Path) -> list[Path]:
    paths = []
    for n in range(3):
        path = folder / f"c{n}"
        path.write_bytes(bytes([n]) * 1500)
        paths.append(path)
    return paths


def test_verify_once_hashes_an_unchanged_file_once(tmp_path: Path) -> None:
    path = tmp_path / "m.bin"
    path.write_bytes(b"model")
    digest = hashlib.sha256(b"model").hexdigest()
    seen: set[tuple[str, int, int]] = set()
    assert not verify_once(path, "0" * 64, seen) and seen == set()
    assert not verify_once(path, digest, seen, size=4)  # the size is checked first
    assert verify_once(path, digest, seen, size=5) and len(seen) == 1
    assert verify_once(path, "0" * 64, seen)  # trusted: same path, size and mtime
    os.utime(path, ns=(1, 1))
    assert not verify_once(path, "0" * 64, seen)  # changed mtime: hashed again


def test_assembly_concatenates_in_order_and_stamps(tmp_path: Path) -> None:
    parts = chunks(tmp_path)
    joined = b"".join(p.read_bytes() for p in parts)
    digest = hashlib.sha256(joined).hexdigest()
    target = tmp_path / "models" / "m.gguf"
    assemble_file(target, parts, digest, prefix=".m-", mismatch=Mismatch)
    assert target.read_bytes() == joined and sha256_file(target) == digest
    assert target.stat().st_mode & 0o777 == 0o644
    assert stamp_verified(target, digest, size=len(joined))
    assert not stamp_verified(target, digest, size=len(joined) + 1)
    assert not stamp_verified(target, "0" * 64)  # the stamp names another digest: hashed, and refused


def test_a_wrong_digest_raises_the_callers_error_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "models" / "m.gguf"
    with pytest.raises(Mismatch, match=r"^[0-9a-f]{64}$"):
        assemble_file(target, chunks(tmp_path), "0" * 64, prefix=".m-", mismatch=Mismatch)
    assert list(target.parent.iterdir()) == []
