"""The speakers step: the newest diarization's turns assigned to the newest transcript's segments, as a new
``speakers`` version (the earlier versions stay).

Params: ``{"recording_id"}``. It requires the transcription and the diarization (it starts once both have
completed, and fails with either); the correction and the summary run after it whatever its outcome. The
assignment itself is the pure :func:`~stenograph.steps.speakers.assign.assign_speakers`, or, for a transcript made
channel by channel of a diarization made by channel, :func:`~stenograph.steps.speakers.assign.assign_by_channel`
(each segment its channel's speaker). With
``STENOGRAPH_SPEAKER_PROFILES`` on, voices matching a profile are then named after it
(:func:`~stenograph.steps.speakers.profiles.match_profiles`, docs/speaker-profiles.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, StrictInt

from stenograph.errors import NotFoundError, PermanentError
from stenograph.queue.context import TaskContext
from stenograph.steps.base import StepBase, StepContext, StepParams, run_step

if TYPE_CHECKING:
    from stenograph.steps.speakers.assign import Assignment

__all__ = ["KIND", "STEP", "SpeakersParams", "SpeakersStep", "run_speakers"]

#: The kind of the versions this step writes.
KIND = "speakers"


class SpeakersParams(StepParams):
    recording_id: StrictInt


class SpeakersStep(StepBase):
    name: str = "speakers"
    depends_on: tuple[str, ...] = ("transcription", "diarization")
    params_model: type[BaseModel] = SpeakersParams

    def run(self, ctx: StepContext, params: SpeakersParams) -> dict[str, Any]:
        """Assign speakers to the newest transcript version into a new ``speakers`` version.

        Returns:
            ``{"version_id", "speakers": ["Speaker 1", ...], "segments", "splits", "overlaps", "diarization_id",
            "profiles": {"Speaker 1": {"profile_id", "name", "confidence"}}, "warnings", "by_channel"}``
            (``profiles``: the voices matched; ``warnings``: when diarized speakers have no words in the
            transcript, also added to the version's ``info["warnings"]``; ``by_channel``: whether each segment
            took its channel's speaker, also in ``info["by_channel"]``);
            for a transcript made channel by channel (``channels=split``, or ``auto`` on a file with one
            voice per channel) of a diarization made by channel, each segment is its channel's speaker
            (:func:`~stenograph.steps.speakers.assign.assign_by_channel`: no segment split, no overlap guessed);
            with a diarization of the mix ``{"version_id": None, "skipped": reason}`` (each channel is a speaker).

        Raises:
            PermanentError: the recording was deleted, or it has no transcript or no diarization.
        """
        from stenograph.steps.diarization.channels import channel_speaker
        from stenograph.steps.diarization.diarizer import SpeakerTurn
        from stenograph.steps.speakers.assign import assign_by_channel, assign_speakers

        store = ctx.store
        recording = ctx.recording(params.recording_id)
        try:
            source = store.pick_version(recording["id"], "latest")
            diarization = store.latest_diarization(recording["id"])
        except NotFoundError as exc:
            raise PermanentError(f"no speakers can be assigned: {exc}") from exc
        segments = store.segments(source.id)
        turns = [SpeakerTurn(float(a), float(b), str(label)) for a, b, label in diarization["turns"]]
        assignment: Assignment | None = None
        if any(s.channel is not None for s in segments):
            if _by_channel(diarization):
                assignment = assign_by_channel(turns, segments, channel_speaker)
            if assignment is None:
                return {"version_id": None, "skipped": "channels=split: each channel is one speaker"}
        by_channel = assignment is not None
        ctx.report_progress(0.0, f"assigning {len(diarization['speakers'])} speakers to {len(segments)} segments")
        if assignment is None:
            assignment = assign_speakers(turns, segments)
        carried = ("duration_s", "model", "language_probability", "warnings")
        info = {
            **{key: source.info[key] for key in carried if key in source.info},
            "source_version": source.number,
            "diarization_id": diarization["id"],
            "diarization_model": diarization["model"],
            "speakers": assignment.speakers,
            "labels": assignment.labels,
            "by_channel": by_channel,
        }
        unheard = _unheard_warning(diarization, assignment)
        if unheard:
            info["warnings"] = [*info.get("warnings", []), unheard]
        matches = _match_profiles(ctx, assignment, diarization)
        if matches:
            info["profiles"] = matches
        version = store.create_version(
            recording["id"], KIND, assignment.segments, task_id=ctx.task_id, language=source.language, info=info
        )
        if matches:
            _name_matched(ctx, recording["id"], diarization["id"], assignment, diarization, matches)
        ctx.report_progress(1.0, "done")
        return {
            "version_id": version.id,
            "speakers": assignment.speakers,
            "segments": len(assignment.segments),
            "splits": len(assignment.segments) - len(segments),
            "overlaps": sum(1 for s in assignment.segments if s.overlap),
            "diarization_id": diarization["id"],
            "profiles": matches,
            "warnings": [unheard] if unheard else [],
            "by_channel": by_channel,
        }


def _by_channel(diarization: dict[str, Any]) -> bool:
    """Whether the diarization was made channel by channel (its model ends in ``+by-channel``)."""
    return str(diarization.get("model", "")).endswith("+by-channel")


def _unheard_warning(diarization: dict[str, Any], assignment: Assignment) -> str | None:
    """A warning when fewer speakers have words in the transcript than the diarization found (else None): on a
    transcript of the mix, Whisper writes voices that talk at once as one stream, whose words all go to one
    speaker. A diarization made by channel adds that ``channels=split`` transcribes each channel on its own (as
    the default ``auto`` does: this transcript of the mix was asked for)."""
    found = len(diarization["speakers"])
    heard = len([label for label in assignment.labels.values() if label])
    if heard >= found:
        return None
    warning = (
        f"{found} speakers were diarized but only {heard} have words in the transcript: the others' speech "
        "overlaps theirs, or was not transcribed"
    )
    if _by_channel(diarization):
        warning += "; each channel holds its own voice: channels=split transcribes each channel on its own"
    return warning


def _match_profiles(ctx: StepContext, assignment: Assignment, diarization: dict[str, Any]) -> dict[str, Any]:
    """``{"Speaker 1": {"profile_id", "name", "confidence"}}`` for the speakers whose voice matches a profile
    (empty with profiles off, or without embeddings)."""
    from stenograph.recordings.profiles import ProfileStore
    from stenograph.steps.speakers.profiles import match_profiles, profile_threshold

    embeddings = diarization.get("embeddings") or {}
    voices = {name: embeddings[label] for name, label in assignment.labels.items() if embeddings.get(label)}
    if not ctx.settings.speaker_profiles or not voices:
        return {}
    profiles = ProfileStore(ctx.store.engine).voices()
    threshold = profile_threshold(str(diarization.get("model", "")), ctx.settings.diarization_profile_threshold)
    found = match_profiles(voices, profiles, threshold)
    return {
        speaker: {"profile_id": m.profile_id, "name": m.name, "confidence": m.confidence}
        for speaker, m in found.items()
    }


def _name_matched(
    ctx: StepContext,
    recording_id: int,
    diarization_id: int,
    assignment: Assignment,
    diarization: dict[str, Any],
    matches: dict[str, Any],
) -> None:
    """Name the matched speakers after their profiles (a name a person gave is kept) and keep each matched
    voice in its profile, so that a person's correction can move it (:meth:`ProfileStore.learn`)."""
    from stenograph.recordings.profiles import ProfileStore, VoiceKey

    names = dict(ctx.recording(recording_id).get("speakers") or {})
    for speaker, match in matches.items():
        names.setdefault(speaker, match["name"])
    ctx.store.set_speakers(recording_id, names)
    profiles = ProfileStore(ctx.store.engine)
    for speaker, match in matches.items():
        if names.get(speaker) != match["name"]:
            continue  # a person named this speaker otherwise: their name wins, the profile learns nothing
        label = assignment.labels[speaker]
        key = VoiceKey(recording_id, diarization_id, label)
        profiles.learn(match["name"], key, diarization["embeddings"][label])


STEP = SpeakersStep()


def run_speakers(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """The speakers step as a task handler (``Handler``)."""
    return run_step(STEP, ctx, params)
