"""Reading recordings: what a file holds (:func:`probe`) and its audio, window by window
(:func:`iter_audio_windows`).

Both use PyAV (FFmpeg's libraries, bundled in the ``av`` wheel), so no ``ffmpeg`` binary is needed.

Errors: every problem with the file itself raises :class:`~stenograph.errors.MediaError` with a ``kind``:

==================  ==============================================================================
``missing_file``    the path does not exist or is not a regular file
``empty_file``      the file has zero bytes (the API answers 422)
``not_media``       FFmpeg could not read a container, or it holds neither audio nor video (415)
``no_audio_stream`` a video (or other media) with no audio stream (415)
``damaged``         a media header was recognised but could not be read, or no audio could be decoded
``undecodable``     FFmpeg failed on the audio itself while decoding (its reason is in the message)
==================  ==============================================================================

Every one is permanent: a task that meets it fails at once, without retries.

Channels: a mix of a named layout of up to :data:`MAX_MATRIX_CHANNELS` channels uses FFmpeg's matrix; more
channels (a 9-, 32- or 64-channel WAV) or unnamed ones are averaged here, then resampled as mono.

Damage inside a readable file does not raise: :func:`iter_audio_windows` keeps decoding after packets that
fail and reports each damaged region as a warning with its time; the lost audio is replaced by silence so
that later timestamps keep matching the recording.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from stenograph.errors import MediaError

__all__ = ["AudioWindow", "MediaInfo", "iter_audio_windows", "probe"]

#: Gaps between decoded frames longer than this (seconds) are reported as damage and filled with silence.
GAP_TOLERANCE_S = 0.05
#: After this many demuxing errors in a row the rest of the file is given up (with a warning).
MAX_CONSECUTIVE_DEMUX_ERRORS = 50
#: Packets tried by :func:`probe` to find one that decodes.
PROBE_DECODE_PACKETS = 64

# Leading bytes of common non-media files, to tell a person what they uploaded instead.
_MAGIC_NAMES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"\x1f\x8b", "a gzip archive"),
)
# Leading bytes of media containers: a file that starts like this but cannot be opened is damaged.
_MEDIA_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"RIFF", 0, "WAV"),
    (b"fLaC", 0, "FLAC"),
    (b"OggS", 0, "Ogg"),
    (b"ID3", 0, "MP3"),
    (b"\x1a\x45\xdf\xa3", 0, "Matroska/WebM"),
    (b"ftyp", 4, "MP4/MOV"),
    (b"FORM", 0, "AIFF"),
)
# Demuxers FFmpeg uses for still images and text: such files are not recordings.
_IMAGE_CODECS = frozenset({"png", "mjpeg", "gif", "bmp", "webp", "tiff", "ansi", "bintext", "xbin", "idf"})


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What :func:`probe` found in a file.

    Attributes:
        container: FFmpeg's container format name, e.g. ``"wav"``, ``"mov,mp4,m4a,3gp,3g2,mj2"``.
        duration_s: duration in seconds (from the header, or from the packets when the header has none).
        audio_codec: codec of the first audio stream, e.g. ``"pcm_s16le"``, ``"opus"``.
        sample_rate: its sample rate in Hz.
        channels: its channel count.
        has_video: whether the file also holds a (moving) video stream.
        video_codec: that stream's codec, else None.
        size_bytes: the file's size in bytes.
    """

    container: str
    duration_s: float
    audio_codec: str
    sample_rate: int
    channels: int
    has_video: bool
    video_codec: str | None
    size_bytes: int


@dataclass(frozen=True, slots=True)
class AudioWindow:
    """A stretch of decoded audio.

    Attributes:
        start_s: time of the first sample, in seconds from the start of the recording.
        samples: float32 array of shape ``(n,)``, values in [-1, 1], at ``sample_rate``.
        sample_rate: samples per second (Hz).
        warnings: damage found while decoding this stretch, for a person to read.
    """

    start_s: float
    samples: npt.NDArray[np.float32]
    sample_rate: int
    warnings: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


def _check_file(path: Path) -> int:
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise MediaError(f"the file {path.name!r} does not exist", kind="missing_file") from None
    if not path.is_file():
        raise MediaError(f"{path.name!r} is not a regular file", kind="missing_file")
    if stat.st_size == 0:
        raise MediaError("the file is empty (0 bytes)", kind="empty_file")
    return stat.st_size


def _describe_bytes(head: bytes) -> str:
    """A phrase naming what ``head`` (a file's first bytes) looks like."""
    for magic, name in _MAGIC_NAMES:
        if head.startswith(magic):
            return name
    if b"\x00" not in head:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None:
            stripped = text.lstrip()
            if stripped[:1] in ("{", "["):
                return "JSON text"
            if stripped[:1] == "<":
                return "HTML or XML text"
            return "plain text"
    return "unrecognised binary data"


def _media_kind(head: bytes) -> str | None:
    for magic, offset, name in _MEDIA_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    return None


def _open(path: Path) -> Any:
    """Open ``path`` with PyAV, turning FFmpeg's refusal into a :class:`MediaError` a person understands."""
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except av.FFmpegError as exc:
        with path.open("rb") as handle:
            head = handle.read(4096)
        media = _media_kind(head)
        if media is not None:
            raise MediaError(
                f"the file starts like {media} but its header could not be read "
                f"(it may be truncated or damaged): {_ffmpeg_reason(exc)}",
                kind="damaged",
            ) from exc
        raise MediaError(
            f"this file is not audio or video: PyAV could not read a container (it looks like {_describe_bytes(head)})",
            kind="not_media",
        ) from exc


def _ffmpeg_reason(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc)


def _packet_duration(container: Any, stream: Any) -> float:
    """Duration in seconds of ``stream`` found by reading every packet (no decoding); 0.0 when none."""
    end = 0.0
    try:
        for packet in container.demux(stream):
            if packet.pts is None or packet.time_base is None:
                continue
            packet_end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            end = max(end, packet_end)
    except av.FFmpegError:
        pass  # keep what was read before the damage
    return end


def _decodes(container: Any, stream: Any) -> bool:
    """Whether one of the first packets of ``stream`` decodes to a frame."""
    tried = 0
    try:
        for packet in container.demux(stream):
            tried += 1
            try:
                if packet.decode():
                    return True
            except av.FFmpegError:
                pass
            if tried >= PROBE_DECODE_PACKETS:
                break
        # Flush: some decoders only return frames at the end.
        return bool(stream.codec_context.decode(None))
    except av.FFmpegError:
        return False


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Describe the media file at ``path``: container, duration, first audio stream, video.

    Duration comes from the container header, else the audio stream header, else (WebM written by a browser's
    MediaRecorder has none) from the end time of the last audio packet, found by reading packets without
    decoding them. The first audio packets are decoded to make sure the audio is readable.

    Raises:
        MediaError: ``missing_file``, ``empty_file``, ``not_media``, ``no_audio_stream`` or ``damaged``
            (see the module docstring), with a message saying what was found.
    """
    file_path = Path(path)
    size = _check_file(file_path)
    with _open(file_path) as container:
        audio_streams = list(container.streams.audio)
        video_streams = [s for s in container.streams.video if s.codec_context.name not in _IMAGE_CODECS]
        video_codec = video_streams[0].codec_context.name if video_streams else None
        if not audio_streams:
            images = [s.codec_context.name for s in container.streams.video if s not in video_streams]
            if video_codec is not None:
                raise MediaError(f"the file holds video ({video_codec}) but no audio stream", kind="no_audio_stream")
            if images:
                raise MediaError(
                    f"this file is not audio or video: it looks like an image or text ({images[0]})",
                    kind="not_media",
                )
            kinds = sorted({s.type for s in container.streams}) or ["nothing"]
            raise MediaError(
                f"this file is not audio or video: the {container.format.name} container holds "
                f"{', '.join(kinds)} but no audio stream",
                kind="no_audio_stream" if container.streams else "not_media",
            )
        stream = audio_streams[0]
        codec = stream.codec_context
        duration: float | None = None
        if container.duration is not None and container.duration > 0:
            duration = container.duration / av.time_base
        elif stream.duration is not None and stream.time_base is not None and stream.duration > 0:
            duration = float(stream.duration * stream.time_base)
        if duration is None:
            duration = _packet_duration(container, stream)
            container.seek(0)
        if not _decodes(container, stream):
            raise MediaError(
                f"the {codec.name} audio stream could not be decoded: the file is damaged or truncated",
                kind="damaged",
            )
        return MediaInfo(
            container=container.format.name,
            duration_s=float(duration),
            audio_codec=codec.name,
            sample_rate=int(codec.sample_rate or 0),
            channels=int(codec.channels or 0),
            has_video=video_codec is not None,
            video_codec=video_codec,
            size_bytes=size,
        )


def _fmt_time(seconds: float) -> str:
    return f"{seconds:.1f} s"


#: Most channels of a named layout (5.1, 7.1) that FFmpeg's matrix mixes down; more, or a layout of unnamed
#: channels ("9 channels"), are averaged here (libswresample refuses them: "Invalid argument").
MAX_MATRIX_CHANNELS = 8
_UNNAMED_LAYOUT = re.compile(r"^\d+ channels$")
#: Full scale of the integer sample formats: value / scale is in [-1, 1].
_INT_SCALE = {"s16": 2.0**15, "s32": 2.0**31, "s64": 2.0**63}


def _float_channels(frame: Any) -> npt.NDArray[np.float32]:
    """``frame``'s samples as float32 of shape ``(channels, samples)``, in [-1, 1], whatever its format."""
    array: npt.NDArray[Any] = np.asarray(frame.to_ndarray())
    channels = frame.layout.nb_channels
    if not frame.format.is_planar:
        array = array.reshape(-1, channels).T
    kind = frame.format.name.rstrip("p")
    if kind == "u8":
        return (array.astype(np.float32) - 128.0) / 128.0
    if kind in _INT_SCALE:
        return (array.astype(np.float64) / _INT_SCALE[kind]).astype(np.float32)
    return array.astype(np.float32, copy=False)


class _Resampler:
    """Frames to float32 mono at ``rate``: the mix of all channels (``channel=None``) or one channel.

    A mix of a named layout of up to :data:`MAX_MATRIX_CHANNELS` channels is FFmpeg's (``av.AudioResampler``
    with its mixing matrix); any other mix is the average of the channels, and one channel is taken as it
    is; both then go through a mono ``av.AudioResampler`` for the rate. Rebuilt whenever the input format
    changes (MP3 and AAC may switch rate).
    """

    def __init__(self, rate: int, channel: int | None) -> None:
        self.rate = rate
        self.channel = channel
        self._resampler: Any = None
        self._own_mix = False  # channels mixed (or picked) here; the resampler gets mono
        self._key: tuple[str, str, int] | None = None

    def push(self, frame: Any) -> list[npt.NDArray[np.float32]]:
        """Raises ``MediaError`` (``no_audio_stream``) when ``channel`` does not exist."""
        layout = frame.layout.name
        channels = frame.layout.nb_channels
        key = (frame.format.name, layout, frame.sample_rate)
        out: list[npt.NDArray[np.float32]] = []
        if key != self._key:
            out.extend(self.flush())
            if self.channel is not None and self.channel >= channels:
                raise MediaError(
                    f"channel {self.channel + 1} was asked for but the audio has {channels} channel(s)",
                    kind="no_audio_stream",
                )
            self._own_mix = (
                self.channel is not None or channels > MAX_MATRIX_CHANNELS or bool(_UNNAMED_LAYOUT.match(layout))
            )
            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=self.rate)
            self._key = key
        if not self._own_mix:
            frame.pts = None  # timing is tracked by the caller; the resampler must not drop "late" frames
            try:
                out.extend(self._convert(self._resampler.resample(frame)))
                return out
            except av.FFmpegError:  # a layout FFmpeg cannot mix: average the channels from now on
                self._own_mix = True
                self._resampler = av.AudioResampler(format="flt", layout="mono", rate=self.rate)
        planes = _float_channels(frame)
        mono = planes[self.channel] if self.channel is not None else planes.mean(axis=0, dtype=np.float32)
        single = av.AudioFrame.from_ndarray(np.ascontiguousarray(mono)[None, :], format="flt", layout="mono")
        single.sample_rate = key[2]
        out.extend(self._convert(self._resampler.resample(single)))
        return out

    @staticmethod
    def _convert(frames: list[Any]) -> list[npt.NDArray[np.float32]]:
        return [np.ascontiguousarray(frame.to_ndarray().reshape(-1), dtype=np.float32) for frame in frames]

    def flush(self) -> list[npt.NDArray[np.float32]]:
        if self._resampler is None:
            return []
        frames = self._resampler.resample(None)
        self._resampler = None
        self._key = None
        return self._convert(frames)


def _frames_with_damage(container: Any, stream: Any) -> Iterator[tuple[Any | None, float | None]]:
    """Decoded frames of ``stream``; after a failure, ``(None, time)`` with the time of the failing packet.

    Keeps going after packets that fail to decode and after demuxing errors (FFmpeg resynchronises on the next
    readable packet); gives up after :data:`MAX_CONSECUTIVE_DEMUX_ERRORS` demuxing errors in a row.
    """
    packets = container.demux(stream)
    demux_errors = 0
    last_time: float | None = None
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.FFmpegError:
            demux_errors += 1
            yield None, last_time
            if demux_errors >= MAX_CONSECUTIVE_DEMUX_ERRORS:
                return
            packets = container.demux(stream)
            continue
        demux_errors = 0
        if packet.pts is not None and packet.time_base is not None:
            last_time = float(packet.pts * packet.time_base)
        try:
            frames = packet.decode()
        except av.FFmpegError:
            yield None, last_time
            continue
        for frame in frames:
            yield frame, None


def iter_audio_windows(
    path: str | os.PathLike[str],
    *,
    start_s: float = 0.0,
    window_s: float = 30.0,
    sample_rate: int = 16000,
    channel: int | None = None,
) -> Iterator[AudioWindow]:
    """Decode the first audio stream of ``path`` window by window, from ``start_s`` to the end.

    Each window holds ``window_s`` seconds (the last one may be shorter) of float32 audio at ``sample_rate``:
    the channels mixed down to mono (``channel=None``: FFmpeg's libswresample matrix for named layouts of up
    to :data:`MAX_MATRIX_CHANNELS` channels, else their average) or only channel ``channel`` (0-based).
    Memory stays bounded by one window whatever the file's length. ``start_s > 0`` seeks (to the key frame
    before, then drops the samples before ``start_s``), so a resumed run does not decode the start again.

    Damage: packets that fail to decode are skipped; a hole in the frames' timestamps is filled with silence
    and reported in the window's ``warnings`` ("audio could not be decoded between 12.3 s and 13.1 s").

    Raises:
        MediaError: as :func:`probe` for files that cannot be opened; ``damaged`` when no audio at all could
            be decoded; ``no_audio_stream`` when there is no audio stream or ``channel`` does not exist.
        ValueError: ``window_s`` or ``sample_rate`` not positive, or ``start_s`` negative.
        MediaError: ``undecodable`` when FFmpeg fails on the audio in a way decoding cannot go past (PyAV's
            ``FFmpegError``, such as ``ArgumentError``), with FFmpeg's reason.
    """
    try:
        yield from _windows(Path(path), start_s, window_s, sample_rate, channel)
    except av.FFmpegError as exc:
        raise MediaError(
            f"the audio could not be decoded ({_ffmpeg_reason(exc)}): the file holds audio that FFmpeg cannot "
            f"convert to {sample_rate / 1000:g} kHz mono; convert it to WAV or FLAC with fewer channels and "
            "upload it again",
            kind="undecodable",
        ) from exc


def _windows(
    file_path: Path, start_s: float, window_s: float, sample_rate: int, channel: int | None
) -> Iterator[AudioWindow]:
    # Long because it is one decoding loop: the window buffer, timestamps and damage state it shares with emit/add.
    if window_s <= 0 or sample_rate <= 0 or start_s < 0:
        raise ValueError("window_s and sample_rate must be positive and start_s not negative")
    _check_file(file_path)
    window_n = max(1, round(window_s * sample_rate))
    with _open(file_path) as container:
        if not container.streams.audio:
            raise MediaError("the file holds no audio stream", kind="no_audio_stream")
        stream = container.streams.audio[0]
        if start_s > 0:
            try:
                if stream.time_base is not None:
                    container.seek(int(start_s / stream.time_base), stream=stream, backward=True)
                else:
                    container.seek(int(start_s * av.time_base), backward=True)
            except av.FFmpegError:
                container.seek(0)  # not seekable: decode from the start and drop what comes before start_s
        resampler = _Resampler(sample_rate, channel)
        pending: list[npt.NDArray[np.float32]] = []
        pending_n = 0
        warnings: list[str] = []
        # Absolute time (s) of the next output sample, fixed by the first decoded frame.
        out_time: float | None = None
        expected: float | None = None  # input time where the next frame should start
        damage_at: float | None = None  # time of a failing packet not yet reported
        decoded_any = False
        failures = 0
        to_drop = 0  # output samples before start_s still to drop

        def emit(final: bool) -> Iterator[AudioWindow]:
            nonlocal pending, pending_n, warnings, out_time
            while pending_n >= window_n or (final and pending_n > 0):
                data = np.concatenate(pending) if len(pending) > 1 else pending[0]
                take = min(window_n, pending_n)
                chunk = data[:take]
                rest = data[take:]
                pending = [rest] if len(rest) else []
                pending_n = len(rest)
                assert out_time is not None
                yield AudioWindow(out_time, np.ascontiguousarray(chunk), sample_rate, tuple(warnings))
                warnings = []
                out_time += take / sample_rate

        def add(arrays: list[npt.NDArray[np.float32]]) -> None:
            nonlocal pending_n, to_drop
            for array in arrays:
                if to_drop:
                    dropped = min(to_drop, len(array))
                    to_drop -= dropped
                    array = array[dropped:]
                if len(array):
                    pending.append(array)
                    pending_n += len(array)

        for frame, failed_at in _frames_with_damage(container, stream):
            if frame is None:
                failures += 1
                if damage_at is None:
                    damage_at = failed_at if failed_at is not None else expected
                continue
            frame_time = float(frame.pts * frame.time_base) if frame.pts is not None else expected
            frame_len = frame.samples / frame.sample_rate
            if out_time is None:
                first = frame_time if frame_time is not None else 0.0
                out_time = max(first, start_s)
                to_drop = max(0, round((start_s - first) * sample_rate))
                expected = first
            assert expected is not None
            if frame_time is not None and frame_time > expected + GAP_TOLERANCE_S:
                gap_start = expected if damage_at is None else min(damage_at, expected)
                if frame_time > start_s:
                    warnings.append(
                        f"audio could not be decoded between {_fmt_time(max(gap_start, start_s))} "
                        f"and {_fmt_time(frame_time)}"
                    )
                add(resampler.flush())
                add([np.zeros(round((frame_time - expected) * sample_rate), dtype=np.float32)])
                damage_at = None
            elif damage_at is not None:
                end = max(frame_time if frame_time is not None else expected, damage_at)
                if end >= start_s:
                    warnings.append(f"audio could not be decoded between {_fmt_time(damage_at)} and {_fmt_time(end)}")
                damage_at = None
            expected = (frame_time if frame_time is not None else expected) + frame_len
            decoded_any = True
            add(resampler.push(frame))
            if pending_n >= window_n:
                yield from emit(final=False)
        add(resampler.flush())
        if not decoded_any:
            if failures:
                raise MediaError(
                    "no audio could be decoded: the file is damaged or truncated past recovery",
                    kind="damaged",
                )
            return
        if damage_at is not None:
            warnings.append(f"audio could not be decoded from {_fmt_time(damage_at)} to the end of the file")
        if stream.duration is not None and stream.time_base is not None and expected is not None:
            declared = float(stream.duration * stream.time_base)
            if declared - expected > 1.0 and not math.isclose(declared, 0.0):
                warnings.append(
                    f"the audio ends at {_fmt_time(expected)} but the file's header says "
                    f"{_fmt_time(declared)}: the file may be truncated"
                )
        if pending_n == 0 and warnings and out_time is not None:
            yield AudioWindow(out_time, np.zeros(0, dtype=np.float32), sample_rate, tuple(warnings))
            return
        yield from emit(final=True)
