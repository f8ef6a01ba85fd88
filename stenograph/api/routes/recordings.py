"""``/recordings``: upload (streamed to disk), list and search, inspect, play (range requests), delete,
and re-run a pipeline step."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import AfterValidator, BaseModel

from stenograph.api.errors import APIError
from stenograph.api.routes.tasks import tasks_json
from stenograph.api.state import AppState, IdPath, OffsetQuery, SearchQuery, StateDep
from stenograph.api.uploads import ReceivedForm, receive_form
from stenograph.errors import ConfigurationError, MediaError
from stenograph.queue.records import iso
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import PIPELINE_STEPS
from stenograph.steps.correction.glossary import check_glossary
from stenograph.steps.submit import PipelineRequest, clean_name, probe_upload, step_params, submit_recording

router = APIRouter(prefix="/recordings", tags=["recordings"])

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


def store_of(state: AppState) -> TranscriptStore:
    return TranscriptStore(state.engine)


def recording_json(state: AppState, row: dict[str, Any], *, with_tasks: bool) -> dict[str, Any]:
    records, _ = state.queue.list_tasks(recording_id=row["id"], limit=1000)
    steps: dict[str, str] = {}
    for record in sorted(records, key=lambda r: r.id):  # the newest task of each step wins
        steps[record.type] = record.status
    data = {
        "id": row["id"],
        "name": row["name"],
        "created_at": iso(row["created_at"]),
        "duration_s": row["duration_s"],
        "size_bytes": row["size_bytes"],
        "media": row["media"],
        "options": row["options"],
        "speakers": row["speakers"],
        "steps": steps,
    }
    if with_tasks:
        data["tasks"] = tasks_json(state, sorted(records, key=lambda r: r.id))
    return data


@router.post("", status_code=201, operation_id="upload_recordings")
async def upload_recordings(request: Request, state: StateDep) -> dict[str, Any]:
    """Upload one or more files (multipart field ``file``, repeatable) with optional fields ``steps``,
    ``language``, ``model``, ``glossary``, ``template``, ``channels`` (mix|split), ``prompt``,
    ``word_timestamps``, ``beam_size`` and ``vad`` (true|false).

    413 over ``STENOGRAPH_MAX_UPLOAD_BYTES``; 507 disk full; 422 an empty file or bad options; 415 not
    media or no audio stream. A refused request keeps nothing. The body is streamed to disk on the event
    loop; probing and the database work run in a worker thread, so other requests are answered meanwhile.
    """
    form = await receive_form(request, state.settings.uploads_dir, state.settings.max_upload_bytes)
    try:
        return await asyncio.to_thread(_create_recordings, state, form)
    except Exception:
        form.discard()  # what was submitted stays; the others' files go (a no-op for files already gone)
        raise


def _create_recordings(state: AppState, form: ReceivedForm) -> dict[str, Any]:
    """The blocking part of an upload: options, probes, the recordings and their tasks, the answer.

    Raises:
        APIError: 422 no file or bad options, 415/422 a file that is not usable media; nothing is kept.
    """
    settings = state.settings
    if not form.files:
        raise APIError(422, "no_file", "no file was sent: use the multipart field 'file'")
    try:
        pipeline = PipelineRequest.build(
            settings,
            steps=form.first("steps"),
            language=form.first("language"),
            model=form.first("model"),
            glossary=form.first("glossary"),
            template=form.first("template"),
            channels=form.first("channels"),
            prompt=form.first("prompt"),
            word_timestamps=(form.first("word_timestamps") or "").lower() in ("1", "true", "yes", "on"),
            beam_size=form.first("beam_size"),
            vad=form.first("vad"),
        )
    except ConfigurationError as exc:
        raise APIError(422, "invalid_options", str(exc)) from exc
    probed = []
    for received in form.files:
        try:
            probed.append((received, probe_upload(received.path)))
        except MediaError as exc:
            status = 422 if exc.kind in ("empty_file", "damaged") else 415
            raise APIError(status, exc.kind, f"{received.filename}: {exc}", filename=received.filename) from exc
    store = store_of(state)
    created = []
    for number, (received, media) in enumerate(probed):
        recording_id, _ = submit_recording(
            state.queue,
            store,
            pipeline,
            name=clean_name(received.filename),
            stored_name=received.path.name,
            size_bytes=received.size_bytes,
            media=media,
            stored_path=received.path,
        )
        form.files[number] = dataclasses.replace(received, submitted=True)
        created.append(recording_json(state, store.recording(recording_id), with_tasks=True))
    return {"data": created}


@router.get("", operation_id="list_recordings")
def list_recordings(
    state: StateDep,
    q: SearchQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: OffsetQuery = 0,
) -> dict[str, Any]:
    """Recordings newest first; ``q`` searches names and transcript text (FTS5 trigram on SQLite, words as
    prefixes on PostgreSQL). 422 when ``q`` has more than 16 words or 200 characters."""
    rows, count = store_of(state).recordings(q=q, limit=limit, offset=offset)
    return {"data": [recording_json(state, r, with_tasks=False) for r in rows], "count": count}


@router.get("/{recording_id}", operation_id="get_recording")
def get_recording(recording_id: IdPath, state: StateDep) -> dict[str, Any]:
    return recording_json(state, store_of(state).recording(recording_id), with_tasks=True)


@router.get("/{recording_id}/media", operation_id="get_recording_media", response_class=FileResponse)
def get_media(recording_id: IdPath, state: StateDep) -> FileResponse:
    """The recording's file, with HTTP range requests for playback."""
    row = store_of(state).recording(recording_id)
    path = state.settings.uploads_dir / row["stored_name"]
    if not path.exists():
        raise APIError(404, "not_found", f"the file of recording {recording_id} is missing from the data directory")
    media = row["media"] or {}
    mime = MIME_TYPES.get(str(media.get("container")), "application/octet-stream")
    if mime.startswith("video/") and not media.get("has_video"):
        mime = mime.replace("video/", "audio/")
    return FileResponse(path, media_type=mime, content_disposition_type="inline", filename=row["name"])


@router.delete("/{recording_id}", status_code=204, operation_id="delete_recording")
def delete_recording(recording_id: IdPath, state: StateDep) -> Response:
    """Remove the recording's file and rows (409 while one of its tasks runs; pending ones are cancelled)."""
    store = store_of(state)
    row = store.recording(recording_id)
    records, _ = state.queue.list_tasks(recording_id=recording_id, limit=1000)
    running = [r.id for r in records if r.status == "running"]
    if running:
        raise APIError(
            409,
            "recording_busy",
            f"task {running[0]} of this recording is running; cancel it and wait for it to stop first",
            status="running",
        )
    for record in records:
        if record.status == "pending":
            state.queue.cancel(record.id)
        state.queue.delete(record.id)
    store.delete_recording(recording_id)
    (state.settings.uploads_dir / row["stored_name"]).unlink(missing_ok=True)
    return Response(status_code=204)


class StepBody(BaseModel):
    template: str | None = None
    glossary: Annotated[list[str], AfterValidator(check_glossary)] | None = None
    language: str | None = None
    model: str | None = None
    channels: str | None = None


@router.post("/{recording_id}/steps/{step}", status_code=201, operation_id="rerun_step")
def rerun_step(
    recording_id: IdPath, step: str, state: StateDep, body: Annotated[StepBody | None, Body()] = None
) -> dict[str, Any]:
    """Run a pipeline step again (another template, glossary, model...): a new task, then a new version."""
    if step not in PIPELINE_STEPS:
        raise APIError(422, "unknown_step", f"unknown step {step!r}; allowed: {', '.join(PIPELINE_STEPS)}")
    store = store_of(state)
    row = store.recording(recording_id)
    spec = body or StepBody()
    options = row["options"] or {}
    try:
        pipeline = PipelineRequest.build(
            state.settings,
            steps=["transcription", step],
            language=spec.language if spec.language is not None else options.get("language"),
            model=spec.model if spec.model is not None else options.get("model"),
            glossary=spec.glossary if spec.glossary is not None else options.get("glossary"),
            template=spec.template if spec.template is not None else options.get("template"),
            channels=spec.channels if spec.channels is not None else options.get("channels"),
        )
    except ConfigurationError as exc:
        raise APIError(422, "invalid_options", str(exc)) from exc
    if step != "transcription" and not store.versions(recording_id):
        raise APIError(409, "no_transcript", "this recording has no transcript yet: run transcription first")
    task = state.queue.enqueue(step, step_params(pipeline, step, recording_id), recording_id=recording_id)
    return tasks_json(state, [task])[0]
