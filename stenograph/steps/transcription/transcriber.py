"""Speech to text: the :class:`Transcriber` seam, its faster-whisper implementation (the scripted fake
for tests is :mod:`stenograph.steps.transcription.fake`).

The queue's transcription handler calls::

    run = transcriber.transcribe(path, options, start_at=resume_s, should_stop=ctx.cancel_requested,
                                 first_index=len(stored))
    for segment in run.segments:          # lazy: each segment as soon as Whisper produced it
        store(segment); report(segment.end / run.info.duration_s)
    if run.stopped: ...                   # should_stop() answered True

How :class:`FasterWhisperTranscriber` works:

* The audio is decoded in windows of ``window_s`` seconds (300 by default; :func:`iter_audio_windows`), so
  memory does not grow with the recording's length. Each window goes through faster-whisper
  (``WhisperModel.transcribe``) with Silero VAD when ``options.vad``.
* Seams: of a window that is not the last, only segments ending before ``window end - seam_margin_s`` are
  kept; the next window starts at the end of the last kept segment, so the words around a seam are
  transcribed once, from a window where they are whole. Resuming an interrupted run with ``start_at`` = end
  of the last stored segment is the same rule.
* Model: an English-only model the upload did not name gives way to the multilingual one for speech in
  another language and for translations (``options.task="translate"``); see
  :mod:`~stenograph.steps.transcription.model_choice`.
* Language: ``options.language``, else "en" for English-only models, else detected once, on the first
  30 s of speech that Silero VAD finds (``WhisperModel.detect_language`` on the speech chunks only, so
  leading silence or music does not decide it), then fixed for every window and channel. faster-whisper
  1.2.1 itself detects on the VAD-filtered audio of each ``transcribe`` call, which for us would be each
  window on its own. On resume pass the language of the first run in ``options.language``.
* ``channels="split"``: each channel transcribed on its own ("left"/"right" for stereo, else "ch1", "ch2"...)
  and the segments merged by start time.
* Guards (:mod:`stenograph.steps.transcription.guards`): segments judged made up over silence are dropped, phrases
  looping inside a segment and segments repeating the previous ones are collapsed. Windows with nothing
  audible (peak below -60 dBFS, :data:`SILENCE_PEAK`) are not given to Whisper at all.
* ``should_stop`` is checked before each window and after each segment; a stopped run ends its iteration and
  sets ``run.stopped``. Whisper decodes 30 s of audio at a time, so a stop takes effect within one such
  decode (about 1-3 s with tiny.en on a CPU).
* Batched decoding (``settings.batched_decoding``, for recordings of at least
  ``settings.batched_decoding_min_seconds`` with VAD on): each window goes through
  :func:`~stenograph.steps.transcription.batched.decode_batched` instead; windows, seams, resume and guards
  stay as above, and a stop takes effect after the batch being decoded (8 chunks of up to 15 s).
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from stenograph.errors import PermanentError
from stenograph.settings import Settings
from stenograph.steps.correction.glossary import HOTWORDS_MAX_CHARS, hotwords_that_fit
from stenograph.steps.transcription.batched import decode_batched
from stenograph.steps.transcription.guards import (
    RepeatedSegmentFilter,
    collapse_repetitions,
    collapse_word_repetitions,
    invented_text_guard,
    is_hallucinated,
)
from stenograph.steps.transcription.media import AudioWindow, iter_audio_windows, probe
from stenograph.steps.transcription.model_choice import LanguageCheck, choose_model
from stenograph.steps.transcription.retiming import retimed
from stenograph.steps.transcription.whisper_models import load_whisper
from stenograph.transcript.types import Segment, TranscriptInfo, Word

__all__ = [
    "FasterWhisperTranscriber",
    "Transcriber",
    "TranscriptionOptions",
    "TranscriptionRun",
    "channel_labels",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
#: Seconds of audio decoded at a time while filling a window.
DECODE_CHUNK_S = 30.0
#: A window whose peak stays below this (-60 dBFS) holds nothing audible and is skipped.
SILENCE_PEAK = 10 ** (-60 / 20)
#: Windows of at most this many seconds are decoded with word timings, for the invented-words guard.
WORDS_FOR_GUARD_S = 30.0
#: Seconds between a segment's last kept word and its last decoded one past which the rest is decoded again.
TAIL_GAP_S = 1.0
#: Speech (seconds, by Silero VAD) after the last segment of a file that makes it decode the rest again.
TAIL_SPEECH_S = 0.5
#: Speech (seconds) used for language detection: one Whisper input.
LANGUAGE_DETECTION_S = 30.0


def _never() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class TranscriptionOptions:
    """What a person asked for one transcription.

    Attributes:
        language: ISO 639-1 code, or None to detect it.
        initial_prompt: text Whisper is conditioned on for every window (style, spellings).
        hotwords: names and terms to favour (faster-whisper's ``hotwords``, joined with ", ").
        word_timestamps: also time each word (slower).
        vad: skip non-speech with Silero VAD.
        beam_size: beam width; None uses ``settings.whisper_beam_size``.
        channels: ``"mix"`` (downmix to mono) or ``"split"`` (each channel on its own).
        task: ``"transcribe"``, or ``"translate"`` (Whisper's own translation into English; it needs a
            multilingual model: :mod:`~stenograph.steps.transcription.model_choice`).

    Raises:
        PermanentError: (kind ``bad_options``) on invalid values.
    """

    language: str | None = None
    initial_prompt: str | None = None
    hotwords: Sequence[str] = ()
    word_timestamps: bool = False
    vad: bool = True
    beam_size: int | None = None
    channels: Literal["mix", "split"] = "mix"
    task: Literal["transcribe", "translate"] = "transcribe"

    def __post_init__(self) -> None:
        if self.task not in ("transcribe", "translate"):
            raise PermanentError(f"task must be 'transcribe' or 'translate', not {self.task!r}", kind="bad_options")
        if self.channels not in ("mix", "split"):
            raise PermanentError(f"channels must be 'mix' or 'split', not {self.channels!r}", kind="bad_options")
        if self.beam_size is not None and self.beam_size < 1:
            raise PermanentError("beam_size must be at least 1", kind="bad_options")
        if isinstance(self.hotwords, str):
            raise PermanentError("hotwords must be a list of strings", kind="bad_options")
        object.__setattr__(self, "hotwords", tuple(w.strip() for w in self.hotwords if w.strip()))
        if self.language is not None:
            object.__setattr__(self, "language", self.language.strip().lower() or None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TranscriptionOptions:
        """Options from a JSON object (a task's payload); unknown keys raise ``PermanentError``."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PermanentError(f"unknown transcription options: {', '.join(unknown)}", kind="bad_options")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["hotwords"] = list(self.hotwords)
        return data


class TranscriptionRun:
    """One transcription in progress.

    Attributes:
        info: language, duration and model; ``info.warnings`` grows while the audio is decoded, and
            ``info.language`` may be filled in during iteration when no speech came before.
        segments: iterator of :class:`Segment`, lazily produced in time order with absolute times.
        stopped: True once iteration ended because ``should_stop()`` answered True.
    """

    def __init__(self, info: TranscriptInfo, segments: Callable[[TranscriptionRun], Iterator[Segment]]) -> None:
        self.info = info
        self.stopped = False
        self.segments: Iterator[Segment] = segments(self)

    def __iter__(self) -> Iterator[Segment]:
        return self.segments


class Transcriber(Protocol):
    """Turns a recording into segments. See the module docstring for the meaning of each argument."""

    def transcribe(
        self,
        path: str | os.PathLike[str],
        options: TranscriptionOptions,
        *,
        start_at: float = 0.0,
        should_stop: Callable[[], bool] = _never,
        first_index: int = 0,
    ) -> TranscriptionRun:
        """Start transcribing ``path`` from ``start_at`` seconds; segments are numbered from ``first_index``.

        Raises:
            MediaError: the file is not readable audio (raised here, before any segment).
        """
        ...


def channel_labels(channels: int) -> list[str]:
    """Labels of split channels: ``["left", "right"]`` for stereo, else ``["ch1", "ch2", ...]``."""
    if channels == 2:
        return ["left", "right"]
    return [f"ch{i + 1}" for i in range(channels)]


class _Language:
    """The language of a run: fixed once known."""

    def __init__(self, code: str | None, probability: float) -> None:
        self.code = code
        self.probability = probability


class _AudioBuffer:
    """Rolling buffer over :func:`iter_audio_windows`: hands out windows starting at increasing positions."""

    def __init__(self, path: str | os.PathLike[str], channel: int | None, start_s: float, warnings: list[str]):
        self._chunks: Iterator[AudioWindow] = iter_audio_windows(
            path, start_s=start_s, window_s=DECODE_CHUNK_S, sample_rate=SAMPLE_RATE, channel=channel
        )
        self._parts: list[npt.NDArray[np.float32]] = []
        self._start = start_s  # time of the buffer's first sample
        self._samples = 0
        self._exhausted = False
        self._warnings = warnings

    def _pull(self) -> bool:
        chunk = next(self._chunks, None)
        if chunk is None:
            self._exhausted = True
            return False
        self._warnings.extend(chunk.warnings)
        if not self._parts and self._samples == 0:
            self._start = chunk.start_s
        self._parts.append(chunk.samples)
        self._samples += len(chunk.samples)
        return True

    def window(self, position: float, length_s: float) -> tuple[float, npt.NDArray[np.float32], bool]:
        """Audio from ``position``, up to ``length_s`` seconds: (start time, samples, whether it is the last).

        ``position`` must not go back before an earlier call's.
        """
        wanted = round(length_s * SAMPLE_RATE)
        drop = max(0, round((position - self._start) * SAMPLE_RATE))
        # Read one sample past the window, to know whether more audio follows.
        while not self._exhausted and self._samples - drop <= wanted:
            self._pull()
        if len(self._parts) > 1:
            self._parts = [np.concatenate(self._parts)]
        data = self._parts[0] if self._parts else np.zeros(0, dtype=np.float32)
        drop = min(drop, len(data))
        data = data[drop:]
        self._start += drop / SAMPLE_RATE
        self._parts = [data] if len(data) else []
        self._samples = len(data)
        return self._start, data[:wanted], self._exhausted and len(data) <= wanted


class FasterWhisperTranscriber:
    """:class:`Transcriber` running faster-whisper (see the module docstring).

    Args:
        settings: model, device, beam size and guard thresholds.
        window_s: seconds of audio transcribed at a time (at least 40: a Whisper segment lasts up to 30 s).
        seam_margin_s: segments ending in the last this many seconds of a window are left to the next one.
        model: a loaded ``faster_whisper.WhisperModel`` to use instead of :func:`load_whisper` (tests).
        language_check: what an English-only model does with other languages (:func:`choose_model`):
            ``"switch"`` (the upload named no model: give way to the multilingual one), ``"warn"`` (the upload
            named it: keep it, with a warning for other speech) or ``"off"`` (keep it, no check: direct use).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        window_s: float = 300.0,
        seam_margin_s: float = 5.0,
        model: Any = None,
        language_check: LanguageCheck = "off",
    ) -> None:
        if window_s < 40 or not 0 < seam_margin_s < window_s / 4:
            raise ValueError("window_s must be at least 40 s and seam_margin_s between 0 and window_s / 4")
        self.settings = settings
        self.window_s = window_s
        self.seam_margin_s = seam_margin_s
        self._model = model
        self.language_check: LanguageCheck = language_check

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = load_whisper(self.settings)
        return self._model

    def transcribe(
        self,
        path: str | os.PathLike[str],
        options: TranscriptionOptions,
        *,
        start_at: float = 0.0,
        should_stop: Callable[[], bool] = _never,
        first_index: int = 0,
    ) -> TranscriptionRun:
        """See :class:`Transcriber`. Probes the file and, when needed, detects the language before returning.

        Raises:
            MediaError: from :func:`probe`.
            PermanentError: (``bad_options``) a language the model does not know; a translation with a named
                English-only model.
            ValueError: ``start_at`` negative.
        """
        if start_at < 0:
            raise ValueError("start_at must not be negative")
        media = probe(path)
        options = _fitting_hotwords(options)
        warnings: list[str] = []
        if options.channels == "split" and media.channels > 1:
            labels: list[str | None] = list(channel_labels(media.channels))
            channels: list[int | None] = list(range(media.channels))
        else:
            labels, channels = [None], [None]
        buffers = [_AudioBuffer(path, ch, start_at, warnings) for ch in channels]
        choice = choose_model(
            self.settings,
            self.model,
            check=self.language_check,
            language=options.language,
            task=options.task,
            first_audio=lambda: buffers[0].window(start_at, self.window_s)[1],
            warnings=warnings,
        )
        model = choice.model
        language = self._initial_language(model, dataclasses.replace(options, language=choice.language))
        if choice.detected is not None and choice.detected == language.code:
            language.probability = choice.probability
        # Detect the language now when the first window has speech, so info is complete for the caller.
        first_window = buffers[0].window(start_at, self.window_s) if language.code is None else None
        if first_window is not None:
            self._detect(model, first_window[1], language)
        info = TranscriptInfo(
            language=language.code,
            language_probability=language.probability,
            duration_s=media.duration_s,
            model=choice.name,
            warnings=warnings,
        )

        settings = self.settings
        batched = (
            settings.batched_decoding and options.vad and media.duration_s >= settings.batched_decoding_min_seconds
        )

        def produce(run: TranscriptionRun) -> Iterator[Segment]:
            streams = [
                self._channel_segments(model, buffer, label, start_at, options, language, run, should_stop, batched)
                for buffer, label in zip(buffers, labels, strict=True)
            ]
            merged: Iterable[Segment] = (
                streams[0] if len(streams) == 1 else heapq.merge(*streams, key=lambda s: (s.start, s.end))
            )
            repeats = RepeatedSegmentFilter(self.settings.repetition_max_repeats)
            index = first_index
            for segment in merged:
                if run.info.language is None and language.code is not None:
                    run.info.language, run.info.language_probability = language.code, language.probability
                if not repeats.accept(segment):
                    continue
                yield dataclasses.replace(segment, index=index)
                index += 1
                if should_stop():
                    run.stopped = True
                    return

        return TranscriptionRun(info, produce)

    def _initial_language(self, model: Any, options: TranscriptionOptions) -> _Language:
        if not model.model.is_multilingual:
            return _Language("en", 1.0)
        if options.language is not None:
            if options.language not in model.supported_languages:
                raise PermanentError(
                    f"language {options.language!r} is not one Whisper knows (ISO 639-1 codes such as en, de, fr)",
                    kind="bad_options",
                )
            return _Language(options.language, 1.0)
        return _Language(None, 0.0)

    def _detect(self, model: Any, audio: npt.NDArray[np.float32], language: _Language) -> None:
        """Detect the language on the speech Silero VAD finds in ``audio``; leaves it unknown when none."""
        from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

        chunks = get_speech_timestamps(audio, VadOptions())
        if not chunks:
            return
        speech = np.concatenate(collect_chunks(audio, chunks)[0])[: round(LANGUAGE_DETECTION_S * SAMPLE_RATE)]
        code, probability, _ = model.detect_language(audio=speech)
        language.code, language.probability = code, float(probability)
        logger.info("detected language %s (p=%.2f) on %.1f s of speech", code, probability, len(speech) / 16000)

    def _channel_segments(
        self,
        model: Any,
        buffer: _AudioBuffer,
        label: str | None,
        start_at: float,
        options: TranscriptionOptions,
        language: _Language,
        run: TranscriptionRun,
        should_stop: Callable[[], bool],
        batched: bool = False,
    ) -> Iterator[Segment]:
        """Segments of one channel (or the mix), window by window, with absolute times; index left at -1;
        ``batched``: each window through :func:`decode_batched`."""
        settings = self.settings
        position = start_at
        while True:
            if should_stop():
                run.stopped = True
                return
            window_start, audio, last = buffer.window(position, self.window_s)
            if len(audio) == 0:
                return
            window_end = window_start + len(audio) / SAMPLE_RATE
            cutoff = float("inf") if last else window_end - self.seam_margin_s
            if float(np.abs(audio).max()) < SILENCE_PEAK:
                # Nothing audible: Whisper would make text up here (with VAD off, "You" over silence).
                if last:
                    return
                position = max(cutoff, position + 1.0)
                continue
            if language.code is None:
                self._detect(model, audio, language)
            raw = self._decode(model, audio, options, language.code, batched)
            last_kept_end: float | None = None
            next_start: float | None = None
            restart_at: float | None = None
            beam_size = options.beam_size or settings.whisper_beam_size
            for produced in retimed(model, raw, audio, language=language.code, beam_size=beam_size, vad=options.vad):
                if getattr(produced, "restart", False):
                    restart_at = window_start + produced.start
                    break
                segment = self._convert(produced, window_start, window_end, label, options)
                if segment.end > cutoff:
                    next_start = segment.start
                    break
                last_kept_end = segment.end
                guarded = self.guard(segment, audio_start=window_start, audio_end=window_end)
                unheard_from = _unheard_tail(segment, guarded)
                if guarded is not None and unheard_from is not None and unheard_from > position + 1.0:
                    # Whisper ran out of input inside this segment and placed its last words past the speech:
                    # the segment ends at its last real word and decoding starts again there.
                    guarded = dataclasses.replace(guarded, end=unheard_from)
                    restart_at = last_kept_end = unheard_from
                if guarded is not None:
                    yield guarded if options.word_timestamps else dataclasses.replace(guarded, words=None)
                if restart_at is not None:
                    break
                if should_stop():
                    run.stopped = True
                    return
            if restart_at is not None and restart_at > position + 1.0:
                position = restart_at
                continue
            if last:
                heard_until = last_kept_end if last_kept_end is not None else position
                if heard_until > position + 1.0 and _speech_after(audio, heard_until - window_start):
                    # Whisper closed the text early (tiny.en: "1455.", then end of text, with a sentence
                    # still to come): decode what follows the last segment kept.
                    position = heard_until
                    continue
                return
            if last_kept_end is not None:
                position = max(last_kept_end, position + 1.0)
            elif next_start is not None and next_start > position + 1.0:
                position = next_start
            else:
                position = max(cutoff, position + 1.0)

    def _decode(
        self,
        model: Any,
        audio: npt.NDArray[np.float32],
        options: TranscriptionOptions,
        language: str | None,
        batched: bool = False,
    ) -> Iterable[Any]:
        """faster-whisper's lazy segments of ``audio`` (16 kHz mono), times from its start; ``batched``:
        through :func:`decode_batched`."""
        settings = self.settings
        kwargs: dict[str, Any] = {
            "language": language,
            "beam_size": options.beam_size or settings.whisper_beam_size,
            "initial_prompt": options.initial_prompt or None,
            "hotwords": ", ".join(options.hotwords) or None,
            # Short audio is timed word by word anyway: the invented-words guard reads word timings.
            "word_timestamps": options.word_timestamps or len(audio) <= WORDS_FOR_GUARD_S * SAMPLE_RATE,
            "no_speech_threshold": settings.no_speech_threshold,
            "log_prob_threshold": settings.logprob_threshold,
            "task": options.task,
        }
        if batched:
            return decode_batched(model, audio, **kwargs)
        raw, _ = model.transcribe(audio, vad_filter=options.vad, **kwargs)
        result: Iterable[Any] = raw
        return result

    def _convert(
        self,
        produced: Any,
        offset: float,
        window_end: float,
        label: str | None,
        options: TranscriptionOptions,
    ) -> Segment:
        words: tuple[Word, ...] | None = None
        if produced.words is not None:
            words = tuple(
                Word(
                    start=round(offset + w.start, 3),
                    end=round(min(offset + w.end, window_end), 3),
                    word=w.word,
                    probability=float(w.probability),
                )
                for w in produced.words
            )
        return Segment(
            index=-1,
            start=round(offset + produced.start, 3),
            end=round(min(offset + produced.end, window_end), 3),
            text=produced.text.strip(),
            avg_logprob=float(produced.avg_logprob),
            no_speech_prob=float(produced.no_speech_prob),
            words=words,
            channel=label,
        )

    def guard(self, segment: Segment, *, audio_start: float = 0.0, audio_end: float = float("inf")) -> Segment | None:
        """Apply the in-segment guards: None when the segment is empty, judged made up over silence
        (:func:`is_hallucinated`) or left empty by :func:`invented_text_guard` (``audio_start``,
        ``audio_end``: where the audio decoded starts and ends, seconds), else the segment with invented words
        removed and looping phrases collapsed (text and words)."""
        settings = self.settings
        text = segment.text.strip()
        if not text or is_hallucinated(segment, settings.no_speech_threshold, settings.logprob_threshold):
            return None
        trimmed = invented_text_guard(segment, audio_start=audio_start, audio_end=audio_end)
        if trimmed is None:
            return None
        segment, text = trimmed, trimmed.text.strip()
        max_repeats = settings.repetition_max_repeats
        if segment.words:
            words = collapse_word_repetitions(segment.words, max_repeats)
            if len(words) != len(segment.words):
                return dataclasses.replace(segment, words=tuple(words), text="".join(w.word for w in words).strip())
            return dataclasses.replace(segment, text=text) if text != segment.text else segment
        collapsed = collapse_repetitions(text, max_repeats)
        return dataclasses.replace(segment, text=collapsed) if collapsed != segment.text else segment


def _speech_after(audio: npt.NDArray[np.float32], offset_s: float) -> bool:
    """Whether Silero VAD (faster-whisper's :func:`faster_whisper.vad.get_speech_timestamps`) finds at least
    :data:`TAIL_SPEECH_S` of speech in ``audio`` (16 kHz mono) after ``offset_s`` seconds."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    rest = audio[max(0, round(offset_s * SAMPLE_RATE)) :]
    if len(rest) < TAIL_SPEECH_S * SAMPLE_RATE:
        return False
    spans = get_speech_timestamps(rest, VadOptions(min_speech_duration_ms=round(TAIL_SPEECH_S * 1000)))
    return bool(spans)


def _unheard_tail(segment: Segment, guarded: Segment | None) -> float | None:
    """Where the speech after ``guarded`` was left unheard: the end of its last word (seconds) when the
    invented-words guard dropped ``segment``'s trailing words, else None.

    Seen with tiny.en: a window ending 7 s after the start of a sentence decoded as one segment without a
    closing timestamp whose last two words sat, zero seconds long, at the end of the audio; the 3 s sentence
    after them was never transcribed (``tests/pipeline/test_transcriber.py``, the seam test's last clip).
    """
    if guarded is None or not guarded.words or not segment.words:
        return None
    kept_end, said_end = guarded.words[-1].end, segment.words[-1].end
    return kept_end if kept_end < said_end - TAIL_GAP_S else None


def _fitting_hotwords(options: TranscriptionOptions) -> TranscriptionOptions:
    """``options`` with only the hotwords that fit Whisper's prompt (:func:`hotwords_that_fit`); the rest are
    left out, and a log line says how many."""
    kept = hotwords_that_fit(options.hotwords)
    if len(kept) == len(options.hotwords):
        return options
    logger.info(
        "Whisper gets %d of %d glossary terms as hotwords (at most %d characters fit its prompt); "
        "the correction step still uses all of them",
        len(kept),
        len(options.hotwords),
        HOTWORDS_MAX_CHARS,
    )
    return dataclasses.replace(options, hotwords=tuple(kept))
