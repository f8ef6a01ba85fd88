"""Model resolution: packaged tiny.en, assembled base with its SHA-256 check, local folders, downloads."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from stenograph.errors import ConfigurationError, PermanentError
from stenograph.settings import Settings, build_settings
from stenograph.steps.transcription import whisper_models
from stenograph.steps.transcription.whisper_models import (
    WHISPER_BASE_SHA256,
    ModelIntegrityError,
    WhisperModelError,
    assemble_base_model,
    device_and_compute_type,
    load_whisper,
    resolve_model,
)


def test_tiny_en_is_the_packaged_copy(settings: Settings) -> None:
    resolved = resolve_model(settings)
    assert resolved.source == "package"
    assert resolved.name == "tiny.en"
    assert (Path(resolved.path_or_name) / "model.bin").is_file()
    assert not settings.models_dir.exists()  # nothing copied


def test_tiny_en_checksum_mismatch_is_refused(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(whisper_models, "_verified", set())
    monkeypatch.setattr(whisper_models, "TINY_EN_SHA256", "0" * 64)
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        resolve_model(settings)


def test_local_directory_is_used_as_is(tmp_path: Path) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"x")
    (folder / "config.json").write_text("{}")
    resolved = resolve_model(build_settings(data_dir=tmp_path, whisper_model=str(folder)))
    assert resolved.source == "local" and resolved.path_or_name == str(folder.resolve())
    (folder / "model.bin").unlink()
    with pytest.raises(ConfigurationError, match=r"not a CTranslate2 model: it needs model\.bin and config\.json"):
        resolve_model(build_settings(data_dir=tmp_path, whisper_model=str(folder)))


def test_a_folder_that_is_not_a_model_fails_once(tmp_path: Path) -> None:
    """Not retried: a PermanentError (a task fails at once), still a ConfigurationError for the API."""
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    settings = build_settings(data_dir=tmp_path, whisper_model=str(folder))
    with pytest.raises(WhisperModelError, match="not a CTranslate2 model") as refused:
        load_whisper(settings)
    assert isinstance(refused.value, PermanentError) and not refused.value.retryable
    (folder / "model.bin").write_bytes(b"not a model")
    (folder / "config.json").write_text("{}")
    with pytest.raises(WhisperModelError, match="could not be loaded as a CTranslate2 model") as broken:
        load_whisper(settings)
    assert not broken.value.retryable and broken.value.kind == "bad_model"
    with pytest.raises(WhisperModelError, match="downloads are off"):
        load_whisper(build_settings(data_dir=tmp_path, whisper_model="small"))


def test_unknown_name_needs_downloads_allowed(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="STENOGRAPH_WHISPER_ALLOW_DOWNLOAD=true"):
        resolve_model(build_settings(data_dir=tmp_path, whisper_model="small"))
    allowed = resolve_model(build_settings(data_dir=tmp_path, whisper_model="small", whisper_allow_download=True))
    assert allowed.source == "download" and allowed.path_or_name == "small"


def test_device_auto_picks_cpu_int8_without_cuda(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import ctranslate2

    monkeypatch.setattr(ctranslate2, "get_cuda_device_count", lambda: 0)
    assert device_and_compute_type(settings) == ("cpu", "int8")
    monkeypatch.setattr(ctranslate2, "get_cuda_device_count", lambda: 1)
    assert device_and_compute_type(settings) == ("cuda", "float16")
    explicit = build_settings(whisper_device="cpu", whisper_compute_type="float32")
    assert device_and_compute_type(explicit) == ("cpu", "float32")


def _fake_parts(tmp_path: Path, part1: bytes, part2: bytes) -> tuple[Path, Path]:
    one, two = tmp_path / "p1", tmp_path / "p2"
    one.mkdir()
    two.mkdir()
    (one / "model.bin.part1").write_bytes(part1)
    (two / "model.bin.part2").write_bytes(part2)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (one / name).write_text(name)
    return one, two


def test_assembly_concatenates_checks_and_is_reused(tmp_path: Path) -> None:
    one, two = _fake_parts(tmp_path, b"first half|", b"second half")
    digest = hashlib.sha256(b"first half|second half").hexdigest()
    dest = tmp_path / "models" / "whisper-base"
    assemble_base_model(dest, part1_dir=one, part2_dir=two, expected_sha256=digest)
    assert (dest / "model.bin").read_bytes() == b"first half|second half"
    assert (dest / "tokenizer.json").read_text() == "tokenizer.json"
    # A second call trusts the stamp: even with the parts gone, nothing is rebuilt.
    (one / "model.bin.part1").unlink()
    assemble_base_model(dest, part1_dir=one, part2_dir=two, expected_sha256=digest)
    assert (dest / "model.bin").read_bytes() == b"first half|second half"
    assert [p.name for p in dest.parent.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_corrupted_part_fails_the_check_and_leaves_nothing(tmp_path: Path) -> None:
    one, two = _fake_parts(tmp_path, b"first half|", b"second hal\x00")
    dest = tmp_path / "models" / "whisper-base"
    with pytest.raises(ModelIntegrityError, match=r"a part is damaged or was replaced.*reinstall"):
        assemble_base_model(dest, part1_dir=one, part2_dir=two, expected_sha256=WHISPER_BASE_SHA256)
    assert not dest.exists()
    assert [p.name for p in dest.parent.iterdir() if not p.name.endswith(".lock")] == []


def test_concurrent_assembly_builds_once(tmp_path: Path) -> None:
    one, two = _fake_parts(tmp_path, b"a" * 1_000_000, b"b" * 1_000_000)
    digest = hashlib.sha256(b"a" * 1_000_000 + b"b" * 1_000_000).hexdigest()
    dest = tmp_path / "models" / "whisper-base"
    errors: list[BaseException] = []

    def build() -> None:
        try:
            assemble_base_model(dest, part1_dir=one, part2_dir=two, expected_sha256=digest)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert hashlib.sha256((dest / "model.bin").read_bytes()).hexdigest() == digest


@pytest.mark.slow
def test_base_is_assembled_from_the_packages_and_loads(tmp_path: Path) -> None:
    settings = build_settings(data_dir=tmp_path, whisper_model="base")
    resolved = resolve_model(settings)
    assert resolved.source == "assembled"
    assert Path(resolved.path_or_name) == settings.models_dir / "whisper-base"
    model = load_whisper(settings)
    assert model.model.is_multilingual
    # A damaged assembled copy is noticed and rebuilt.
    with (settings.models_dir / "whisper-base" / "model.bin").open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02")
    assert resolve_model(settings).source == "assembled"
    digest = hashlib.sha256((settings.models_dir / "whisper-base" / "model.bin").read_bytes()).hexdigest()
    assert digest == WHISPER_BASE_SHA256


@pytest.mark.slow
def test_model_is_loaded_once_per_process(settings: Settings, tiny_model: object) -> None:
    assert load_whisper(settings) is tiny_model
    assert load_whisper(settings) is tiny_model
