"""The API's public schemas: one per resource, list envelopes ``{data, count}``, the error body.

Each is built from the service's views (``from_view``); the field names and values are the JSON the API has
always answered. Times are ISO 8601 in UTC with a ``Z`` suffix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from stenograph.queue import TaskEventRecord, WorkerRecord
from stenograph.queue.records import iso
from stenograph.recordings.store import Version
from stenograph.service import transcript_json, version_json
from stenograph.service.views import (
    DiffView,
    GlossaryView,
    HealthView,
    RecordingView,
    SummaryView,
    TaskDetailView,
    TaskView,
    TranscriptView,
)

Action = Literal["cancel", "retry", "delete"]
TaskStatusName = Literal["pending", "running", "completed", "failed", "cancelled"]


# --- errors -----------------------------------------------------------------------------------------
class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="Machine-readable, such as not_found, invalid_request, illegal_transition.")
    message: str = Field(description="What went wrong and what to do, for people.")


class ErrorBody(BaseModel):
    """Every error: ``{"detail": {"code", "message", ...}}`` (some add ``status`` or ``filename``)."""

    detail: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such resource."},
    409: {"model": ErrorBody, "description": "Not allowed in the current state."},
    422: {"model": ErrorBody, "description": "Invalid request."},
}


# --- tasks ------------------------------------------------------------------------------------------
class TaskErrorPublic(BaseModel):
    kind: str
    message: str | None


class TaskPublic(BaseModel):
    """A task of the queue. ``actions``: what may be done with it now, decided by the server."""

    id: int
    type: str
    status: TaskStatusName
    priority: int
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: TaskErrorPublic | None
    attempts: int
    max_attempts: int
    run_after: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    updated_at: str | None
    duration_s: float | None
    worker_id: str | None
    lease_expires_at: str | None
    progress: float
    progress_message: str | None
    eta_s: float | None
    cancel_requested: bool
    depends_on: int | None
    recording_id: int | None
    affinity: str | None
    recording_name: str | None
    actions: list[Action] = Field(
        description="Allowed now: cancel (pending, running), retry (failed, cancelled), delete (not running)."
    )

    @classmethod
    def from_view(cls, view: TaskView) -> TaskPublic:
        r = view.record
        return cls(
            id=r.id,
            type=r.type,
            status=r.status,
            priority=r.priority,
            params=r.params,
            result=r.result,
            error=TaskErrorPublic(kind=r.error_kind, message=r.error_message) if r.error_kind else None,
            attempts=r.attempts,
            max_attempts=r.max_attempts,
            run_after=iso(r.run_after),
            created_at=iso(r.created_at),
            started_at=iso(r.started_at),
            finished_at=iso(r.finished_at),
            updated_at=iso(r.updated_at),
            duration_s=r.duration_s,
            worker_id=r.worker_id,
            lease_expires_at=iso(r.lease_expires_at),
            progress=r.progress,
            progress_message=r.progress_message,
            eta_s=r.eta_s,
            cancel_requested=r.cancel_requested,
            depends_on=r.depends_on,
            recording_id=r.recording_id,
            affinity=r.affinity,
            recording_name=view.recording_name,
            actions=view.actions,
        )


class TaskEventPublic(BaseModel):
    at: str | None
    from_status: str | None
    to_status: str
    worker_id: str | None
    message: str | None

    @classmethod
    def from_record(cls, event: TaskEventRecord) -> TaskEventPublic:
        return cls(
            at=iso(event.at),
            from_status=event.from_status,
            to_status=event.to_status,
            worker_id=event.worker_id,
            message=event.message,
        )


class TaskDetail(TaskPublic):
    """A task with ``events``, its history (oldest first)."""

    events: list[TaskEventPublic]

    @classmethod
    def from_detail(cls, detail: TaskDetailView) -> TaskDetail:
        task = TaskPublic.from_view(detail.task)
        return cls(**task.__dict__, events=[TaskEventPublic.from_record(e) for e in detail.events])


class TaskList(BaseModel):
    data: list[TaskPublic]
    count: int = Field(description="Tasks matching the filters, all pages.")


class WorkerPublic(BaseModel):
    id: str
    hostname: str
    pid: int
    concurrency: int
    started_at: str | None
    heartbeat_at: str | None
    stopped_at: str | None
    live: bool = Field(description="Its heartbeat is fresh.")
    running_task_ids: list[int]
    task_types: list[str] | None = Field(description="The task types it takes; null: every type.")

    @classmethod
    def from_record(cls, worker: WorkerRecord) -> WorkerPublic:
        return cls(
            id=worker.id,
            hostname=worker.hostname,
            pid=worker.pid,
            concurrency=worker.concurrency,
            started_at=iso(worker.started_at),
            heartbeat_at=iso(worker.heartbeat_at),
            stopped_at=iso(worker.stopped_at),
            live=worker.live,
            running_task_ids=list(worker.running_task_ids),
            task_types=None if worker.task_types is None else list(worker.task_types),
        )


class WorkerList(BaseModel):
    data: list[WorkerPublic]
    count: int


# --- recordings -------------------------------------------------------------------------------------
class RecordingPublic(BaseModel):
    """A recording. ``steps``: the status of the newest task of each pipeline step."""

    id: int
    name: str
    created_at: str | None
    duration_s: float | None
    size_bytes: int
    media: dict[str, Any] | None = Field(description="What probing found: container, codecs, channels...")
    options: dict[str, Any] | None = Field(description="The upload's steps, language, model, glossary...")
    speakers: dict[str, Any] | None
    steps: dict[str, TaskStatusName]
    source_url: str | None = Field(default=None, description="An import's URL (null for an upload).")
    source_title: str | None = Field(default=None, description="The title the imported page gave.")

    @classmethod
    def fields_of(cls, view: RecordingView) -> dict[str, Any]:
        return {
            "id": view.id,
            "name": view.name,
            "created_at": iso(view.created_at),
            "duration_s": view.duration_s,
            "size_bytes": view.size_bytes,
            "media": view.media,
            "options": view.options,
            "speakers": view.speakers,
            "steps": view.steps,
            "source_url": view.source_url,
            "source_title": view.source_title,
        }

    @classmethod
    def from_view(cls, view: RecordingView) -> RecordingPublic:
        return cls(**cls.fields_of(view))


class RecordingWithTasks(RecordingPublic):
    """A recording with its tasks, oldest first."""

    tasks: list[TaskPublic]

    @classmethod
    def from_view(cls, view: RecordingView) -> RecordingWithTasks:
        return cls(**cls.fields_of(view), tasks=[TaskPublic.from_view(t) for t in view.tasks or []])


class RecordingList(BaseModel):
    data: list[RecordingPublic]
    count: int = Field(description="Recordings matching the search, all pages.")


class RecordingUploads(BaseModel):
    """The recordings an upload created, in the order of its files."""

    data: list[RecordingWithTasks]


# --- transcripts ------------------------------------------------------------------------------------
class VersionPublic(BaseModel):
    """A transcript version: ``original`` (Whisper's), ``translation`` (Whisper's into English), ``corrected``
    or ``edited``."""

    id: int
    number: int
    kind: str
    complete: bool
    task_id: int | None
    created_at: str | None
    language: str | None
    info: dict[str, Any]

    @classmethod
    def from_version(cls, version: Version) -> VersionPublic:
        return cls.model_validate(version_json(version))


class VersionList(BaseModel):
    data: list[VersionPublic]
    count: int


class WordPublic(BaseModel):
    start: float
    end: float
    word: str
    probability: float


class SegmentPublic(BaseModel):
    """A segment; ``words`` only when words were timed (an upload's default; ``word_timestamps=false`` not)."""

    model_config = ConfigDict(extra="allow")

    index: int
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    channel: str | None
    speaker: str | None = Field(default=None, description="The name shown: a given name, else the label or none.")
    speaker_label: str | None = Field(default=None, description="The diarized speaker (Speaker 1...), or null.")
    overlap: bool = Field(default=False, description="Another speaker talks during this segment.")


class TranscriptPublic(BaseModel):
    """A transcript version with its segments (also ``stenograph transcribe --format json``'s file)."""

    recording_id: int
    version: VersionPublic
    language: str | None
    language_probability: float | None
    duration_s: float | None
    model: str | None
    warnings: list[str]
    text: str
    segments: list[SegmentPublic]

    @classmethod
    def from_view(cls, view: TranscriptView) -> TranscriptPublic:
        return cls.model_validate(transcript_json(view))


class DiffSegment(BaseModel):
    index: int
    start: float
    end: float
    original: str | None = Field(description="The text in the base version (null: not there).")
    corrected: str | None = Field(description="The text in the other version (null: not there).")
    changed: bool


class Diff(BaseModel):
    base: VersionPublic
    other: VersionPublic
    changed: int = Field(description="Segments whose text differs.")
    segments: list[DiffSegment]

    @classmethod
    def from_view(cls, view: DiffView) -> Diff:
        return cls(
            base=VersionPublic.from_version(view.base),
            other=VersionPublic.from_version(view.other),
            changed=view.changed,
            segments=[
                DiffSegment(
                    index=r.index,
                    start=r.start,
                    end=r.end,
                    original=r.original,
                    corrected=r.corrected,
                    changed=r.changed,
                )
                for r in view.segments
            ],
        )


class Speakers(BaseModel):
    """Names of channels or speakers: ``{"names": {"left": "Alice"}}``."""

    names: dict[str, str]


class SummaryItem(BaseModel):
    """A key point or decision of a summary and the transcript time it cites."""

    text: str
    timestamp_s: float | None = Field(
        default=None,
        description="Start (seconds) of the segment the item comes from; null when unknown (a decision or "
        "action item of a summary written before they cited timestamps).",
    )


class SummaryActionItem(SummaryItem):
    """An action item: its text, owner (null when nobody was named) and the transcript time it cites."""

    owner: str | None = None


def _stored_items(value: Any) -> Any:
    """Items as summaries of every version stored them: a plain string (the decisions of summaries written
    before decisions cited timestamps) is ``{"text": ...}`` with no timestamp."""
    return [{"text": item} if isinstance(item, str) else item for item in value] if isinstance(value, list) else value


class SummaryPublic(BaseModel):
    """The summary's structured fields (those of its template), its Markdown and ids. Key points,
    decisions and action items each carry ``timestamp_s``; older stored shapes are read as well."""

    model_config = ConfigDict(extra="allow")

    markdown: str
    id: int
    task_id: int | None
    key_points: list[SummaryItem] = Field(default_factory=list)
    decisions: list[SummaryItem] = Field(default_factory=list)
    action_items: list[SummaryActionItem] = Field(default_factory=list)

    @field_validator("key_points", "decisions", "action_items", mode="before")
    @classmethod
    def _read_older_shapes(cls, value: Any) -> Any:
        return _stored_items(value)

    @classmethod
    def from_view(cls, view: SummaryView) -> SummaryPublic:
        return cls.model_validate({**view.data, "markdown": view.markdown, "id": view.id, "task_id": view.task_id})


class GlossaryPublic(BaseModel):
    terms: list[str] = Field(description="The global glossary.")
    from_settings: list[str] = Field(description="STENOGRAPH_GLOSSARY's terms, used as well.")

    @classmethod
    def from_view(cls, view: GlossaryView) -> GlossaryPublic:
        return cls(terms=view.terms, from_settings=view.from_settings)


# --- system -----------------------------------------------------------------------------------------
class Health(BaseModel):
    status: Literal["ok"]
    database: str = Field(description="sqlite or postgresql.")

    @classmethod
    def from_view(cls, view: HealthView) -> Health:
        return cls(status="ok", database=view.database)


class LLMSettings(BaseModel):
    """The LLM of the correction and summary steps; ``warning`` when transcript text leaves this machine,
    ``error`` (only then present) when the settings name one that cannot be used."""

    kind: str
    model: str | None
    endpoint: str | None
    local: bool
    warning: str | None
    reason: str | None
    error: str | None = None


class LoginResult(BaseModel):
    ok: bool


# --- OpenAI-compatible ------------------------------------------------------------------------------
class OpenAIModel(BaseModel):
    id: str
    object: Literal["model"] = "model"
    owned_by: str = "stenograph"


class OpenAIModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[OpenAIModel]


class OpenAITranscription(BaseModel):
    """``response_format=json``; ``verbose_json`` adds language, duration, segments (and words)."""

    model_config = ConfigDict(extra="allow")

    text: str


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str


class OpenAIError(BaseModel):
    """OpenAI's error shape, with ours beside it."""

    error: OpenAIErrorDetail
    detail: ErrorDetail


class SpeakerProfilePublic(BaseModel):
    """A voice profile (docs/speaker-profiles.md): its name and how many voice embeddings (from how many
    recordings) it holds; the embeddings themselves never leave the server."""

    id: int
    name: str
    embeddings: int = Field(description="How many voice embeddings it holds.")
    recordings: int = Field(description="From how many recordings they came.")
    created_at: datetime
    updated_at: datetime


class SpeakerProfileList(BaseModel):
    data: list[SpeakerProfilePublic]
    count: int
    enabled: bool = Field(description="STENOGRAPH_SPEAKER_PROFILES: false keeps no profiles.")


class SpeakerProfileRename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)]


class SpeakerProfileMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: int = Field(ge=1, description="The profile that keeps every voice; this one is deleted.")
