"""A scripted :class:`~stenograph.steps.transcription.transcriber.Transcriber` for tests: it yields given
segments, honouring ``start_at`` (resume), ``first_index`` and ``should_stop`` like
:class:`~stenograph.steps.transcription.transcriber.FasterWhisperTranscriber`, and records its calls."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from stenograph.steps.transcription.transcriber import TranscriptionOptions, TranscriptionRun, _never
from stenograph.transcript.types import Segment, TranscriptInfo

__all__ = ["ScriptedCall", "ScriptedTranscriber"]


@dataclass
class ScriptedCall:
    """One call of :meth:`ScriptedTranscriber.transcribe`, for assertions."""

    path: str
    options: TranscriptionOptions
    start_at: float
    first_index: int


@dataclass
class ScriptedTranscriber:
    """A fake :class:`Transcriber` yielding given segments, for tests of the queue and the API.

    Segments starting before ``start_at`` are skipped (the resume rule); the others are numbered from
    ``first_index``. ``delay_s`` sleeps before each segment (a slow transcription); ``before_segment`` is
    called with each segment before it is yielded (tests block on an event there); ``error`` is raised before
    segment number ``error_after`` (0-based, counted in this call), or by ``transcribe`` itself when
    ``error_after`` is None. ``should_stop`` is checked before each segment.
    """

    segments: Sequence[Segment] = ()
    info: TranscriptInfo | None = None
    delay_s: float = 0.0
    before_segment: Callable[[Segment], None] | None = None
    error: BaseException | None = None
    error_after: int | None = None
    calls: list[ScriptedCall] = field(default_factory=list)

    def transcribe(
        self,
        path: str | os.PathLike[str],
        options: TranscriptionOptions,
        *,
        start_at: float = 0.0,
        should_stop: Callable[[], bool] = _never,
        first_index: int = 0,
    ) -> TranscriptionRun:
        self.calls.append(ScriptedCall(os.fspath(path), options, start_at, first_index))
        if self.error is not None and self.error_after is None:
            raise self.error
        info = self.info or TranscriptInfo(
            language=options.language or "en",
            language_probability=1.0,
            duration_s=max((s.end for s in self.segments), default=0.0),
            model="scripted",
        )
        chosen = [s for s in self.segments if s.start >= start_at - 1e-6]

        def produce(run: TranscriptionRun) -> Iterator[Segment]:
            for number, segment in enumerate(chosen):
                if should_stop():
                    run.stopped = True
                    return
                if self.error is not None and self.error_after == number:
                    raise self.error
                if self.delay_s:
                    time.sleep(self.delay_s)
                out = dataclasses.replace(segment, index=first_index + number)
                if self.before_segment is not None:
                    self.before_segment(out)
                yield out

        return TranscriptionRun(info, produce)
