"""Turning a stored upload into a recording and its pipeline of tasks (used by the API and the CLI).

The pipeline: one task per chosen step, in registry order (:mod:`stenograph.steps.registry`), each
depending on the tasks its step names (``depends_on``, ``after``) and with the params its step builds
(``task_params``). Which steps run: the upload's ``steps``, else ``STENOGRAPH_PIPELINE_STEPS``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from stenograph.datadir import data_dir_id
from stenograph.errors import ConfigurationError, MediaError, PermanentError, cut_text, echo
from stenograph.queue import TaskQueue, TaskRecord
from stenograph.recordings.store import TranscriptStore
from stenograph.recordings.text_input import clean_text
from stenograph.settings import CHOOSABLE_STEPS, PIPELINE_STEPS, Settings
from stenograph.steps.base import INTERACTIVE_PRIORITY
from stenograph.steps.correction.glossary import check_glossary
from stenograph.steps.registry import get_step
from stenograph.steps.transcription.channel_choice import CHANNEL_MODES
from stenograph.steps.transcription.media import MediaInfo, probe
from stenograph.transcript.languages import whisper_languages

#: Model names that need no download: packaged models, and OpenAI's name for "the default".
OFFLINE_MODELS = ("tiny.en", "base")
DEFAULT_MODEL_ALIASES = ("whisper-1", "default", "")


def new_stored_name() -> str:
    """A generated file name for an upload in the data directory (never the client's name)."""
    return secrets.token_hex(16)


def split_list(value: str | Sequence[str] | None) -> list[str]:
    """``"a, b\\nc"`` or ``["a", "b"]`` → ``["a", "b", "c"]`` (empty items dropped)."""
    if value is None:
        return []
    items = value.replace("\n", ",").split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item and item.strip()]


@dataclass
class PipelineRequest:
    """What one upload asks for. Raises ``ConfigurationError`` (a 422 at the API) when invalid."""

    steps: list[str]
    language: str | None = None
    model: str | None = None
    glossary: list[str] = field(default_factory=list)
    template: str | None = None
    channels: str = "auto"
    prompt: str | None = None
    word_timestamps: bool = True
    beam_size: int | None = None
    vad: bool = True
    task: str = "transcribe"
    #: The URL an import downloads the media from (the ``download`` step runs first), or None for an upload.
    url: str | None = None
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    #: A client waits on its connection for the answer (the OpenAI-compatible routes): its tasks get
    #: :data:`~stenograph.steps.base.INTERACTIVE_PRIORITY`, claimed before the pipeline backlog.
    waiting: bool = False

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        steps: str | Sequence[str] | None = None,
        language: str | None = None,
        model: str | None = None,
        glossary: str | Sequence[str] | None = None,
        template: str | None = None,
        channels: str | None = None,
        prompt: str | None = None,
        word_timestamps: str | bool | None = None,
        beam_size: str | int | None = None,
        vad: str | bool | None = None,
        task: str | None = None,
        url: str | None = None,
        diarize: str | bool | None = None,
        num_speakers: str | int | None = None,
        min_speakers: str | int | None = None,
        max_speakers: str | int | None = None,
    ) -> PipelineRequest:
        """The request of an upload's raw fields (a form's strings, or typed values), checked and normalised:
        steps in registry order, ``auto`` language as None, a default-model alias as None; word timestamps on
        unless ``word_timestamps`` is false (subtitle cues are built from the words).

        Raises:
            ConfigurationError: an unknown step or one without the steps it needs (a diarization without a
                transcription: nothing would show it), an unknown language, model, glossary term, channels value
                or template, an English-only model for another language, a ``beam_size`` outside 1..20, a flag
                that is not yes/no; a ``task`` other than ``transcribe`` or ``translate``, or a translation with an
                English-only model (:func:`_checked_task`); a speaker count not a whole number from 1 to
                :data:`MAX_SPEAKER_COUNT`, ``num_speakers`` with ``min_speakers``/``max_speakers``,
                ``min_speakers`` over ``max_speakers``, or a count for an upload that does not diarize.

        ``diarize=false`` leaves out the ``diarization`` and ``speakers`` steps, and so does ``channels=split``
        (each channel is one speaker). ``channels`` is ``auto`` when not given: the transcription splits the
        channels when each carries its own voice (:mod:`~stenograph.steps.transcription.channel_choice`).
        Diarization turns word timestamps on (segments are split at words).
        """
        language, model, template, channels = (
            clean_text(value) if isinstance(value, str) else value for value in (language, model, template, channels)
        )
        prompt = clean_text(prompt, multiline=True) if isinstance(prompt, str) else prompt
        channels = (channels or "auto").strip().lower()
        chosen = split_list(steps) or list(settings.pipeline_steps)
        if not parse_flag(diarize, "diarize", default=True) or channels == "split":
            chosen = [step for step in chosen if step not in DIARIZATION_STEPS]
        ordered = _ordered_steps(settings, chosen, extra=("download",) if url else ())
        counts = _checked_speaker_counts(num_speakers, min_speakers, max_speakers, "diarization" in ordered)
        language = _checked_language(language)
        model = _checked_model(settings, model, language)
        task = _checked_task(settings, task, model)
        try:
            terms = check_glossary(split_list(glossary))
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from exc
        if channels not in CHANNEL_MODES:
            raise ConfigurationError(f"channels must be 'auto', 'mix' or 'split', not {echo(channels)}")
        if template:
            _check_template(settings, template)
        beam = _checked_beam_size(beam_size)
        use_vad = parse_flag(vad, "vad", default=True)
        word_timestamps = parse_flag(word_timestamps, "word_timestamps", default=True) or "diarization" in ordered
        return cls(
            num_speakers=counts["num_speakers"],
            min_speakers=counts["min_speakers"],
            max_speakers=counts["max_speakers"],
            beam_size=beam,
            vad=use_vad,
            steps=ordered,
            language=language,
            model=model,
            glossary=terms,
            template=template or None,
            channels=channels,
            prompt=_bounded_prompt(prompt),
            word_timestamps=word_timestamps,
            task=task,
            url=url,
        )

    def transcription_options(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "initial_prompt": self.prompt,
            "hotwords": self.glossary,
            "word_timestamps": self.word_timestamps,
            "channels": self.channels,
            "beam_size": self.beam_size,
            "vad": self.vad,
            **({"task": self.task} if self.task != "transcribe" else {}),
        }

    def speaker_counts(self) -> dict[str, int | None]:
        """``{"num_speakers", "min_speakers", "max_speakers"}`` for the diarization (None: found)."""
        return {"num_speakers": self.num_speakers, "min_speakers": self.min_speakers, "max_speakers": self.max_speakers}


#: The longest recording name kept, in characters (a file system's usual limit on a file name).
MAX_NAME_CHARS = 255
#: An extension longer than this is not one worth keeping whole when a name is cut.
MAX_EXTENSION_CHARS = 16


#: The longest initial prompt taken, in characters (Whisper keeps at most 223 tokens of it anyway).
MAX_PROMPT_CHARS = 1000


def _bounded_prompt(prompt: str | None) -> str | None:
    text = (prompt or "").strip()
    if len(text) > MAX_PROMPT_CHARS:
        raise ConfigurationError(f"the prompt has {len(text)} characters; at most {MAX_PROMPT_CHARS} are taken")
    return text or None


def _ordered_steps(settings: Settings, chosen: list[str], extra: Sequence[str] = ()) -> list[str]:
    """The chosen steps and the ``extra`` steps the submission brings in (a URL's download), in registry
    order.

    Raises:
        ConfigurationError: no step, an unknown step, a step without a step it depends on, or a diarization
            without a transcription (nothing would show its result).
    """
    if not chosen:
        raise ConfigurationError("no step is left to run: choose at least transcription")
    unknown = [s for s in chosen if s not in CHOOSABLE_STEPS]
    if unknown:
        raise ConfigurationError(f"unknown steps {echo(unknown)}; allowed: {', '.join(CHOOSABLE_STEPS)}")
    chosen += [name for name in extra if name not in chosen]
    for name in chosen:
        missing = [required for required in get_step(name).depends_on if required not in chosen]
        if missing:
            raise ConfigurationError(f"the steps must include {', '.join(missing)}: {name} needs it")
    if "diarization" in chosen and "transcription" not in chosen:
        # Its turns are stored for the speakers step only: no page, export or API answer shows them.
        raise ConfigurationError(
            "diarization alone shows nothing: its speakers appear on a transcript, so add transcription "
            "(steps=transcription,diarization,speakers)"
        )
    return [s for s in PIPELINE_STEPS if s in chosen]


def _checked_language(language: str | None) -> str | None:
    """A Whisper language code in lower case, or None for none or ``auto``.

    Raises:
        ConfigurationError: a code Whisper does not know.
    """
    language = (language or "").strip().lower() or None
    if language in ("auto",):
        language = None
    if language is not None and language not in whisper_languages():
        raise ConfigurationError(
            "language must be 'auto' or a code Whisper knows (ISO 639-1, such as 'en', 'de', 'zh'), "
            f"not {echo(language)}"
        )
    return language


def _checked_model(settings: Settings, model: str | None, language: str | None) -> str | None:
    """The model asked for, or None for the configured one (none asked, or an alias in
    ``DEFAULT_MODEL_ALIASES``).

    No model asked for, an English-only configured model and another language: the transcription uses
    ``settings.whisper_multilingual_model`` (:mod:`~stenograph.steps.transcription.model_choice`).

    Raises:
        ConfigurationError: as :func:`check_model_name`; or the model is English-only (``*.en``), ``language``
            is another, and the model was asked for (or switching is off: no multilingual model set).
    """
    model = (model or "").strip() or None
    asked = model if model is not None and model not in DEFAULT_MODEL_ALIASES else None
    chosen = asked is not None
    if asked is not None:
        check_model_name(settings, asked)
    effective = asked or settings.whisper_model
    switches = not chosen and bool(settings.whisper_multilingual_model.strip())
    if language not in (None, "en") and effective.endswith(".en") and not switches:
        raise ConfigurationError(
            f"the model {cut_text(effective)} transcribes English only; for language {echo(language)} choose a "
            "multilingual model such as model=base"
        )
    return None if model in DEFAULT_MODEL_ALIASES else model


TASKS = ("transcribe", "translate")


def _checked_task(settings: Settings, task: str | None, model: str | None) -> str:
    """``transcribe`` (the default, also for an empty value) or ``translate`` (Whisper's translation into
    English), checked against the model: ``model`` is the one asked for (None: the configured one, which
    gives way to ``settings.whisper_multilingual_model`` when it is English-only).

    Raises:
        ConfigurationError: another task; or a translation with an English-only (``*.en``) model that was
            asked for, or configured with switching off.
    """
    task = (task or "").strip().lower() or "transcribe"
    if task not in TASKS:
        raise ConfigurationError(f"task must be 'transcribe' or 'translate', not {echo(task)}")
    if task == "translate":
        check_translation_model(settings, model)
    return task


def check_translation_model(settings: Settings, model: str | None) -> None:
    """Refuse a translation with an English-only (``*.en``) model: the one asked for (``model``), or with
    none asked for (None, empty or an alias of ``DEFAULT_MODEL_ALIASES``) the configured one unless it gives
    way to ``settings.whisper_multilingual_model``.

    Raises:
        ConfigurationError: the model cannot translate (the message names one that can).
    """
    asked = (model or "").strip()
    if asked in DEFAULT_MODEL_ALIASES:
        asked = ""
    effective = asked or settings.whisper_model
    if not asked and effective.endswith(".en") and settings.whisper_multilingual_model.strip():
        effective = settings.whisper_multilingual_model.strip()
    if effective.endswith(".en"):
        raise ConfigurationError(
            f"the model {cut_text(effective)} transcribes English only and cannot translate: choose a multilingual "
            "model such as model=base (or leave the model unset)"
        )


def _check_template(settings: Settings, template: str) -> None:
    """Raises ConfigurationError when the summary template ``template`` cannot be loaded."""
    from stenograph.steps.summary.summary import load_template

    try:
        load_template(template, settings.data_dir)
    except PermanentError as exc:
        raise ConfigurationError(str(exc)) from exc


#: The steps ``diarize=false`` (and ``channels=split``) leave out.
DIARIZATION_STEPS = ("diarization", "speakers")
#: The most speakers an upload may ask for.
MAX_SPEAKER_COUNT = 32


def _checked_speaker_counts(
    num: str | int | None, low: str | int | None, high: str | int | None, diarizes: bool
) -> dict[str, int | None]:
    """``{"num_speakers", "min_speakers", "max_speakers"}`` as whole numbers or None.

    Raises:
        ConfigurationError: see :meth:`PipelineRequest.build`.
    """
    counts: dict[str, int | None] = {}
    for name, value in (("num_speakers", num), ("min_speakers", low), ("max_speakers", high)):
        if value is None or (isinstance(value, str) and not value.strip()):
            counts[name] = None
            continue
        try:
            number = int(str(value).strip())
        except ValueError:
            number = 0
        if not 1 <= number <= MAX_SPEAKER_COUNT:
            raise ConfigurationError(f"{name} must be a whole number from 1 to {MAX_SPEAKER_COUNT}, not {echo(value)}")
        counts[name] = number
    given = [name for name, value in counts.items() if value is not None]
    if given and not diarizes:
        raise ConfigurationError(f"{', '.join(given)} is for diarization, which this upload does not run")
    if counts["num_speakers"] is not None and (counts["min_speakers"] or counts["max_speakers"]):
        raise ConfigurationError("give num_speakers, or min_speakers and max_speakers, not both")
    if counts["min_speakers"] and counts["max_speakers"] and counts["min_speakers"] > counts["max_speakers"]:
        raise ConfigurationError(
            f"min_speakers ({counts['min_speakers']}) is more than max_speakers ({counts['max_speakers']})"
        )
    return counts


def _checked_beam_size(beam_size: str | int | None) -> int | None:
    """``beam_size`` as a whole number, or None when not given (None or an empty string).

    Raises:
        ConfigurationError: not a whole number from 1 to 20.
    """
    if beam_size in (None, ""):
        return None
    try:
        beam = int(str(beam_size))
    except ValueError:
        beam = 0
    if not 1 <= beam <= 20:
        raise ConfigurationError(f"beam_size must be a whole number from 1 to 20, not {echo(beam_size)}")
    return beam


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_flag(value: str | bool | None, name: str, *, default: bool) -> bool:
    """An upload's yes/no option: true/false, 1/0, yes/no, on/off (any case); empty or None is ``default``.

    Raises:
        ConfigurationError: any other value (it would silently mean one or the other).
    """
    if isinstance(value, bool):
        return value
    text = (value or "").strip().lower()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false (or 1/0, yes/no, on/off), not {echo(value)}")


def clean_name(name: str) -> str:
    """The file name a client sent, as data: its last path part (browsers send no more), without control
    characters (NUL included: :func:`~stenograph.recordings.text_input.clean_text`), trimmed and cut to
    ``MAX_NAME_CHARS`` characters keeping its extension; ``untitled`` when nothing is left. Never used as
    a path."""
    last = clean_text(name.replace("\\", "/").rsplit("/", 1)[-1])
    if not last or last in (".", ".."):
        return "untitled"
    if len(last) <= MAX_NAME_CHARS:
        return last
    stem, dot, extension = last.rpartition(".")
    if not dot or not stem or len(extension) > MAX_EXTENSION_CHARS:
        return last[:MAX_NAME_CHARS].rstrip()
    return stem[: MAX_NAME_CHARS - len(extension) - 1].rstrip() + "." + extension


def check_model_name(settings: Settings, name: str) -> None:
    """Refuse a model this server cannot use: a path (absolute, or starting with ``.`` or ``~``) or an
    existing directory must be a CTranslate2 model folder; any other name needs downloads allowed.

    The message is the same whether a path does not exist, is not a directory or is not a model, so that
    a client learns nothing about the server's files.

    Raises:
        ConfigurationError: with what may be asked for and the way to allow downloads.
    """
    from stenograph.steps.transcription.whisper_models import is_ctranslate2_model

    if name in OFFLINE_MODELS:
        return
    try:
        local = Path(name).expanduser()
    except (RuntimeError, ValueError):  # "~user" of no such user
        local = Path(name)
    looks_like_path = name.startswith(("/", ".", "~")) or "\\" in name
    if is_ctranslate2_model(local):
        return
    if settings.whisper_allow_download and not looks_like_path and not _is_dir(local):
        return
    raise ConfigurationError(
        f"Whisper model {echo(name)} is not available: use {', '.join(OFFLINE_MODELS)}, a local folder holding a "
        "CTranslate2 model (model.bin and config.json), or with STENOGRAPH_WHISPER_ALLOW_DOWNLOAD=true a "
        "faster-whisper model name to download"
    )


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def media_json(info: MediaInfo) -> dict[str, Any]:
    return {
        "container": info.container,
        "audio_codec": info.audio_codec,
        "sample_rate": info.sample_rate,
        "channels": info.channels,
        "has_video": info.has_video,
        "video_codec": info.video_codec,
        "duration_s": info.duration_s,
    }


def probe_upload(path: Path) -> MediaInfo:
    """Probe a stored upload; on failure remove it and re-raise.

    Raises:
        MediaError: empty, not media, or no audio stream (the message says what was found).
    """
    try:
        return probe(path)
    except MediaError:
        path.unlink(missing_ok=True)
        raise


def submit_recording(
    queue: TaskQueue,
    store: TranscriptStore,
    request: PipelineRequest,
    *,
    name: str,
    stored_name: str,
    size_bytes: int,
    media: MediaInfo | None,
    stored_path: Path | None = None,
) -> tuple[int, list[TaskRecord]]:
    """Create the recording and its pipeline's tasks in one transaction; wakes local workers. An import
    from a URL (``request.url``) has no file yet: its download step writes it under ``stored_name``.

    Args:
        stored_path: the stored upload; removed when anything here fails, so that no file is left without
            its recording.

    Raises:
        Exception: whatever the database raised (nothing was created, and ``stored_path`` is gone).
    """
    try:
        recording_id, tasks = _create(queue, store, request, name, stored_name, size_bytes, media)
    except BaseException:
        if stored_path is not None:
            stored_path.unlink(missing_ok=True)
        raise
    queue.notify()
    return recording_id, tasks


def _create(
    queue: TaskQueue,
    store: TranscriptStore,
    request: PipelineRequest,
    name: str,
    stored_name: str,
    size_bytes: int,
    media: MediaInfo | None,
) -> tuple[int, list[TaskRecord]]:
    """The recording and its tasks, in one transaction.

    Each step's task requires the tasks of the steps it ``depends_on`` and runs after those of its ``after``
    steps whatever their outcome (a summary after a correction that failed summarises the original
    transcript). A step that ``needs_media`` runs only where the file is: on a worker of this data
    directory, or one that fetches files from the API server.
    """
    tasks: list[TaskRecord] = []
    store_id = data_dir_id(queue.settings.data_dir)
    with queue.engine.begin() as conn:
        recording_id = store.create_recording(
            name=name,
            stored_name=stored_name,
            size_bytes=size_bytes,
            duration_s=media.duration_s if media is not None else None,
            media=media_json(media) if media is not None else {},
            options={
                "steps": request.steps,
                "language": request.language,
                "model": request.model,
                "glossary": request.glossary,
                "template": request.template,
                "channels": request.channels,
                **({"task": request.task} if request.task != "transcribe" else {}),
                **request.speaker_counts(),
            },
            store_id=store_id,
            source_url=request.url,
            conn=conn,
        )
        ids: dict[str, int] = {}
        for step_name in request.steps:
            step = get_step(step_name)
            required = (*step.depends_on, *getattr(step, "depends_on_if_chosen", ()))
            task = enqueue_step(
                queue,
                step_name,
                step.task_params(request, recording_id),
                recording_id=recording_id,
                depends_on=[ids[d] for d in required if d in ids],
                after=[ids[other] for other in step.after if other in ids and other not in step.depends_on],
                waiting=request.waiting,
                conn=conn,
            )
            tasks.append(task)
            ids[step_name] = task.id
    return recording_id, tasks


def step_params(request: PipelineRequest, step: str, recording_id: int) -> dict[str, Any]:
    """The params of a pipeline step's task (the step says: :meth:`~stenograph.steps.base.Step.task_params`)."""
    return get_step(step).task_params(request, recording_id)


def enqueue_step(
    queue: TaskQueue,
    name: str,
    params: dict[str, Any],
    *,
    recording_id: int | None = None,
    depends_on: Sequence[int] = (),
    after: Sequence[int] = (),
    waiting: bool = False,
    conn: Connection | None = None,
) -> TaskRecord:
    """Enqueue a task of step ``name`` with what the step asks of the queue: the data directory's
    ``affinity`` when it needs the recording's media, a high priority when it is interactive or a client
    is ``waiting`` for it. A task may
    belong to no recording (``recording_id`` None: a webhook delivery, a question to the LLM) and require
    any number of tasks (``depends_on``: it starts once they have all completed).

    Raises:
        UnknownStep: no step is registered under ``name``.
    """
    step = get_step(name)
    return queue.enqueue(
        name,
        params,
        recording_id=recording_id,
        depends_on=list(depends_on) or None,
        after=list(after),
        affinity=data_dir_id(queue.settings.data_dir) if step.needs_media else None,
        priority=INTERACTIVE_PRIORITY if step.interactive or waiting else 0,
        conn=conn,
    )
