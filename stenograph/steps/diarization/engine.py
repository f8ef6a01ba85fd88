"""The diarization engine: pyannote segmentation-3.0 (ONNX) on sliding windows, speaker embeddings (CAM++ by
default, GE2E selectable), clustering.

The algorithm is pyannote.audio 3.x's speaker diarization pipeline (Bredin, "pyannote.audio 2.1 speaker
diarization pipeline: principle, benchmark, and recipe", Interspeech 2023; Plaquet & Bredin, "Powerset
multi-class cross entropy loss for neural speaker diarization", Interspeech 2023; code in
``pyannote/audio/pipelines/speaker_diarization.py`` and ``utils/diarization.py``):

1. **Local segmentation**: 10 s windows every ``step_s`` seconds go through segmentation-3.0, which gives, per
   16.875 ms frame, one of 7 powerset classes (nobody, one of 3 local speakers, or one of 3 pairs); the most
   likely class is turned into 3 binary local-speaker activities (overlap = two at once).
2. **Embeddings**: for each (window, local speaker) active long enough, an embedding (:mod:`.campplus` or
   :mod:`.embedding`) of the samples where that speaker alone speaks (where it is only ever in overlap, of all
   its active samples).
3. **Clustering** (:mod:`.clustering`): the embeddings become global speakers (complete linkage; two local
   speakers of one window cannot link), their count found by a distance threshold or fixed by the caller;
   then each window's local speakers get distinct global ones (Hungarian assignment to the centroids).
4. **Reconstruction**: for each global frame, the average over the windows that cover it of each global
   speaker's activity, and the average number of active local speakers (rounded) as the number of speakers
   speaking then; the top-scoring that many are active. Runs of active frames become :class:`SpeakerTurn` s.

Memory: windows are read from the audio array in batches; what is kept per window is its 589×3 binary
activity (1.7 kB) and at most 3 embeddings, so memory beyond the audio grows by a few kB per window
(a 3-hour recording keeps about 8 MB), and the clustering tree is built on at most 2,000 embeddings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from stenograph.errors import TaskCancelled
from stenograph.settings import Settings
from stenograph.steps.diarization.campplus import CamPlusEncoder
from stenograph.steps.diarization.clustering import cluster_embeddings, normalise
from stenograph.steps.diarization.diarizer import SAMPLE_RATE, Diarization, SpeakerTurn
from stenograph.steps.diarization.embedding import Ge2eEncoder
from stenograph.steps.diarization.models import DiarizationModelError, DiarizationModels, assemble_models

__all__ = ["EngineOptions", "PyannoteGe2eDiarizer", "build_diarizer"]

logger = logging.getLogger(__name__)

WINDOW_SAMPLES = 10 * SAMPLE_RATE
FRAMES_PER_WINDOW = 589
FRAME_STEP = 270  # samples between frames (SincNet strides)
FRAME_SPAN = 991  # samples of each frame's receptive field
FRAME_STEP_S = FRAME_STEP / SAMPLE_RATE
#: powerset class -> active local speakers (segmentation-3.0: {}, {1}, {2}, {3}, {1,2}, {1,3}, {2,3}).
POWERSET = np.array(
    [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]],
    dtype=np.uint8,
)
#: the diarization's model name, by embedding model (stored with each diarization).
MODEL_NAMES = {
    "campplus": "pyannote-segmentation-3.0+3dspeaker-campplus",
    "ge2e": "pyannote-segmentation-3.0+resemblyzer-ge2e",
}
MODEL_NAME = MODEL_NAMES["campplus"]
#: cosine distance at which clusters stop merging, by embedding model (chosen on the test conversations,
#: docs/diarization.md).
THRESHOLDS = {"campplus": 0.55, "ge2e": 0.4}

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Tuning of :class:`PyannoteGe2eDiarizer`.

    Attributes:
        step_s: seconds between the starts of two 10 s windows (pyannote uses 1 s; 5 s halves the cost of 2.5 s
            and scored as well on the test conversations).
        threshold: cosine distance at which clusters stop merging; None: the embedding model's
            (:data:`THRESHOLDS`, chosen on the test conversations).
        min_speech_s: a local speaker with less speech than this in a window gets no embedding (and is
            dropped there).
        batch_windows: windows per segmentation batch (progress and cancel are checked between batches).
        threads: CPU threads for onnxruntime and torch.
        min_gap_s: gaps shorter than this inside one speaker's speech are filled.
        min_turn_s: turns shorter than this (after filling gaps) are dropped.
    """

    step_s: float = 5.0
    threshold: float | None = None
    min_speech_s: float = 0.4
    batch_windows: int = 16
    threads: int = 2
    min_gap_s: float = 0.1
    min_turn_s: float = 0.1


@dataclass(slots=True)
class _Windows:
    """What the local stage keeps: window offsets (frames), binary activities, embeddings and their owners."""

    offsets: list[int]
    activity: list[npt.NDArray[np.uint8]]
    embeddings: list[FloatArray]
    owners: list[tuple[int, int]]  # (window index, local speaker)
    speech_s: list[float]


def _window_starts(samples: int, step: int) -> list[int]:
    """Sample offsets of the windows: every ``step``, the last one ending at the audio's end."""
    if samples <= WINDOW_SAMPLES:
        return [0]
    starts = list(range(0, samples - WINDOW_SAMPLES + 1, step))
    if starts[-1] + WINDOW_SAMPLES < samples:
        starts.append(samples - WINDOW_SAMPLES)
    return starts


def _runs(active: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(first, last + 1) of each run of True."""
    padded = np.concatenate([[False], active, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _distinct_in_each_window(
    owners: list[tuple[int, int]], labels: npt.NDArray[np.int64], embeddings: FloatArray
) -> npt.NDArray[np.int64]:
    """Give the local speakers of one window distinct global speakers: per window, the assignment of its
    embeddings to cluster centroids that maximises their total cosine similarity (Hungarian algorithm), as
    pyannote's ``SpeakerDiarization.assign_embeddings`` with ``constrained_assignment=True``."""
    clusters = int(labels.max()) + 1
    if clusters < 2:
        return labels
    points = normalise(embeddings)
    centroids = normalise(np.stack([points[labels == c].mean(axis=0) for c in range(clusters)]))
    similarity = points @ centroids.T
    rows_of: dict[int, list[int]] = {}
    for row, (window, _) in enumerate(owners):
        rows_of.setdefault(window, []).append(row)
    out = labels.copy()
    for rows in rows_of.values():
        if 2 <= len(rows) <= clusters:
            picked, assigned = linear_sum_assignment(-similarity[rows])
            out[np.asarray(rows)[picked]] = assigned
    return out


class PyannoteGe2eDiarizer:
    """A :class:`~stenograph.steps.diarization.diarizer.Diarizer`: see the module's docstring for the algorithm.

    Args:
        models: the checked model files (:func:`~stenograph.steps.diarization.models.assemble_models`).
        options: tuning (:class:`EngineOptions`).

    Raises:
        DiarizationModelError: a model file cannot be loaded.
    """

    def __init__(self, models: DiarizationModels, options: EngineOptions | None = None) -> None:
        import onnxruntime as ort

        self.options = options or EngineOptions()
        self.model = MODEL_NAMES[models.embedding_kind]
        self.threshold = (
            self.options.threshold if self.options.threshold is not None else THRESHOLDS[models.embedding_kind]
        )
        session_options = ort.SessionOptions()
        session_options.intra_op_num_threads = self.options.threads
        session_options.inter_op_num_threads = 1
        try:
            self._session: Any = ort.InferenceSession(
                str(models.segmentation), session_options, providers=["CPUExecutionProvider"]
            )
            self._encoder: CamPlusEncoder | Ge2eEncoder = (
                Ge2eEncoder(models.embedding, threads=self.options.threads)
                if models.embedding_kind == "ge2e"
                else CamPlusEncoder(models.embedding, threads=self.options.threads)
            )
        except Exception as exc:  # a damaged file surfaces as onnxruntime's or torch's own error type
            raise DiarizationModelError(f"cannot load the diarization models: {exc}") from exc

    def diarize(
        self,
        audio: npt.NDArray[np.float32],
        *,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Diarization:
        """Diarize mono 16 kHz float32 ``audio`` (see :meth:`Diarizer.diarize`). Audio under 1 s gets at most
        one speaker; silence gets no turns.

        Raises:
            TaskCancelled: ``should_stop()`` became true.
        """
        started = time.monotonic()
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        duration = len(audio) / SAMPLE_RATE
        empty = Diarization(turns=[], speakers=[], model=self.model, duration_s=duration)
        if len(audio) < FRAME_SPAN or not np.any(np.abs(audio) > 1e-4):
            return empty
        if duration < 1.0:
            max_speakers, num_speakers = 1, None if num_speakers is None else 1
        windows = self._local(audio, on_progress, should_stop)
        if not windows.embeddings:
            return empty
        if should_stop is not None and should_stop():
            raise TaskCancelled("diarization cancelled")
        embeddings = np.stack(windows.embeddings)
        labels = cluster_embeddings(
            embeddings,
            np.asarray(windows.speech_s, dtype=np.float32),
            threshold=self.threshold,
            num_speakers=num_speakers,
            min_speakers=min_speakers or 1,
            max_speakers=max_speakers,
            groups=np.asarray([window for window, _ in windows.owners], dtype=np.int64),
        )
        labels = _distinct_in_each_window(windows.owners, labels, embeddings)
        if on_progress is not None:
            on_progress(0.95, "speakers clustered")
        result = self._reconstruct(windows, labels, embeddings, len(audio))
        logger.info(
            "diarized %.1f s of audio in %.1f s: %d speakers", duration, time.monotonic() - started, len(result[1])
        )
        return Diarization(
            turns=result[0], speakers=result[1], embeddings=result[2], model=self.model, duration_s=duration
        )

    def _segment(self, batch: FloatArray) -> npt.NDArray[np.uint8]:
        """Binary local activities, shape ``(windows, 589, 3)``, of a ``(windows, 160000)`` batch."""
        log_probs = self._session.run(None, {"input": batch[:, None, :]})[0]
        activity: npt.NDArray[np.uint8] = POWERSET[np.argmax(log_probs, axis=-1)]
        return activity

    def _local(
        self,
        audio: FloatArray,
        on_progress: Callable[[float, str], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> _Windows:
        """Steps 1 and 2: segmentation and embeddings, window batch by window batch."""
        step = max(FRAME_STEP, round(self.options.step_s * SAMPLE_RATE))
        starts = _window_starts(len(audio), step)
        kept = _Windows([], [], [], [], [])
        size = self.options.batch_windows
        for first in range(0, len(starts), size):
            if should_stop is not None and should_stop():
                raise TaskCancelled("diarization cancelled")
            chunk = starts[first : first + size]
            batch = np.zeros((len(chunk), WINDOW_SAMPLES), dtype=np.float32)
            for row, start in enumerate(chunk):
                piece = audio[start : start + WINDOW_SAMPLES]
                batch[row, : len(piece)] = piece
            activity = self._segment(batch)
            clips: list[FloatArray] = []
            for row, start in enumerate(chunk):
                valid = min(FRAMES_PER_WINDOW, max(1, (len(audio) - start - FRAME_SPAN) // FRAME_STEP + 1))
                activity[row, valid:] = 0
                index = len(kept.offsets)
                kept.offsets.append(round(start / FRAME_STEP))
                kept.activity.append(activity[row])
                clips.extend(self._speaker_clips(batch[row], activity[row], index, kept))
            if clips:
                kept.embeddings.extend(self._encoder.embed(clips))
            if on_progress is not None:
                done = min(len(starts), first + size)
                on_progress(0.9 * done / len(starts), f"segmented {done}/{len(starts)} windows")
        return kept

    def _speaker_clips(
        self, window: FloatArray, activity: npt.NDArray[np.uint8], index: int, kept: _Windows
    ) -> list[FloatArray]:
        """The audio of each local speaker of one window where it speaks alone (else all its speech); records
        its owner and seconds of speech in ``kept``."""
        alone = activity.sum(axis=1) == 1
        clips = []
        for speaker in range(activity.shape[1]):
            active = activity[:, speaker].astype(bool)
            if active.sum() * FRAME_STEP_S < self.options.min_speech_s:
                continue
            clean = active & alone
            mask = clean if clean.sum() * FRAME_STEP_S >= self.options.min_speech_s else active
            samples = np.repeat(mask, FRAME_STEP)[: len(window)]
            clips.append(window[: len(samples)][samples])
            kept.owners.append((index, speaker))
            kept.speech_s.append(float(mask.sum() * FRAME_STEP_S))
        return clips

    # Long because the reconstruction is one numeric pass whose parts share many arrays.
    def _reconstruct(
        self, windows: _Windows, labels: npt.NDArray[np.int64], embeddings: FloatArray, samples: int
    ) -> tuple[list[SpeakerTurn], list[str], dict[str, list[float]]]:
        """Step 4: global activities per frame, then turns, labels in order of appearance, and embeddings."""
        n_clusters = int(labels.max()) + 1
        n_frames = max(windows.offsets) + FRAMES_PER_WINDOW
        score = np.zeros((n_frames, n_clusters), dtype=np.float32)
        count = np.zeros(n_frames, dtype=np.float32)
        cover = np.zeros(n_frames, dtype=np.float32)
        mapping: dict[tuple[int, int], int] = dict(zip(windows.owners, labels.tolist(), strict=True))
        for index, (offset, activity) in enumerate(zip(windows.offsets, windows.activity, strict=True)):
            span = slice(offset, offset + FRAMES_PER_WINDOW)
            cover[span] += 1
            count[span] += activity.sum(axis=1)
            local = np.zeros((FRAMES_PER_WINDOW, n_clusters), dtype=np.float32)
            for speaker in range(activity.shape[1]):
                cluster = mapping.get((index, speaker))
                if cluster is not None:
                    np.maximum(local[:, cluster], activity[:, speaker], out=local[:, cluster])
            score[span] += local
        covered = np.maximum(cover, 1)[:, None]
        score /= covered
        speaking = np.minimum(np.floor(count / covered[:, 0] + 0.5), n_clusters).astype(np.int64)
        ranks = np.argsort(np.argsort(-score, axis=1, kind="stable"), axis=1, kind="stable")
        active = (ranks < speaking[:, None]) & (score > 0)
        last_frame = (samples - FRAME_SPAN) // FRAME_STEP + 1
        active[last_frame:] = False
        gap = round(self.options.min_gap_s / FRAME_STEP_S)
        raw: list[tuple[float, float, int]] = []
        for cluster in range(n_clusters):
            runs = _runs(active[:, cluster])
            merged: list[list[int]] = []
            for first, end in runs:
                if merged and first - merged[-1][1] <= gap:
                    merged[-1][1] = end
                else:
                    merged.append([first, end])
            for first, end in merged:
                start_s = first * FRAME_STEP_S + FRAME_SPAN / 2 / SAMPLE_RATE - FRAME_STEP_S / 2
                end_s = min(
                    (end - 1) * FRAME_STEP_S + FRAME_SPAN / 2 / SAMPLE_RATE + FRAME_STEP_S / 2, samples / SAMPLE_RATE
                )
                if end_s - start_s >= self.options.min_turn_s:
                    raw.append((max(0.0, start_s), end_s, cluster))
        raw.sort()
        names: dict[int, str] = {}
        for _, _, cluster in raw:
            names.setdefault(cluster, f"SPEAKER_{len(names):02d}")
        turns = [SpeakerTurn(round(a, 3), round(b, 3), names[c]) for a, b, c in raw]
        points = normalise(embeddings)
        vectors = {
            name: normalise(points[labels == cluster].mean(axis=0)).astype(float).tolist()
            for cluster, name in names.items()
        }
        return turns, list(names.values()), vectors


_built: dict[tuple[str, int, str], PyannoteGe2eDiarizer] = {}


def build_diarizer(settings: Settings) -> PyannoteGe2eDiarizer:
    """The settings' diarizer, built once per process, models folder and embedding model (its models load once
    and are kept, like Whisper's): the packaged models (``settings.diarization_embedding``) assembled into
    ``settings.models_dir`` and checked.

    Threads: ``STENOGRAPH_WHISPER_THREADS`` when set, else :class:`EngineOptions`' default.

    Raises:
        DiarizationModelError: a model package is missing, or a file has another size or SHA-256.
    """
    threads = settings.whisper_threads or EngineOptions().threads
    kind = settings.diarization_embedding
    key = (str(settings.models_dir), threads, kind)
    if key not in _built:
        _built[key] = PyannoteGe2eDiarizer(
            assemble_models(settings.models_dir, embedding=kind), EngineOptions(threads=threads)
        )
    return _built[key]
