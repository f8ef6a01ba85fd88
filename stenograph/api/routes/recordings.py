"""``/recordings``: upload (streamed to disk), list and search, inspect, play (range requests), delete,
and re-run a pipeline step."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import AfterValidator, BaseModel, ConfigDict

from stenograph.api.errors import APIError
from stenograph.api.schemas import (
    ERROR_RESPONSES,
    ErrorBody,
    RecordingList,
    RecordingPublic,
    RecordingUploads,
    RecordingWithTasks,
    TaskPublic,
)
from stenograph.api.state import IdPath, OffsetQuery, SearchQuery, ServiceDep
from stenograph.api.uploads import ReceivedForm, receive_form
from stenograph.errors import cut_text
from stenograph.service import Stenograph
from stenograph.steps.correction.glossary import check_glossary

router = APIRouter(prefix="/recordings", tags=["recordings"], responses=ERROR_RESPONSES)

#: The fields an upload takes (``file`` repeatable); any other is refused, as a misspelt option would be
#: ignored (the OpenAI-compatible routes stay lenient: OpenAI's clients send fields Stenograph does not use).
UPLOAD_FIELDS = (
    "file",
    "url",
    "steps",
    "language",
    "model",
    "glossary",
    "template",
    "channels",
    "prompt",
    "word_timestamps",
    "beam_size",
    "vad",
    "task",
    "diarize",
    "num_speakers",
    "min_speakers",
    "max_speakers",
)


def check_upload_fields(names: Iterable[str]) -> None:
    """Refuse a form field no upload takes, naming the closest known one (:mod:`difflib`).

    Raises:
        APIError: 422 ``unknown_field`` with ``field`` (the name, cut to 200 characters) and ``suggestion``
            (the closest field, or None).
    """
    for name in names:
        if name in UPLOAD_FIELDS:
            continue
        shown = cut_text(name)
        close = difflib.get_close_matches(name, UPLOAD_FIELDS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known fields: {', '.join(UPLOAD_FIELDS)}"
        raise APIError(
            422,
            "unknown_field",
            f"unknown field {shown!r} ({hint})",
            field=shown,
            suggestion=close[0] if close else None,
        )


@router.post(
    "",
    status_code=201,
    operation_id="upload_recordings",
    response_model=RecordingUploads,
    responses={
        413: {"model": ErrorBody, "description": "A file over STENOGRAPH_MAX_UPLOAD_BYTES."},
        415: {"model": ErrorBody, "description": "Not media, or no audio stream."},
        507: {"model": ErrorBody, "description": "The disk is full."},
    },
)
async def upload_recordings(request: Request, service: ServiceDep) -> RecordingUploads:
    """Upload one or more files (multipart field ``file``, repeatable) with optional fields ``steps``,
    ``language``, ``model``, ``glossary``, ``template``, ``channels`` (auto|mix|split, default auto: split when
    each channel holds its own voice), ``prompt``, ``word_timestamps`` (true|false, default true), ``beam_size``,
    ``vad`` (true|false), ``task``
    (transcribe|translate: Whisper's translation into English, stored as a ``translation`` version; 422 with
    an English-only model), ``diarize`` (true|false, default true: who spoke when) and ``num_speakers`` or
    ``min_speakers``/``max_speakers`` (1..32; default: found). Or, instead of files, a field ``url``: an
    import from a site's page or a media
    link, downloaded by the ``download`` step ahead of the transcription (docs/url-import.md).

    413 over ``STENOGRAPH_MAX_UPLOAD_BYTES``; 507 disk full; 422 an empty file, bad options or a field not
    listed here (``unknown_field``, naming the closest known one); 415 not media or no audio stream. A
    refused request keeps nothing. The body is streamed to disk on the event loop; probing and the database
    work run in a worker thread, so other requests are answered meanwhile.
    """
    settings = service.settings
    form = await receive_form(request, settings.uploads_dir, settings.max_upload_bytes)
    try:
        return await asyncio.to_thread(_create_recordings, service, form)
    except Exception:
        form.discard()  # what was submitted stays; the others' files go (a no-op for files already gone)
        raise


def _create_recordings(service: Stenograph, form: ReceivedForm) -> RecordingUploads:
    """The blocking part of an upload: options, probes, the recordings and their tasks, the answer."""
    check_upload_fields([*form.fields, *(["file"] if form.files else [])])
    pipeline = service.pipeline(
        steps=form.first("steps"),
        language=form.first("language"),
        model=form.first("model"),
        glossary=form.first("glossary"),
        template=form.first("template"),
        channels=form.first("channels"),
        prompt=form.first("prompt"),
        word_timestamps=form.first("word_timestamps"),
        beam_size=form.first("beam_size"),
        vad=form.first("vad"),
        task=form.first("task"),
        url=form.first("url") or None,
        diarize=form.first("diarize"),
        num_speakers=form.first("num_speakers"),
        min_speakers=form.first("min_speakers"),
        max_speakers=form.first("max_speakers"),
    )
    if pipeline.url:
        views = [service.submit_url(pipeline, with_files=bool(form.files))]
    else:
        views = service.submit_uploads(form.files, pipeline)
    return RecordingUploads(data=[RecordingWithTasks.from_view(v) for v in views])


@router.get("", operation_id="list_recordings", response_model=RecordingList)
def list_recordings(
    service: ServiceDep,
    q: SearchQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: OffsetQuery = 0,
) -> RecordingList:
    """Recordings newest first; ``q`` searches names and transcript text (FTS5 trigram on SQLite, words as
    prefixes on PostgreSQL). 422 when ``q`` has more than 16 words or 200 characters."""
    views, count = service.list_recordings(q=q, limit=limit, offset=offset)
    return RecordingList(data=[RecordingPublic.from_view(v) for v in views], count=count)


@router.get("/{recording_id}", operation_id="get_recording", response_model=RecordingWithTasks)
def get_recording(recording_id: IdPath, service: ServiceDep) -> RecordingWithTasks:
    """The recording with its tasks, oldest first."""
    return RecordingWithTasks.from_view(service.get_recording(recording_id))


@router.get(
    "/{recording_id}/media",
    operation_id="get_recording_media",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"audio/*": {"schema": {"type": "string", "format": "binary"}}, "video/*": {}},
            "description": "The file; HTTP range requests are answered (206).",
        }
    },
)
def get_media(recording_id: IdPath, service: ServiceDep) -> FileResponse:
    """The recording's file, with HTTP range requests for playback."""
    media = service.media_file(recording_id)
    return FileResponse(
        media.path, media_type=media.media_type, content_disposition_type="inline", filename=media.filename
    )


@router.delete("/{recording_id}", status_code=204, operation_id="delete_recording", response_class=Response)
def delete_recording(recording_id: IdPath, service: ServiceDep) -> Response:
    """Remove the recording's file and rows (409 while one of its tasks runs; pending ones are cancelled)."""
    service.delete_recording(recording_id)
    return Response(status_code=204)


class StepBody(BaseModel):
    """What a re-run may change; any other field is a 422 (it would be ignored)."""

    model_config = ConfigDict(extra="forbid")

    template: str | None = None
    glossary: Annotated[list[str], AfterValidator(check_glossary)] | None = None
    language: str | None = None
    model: str | None = None
    channels: str | None = None
    task: str | None = None
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None


@router.post("/{recording_id}/steps/{step}", status_code=201, operation_id="rerun_step", response_model=TaskPublic)
def rerun_step(
    recording_id: IdPath, step: str, service: ServiceDep, body: Annotated[StepBody | None, Body()] = None
) -> TaskPublic:
    """Run a pipeline step again (another template, glossary, model...): a new task, then a new version.
    A diarization (``num_speakers`` or ``min_speakers``/``max_speakers`` may be given) is followed by a speakers
    task, so it too makes a new version."""
    spec = body or StepBody()
    view = service.rerun_step(
        recording_id,
        step,
        template=spec.template,
        glossary=spec.glossary,
        language=spec.language,
        model=spec.model,
        channels=spec.channels,
        task=spec.task,
        num_speakers=spec.num_speakers,
        min_speakers=spec.min_speakers,
        max_speakers=spec.max_speakers,
    )
    return TaskPublic.from_view(view)
