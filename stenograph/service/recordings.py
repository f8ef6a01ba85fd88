"""Use cases of recordings: submit uploads, list and search, read, play, delete, re-run a step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stenograph.errors import ConfigurationError, MediaError, NotFoundError, echo
from stenograph.queue import TaskRecord
from stenograph.service.base import ServiceBase
from stenograph.service.errors import Kind, ServiceError
from stenograph.service.tasks import TaskUseCases
from stenograph.service.views import MediaFile, RecordingView, TaskView
from stenograph.settings import CHOOSABLE_STEPS, PIPELINE_STEPS
from stenograph.steps.submit import (
    PipelineRequest,
    clean_name,
    enqueue_step,
    new_stored_name,
    probe_upload,
    step_params,
    submit_recording,
)

#: Content types by PyAV container name, for playback.
MIME_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "aac": "audio/aac",
    "matroska,webm": "video/webm",
    "mov,mp4,m4a,3gp,3g2,mj2": "video/mp4",
}


@dataclass
class StoredFile:
    """An upload already written into the data directory's uploads folder under a generated name.

    ``filename`` is the client's name: data, never a path. ``submitted``: its recording exists (set by
    :meth:`RecordingUseCases.submit_uploads`), so a front end cleaning up after a failure keeps it.
    """

    filename: str
    path: Path
    size_bytes: int = 0
    submitted: bool = False


def media_refusal(exc: MediaError, filename: str) -> ServiceError:
    """The refusal of a file that is not usable media (empty or damaged: invalid; else unsupported)."""
    kind: Kind = "invalid" if exc.kind in ("empty_file", "damaged") else "unsupported_media"
    return ServiceError(kind, exc.kind, f"{filename}: {exc}", reason=str(exc), filename=filename)


def steps_of(records: Sequence[TaskRecord]) -> dict[str, str]:
    """The status of the newest task of each pipeline step (questions about the recording are no step)."""
    steps: dict[str, str] = {}
    for record in sorted(records, key=lambda r: r.id):
        if record.type in PIPELINE_STEPS:
            steps[record.type] = record.status
    return steps


class RecordingUseCases(TaskUseCases, ServiceBase):
    # --- submitting ------------------------------------------------------------------------------
    def pipeline(self, **options: Any) -> PipelineRequest:
        """The pipeline an upload asks for (the fields of :meth:`PipelineRequest.build`).

        Raises:
            ServiceError: invalid options (``invalid_options``).
        """
        try:
            return PipelineRequest.build(self.settings, **options)
        except ConfigurationError as exc:
            raise ServiceError("invalid", "invalid_options", str(exc)) from exc

    def submit_uploads(self, files: Sequence[StoredFile], pipeline: PipelineRequest) -> list[RecordingView]:
        """Probe every file, then make each a recording with its pipeline's tasks (each in one transaction;
        local workers are woken). A file that is not usable media refuses them all before any is created,
        and is removed; each file whose recording exists is marked ``submitted``.

        Raises:
            ServiceError: no file (``no_file``), or one that is not usable media.
        """
        if not files:
            raise ServiceError("invalid", "no_file", "no file was sent: use the multipart field 'file'")
        probed = []
        for received in files:
            try:
                probed.append((received, probe_upload(received.path)))
            except MediaError as exc:
                raise media_refusal(exc, received.filename) from exc
        created = []
        for received, media in probed:
            recording_id, tasks = submit_recording(
                self.queue,
                self.store,
                pipeline,
                name=clean_name(received.filename),
                stored_name=received.path.name,
                size_bytes=received.size_bytes,
                media=media,
                stored_path=received.path,
            )
            received.submitted = True
            row = self.store.recording(recording_id)
            created.append(self._view(row, tasks, with_tasks=True))
        return created

    def submit_url(self, pipeline: PipelineRequest, *, with_files: bool = False) -> RecordingView:
        """An import from ``pipeline.url``: the recording (named by its URL until the download gives its
        title) and its pipeline, the ``download`` step first (docs/url-import.md).

        Raises:
            ServiceError: (invalid) files sent too, not an http(s) URL, or (unless
                ``url_import_allow_private``) its host resolves to a loopback or private address, or to none.
        """
        from stenograph.net_guard import RefusedAddress, check_resolved, check_url

        if with_files:
            raise ServiceError("invalid", "url_and_file", "send either files or a url, not both")
        try:
            url = check_url(pipeline.url or "")
            if not self.settings.url_import_allow_private:
                check_resolved(url)
        except RefusedAddress as exc:
            raise ServiceError("invalid", "refused_url", str(exc)) from exc
        recording_id, tasks = submit_recording(
            self.queue,
            self.store,
            pipeline,
            name=clean_name(url),
            stored_name=new_stored_name(),
            size_bytes=0,
            media=None,
        )
        return self._view(self.store.recording(recording_id), tasks, with_tasks=True)

    # --- reading ---------------------------------------------------------------------------------
    def _view(self, row: dict[str, Any], records: Sequence[TaskRecord], *, with_tasks: bool) -> RecordingView:
        ordered = sorted(records, key=lambda r: r.id)
        return RecordingView(
            id=row["id"],
            name=row["name"],
            created_at=row["created_at"],
            duration_s=row["duration_s"],
            size_bytes=row["size_bytes"],
            media=row["media"],
            options=row["options"],
            speakers=row["speakers"],
            steps=steps_of(ordered),
            tasks=[TaskView(r, row["name"]) for r in ordered] if with_tasks else None,
            source_url=row.get("source_url"),
            source_title=row.get("source_title"),
        )

    def list_recordings(
        self, *, q: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[RecordingView], int]:
        """Recordings newest first and how many match; ``q`` searches names and transcript text.

        A fixed number of statements whatever ``limit``: the page, its count, and the tasks of every
        recording on it in one query.
        """
        rows, count = self.store.recordings(q=q, limit=limit, offset=offset)
        tasks = self.queue.tasks_of_recordings(row["id"] for row in rows)
        return [self._view(row, tasks[row["id"]], with_tasks=False) for row in rows], count

    def get_recording(self, recording_id: int) -> RecordingView:
        """The recording with its tasks, oldest first. Raises NotFoundError."""
        row = self.store.recording(recording_id)
        tasks = self.queue.tasks_of_recordings([recording_id])[recording_id]
        return self._view(row, tasks, with_tasks=True)

    def media_file(self, recording_id: int) -> MediaFile:
        """The recording's file for playback. Raises NotFoundError, ServiceError (the file is missing)."""
        row = self.store.recording(recording_id)
        path = self.settings.uploads_dir / row["stored_name"]
        if not path.exists():
            raise ServiceError(
                "not_found", "not_found", f"the file of recording {recording_id} is missing from the data directory"
            )
        media = row["media"] or {}
        mime = MIME_TYPES.get(str(media.get("container")), "application/octet-stream")
        if mime.startswith("video/") and not media.get("has_video"):
            mime = mime.replace("video/", "audio/")
        return MediaFile(path=path, media_type=mime, filename=row["name"])

    # --- changing --------------------------------------------------------------------------------
    def delete_recording(self, recording_id: int) -> None:
        """Remove the recording's file, rows and tasks; pending tasks are cancelled first.

        Raises:
            NotFoundError: no such recording.
            ServiceError: one of its tasks is running (``recording_busy``, a conflict).
        """
        row = self.store.recording(recording_id)
        records = self.queue.tasks_of_recordings([recording_id])[recording_id]
        running = [r.id for r in records if r.status == "running"]
        if running:
            raise ServiceError(
                "conflict",
                "recording_busy",
                f"task {running[0]} of this recording is running; cancel it and wait for it to stop first",
                status="running",
            )
        for record in reversed(records):  # newest first: a task others depend on goes after them
            if record.status == "pending":
                self.queue.cancel(record.id)
            self.queue.delete(record.id)
        self.store.delete_recording(recording_id)
        (self.settings.uploads_dir / row["stored_name"]).unlink(missing_ok=True)

    def rerun_step(
        self,
        recording_id: int,
        step: str,
        *,
        template: str | None = None,
        glossary: list[str] | None = None,
        language: str | None = None,
        model: str | None = None,
        channels: str | None = None,
        task: str | None = None,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> TaskView:
        """Run a pipeline step again (another template, glossary, model...): a new task, then a new version.
        Options not given are the recording's own. A diarization is followed by a speakers task (that requires
        it), so a re-run diarization makes a new ``speakers`` version; the answer is the diarization's task.

        Raises:
            NotFoundError: no such recording.
            ServiceError: unknown step or bad options (invalid); no transcript yet for a later step (conflict).
        """
        if step not in CHOOSABLE_STEPS:  # not a webhook delivery, nor a download (retry that task instead)
            raise ServiceError(
                "invalid", "unknown_step", f"unknown step {echo(step)}; allowed: {', '.join(CHOOSABLE_STEPS)}"
            )
        row = self.store.recording(recording_id)
        options = row["options"] or {}
        counts = {"num_speakers": num_speakers, "min_speakers": min_speakers, "max_speakers": max_speakers}
        if all(value is None for value in counts.values()):
            counts = {k: options.get(k) for k in counts} if step in ("diarization", "speakers") else {}
        pipeline = self.pipeline(
            steps=["transcription", *(["diarization"] if step == "speakers" else []), step],
            **counts,
            language=language if language is not None else options.get("language"),
            model=model if model is not None else options.get("model"),
            glossary=glossary if glossary is not None else options.get("glossary"),
            template=template if template is not None else options.get("template"),
            channels=channels if channels is not None else options.get("channels"),
            task=task if task is not None else options.get("task"),
        )
        if step != "transcription" and not self.store.versions(recording_id):
            raise ServiceError(
                "conflict", "no_transcript", "this recording has no transcript yet: run transcription first"
            )
        params = step_params(pipeline, step, recording_id)
        for status in ("pending", "running"):  # the same re-run twice would do the same work twice
            waiting, _ = self.queue.list_tasks(recording_id=recording_id, type=step, status=status, limit=100)
            same = next((other for other in waiting if other.params == params), None)
            if same is not None:
                raise ServiceError(
                    "conflict",
                    "step_busy",
                    f"the same {step} of this recording is already {status} (task {same.id}): wait for it or "
                    "cancel it first",
                )
        if step == "speakers" and not self._has_diarization(recording_id):
            raise ServiceError("conflict", "no_diarization", "this recording has no diarization yet: run diarization")
        record = enqueue_step(self.queue, step, params, recording_id=recording_id)
        if step == "diarization":
            enqueue_step(
                self.queue,
                "speakers",
                step_params(pipeline, "speakers", recording_id),
                recording_id=recording_id,
                depends_on=[record.id],
            )
        return TaskView(record, row["name"])

    def _has_diarization(self, recording_id: int) -> bool:
        try:
            self.store.latest_diarization(recording_id)
        except NotFoundError:
            return False
        return True
