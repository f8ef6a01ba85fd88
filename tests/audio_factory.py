"""Test audio made at test time with espeak-ng, sox and ffmpeg (nothing is stored in the repository).

Use :class:`AudioFactory` (``tests/pipeline/conftest.py`` gives a session-wide one as the ``audio``
fixture; other test folders can load this file with ``importlib``)::

    path = audio.make("mp3")          # speech saying SPEECH_TEXT, as MP3
    info = audio.spec("mp3")          # what the file is meant to hold

Each kind is made once per factory and cached. Kinds whose ``error`` is set are files that must be refused.
:func:`corpus_dir` finds the shared speech corpus (``STENOGRAPH_CORPUS_DIR``, default ``../shared/audio``
relative to the repository root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

REPO_ROOT = Path(__file__).resolve().parent.parent

#: What the generated speech says.
SPEECH_TEXT = "Hello world. The quick brown fox jumps over the lazy dog."
#: What the two voices of :meth:`AudioFactory.stereo_voices` say (left channel, right channel).
STEREO_LEFT_TEXT = "Good morning, this is the support line. How can I help you with your order today?"
STEREO_RIGHT_TEXT = "Hello, my parcel never arrived and I would like a refund please."
#: Words tiny.en recognises reliably in the espeak voice ("fox" is often heard wrong).
SPEECH_WORDS = ("quick", "lazy", "dog")


@dataclass(frozen=True)
class AudioSpec:
    """A kind of test file: its name, what probe must find, or the error kind it must raise."""

    kind: str
    suffix: str
    sample_rate: int = 0
    channels: int = 0
    codec: str = ""
    has_video: bool = False
    speech: bool = True
    error: str | None = None  # MediaError.kind expected from probe


SPECS: dict[str, AudioSpec] = {
    s.kind: s
    for s in (
        AudioSpec("wav_s16_16k", ".wav", 16000, 1, "pcm_s16le"),
        AudioSpec("wav_u8_8k", ".wav", 8000, 1, "pcm_u8"),
        AudioSpec("wav_s24_48k_stereo", ".wav", 48000, 2, "pcm_s24le"),
        AudioSpec("wav_f32_96k", ".wav", 96000, 1, "pcm_f32le"),
        AudioSpec("wav_6ch_48k", ".wav", 48000, 6, "pcm_s16le"),
        AudioSpec("flac_44k_stereo", ".flac", 44100, 2, "flac"),
        AudioSpec("mp3_44k", ".mp3", 44100, 1, "mp3float"),
        AudioSpec("m4a_aac_48k", ".m4a", 48000, 2, "aac"),
        AudioSpec("ogg_opus", ".ogg", 48000, 1, "opus"),
        AudioSpec("webm_opus_recorder", ".webm", 48000, 1, "opus"),
        AudioSpec("mp4_h264_aac", ".mp4", 44100, 2, "aac", has_video=True),
        AudioSpec("mov_h264_pcm", ".mov", 22050, 1, "pcm_s16le", has_video=True),
        AudioSpec("mkv_vp8_vorbis", ".mkv", 24000, 1, "vorbis", has_video=True),
        AudioSpec("short_clip", ".wav", 16000, 1, "pcm_s16le"),
        AudioSpec("silence", ".wav", 16000, 1, "pcm_s16le", speech=False),
        AudioSpec("damaged_ogg", ".ogg", 48000, 1, "opus"),
        AudioSpec("truncated_wav", ".wav", 16000, 1, "pcm_s16le"),
        AudioSpec("truncated_mp4", ".mp4", speech=False, error="damaged"),
        AudioSpec("text", ".txt", speech=False, error="not_media"),
        AudioSpec("text_named_wav", ".wav", speech=False, error="not_media"),
        AudioSpec("video_no_audio", ".mp4", speech=False, error="no_audio_stream"),
        AudioSpec("empty", ".wav", speech=False, error="empty_file"),
    )
}


def corpus_dir() -> Path:
    """The shared speech corpus folder (it may not exist)."""
    configured = os.environ.get("STENOGRAPH_CORPUS_DIR")
    path = Path(configured) if configured else Path("../shared/audio")
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


def tools_missing() -> list[str]:
    """The command-line tools the factory needs that are not installed."""
    return [tool for tool in ("espeak-ng", "sox", "ffmpeg") if shutil.which(tool) is None]


def _run(*args: str | Path) -> None:
    subprocess.run([str(a) for a in args], check=True, capture_output=True, timeout=120)


def _ffmpeg(*args: str | Path) -> None:
    _run("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args)


class AudioFactory:
    """Makes test files into ``folder``, each kind once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._made: dict[str, Path] = {}

    def spec(self, kind: str) -> AudioSpec:
        return SPECS[kind]

    def speech_wav(self, text: str = SPEECH_TEXT, name: str = "speech", *, rate_wpm: int = 150) -> Path:
        """espeak-ng speaking ``text`` (22.05 kHz mono 16-bit WAV)."""
        out = self.folder / f"{name}.wav"
        if not out.exists():
            _run("espeak-ng", "-v", "en-us", "-s", str(rate_wpm), "-w", out, text)
        return out

    def make(self, kind: str) -> Path:
        """The file of ``kind`` (a key of :data:`SPECS`), made on first use."""
        if kind not in self._made:
            spec = SPECS[kind]
            out = self.folder / f"{kind}{spec.suffix}"
            maker = getattr(self, f"_make_{kind}", None)
            if maker is not None:
                maker(out)
            else:
                self._convert(spec, out)
            self._made[kind] = out
        return self._made[kind]

    # --- conversions of the speech -------------------------------------------------------------
    _CODEC_ARGS: ClassVar[dict[str, tuple[str, ...]]] = {
        "wav_s16_16k": ("-c:a", "pcm_s16le"),
        "wav_u8_8k": ("-c:a", "pcm_u8"),
        "wav_s24_48k_stereo": ("-c:a", "pcm_s24le"),
        "wav_f32_96k": ("-c:a", "pcm_f32le"),
        "flac_44k_stereo": ("-c:a", "flac"),
        "mp3_44k": ("-c:a", "libmp3lame", "-b:a", "64k"),
        "m4a_aac_48k": ("-c:a", "aac", "-b:a", "96k"),
        "ogg_opus": ("-c:a", "libopus", "-b:a", "32k"),
    }

    def _convert(self, spec: AudioSpec, out: Path) -> None:
        _ffmpeg(
            "-i", self.speech_wav(), "-ar", str(spec.sample_rate), "-ac", str(spec.channels),
            *self._CODEC_ARGS[spec.kind], out,
        )  # fmt: skip

    def _make_wav_6ch_48k(self, out: Path) -> None:
        # The speech on every channel (ffmpeg's own upmix would put it on the centre channel only).
        pan = "pan=5.1|" + "|".join(f"c{i}=c0" for i in range(6))
        _ffmpeg("-i", self.speech_wav(), "-ar", "48000", "-af", pan, "-c:a", "pcm_s16le", out)

    def _make_webm_opus_recorder(self, out: Path) -> None:
        # Written to a pipe, as a browser's MediaRecorder streams it: no duration and no cues in the header.
        with out.open("wb") as handle:
            subprocess.run(
                ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(self.speech_wav()),
                 "-ar", "48000", "-ac", "1", "-c:a", "libopus", "-f", "webm", "pipe:1"],
                check=True, stdout=handle, stderr=subprocess.PIPE, timeout=120,
            )  # fmt: skip

    def _video_with_speech(self, out: Path, video: tuple[str, ...], audio: tuple[str, ...]) -> None:
        _ffmpeg(
            "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-i", self.speech_wav(),
            "-shortest", *video, *audio, out,
        )  # fmt: skip

    def _make_mp4_h264_aac(self, out: Path) -> None:
        self._video_with_speech(out, ("-c:v", "libx264", "-pix_fmt", "yuv420p"), ("-c:a", "aac", "-ar", "44100",
                                "-ac", "2"))  # fmt: skip

    def _make_mov_h264_pcm(self, out: Path) -> None:
        self._video_with_speech(out, ("-c:v", "libx264", "-pix_fmt", "yuv420p"), ("-c:a", "pcm_s16le",
                                "-ar", "22050", "-ac", "1"))  # fmt: skip

    def _make_mkv_vp8_vorbis(self, out: Path) -> None:
        self._video_with_speech(out, ("-c:v", "libvpx", "-deadline", "realtime"), ("-c:a", "libvorbis",
                                "-ar", "24000", "-ac", "1"))  # fmt: skip

    def _make_short_clip(self, out: Path) -> None:
        source = self.speech_wav("Yes.", "yes", rate_wpm=170)
        _ffmpeg("-i", source, "-ar", "16000", "-ac", "1", "-t", "0.9", out)

    def _make_silence(self, out: Path) -> None:
        _run("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", out, "trim", "0", "10")

    def _make_damaged_ogg(self, out: Path) -> None:
        """20 s of speech and tone as Ogg/Opus with random bytes over 5 % of the file at its middle."""
        long_wav = self.folder / "long_for_damage.wav"
        _run("sox", self.speech_wav(), "-r", "48000", long_wav, "repeat", "5", "pad", "0", "1")
        _ffmpeg("-i", long_wav, "-ac", "1", "-c:a", "libopus", "-b:a", "32k", out)
        data = bytearray(out.read_bytes())
        middle, span = len(data) // 2, len(data) // 20
        data[middle : middle + span] = os.urandom(span)
        out.write_bytes(bytes(data))

    def _make_truncated_wav(self, out: Path) -> None:
        """A WAV whose header announces 3 s more than the data holds (a cut-off upload)."""
        full = self.folder / "long_for_truncation.wav"
        _run("sox", self.speech_wav(), "-r", "16000", "-c", "1", "-b", "16", full, "pad", "0", "4")
        data = full.read_bytes()
        out.write_bytes(data[: len(data) - 3 * 16000 * 2])

    def _make_truncated_mp4(self, out: Path) -> None:
        """An MP4 with its index (moov) at the end, cut to its first 40 %: unreadable."""
        full = self.folder / "full_for_truncation.mp4"
        self._video_with_speech(full, ("-c:v", "libx264", "-pix_fmt", "yuv420p"), ("-c:a", "aac"))
        data = full.read_bytes()
        out.write_bytes(data[: int(len(data) * 0.4)])

    def _make_text(self, out: Path) -> None:
        out.write_text("Meeting notes\nThis is not a recording.\n", encoding="utf-8")

    def _make_text_named_wav(self, out: Path) -> None:
        self._make_text(out)

    def _make_video_no_audio(self, out: Path) -> None:
        _ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=2", "-c:v", "libx264", "-pix_fmt",
                "yuv420p", out)  # fmt: skip

    def _make_empty(self, out: Path) -> None:
        out.write_bytes(b"")

    # --- stereo with a voice per channel ---------------------------------------------------------
    def stereo_voices(self, name: str, *, crosstalk: float = 0.0, copy: float | None = None) -> Path:
        """A 16 kHz stereo WAV of two espeak-ng voices, one per channel, as a phone call recorded one line per
        channel: the left voice (en-us) speaks from 0.3 s, the right one (en-gb, higher pitch) answers 0.8 s
        before the left one ends, and both speak for about 4 s (:data:`STEREO_LEFT_TEXT`,
        :data:`STEREO_RIGHT_TEXT`).

        ``crosstalk`` (0..1): each channel also holds the other voice times this gain (echo on a line).
        ``copy`` (0..1): instead, the left voice alone on both channels, the right one at this gain (a mono
        recording panned, or saved as stereo).
        """
        out = self.folder / f"{name}.wav"
        if out.exists():
            return out
        left = self.folder / "stereo-left-voice.wav"
        right = self.folder / "stereo-right-voice.wav"
        if not left.exists():
            raw = self.folder / "stereo-left-raw.wav"
            _run("espeak-ng", "-v", "en-us", "-s", "150", "-w", raw, STEREO_LEFT_TEXT)
            _run("sox", raw, "-r", "16000", "-c", "1", "-b", "16", left, "pad", "0.3", "0")
        if not right.exists():
            raw = self.folder / "stereo-right-raw.wav"
            _run("espeak-ng", "-v", "en-gb", "-p", "80", "-s", "160", "-w", raw, STEREO_RIGHT_TEXT)
            lead = float(subprocess.run(["soxi", "-D", str(left)], check=True, capture_output=True, text=True,
                                        timeout=60).stdout) - 0.8  # fmt: skip
            _run("sox", raw, "-r", "16000", "-c", "1", "-b", "16", right, "pad", f"{lead:.3f}", "0.5")
        if copy is not None:
            _run("sox", left, "-b", "16", out, "remix", "1v1", f"1v{copy:g}")
        else:
            merged = self.folder / f"{name}-merged.wav"
            _run("sox", "-M", left, right, merged)
            _run("sox", merged, "-b", "16", out, "remix", f"1v1,2v{crosstalk:g}", f"2v1,1v{crosstalk:g}")
        return out

    # --- long files ------------------------------------------------------------------------------
    def corpus_concatenation(self, corpus: Path, names: list[str], *, gap_s: float = 1.0) -> Path:
        """The corpus clips ``names`` joined (16 kHz mono WAV) with ``gap_s`` of silence between them."""
        out = self.folder / ("concat-" + "-".join(Path(n).stem[:8] for n in names) + ".wav")
        if not out.exists():
            parts: list[str] = []
            for number, name in enumerate(names):
                part = self.folder / f"part{number}-{Path(name).stem}.wav"
                _run("sox", corpus / name, "-r", "16000", "-c", "1", "-b", "16", part, "pad", "0", str(gap_s))
                parts.append(str(part))
            _run("sox", *parts, out)
        return out

    def sparse_silent_wav(self, name: str, seconds: float, sample_rate: int = 16000) -> Path:
        """A 16-bit mono WAV of ``seconds`` of digital silence, written as a sparse file (no disk used)."""
        out = self.folder / f"{name}.wav"
        data_bytes = int(seconds * sample_rate) * 2
        header = (
            b"RIFF" + (36 + data_bytes).to_bytes(4, "little") + b"WAVEfmt "
            + (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little")
            + sample_rate.to_bytes(4, "little") + (sample_rate * 2).to_bytes(4, "little")
            + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
            + b"data" + data_bytes.to_bytes(4, "little")
        )  # fmt: skip
        with out.open("wb") as handle:
            handle.write(header)
            handle.truncate(len(header) + data_bytes)
        return out
