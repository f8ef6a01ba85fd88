"""Transcripts, versions, diffs, edits, speaker names, summaries and the global glossary."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response
from pydantic import AfterValidator, BaseModel, Field

from stenograph.api.schemas import (
    ERROR_RESPONSES,
    Diff,
    GlossaryPublic,
    LLMSettings,
    Speakers,
    SummaryPublic,
    TranscriptPublic,
    VersionList,
    VersionPublic,
)
from stenograph.api.state import IdPath, ServiceDep
from stenograph.service import render_transcript
from stenograph.service.transcripts import clean_segment_text
from stenograph.steps.correction.glossary import check_glossary

router = APIRouter(tags=["transcripts"], responses=ERROR_RESPONSES)

Format = Literal["json", "txt", "srt", "vtt"]
#: latest, original, corrected, edited, or a version number.
VersionQuery = Annotated[
    str,
    Query(
        pattern=r"^(latest|original|translation|speakers|corrected|edited|[1-9][0-9]{0,8})$",
        description="latest, original, translation, speakers, corrected, edited, or a version number",
    ),
]
MEDIA_TYPES = {"txt": "text/plain", "srt": "application/x-subrip", "vtt": "text/vtt", "json": "application/json"}
TEXT_CONTENT = {"schema": {"type": "string"}}


@router.get(
    "/recordings/{recording_id}/transcript",
    operation_id="get_transcript",
    response_model=TranscriptPublic,
    responses={
        200: {
            "content": {"text/plain": TEXT_CONTENT, "application/x-subrip": TEXT_CONTENT, "text/vtt": TEXT_CONTENT},
            "description": "JSON (TranscriptPublic), or the txt, srt or vtt file (``download``: as an attachment).",
        }
    },
)
def get_transcript(
    recording_id: IdPath,
    service: ServiceDep,
    format: Format = "json",
    version: VersionQuery = "latest",
    download: bool = False,
) -> TranscriptPublic | Response:
    """The transcript: ``version`` = latest, original, translation (Whisper's English translation),
    corrected, edited or a version number."""
    view = service.transcript(recording_id, version)
    if format == "json" and not download:
        return TranscriptPublic.from_view(view)
    headers = {}
    if download:
        stem = view.recording_name.rsplit(".", 1)[0] or f"recording-{recording_id}"
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(stem)}.{format}"
    body = render_transcript(view, format)
    return Response(body, media_type=f"{MEDIA_TYPES[format]}; charset=utf-8", headers=headers)


@router.get(
    "/recordings/{recording_id}/transcript/versions",
    operation_id="list_transcript_versions",
    response_model=VersionList,
)
def list_versions(recording_id: IdPath, service: ServiceDep) -> VersionList:
    """The complete transcript versions, oldest first."""
    versions = service.versions(recording_id)
    return VersionList(data=[VersionPublic.from_version(v) for v in versions], count=len(versions))


@router.get("/recordings/{recording_id}/transcript/diff", operation_id="get_transcript_diff", response_model=Diff)
def get_diff(
    recording_id: IdPath, service: ServiceDep, base: VersionQuery = "original", other: VersionQuery = "latest"
) -> Diff:
    """Per-segment comparison of two versions (default: the original and the newest)."""
    return Diff.from_view(service.diff(recording_id, base, other))


def _segment_text(text: str) -> str:
    """Raises ValueError (a 422) for a text of only whitespace; see :func:`clean_segment_text`."""
    return clean_segment_text(text)


class SegmentEdit(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=10_000), AfterValidator(_segment_text)]


@router.patch(
    "/recordings/{recording_id}/transcript/segments/{index}",
    operation_id="edit_segment",
    response_model=TranscriptPublic,
)
def edit_segment(
    recording_id: IdPath, index: Annotated[int, Path(ge=0, le=2**31)], body: SegmentEdit, service: ServiceDep
) -> TranscriptPublic:
    """Change one segment's text: saved as a new ``edited`` version; every timestamp is kept."""
    return TranscriptPublic.from_view(service.edit_segment(recording_id, index, body.text))


@router.put("/recordings/{recording_id}/speakers", operation_id="set_speakers", response_model=Speakers)
def set_speakers(recording_id: IdPath, body: Speakers, service: ServiceDep) -> Speakers:
    """Name the channels or speakers (``{"names": {"left": "Alice"}}``); shown and exported with segments.

    Replaces the whole name map: a label left out of ``names`` loses its name, so to rename one speaker send
    every name (``GET /recordings/{id}`` gives the current map as ``speakers``). Each label must be the
    recording's: a diarized label of any version or a channel (or one named before); else 422
    ``unknown_speaker``. Control characters (NUL included) are removed from labels and names; empty ones are
    dropped. A diarized
    speaker whose name changed has its voice kept in the voice profile of that name (docs/speaker-profiles.md)."""
    return Speakers(names=service.set_speakers(recording_id, body.names))


class SpeakerMerge(BaseModel):
    source: Annotated[str, Field(min_length=1, max_length=64)]
    into: Annotated[str, Field(min_length=1, max_length=64)]


@router.post(
    "/recordings/{recording_id}/speakers/merge", operation_id="merge_speakers", response_model=TranscriptPublic
)
def merge_speakers(recording_id: IdPath, body: SpeakerMerge, service: ServiceDep) -> TranscriptPublic:
    """Merge speaker ``source`` into ``into`` (labels such as ``Speaker 2``, or channels): a new ``edited``
    version, every timestamp kept. 404 when either speaker has no segment."""
    return TranscriptPublic.from_view(service.merge_speakers(recording_id, body.source, body.into))


class SegmentSpeaker(BaseModel):
    speaker: Annotated[str, Field(min_length=1, max_length=64)]


@router.put(
    "/recordings/{recording_id}/transcript/segments/{index}/speaker",
    operation_id="move_segment_speaker",
    response_model=TranscriptPublic,
)
def move_segment(
    recording_id: IdPath, index: Annotated[int, Path(ge=0, le=2**31)], body: SegmentSpeaker, service: ServiceDep
) -> TranscriptPublic:
    """Give one segment another speaker: a label of this recording (``Speaker 2``, a channel) or the name
    given to exactly one label (``JFK`` for ``Speaker 1``); a new ``edited`` version. 404 ``unknown_speaker``
    for anything else (no speaker is invented), 404 ``not_found`` for no such segment."""
    return TranscriptPublic.from_view(service.move_segment(recording_id, index, body.speaker))


@router.get(
    "/recordings/{recording_id}/summary",
    operation_id="get_summary",
    response_model=SummaryPublic,
    responses={200: {"content": {"text/markdown": TEXT_CONTENT}, "description": "Markdown, or JSON with format=json."}},
)
def get_summary(
    recording_id: IdPath, service: ServiceDep, format: Literal["md", "json"] = "md"
) -> SummaryPublic | Response:
    """The newest summary as Markdown (``?format=json`` for its structured fields)."""
    summary = service.summary(recording_id)
    if format == "json":
        return SummaryPublic.from_view(summary)
    return Response(summary.markdown, media_type="text/markdown; charset=utf-8")


class Glossary(BaseModel):
    terms: Annotated[list[str], AfterValidator(check_glossary)]


@router.get("/glossary", operation_id="get_glossary", response_model=GlossaryPublic)
def get_glossary(service: ServiceDep) -> GlossaryPublic:
    """The global glossary (names and terms for Whisper's hotwords and the correction step)."""
    return GlossaryPublic.from_view(service.glossary())


@router.put("/glossary", operation_id="set_glossary", response_model=GlossaryPublic)
def set_glossary(body: Glossary, service: ServiceDep) -> GlossaryPublic:
    """Replace the global glossary. 422 beyond the limits of
    :func:`~stenograph.steps.correction.glossary.check_glossary` (at most 100 terms of at most 64
    characters: letters, digits, spaces and ``. ' ’ - & + # /``)."""
    return GlossaryPublic.from_view(service.set_glossary(body.terms))


@router.get(
    "/settings/llm", operation_id="get_llm_settings", response_model=LLMSettings, response_model_exclude_unset=True
)
def llm_settings(service: ServiceDep) -> LLMSettings:
    """Which LLM the correction and summary steps use, and whether transcript text leaves this machine."""
    return LLMSettings.model_validate(service.llm_settings())
