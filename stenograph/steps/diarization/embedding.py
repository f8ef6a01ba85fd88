"""Speaker embeddings: Resemblyzer's GE2E voice encoder, run with torch on the CPU.

The network and its input follow Resemblyzer 0.1.4 (``resemblyzer/voice_encoder.py`` and ``audio.py``,
https://github.com/resemble-ai/Resemblyzer): the waveform's volume raised to -30 dBFS, a 40-band mel power
spectrogram (25 ms Hann window, 10 ms hop, Slaney mel scale, as ``librosa.feature.melspectrogram`` computes
it), partial utterances of 160 frames (1.6 s), a 3-layer LSTM of 256 units whose last hidden state goes
through a linear layer and a ReLU, L2-normalised; a clip's embedding is the L2-normalised mean of its
partials'. The mel filter bank is computed here (no librosa at run time): Slaney's formula, as in
``librosa.filters.mel(norm="slaney", htk=False)``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["EMBEDDING_SIZE", "Ge2eEncoder", "mel_filterbank", "mel_spectrogram"]

SAMPLE_RATE = 16_000
N_FFT = 400
HOP = 160
N_MELS = 40
PARTIAL_FRAMES = 160
EMBEDDING_SIZE = 256
TARGET_DBFS = -30.0

FloatArray = npt.NDArray[np.float32]


def _hz_to_mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above (librosa ``hz_to_mel``, htk=False)."""
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    mels = hz / f_sp
    return np.where(hz >= min_log_hz, min_log_hz / f_sp + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep, mels)


def _mel_to_hz(mels: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    return np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), f_sp * mels)


@cache
def mel_filterbank() -> FloatArray:
    """The (40, 201) Slaney-normalised triangular mel filter bank for 16 kHz and a 400-point FFT."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    mel_points = _mel_to_hz(np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(SAMPLE_RATE / 2.0)), N_MELS + 2))
    fdiff = np.diff(mel_points)
    ramps = mel_points[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_points[2:] - mel_points[:-2]))[:, None]
    return weights.astype(np.float32)


def mel_spectrogram(wav: FloatArray) -> FloatArray:
    """Mel power spectrogram of ``wav`` (16 kHz), shape ``(frames, 40)`` with ``frames = len // 160 + 1``
    (centred frames, zero padding, as librosa's default)."""
    padded = np.pad(wav.astype(np.float32), N_FFT // 2)
    n_frames = 1 + (len(padded) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(n_frames, N_FFT), strides=(padded.strides[0] * HOP, padded.strides[0])
    )
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)  # periodic Hann, as scipy's fftbins=True
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    return (power.astype(np.float32) @ mel_filterbank().T).astype(np.float32)


def _raise_volume(wav: FloatArray) -> FloatArray:
    """Raise (never lower) the volume to :data:`TARGET_DBFS`, as Resemblyzer's ``normalize_volume``."""
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) if len(wav) else 0.0
    if rms <= 1e-8:
        return wav
    change_db = TARGET_DBFS - 20 * np.log10(rms)
    if change_db <= 0:
        return wav
    louder: FloatArray = (wav * (10 ** (change_db / 20))).astype(np.float32)
    return louder


def _partials(mel: FloatArray, max_partials: int) -> list[FloatArray]:
    """Up to ``max_partials`` windows of 160 frames spread evenly over ``mel`` (zero-padded when shorter)."""
    if len(mel) <= PARTIAL_FRAMES:
        return [np.pad(mel, ((0, PARTIAL_FRAMES - len(mel)), (0, 0)))]
    count = min(max_partials, int(np.ceil(len(mel) / PARTIAL_FRAMES)))
    starts = np.linspace(0, len(mel) - PARTIAL_FRAMES, count).round().astype(int)
    return [mel[start : start + PARTIAL_FRAMES] for start in starts]


class Ge2eEncoder:
    """Resemblyzer's GE2E voice encoder (256-dimensional, L2-normalised embeddings).

    Args:
        weights: the checked ``pretrained.pt`` (see :mod:`stenograph.steps.diarization.models`).
        threads: torch CPU threads.
        max_partials: at most this many 1.6 s partials per clip (bounds the cost of long clips).
    """

    def __init__(self, weights: Path, *, threads: int = 2, max_partials: int = 2) -> None:
        import torch

        torch.set_num_threads(max(1, threads))
        state: dict[str, Any] = torch.load(weights, map_location="cpu", weights_only=True)["model_state"]
        self._torch = torch
        self._lstm = torch.nn.LSTM(N_MELS, 256, 3, batch_first=True)
        self._linear = torch.nn.Linear(256, EMBEDDING_SIZE)
        self._lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
        self._linear.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("linear.")})
        self._lstm.eval()
        self._linear.eval()
        self._max_partials = max_partials

    def embed(self, clips: list[FloatArray]) -> FloatArray:
        """Embed each clip (16 kHz float32 audio, any length > 0): shape ``(len(clips), 256)``, rows L2-normed."""
        if not clips:
            return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
        partials: list[FloatArray] = []
        owners: list[int] = []
        for index, clip in enumerate(clips):
            found = _partials(mel_spectrogram(_raise_volume(clip)), self._max_partials)
            partials.extend(found)
            owners.extend([index] * len(found))
        torch = self._torch
        with torch.inference_mode():
            _, (hidden, _) = self._lstm(torch.from_numpy(np.stack(partials)))
            raw = torch.relu(self._linear(hidden[-1])).numpy()
        raw = raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-8)
        sums = np.zeros((len(clips), EMBEDDING_SIZE), dtype=np.float32)
        np.add.at(sums, np.array(owners), raw)
        out: FloatArray = (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-8)).astype(np.float32)
        return out
