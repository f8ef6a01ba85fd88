"""Steps as plug-ins: the :class:`Step` protocol, :class:`StepBase` (its defaults), :class:`StepContext` (what
a running step is handed) and the registry (:mod:`stenograph.steps.registry`, re-exported here).

A step is an object with a name, typed params (a pydantic model), the steps it depends on, its cancel
grace and ``run(ctx, params)``. The worker runs it through :func:`run_step`; the submission of an upload
asks it for its task's params and where its task may run (:mod:`stenograph.steps.submit`). Neither the
worker nor the queue names a step. See ``docs/architecture.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import Engine

from stenograph.errors import NotFoundError, PermanentError
from stenograph.queue.context import TaskContext
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import Settings
from stenograph.steps.registry import STEPS, UnknownStep, all_steps, get_step, step_names

if TYPE_CHECKING:
    from stenograph.llm.base import LLMClient
    from stenograph.queue.hooks import FinishHook
    from stenograph.steps.diarization.diarizer import Diarizer
    from stenograph.steps.submit import PipelineRequest
    from stenograph.steps.transcription.transcriber import Transcriber

__all__ = [
    "INTERACTIVE_PRIORITY",
    "STEPS",
    "DiarizerFactory",
    "LLMFactory",
    "ProcessResources",
    "Step",
    "StepBase",
    "StepContext",
    "StepParams",
    "TranscriberFactory",
    "UnknownStep",
    "all_steps",
    "finish_hooks",
    "get_step",
    "run_step",
    "step_names",
]

log = logging.getLogger("stenograph.steps")

#: Priority of an interactive step's tasks: they are claimed before every pipeline task waiting.
INTERACTIVE_PRIORITY = 1000

#: ``(settings, model name or None) -> Transcriber``.
TranscriberFactory = Callable[[Settings, "str | None"], "Transcriber"]
#: ``settings -> Diarizer``.
DiarizerFactory = Callable[[Settings], "Diarizer"]
#: ``settings -> (client or None, its description for the task's result)``.
LLMFactory = Callable[[Settings], "tuple[LLMClient | None, dict[str, Any]]"]


class StepParams(BaseModel):
    """Base of a step's task params: unknown keys are ignored (older tasks, simulation knobs)."""

    model_config = ConfigDict(extra="ignore")


class Step(Protocol):
    """A pipeline step, as the registry, the worker and the submission see it.

    Attributes:
        name: its task type.
        depends_on: steps it requires: it runs once they completed, and fails when one fails.
        after: steps it runs after, whatever their outcome (order only).
        needs_media: its task runs where the recording's file is (the data directory's ``affinity``).
        interactive: a person waits for it: its tasks are claimed first, and a worker of two slots or more
            keeps one slot for interactive types.
        params_model: the pydantic model of its task's params.
    """

    name: str
    depends_on: tuple[str, ...]
    after: tuple[str, ...]
    needs_media: bool
    interactive: bool
    params_model: type[BaseModel]

    def cancel_grace_s(self, settings: Settings) -> float:
        """Seconds it gets to stop by itself after a cancel before its slot process is killed."""
        ...

    def task_params(self, request: PipelineRequest, recording_id: int | None) -> dict[str, Any]:
        """Its task's params (JSON) for an upload's request."""
        ...

    def run(self, ctx: StepContext, params: Any) -> dict[str, Any]:
        """Do the work; ``params`` is an instance of ``params_model``. Returns the task's result (JSON)."""
        ...


class StepBase:
    """Defaults of a :class:`Step`: no dependencies, no media, not interactive, the settings' cancel grace."""

    name: str = ""
    depends_on: tuple[str, ...] = ()
    #: Steps it requires when the submission chose them, and does without otherwise (the transcription of
    #: an import requires its download; an upload has none).
    depends_on_if_chosen: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    needs_media: bool = False
    interactive: bool = False
    params_model: type[BaseModel] = StepParams

    def cancel_grace_s(self, settings: Settings) -> float:
        return settings.cancel_grace_seconds

    def task_params(self, request: PipelineRequest, recording_id: int | None) -> dict[str, Any]:
        return {"recording_id": recording_id}


class ProcessResources:
    """What a process builds once and its steps share: one database engine per URL, one LLM client per
    choice (an embedded model is loaded once). The worker's slot processes use :data:`PROCESS`."""

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}
        self._clients: dict[tuple[str, str | None, str | None], Any] = {}

    def store(self, settings: Settings) -> TranscriptStore:
        from stenograph.db import create_db_engine

        url = settings.resolved_database_url
        if url not in self._engines:
            self._engines[url] = create_db_engine(settings)
        return TranscriptStore(self._engines[url])

    def llm(self, settings: Settings) -> tuple[LLMClient | None, dict[str, Any]]:
        """The client the settings choose (None for none) and its description. The choice is made again
        for every task (Ollama may have started since); the client of a choice is built once."""
        from stenograph.llm.select import build_llm, choose_llm

        choice = choose_llm(settings)
        key = (choice.kind, choice.model, choice.endpoint)
        if key not in self._clients:
            self._clients[key] = build_llm(settings, choice=choice)
        client: LLMClient | None = self._clients[key]
        description = client.describe().to_dict() if client is not None else choice.describe().to_dict()
        if description.get("warning"):
            log.warning("%s", description["warning"])
        return client, description


#: This process's resources (a slot process keeps its engine and LLM clients between tasks).
PROCESS = ProcessResources()


def whisper_transcriber(settings: Settings, model: str | None) -> Transcriber:
    """The default transcriber: faster-whisper with the settings' model, or ``model`` when one is named."""
    from stenograph.steps.transcription.transcriber import FasterWhisperTranscriber

    chosen = bool(model) and model not in ("whisper-1", "default")
    if chosen:
        settings = settings.model_copy(update={"whisper_model": model})
    return FasterWhisperTranscriber(settings, language_check="warn" if chosen else "switch")


def engine_diarizer(settings: Settings) -> Diarizer:
    """The default diarizer: ``stenograph.steps.diarization.engine.build_diarizer(settings)``.

    Raises:
        PermanentError: the diarization engine is not installed in this build (no such module or function).
    """
    try:
        from stenograph.steps.diarization.engine import build_diarizer
    except ImportError as exc:
        raise PermanentError(
            f"the diarization engine cannot be loaded ({exc}): install the 'diarization' extra "
            "(pip install -e '.[diarization]', as make run does), or leave the diarization and speakers steps out "
            "(diarize=false, or STENOGRAPH_PIPELINE_STEPS)"
        ) from exc
    diarizer: Diarizer = build_diarizer(settings)
    return diarizer


class StepContext:
    """What a running step is handed: the worker's :class:`~stenograph.queue.context.TaskContext` (progress,
    cancel, settings, task id, attempt; this object is one too), the store, a transcriber factory and the
    LLM client, and a diarizer factory. Tests pass ``store``, ``transcriber``, ``llm`` and ``diarizer`` to run a
    step with fakes."""

    def __init__(
        self,
        task: TaskContext,
        *,
        store: TranscriptStore | None = None,
        transcriber: TranscriberFactory | None = None,
        llm: LLMFactory | None = None,
        resources: ProcessResources | None = None,
        diarizer: DiarizerFactory | None = None,
    ) -> None:
        self.task = task
        self._resources = resources or PROCESS
        self._store = store
        self._transcriber = transcriber or whisper_transcriber
        self._llm = llm or self._resources.llm
        self._diarizer = diarizer or engine_diarizer

    @property
    def task_id(self) -> int:
        return self.task.task_id

    @property
    def task_type(self) -> str:
        return self.task.task_type

    @property
    def attempt(self) -> int:
        return self.task.attempt

    @property
    def settings(self) -> Settings:
        return self.task.settings

    def report_progress(self, fraction: float, message: str = "", eta_s: float | None = None) -> None:
        self.task.report_progress(fraction, message, eta_s)

    @property
    def cancelled(self) -> bool:
        return self.task.cancelled

    def raise_if_cancelled(self) -> None:
        self.task.raise_if_cancelled()

    def progress(self) -> Callable[[float, str], None]:
        """``report_progress`` as the ``on_progress(fraction, message)`` callback of the step libraries."""
        return lambda fraction, message: self.report_progress(fraction, message)

    @property
    def store(self) -> TranscriptStore:
        """The recordings store (this process's engine, built once)."""
        if self._store is None:
            self._store = self._resources.store(self.settings)
        return self._store

    def recording(self, recording_id: int) -> dict[str, Any]:
        """The recording a task is for.

        Raises:
            PermanentError: it was deleted.
        """
        try:
            return self.store.recording(recording_id)
        except NotFoundError as exc:
            raise PermanentError(f"recording {recording_id} was deleted") from exc

    def transcriber(self, model: str | None = None) -> Transcriber:
        """A transcriber of ``model`` (None: the settings' model)."""
        return self._transcriber(self.settings, model)

    def diarizer(self) -> Diarizer:
        """A diarizer built from the settings (:func:`engine_diarizer` unless the context was given another)."""
        return self._diarizer(self.settings)

    def llm(self) -> tuple[LLMClient | None, dict[str, Any]]:
        """The LLM client (None for none) and its description. A server that is restarting is waited for,
        over ``llm_patience_seconds`` (:class:`~stenograph.llm.patience.PatientLLM`), cancellable."""
        from stenograph.llm.patience import PatientLLM

        client, description = self._llm(self.settings)
        if client is not None:
            client = PatientLLM(
                client,
                self.settings.llm_patience_seconds,
                should_stop=lambda: self.cancelled,
                on_wait=lambda message: self.report_progress(0.0, message),
            )
        return client, description


def finish_hooks() -> list[FinishHook]:
    """The queue's ``on_finished`` hooks the registered steps offer: a step that has a method
    ``on_tasks_finished(queue, conn, task_ids)`` is told, in the transaction that ended them, of every task
    that completed or failed for good (the webhook step enqueues its deliveries there)."""
    hooks: list[FinishHook] = []
    for step in all_steps():
        hook = getattr(step, "on_tasks_finished", None)
        if callable(hook):
            hooks.append(hook)
    return hooks


def run_step(step: Step, ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """Run ``step`` as a task handler: its params validated, a :class:`StepContext` around ``ctx``.

    Raises:
        PermanentError: the params are not valid for the step (not retried).
    """
    try:
        parsed = step.params_model.model_validate(params)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in exc.errors())
        raise PermanentError(f"the {step.name} task's params are not valid: {problems}") from exc
    context = ctx if isinstance(ctx, StepContext) else StepContext(ctx)
    return step.run(context, parsed)
