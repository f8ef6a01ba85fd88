"""The schema as SQLAlchemy 2 models. Alembic migrations in ``stenograph/db/migrations`` create it.

Times are stored as UTC (:class:`UTCDateTime`), durations in seconds, sizes in bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
    literal_column,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from stenograph.queue.states import status_check_sql


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps it as naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use stenograph.clock.now()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: SQLite AUTOINCREMENT: the id of a deleted row is never given to a new one.
NEVER_REUSE_IDS: dict[str, Any] = {"sqlite_autoincrement": True}


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Task(Base):
    """A unit of work. Status: pending, running, completed, failed or cancelled (see queue.states)."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error_kind: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    worker_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    progress_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    eta_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    depends_on: Mapped[int | None] = mapped_column(Integer, ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True)
    recording_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("recordings.id", ondelete="CASCADE"), nullable=True
    )
    #: The data directory (:mod:`stenograph.datadir` id) whose workers must run it; None: any worker.
    affinity: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        CheckConstraint(status_check_sql(), name="ck_tasks_status"),  # generated from TaskStatus
        CheckConstraint("progress >= 0 AND progress <= 1", name="ck_tasks_progress"),
        # Pending tasks only, in the claim's order (priority DESC, then run_after, age, id), so that taking
        # the next task reads the index's first entry instead of sorting every pending task (revisions
        # 0004 and 0005). Partial indexes need the status written as a literal in queries.
        Index(
            "ix_tasks_claim",
            text("priority DESC"),
            "run_after",
            "created_at",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_tasks_running",
            "lease_expires_at",
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
        # Only tasks with the link (revision 0013): most tasks have no requirement, some no recording.
        Index(
            "ix_tasks_depends_on",
            "depends_on",
            sqlite_where=text("depends_on IS NOT NULL"),
            postgresql_where=text("depends_on IS NOT NULL"),
        ),
        Index(
            "ix_tasks_recording_id",
            "recording_id",
            sqlite_where=text("recording_id IS NOT NULL"),
            postgresql_where=text("recording_id IS NOT NULL"),
        ),
        Index("ix_tasks_updated_at", "updated_at"),
        {"sqlite_autoincrement": True},  # ids of deleted rows are never given again
    )


class TaskDependency(Base):
    """An edge: ``task_id`` waits for ``depends_on`` to end. ``required``: it fails (is cancelled) with it;
    otherwise it runs once the dependency has completed or failed (revision 0006)."""

    __tablename__ = "task_dependencies"

    task_id: Mapped[int] = mapped_column(Integer, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    depends_on: Mapped[int] = mapped_column(
        Integer, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    required: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class TaskEvent(Base):
    """One transition of a task: the task's history."""

    __tablename__ = "task_events"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(Integer, ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    worker_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)


class Worker(Base):
    """A worker process start. ``id`` is unique per start (host, pid, start time)."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    concurrency: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: The task types it takes (``--task-types``); None: every type.
    task_types: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class Recording(Base):
    """An uploaded audio or video file. ``name`` is the original file name: data, never a path."""

    __tablename__ = "recordings"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    stored_name: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    media: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    speakers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The data directory holding the file (:mod:`stenograph.datadir` id); None before revision 0006.
    store_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Where an import from a URL came from, and the title the site gave (revision 0010); None for uploads.
    source_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_title: Mapped[str | None] = mapped_column(Text, nullable=True)


class TranscriptVersion(Base):
    """One version of a recording's transcript: original (Whisper), corrected (LLM) or edited (a person).

    ``complete`` is False while a transcription is still storing segments (they are stored as they come, so
    an interrupted transcription resumes from the last one).
    """

    __tablename__ = "transcript_versions"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[int] = mapped_column(Integer, ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text: Mapped[str] = mapped_column(Text, default="")


class SegmentRow(Base):
    """One segment of a transcript version (times in seconds)."""

    __tablename__ = "segments"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("transcript_versions.id", ondelete="CASCADE"), index=True
    )
    idx: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    avg_logprob: Mapped[float] = mapped_column(Float, default=0.0)
    no_speech_prob: Mapped[float] = mapped_column(Float, default=0.0)
    words: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    channel: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: The diarized speaker ("Speaker 1"...), None without diarization (revision 0007).
    speaker_label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Another speaker talks during this segment (it has the dominant one).
    overlap: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Diarization(Base):
    """One diarization task's result: speaker turns ``[[start_s, end_s, label], ...]``, the labels, each label's
    voice embedding and the model (revision 0007)."""

    __tablename__ = "diarizations"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[int] = mapped_column(Integer, ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    model: Mapped[str] = mapped_column(String(200), default="")
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    speakers: Mapped[list[str]] = mapped_column(JSON, default=list)
    turns: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    embeddings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SpeakerProfile(Base):
    """A named person's voice kept for later recordings (revision 0011): docs/speaker-profiles.md."""

    __tablename__ = "speaker_profiles"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SpeakerProfileEmbedding(Base):
    """One voice embedding of a profile: a diarized label's embedding in one diarization (revision 0011)."""

    __tablename__ = "speaker_profile_embeddings"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    profile_id: Mapped[int] = mapped_column(Integer, ForeignKey("speaker_profiles.id", ondelete="CASCADE"), index=True)
    #: Where it came from (no foreign key: a deleted recording leaves a named voice in its profile).
    recording_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    diarization_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    label: Mapped[str] = mapped_column(String(64))
    embedding: Mapped[list[float]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Summary(Base):
    """A summary of a transcript version (Markdown plus structured fields)."""

    __tablename__ = "summaries"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[int] = mapped_column(Integer, ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    markdown: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AppSetting(Base):
    """Settings a user changes at run time through the API (the global glossary)."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class WebhookEndpoint(Base):
    """A URL told of recording and task events, with its own secret (revision 0009; docs/webhooks.md)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(128))
    #: The events it wants (a list of names); None: every event.
    events: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    #: Whether its payloads carry the transcript's text.
    include_transcript: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookDelivery(Base):
    """One message to one endpoint, and how its delivery went (revision 0009). ``endpoint_id`` None: one of
    ``STENOGRAPH_WEBHOOK_URLS``. Status: pending, delivered or failed (given up)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=True
    )
    url: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WatchedFile(Base):
    """A file taken from a watched folder, known by the SHA-256 of its content (revision 0012,
    docs/watch-folders.md). ``status``: ``taking`` (being submitted), ``submitted`` (``recording_id`` made) or
    ``skipped`` (not media: ``reason`` says why). ``exported_at``: its outputs were written (or could not be:
    ``export_error``)."""

    __tablename__ = "watched_files"
    __table_args__ = (Index("ix_watched_files_unexported", "status", "exported_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    folder: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    recording_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    export_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


tasks_table = cast(Table, Task.__table__)
#: Status tests written as SQL literals, so that SQLite uses the partial indexes on ``tasks`` (a bound
#: parameter does not match an index's WHERE clause).
TASK_IS_PENDING = tasks_table.c.status == literal_column("'pending'")
TASK_IS_RUNNING = tasks_table.c.status == literal_column("'running'")
events_table = cast(Table, TaskEvent.__table__)
dependencies_table = cast(Table, TaskDependency.__table__)
workers_table = cast(Table, Worker.__table__)
webhook_endpoints_table = cast(Table, WebhookEndpoint.__table__)
webhook_deliveries_table = cast(Table, WebhookDelivery.__table__)
recordings_table = cast(Table, Recording.__table__)
watched_files_table = cast(Table, WatchedFile.__table__)
