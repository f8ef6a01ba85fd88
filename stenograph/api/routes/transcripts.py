"""Transcripts, versions, diffs, edits, speaker names, summaries and the global glossary."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import AfterValidator, BaseModel, Field

from stenograph.api.errors import APIError
from stenograph.api.routes.recordings import store_of
from stenograph.api.state import IdPath, StateDep
from stenograph.recordings.store import Version
from stenograph.recordings.text_input import clean_text
from stenograph.steps.correction.glossary import check_glossary
from stenograph.transcript.formats import to_srt, to_txt, to_vtt

router = APIRouter(tags=["transcripts"])

Format = Literal["json", "txt", "srt", "vtt"]
#: latest, original, corrected, edited, or a version number.
VersionQuery = Annotated[
    str,
    Query(
        pattern=r"^(latest|original|corrected|edited|[1-9][0-9]{0,8})$",
        description="latest, original, corrected, edited, or a version number",
    ),
]
MEDIA_TYPES = {"txt": "text/plain", "srt": "application/x-subrip", "vtt": "text/vtt", "json": "application/json"}


def transcript_json(recording_id: int, version: Version, segments: list[Any]) -> dict[str, Any]:
    info = version.info or {}
    return {
        "recording_id": recording_id,
        "version": version.to_api(),
        "language": version.language,
        "language_probability": info.get("language_probability"),
        "duration_s": info.get("duration_s"),
        "model": info.get("model"),
        "warnings": info.get("warnings", []),
        "text": " ".join(s.text.strip() for s in segments if s.text.strip()),
        "segments": [s.to_dict() for s in segments],
    }


@router.get("/recordings/{recording_id}/transcript", operation_id="get_transcript", response_model=None)
def get_transcript(
    recording_id: IdPath,
    state: StateDep,
    format: Format = "json",
    version: VersionQuery = "latest",
    download: bool = False,
) -> dict[str, Any] | Response:
    """The transcript: ``version`` = latest, original, corrected, edited or a version number."""
    store = store_of(state)
    row = store.recording(recording_id)
    chosen = store.pick_version(recording_id, version)
    segments = store.segments(chosen.id)
    if format == "json" and not download:
        return transcript_json(recording_id, chosen, segments)
    if format == "json":
        import json

        body = json.dumps(transcript_json(recording_id, chosen, segments), ensure_ascii=False, indent=2)
    else:
        body = {"txt": to_txt, "srt": to_srt, "vtt": to_vtt}[format](segments)
    headers = {}
    if download:
        stem = row["name"].rsplit(".", 1)[0] or f"recording-{recording_id}"
        from urllib.parse import quote

        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(stem)}.{format}"
    return Response(body, media_type=f"{MEDIA_TYPES[format]}; charset=utf-8", headers=headers)


@router.get("/recordings/{recording_id}/transcript/versions", operation_id="list_transcript_versions")
def list_versions(recording_id: IdPath, state: StateDep) -> dict[str, Any]:
    store = store_of(state)
    store.recording(recording_id)
    versions = store.versions(recording_id)
    return {"data": [v.to_api() for v in versions], "count": len(versions)}


@router.get("/recordings/{recording_id}/transcript/diff", operation_id="get_transcript_diff")
def get_diff(
    recording_id: IdPath, state: StateDep, base: VersionQuery = "original", other: VersionQuery = "latest"
) -> dict[str, Any]:
    """Per-segment comparison of two versions (default: the original and the newest)."""
    store = store_of(state)
    first = store.pick_version(recording_id, base)
    second = store.pick_version(recording_id, other)
    before = {s.index: s for s in store.segments(first.id)}
    after = {s.index: s for s in store.segments(second.id)}
    rows = []
    for index in sorted(set(before) | set(after)):
        a, b = before.get(index), after.get(index)
        ref = a or b
        assert ref is not None
        rows.append(
            {
                "index": index,
                "start": ref.start,
                "end": ref.end,
                "original": a.text if a else None,
                "corrected": b.text if b else None,
                "changed": (a.text if a else None) != (b.text if b else None),
            }
        )
    return {
        "base": first.to_api(),
        "other": second.to_api(),
        "changed": sum(r["changed"] for r in rows),
        "segments": rows,
    }


def _segment_text(text: str) -> str:
    """A segment's new text without control characters (tabs and line breaks kept), trimmed.

    Raises:
        ValueError: nothing but whitespace is left (a 422).
    """
    cleaned = clean_text(text, multiline=True)
    if not cleaned:
        raise ValueError("the segment's text is empty: send some text (delete words by sending the rest)")
    return cleaned


class SegmentEdit(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=10_000), AfterValidator(_segment_text)]


@router.patch("/recordings/{recording_id}/transcript/segments/{index}", operation_id="edit_segment")
def edit_segment(
    recording_id: IdPath, index: Annotated[int, Path(ge=0, le=2**31)], body: SegmentEdit, state: StateDep
) -> dict[str, Any]:
    """Change one segment's text: saved as a new ``edited`` version; every timestamp is kept."""
    store = store_of(state)
    latest = store.pick_version(recording_id, "latest")
    segments = store.segments(latest.id)
    if not any(s.index == index for s in segments):
        raise APIError(404, "not_found", f"the transcript has no segment {index}")
    edited = [dataclasses.replace(s, text=body.text) if s.index == index else s for s in segments]
    info = {k: v for k, v in latest.info.items() if k in ("duration_s", "model", "language_probability", "warnings")}
    info["edited_from"] = latest.number
    version = store.create_version(recording_id, "edited", edited, task_id=None, language=latest.language, info=info)
    return transcript_json(recording_id, version, store.segments(version.id))


class Speakers(BaseModel):
    names: dict[str, str]


@router.put("/recordings/{recording_id}/speakers", operation_id="set_speakers")
def set_speakers(recording_id: IdPath, body: Speakers, state: StateDep) -> dict[str, Any]:
    """Name the channels or speakers (``{"names": {"left": "Alice"}}``); shown and exported with segments.
    Control characters (NUL included) are removed from labels and names; empty ones are dropped."""
    cleaned = ((clean_text(k), clean_text(v)) for k, v in body.names.items())
    names = {k: v for k, v in cleaned if k and v}
    return {"names": store_of(state).set_speakers(recording_id, names)}


@router.get("/recordings/{recording_id}/summary", operation_id="get_summary", response_model=None)
def get_summary(recording_id: IdPath, state: StateDep, format: Literal["md", "json"] = "md") -> Any:
    """The newest summary as Markdown (``?format=json`` for its structured fields)."""
    store = store_of(state)
    store.recording(recording_id)
    row = store.latest_summary(recording_id)
    if format == "json":
        return {**row["data"], "markdown": row["markdown"], "id": row["id"], "task_id": row["task_id"]}
    return Response(row["markdown"], media_type="text/markdown; charset=utf-8")


class Glossary(BaseModel):
    terms: Annotated[list[str], AfterValidator(check_glossary)]


@router.get("/glossary", operation_id="get_glossary")
def get_glossary(state: StateDep) -> dict[str, Any]:
    """The global glossary (names and terms for Whisper's hotwords and the correction step)."""
    return {"terms": store_of(state).glossary(), "from_settings": state.settings.glossary}


@router.put("/glossary", operation_id="set_glossary")
def set_glossary(body: Glossary, state: StateDep) -> dict[str, Any]:
    """Replace the global glossary. 422 beyond the limits of
    :func:`~stenograph.steps.correction.glossary.check_glossary` (at most 100 terms of at most 64 characters:
    letters, digits, spaces and ``. ' ’ - & + # /``)."""
    return {"terms": store_of(state).set_glossary(body.terms), "from_settings": state.settings.glossary}


@router.get("/settings/llm", operation_id="get_llm_settings")
def llm_settings(state: StateDep) -> dict[str, Any]:
    """Which LLM the correction and summary steps use, and whether transcript text leaves this machine."""
    from stenograph.llm.select import describe

    return describe(state.settings)
