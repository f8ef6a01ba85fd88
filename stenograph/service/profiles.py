"""Use cases of voice profiles (docs/speaker-profiles.md): listing, renaming, merging and deleting them, and
what a person's corrections of a recording's speakers teach them.

A rename of a diarized speaker (``PUT /recordings/{id}/speakers``) keeps its voice in the profile of its new
name (made when there is none) and out of every other; a name removed, or set back to the label, takes the
voice out of every profile. Merging speaker X into Y (or moving X's last segment to Y) says X's voice is Y's
person: it joins the profile of Y's name, or leaves every profile when Y has no name. With
``STENOGRAPH_SPEAKER_PROFILES=false`` nothing is kept. The SQL is in :mod:`stenograph.recordings.profiles`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from stenograph.recordings.profiles import ProfileStore, VoiceKey
from stenograph.recordings.text_input import clean_text
from stenograph.service.base import ServiceBase
from stenograph.service.errors import ServiceError

__all__ = ["ProfileUseCases", "VoiceLearning"]

#: The longest profile name (as a speaker's name: ``MAX_SPEAKER_NAME_CHARS``).
MAX_PROFILE_NAME_CHARS = 100


class VoiceLearning:
    """The voices of one recording's diarized speakers, for teaching profiles from corrections.

    ``labels`` maps the transcript's speaker labels (``"Speaker 1"``) to diarized labels (``"SPEAKER_00"``),
    from the newest version holding them; ``embeddings`` are that diarization's voices.
    """

    def __init__(self, service: ServiceBase, recording_id: int) -> None:
        self.profiles = ProfileStore(service.engine)
        self.recording_id = recording_id
        self.enabled = bool(service.settings.speaker_profiles)
        self.labels: dict[str, str] = {}
        self.diarization_id: int | None = None
        self.embeddings: dict[str, list[float]] = {}
        if not self.enabled:
            return
        for version in reversed(service.store.versions(recording_id)):
            if version.info.get("labels") and version.info.get("diarization_id") is not None:
                self.labels = dict(version.info["labels"])
                self.diarization_id = int(version.info["diarization_id"])
                self.embeddings = self.profiles.diarization_embeddings(self.diarization_id)
                break

    def _key(self, speaker: str) -> tuple[VoiceKey, list[float]] | None:
        label = self.labels.get(speaker)
        if label is None or self.diarization_id is None or not self.embeddings.get(label):
            return None
        return VoiceKey(self.recording_id, self.diarization_id, label), self.embeddings[label]

    def name_is(self, speaker: str, name: str | None) -> None:
        """``speaker``'s voice is ``name``'s (None, or the label itself: nobody's)."""
        found = self._key(speaker) if self.enabled else None
        if found is None:
            return
        key, embedding = found
        if name and name != speaker:
            self.profiles.learn(name, key, embedding)
        else:
            self.profiles.forget(key)

    def renamed(self, before: dict[str, Any], after: dict[str, str]) -> None:
        """Teach the profiles the names that changed between ``before`` and ``after``."""
        for speaker in self.labels:
            if before.get(speaker) != after.get(speaker):
                self.name_is(speaker, after.get(speaker))

    def joined(self, source: str, into: str, names: dict[str, Any]) -> None:
        """``source``'s voice belongs to ``into``'s person: the name ``into`` is shown with (its given name,
        else a label that is no diarized speaker's, which is shown as a name)."""
        name = names.get(into) or (into if into not in self.labels else None)
        self.name_is(source, str(name) if name else None)


def _checked_name(name: str) -> str:
    cleaned = clean_text(name)
    if not cleaned or len(cleaned) > MAX_PROFILE_NAME_CHARS:
        raise ServiceError(
            "invalid", "invalid_profile", f"a profile's name has 1 to {MAX_PROFILE_NAME_CHARS} characters"
        )
    return cleaned


class ProfileUseCases(ServiceBase):
    def speaker_profiles(self) -> list[dict[str, Any]]:
        """Every voice profile by name (``ProfileStore.profiles``)."""
        return ProfileStore(self.engine).profiles()

    def speaker_profile(self, profile_id: int) -> dict[str, Any]:
        """One voice profile. Raises NotFoundError."""
        return ProfileStore(self.engine).profile(profile_id)

    def rename_speaker_profile(self, profile_id: int, name: str) -> dict[str, Any]:
        """Rename a profile (recordings already named keep their names).

        Raises:
            NotFoundError: no such profile.
            ServiceError: (invalid) an empty or too long name; (conflict) another profile has it: merge them.
        """
        cleaned = _checked_name(name)
        store = ProfileStore(self.engine)
        store.profile(profile_id)
        other = store.by_name(cleaned)
        if other is not None and other != profile_id:
            raise ServiceError(
                "conflict", "profile_exists", f"profile {other} is called {cleaned!r}: merge the two instead"
            )
        try:
            store.rename(profile_id, cleaned)
        except IntegrityError as exc:  # another rename took the name between the check and the update
            raise ServiceError(
                "conflict", "profile_exists", f"another profile is now called {cleaned!r}: merge the two instead"
            ) from exc
        return store.profile(profile_id)

    def merge_speaker_profiles(self, source_id: int, into_id: int) -> dict[str, Any]:
        """Move every voice of profile ``source_id`` into ``into_id`` and delete ``source_id``.

        Raises:
            NotFoundError: either profile is missing.
            ServiceError: (invalid) the same profile twice.
        """
        if source_id == into_id:
            raise ServiceError("invalid", "invalid_profile", "merge a profile into another one, not itself")
        store = ProfileStore(self.engine)
        store.profile(source_id)
        store.profile(into_id)
        store.merge(source_id, into_id)
        return store.profile(into_id)

    def delete_speaker_profile(self, profile_id: int) -> None:
        """Delete a profile and every embedding of it. Raises NotFoundError."""
        ProfileStore(self.engine).delete(profile_id)
