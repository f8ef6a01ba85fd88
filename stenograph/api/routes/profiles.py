"""``/speaker-profiles``: voice profiles listed, renamed, merged and deleted (docs/speaker-profiles.md)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stenograph.api.schemas import (
    ERROR_RESPONSES,
    SpeakerProfileList,
    SpeakerProfileMerge,
    SpeakerProfilePublic,
    SpeakerProfileRename,
)
from stenograph.api.state import IdPath, ServiceDep

router = APIRouter(prefix="/speaker-profiles", tags=["speaker profiles"], responses=ERROR_RESPONSES)


@router.get("", operation_id="list_speaker_profiles", response_model=SpeakerProfileList)
def list_profiles(service: ServiceDep) -> SpeakerProfileList:
    """Every voice profile by name, and whether profiles are kept (``STENOGRAPH_SPEAKER_PROFILES``)."""
    rows = service.speaker_profiles()
    data = [SpeakerProfilePublic.model_validate(row) for row in rows]
    return SpeakerProfileList(data=data, count=len(data), enabled=service.settings.speaker_profiles)


@router.get("/{profile_id}", operation_id="get_speaker_profile", response_model=SpeakerProfilePublic)
def get_profile(profile_id: IdPath, service: ServiceDep) -> SpeakerProfilePublic:
    """One voice profile; 404 when there is none."""
    return SpeakerProfilePublic.model_validate(service.speaker_profile(profile_id))


@router.patch("/{profile_id}", operation_id="rename_speaker_profile", response_model=SpeakerProfilePublic)
def rename_profile(profile_id: IdPath, body: SpeakerProfileRename, service: ServiceDep) -> SpeakerProfilePublic:
    """Rename a profile (later matches get the new name; recordings already named keep theirs). 409 when
    another profile has the name: merge them."""
    return SpeakerProfilePublic.model_validate(service.rename_speaker_profile(profile_id, body.name))


@router.post("/{profile_id}/merge", operation_id="merge_speaker_profiles", response_model=SpeakerProfilePublic)
def merge_profiles(profile_id: IdPath, body: SpeakerProfileMerge, service: ServiceDep) -> SpeakerProfilePublic:
    """Move every voice of this profile into ``into`` and delete this one; answers ``into``."""
    return SpeakerProfilePublic.model_validate(service.merge_speaker_profiles(profile_id, body.into))


@router.delete("/{profile_id}", status_code=204, operation_id="delete_speaker_profile", response_class=Response)
def delete_profile(profile_id: IdPath, service: ServiceDep) -> Response:
    """Delete a profile and every voice embedding of it; 404 when there is none."""
    service.delete_speaker_profile(profile_id)
    return Response(status_code=204)
