"""An OpenAI-compatible ``POST /v1/audio/transcriptions`` and ``POST /v1/audio/translations``, served
through the same queue.

Existing OpenAI clients point their base URL at Stenograph (``http://127.0.0.1:8000/v1``). The upload
becomes a recording with a transcription task only (no correction nor summary: OpenAI's API is plain
transcription), enqueued with a high priority since the client waits on its connection, so it is claimed
before the pipeline backlog; the answer comes as soon as that task is done. ``model=whisper-1``
means the configured default model. A translation is Whisper's own (``task="translate"``, into English),
kept as the recording's ``translation`` version; it needs a multilingual model (422 otherwise). Errors
carry OpenAI's ``{"error": {...}}`` shape beside ours.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from stenograph.api.errors import APIError, error_body
from stenograph.api.schemas import OpenAIError, OpenAIModel, OpenAIModelList, OpenAITranscription
from stenograph.api.state import ServiceDep
from stenograph.api.uploads import ReceivedForm, receive_form
from stenograph.errors import ConfigurationError
from stenograph.queue import TaskRecord
from stenograph.service import ServiceError, Stenograph
from stenograph.service.views import RecordingView, TaskView, TranscriptView
from stenograph.steps.submit import check_translation_model
from stenograph.transcript.formats import to_openai_verbose_json, to_srt, to_vtt
from stenograph.transcript.types import TranscriptInfo

router = APIRouter(prefix="/v1", tags=["openai"])

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
#: Seconds between two looks at the task while the client waits.
WAIT_POLL_SECONDS = 0.25


def openai_error(status: int, message: str, code: str) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    detail = error_body(code, message)["detail"]
    return JSONResponse(
        {"error": {"message": detail["message"], "type": kind, "param": None, "code": code}, "detail": detail},
        status_code=status,
    )


def _submit(
    service: Stenograph, form: ReceivedForm, word_timestamps: bool, task: str = "transcribe"
) -> tuple[RecordingView, TaskView]:
    """The blocking part of a transcription request (run in a worker thread): options, probe, recording.

    Raises:
        APIError: 400 bad options or a file that is not usable media (the file is then gone).
    """
    asked = form.first("diarize")  # Stenograph's own field: speakers only when asked for
    try:
        asks = service.pipeline(
            steps=["transcription", "diarization", "speakers"] if asked else ["transcription"],
            diarize=asked,
            num_speakers=form.first("num_speakers"),
            language=form.first("language"),
            model=form.first("model"),
            prompt=form.first("prompt"),
            word_timestamps=word_timestamps,
            task=task,
        )
        pipeline = dataclasses.replace(asks, waiting=True)  # claimed before the backlog: the client waits
        [recording] = service.submit_uploads(form.files[:1], pipeline)
    except ServiceError as exc:
        code = "invalid_request" if exc.code == "invalid_options" else exc.code
        raise APIError(400, code, str(exc)) from exc
    assert recording.tasks
    return recording, recording.tasks[-1]  # the speakers task when diarizing: the answer waits for it


def any_worker_live(service: Stenograph) -> bool:
    """Whether some worker's heartbeat is fresh (``GET /workers``'s ``live``)."""
    return service.any_worker_live()


@router.get("/models", operation_id="openai_list_models", response_model=OpenAIModelList)
def list_models(service: ServiceDep) -> OpenAIModelList:
    """The transcription models this server offers, in OpenAI's list shape (``whisper-1`` is the default)."""
    return OpenAIModelList(data=[OpenAIModel(id=name) for name in service.transcription_models()])


TEXT_CONTENT = {"schema": {"type": "string"}}


def _audio_responses(answer: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answers both audio routes share (200 described by ``answer``, 400, 503)."""
    return {
        200: {
            "model": OpenAITranscription,
            "content": {"text/plain": TEXT_CONTENT, "text/vtt": TEXT_CONTENT},
            "description": answer,
        },
        400: {"model": OpenAIError, "description": "Bad options or not usable media."},
        503: {"model": OpenAIError, "description": "No worker is live; nothing was stored."},
    }


@router.post(
    "/audio/transcriptions",
    operation_id="openai_create_transcription",
    response_model=None,
    responses=_audio_responses("JSON (json, verbose_json) or text (text, srt, vtt), as response_format asks."),
)
async def create_transcription(request: Request, service: ServiceDep) -> Response:
    """Fields: ``file``, ``model``, ``language``, ``prompt``, ``response_format`` (json, text, srt, vtt,
    verbose_json), ``timestamp_granularities[]`` (segment, word); Stenograph's own ``diarize`` (true: label
    speakers, off unless asked; the answer then waits for the speakers step) and ``num_speakers``. Words are
    timed for ``word`` and for ``srt`` and ``vtt`` (whose cues are built from them).

    503 at once, storing nothing, when no worker is live (``serve --workers 0`` and no ``stenograph
    worker`` elsewhere): the answer waits for the transcription, which no one would run.
    """
    return await _audio_request(request, service, "transcribe")


@router.post(
    "/audio/translations",
    operation_id="openai_create_translation",
    response_model=None,
    responses={
        **_audio_responses("The English translation: JSON (json, verbose_json) or text (text, srt, vtt)."),
        422: {"model": OpenAIError, "description": "An English-only model, which cannot translate."},
    },
)
async def create_translation(request: Request, service: ServiceDep) -> Response:
    """Whisper's translation into English. Fields: ``file``, ``model`` (a multilingual one; ``whisper-1``
    or none: the configured model, or the multilingual one when that is English-only), ``prompt``,
    ``response_format`` (json, text, srt, vtt, verbose_json), ``timestamp_granularities[]``.

    422 for an English-only model (``model_not_multilingual``); 503 as for transcriptions.
    """
    return await _audio_request(request, service, "translate")


async def _audio_request(request: Request, service: Stenograph, task: str) -> Response:
    """A transcription or translation request (``task``), answered when its task has ended."""
    settings = service.settings
    if not await asyncio.to_thread(any_worker_live, service):
        async for _chunk in request.stream():  # read (and drop) the upload, so the client reads the answer
            pass
        return openai_error(
            503,
            "no worker is running, so nothing would transcribe this file: start one (stenograph serve with "
            "--workers 1 or more, or stenograph worker on another machine; GET /workers lists the live ones) "
            "and send it again; nothing was stored",
            "no_worker",
        )
    try:
        form = await receive_form(request, settings.uploads_dir, settings.max_upload_bytes)
    except APIError as exc:
        return openai_error(exc.status_code, str(exc), exc.code)
    try:
        response_format, granularities = _form_options(form)
        if task == "translate":
            _check_translation(service, form)
    except APIError as exc:
        form.discard()
        return openai_error(exc.status_code, str(exc), exc.code)
    try:
        # Words for word granularity, and for subtitles (their cues are built from the words).
        words = "word" in granularities or response_format in ("srt", "vtt")
        recording, task_view = await asyncio.to_thread(_submit, service, form, words, task)
    except APIError as exc:
        form.discard()
        return openai_error(exc.status_code, str(exc), exc.code)
    except Exception:
        form.discard()
        raise
    task_record = task_view.record
    record = await _wait_for_task(request, service, task_record.id)
    if record is None:
        return Response(status_code=499)
    if record.status != "completed":
        return _failure(record)
    kind = "translation" if task == "translate" else ("speakers" if task_record.type == "speakers" else "original")
    transcript = await asyncio.to_thread(service.transcript, recording.id, kind)
    headers = {"X-Stenograph-Recording-Id": str(recording.id), "X-Stenograph-Task-Id": str(task_record.id)}
    return _render(transcript, recording, response_format, granularities, headers, task)


def _check_translation(service: Stenograph, form: ReceivedForm) -> None:
    """Raises APIError 422 (``model_not_multilingual``) when the model asked for cannot translate."""
    try:
        check_translation_model(service.settings, form.first("model"))
    except ConfigurationError as exc:
        raise APIError(422, "model_not_multilingual", str(exc)) from exc


def _form_options(form: ReceivedForm) -> tuple[str, list[str]]:
    """The form's ``response_format`` (default ``json``) and timestamp granularities (``segment``, ``word``;
    from ``timestamp_granularities[]`` and ``timestamp_granularities``).

    Raises:
        APIError: 400 not exactly one file, or an unknown ``response_format``.
    """
    if len(form.files) != 1:
        raise APIError(400, "invalid_file", "send exactly one audio file in the 'file' field")
    response_format = (form.first("response_format") or "json").strip()
    if response_format not in RESPONSE_FORMATS:
        raise APIError(400, "invalid_response_format", f"response_format must be one of {', '.join(RESPONSE_FORMATS)}")
    granularities = form.fields.get("timestamp_granularities[]", []) + form.fields.get("timestamp_granularities", [])
    return response_format, granularities


async def _wait_for_task(request: Request, service: Stenograph, task_id: int) -> TaskRecord | None:
    """The task once it is completed, failed or cancelled, looked at every ``WAIT_POLL_SECONDS``; None when
    the client went away first (the task is then cancelled)."""
    while True:
        record = await asyncio.to_thread(service.task_record, task_id)
        if record.status in ("completed", "failed", "cancelled"):
            return record
        if await request.is_disconnected():
            await asyncio.to_thread(service.cancel_task, task_id)
            return None
        await asyncio.sleep(WAIT_POLL_SECONDS)


#: Error kinds of a failed transcription that are the file's fault (a 400; any other is a 500).
CLIENT_ERROR_KINDS = ("bad_media", "not_media", "no_audio_stream", "empty_file", "damaged", "undecodable")


def _failure(record: TaskRecord) -> JSONResponse:
    """The OpenAI-shaped error for a task that failed or was cancelled: 400 for a file that is not usable
    media, else 500."""
    message = record.error_message or f"the transcription was {record.status}"
    status = 400 if record.error_kind in CLIENT_ERROR_KINDS else 500
    return openai_error(status, message, record.error_kind or record.status)


def _render(
    transcript: TranscriptView,
    recording: RecordingView,
    response_format: str,
    granularities: list[str],
    headers: dict[str, str],
    task: str = "transcribe",
) -> Response:
    """The transcript in ``response_format``: ``text``, ``srt`` and ``vtt`` as text, ``verbose_json`` (words
    only when ``word`` is among ``granularities``) and ``json`` as JSON."""
    version, segments, text = transcript.version, transcript.segments, transcript.text
    if response_format == "text":
        return Response(text + "\n", media_type="text/plain; charset=utf-8", headers=headers)
    if response_format == "srt":
        return Response(to_srt(segments), media_type="text/plain; charset=utf-8", headers=headers)
    if response_format == "vtt":
        return Response(to_vtt(segments), media_type="text/vtt; charset=utf-8", headers=headers)
    if response_format == "verbose_json":
        info = TranscriptInfo(
            language=version.language,
            language_probability=float(version.info.get("language_probability") or 0.0),
            duration_s=float(version.info.get("duration_s") or recording.duration_s or 0.0),
            model=str(version.info.get("model") or ""),
        )
        body: dict[str, Any] = to_openai_verbose_json(segments, info)
        body["task"] = task
        if "word" not in granularities:
            body.pop("words", None)
        return JSONResponse(body, headers=headers)
    return JSONResponse({"text": text}, headers=headers)
