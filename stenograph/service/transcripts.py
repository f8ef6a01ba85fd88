"""Use cases of transcripts: versions, exports, diffs, edits, speaker names, summaries, the glossary.

The transcript's JSON document (:func:`transcript_json`) is an export format like SRT: the API answers it
(its ``TranscriptPublic`` schema describes it) and ``stenograph transcribe --format json`` writes it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any, Literal

from stenograph.queue.records import iso
from stenograph.recordings.store import Version
from stenograph.recordings.text_input import clean_text
from stenograph.service.base import ServiceBase
from stenograph.service.errors import ServiceError
from stenograph.service.profiles import VoiceLearning
from stenograph.service.views import DiffRow, DiffView, GlossaryView, SummaryView, TranscriptView
from stenograph.steps.correction.glossary import check_glossary
from stenograph.transcript.align import align_by_time
from stenograph.transcript.formats import to_srt, to_txt, to_vtt
from stenograph.transcript.types import Segment

ExportFormat = Literal["json", "txt", "srt", "vtt"]


def version_json(version: Version) -> dict[str, Any]:
    """A transcript version (without segments) as JSON."""
    return {
        "id": version.id,
        "number": version.number,
        "kind": version.kind,
        "complete": version.complete,
        "task_id": version.task_id,
        "created_at": iso(version.created_at),
        "language": version.language,
        "info": version.info,
    }


def transcript_json(view: TranscriptView) -> dict[str, Any]:
    """The transcript's JSON document: its version, language, model, warnings, text and segments."""
    info = view.version.info or {}
    return {
        "recording_id": view.recording_id,
        "version": version_json(view.version),
        "language": view.version.language,
        "language_probability": info.get("language_probability"),
        "duration_s": info.get("duration_s"),
        "model": info.get("model"),
        "warnings": info.get("warnings", []),
        "text": view.text,
        "segments": [s.to_dict() for s in view.segments],
    }


def render_transcript(view: TranscriptView, fmt: ExportFormat) -> str:
    """The transcript as a file: JSON (indented), plain text, SRT or WebVTT."""
    if fmt == "json":
        return json.dumps(transcript_json(view), ensure_ascii=False, indent=2)
    return {"txt": to_txt, "srt": to_srt, "vtt": to_vtt}[fmt](view.segments)


def clean_segment_text(text: str) -> str:
    """A segment's new text without control characters (tabs and line breaks kept), trimmed.

    Raises:
        ValueError: nothing but whitespace is left.
    """
    cleaned = clean_text(text, multiline=True)
    if not cleaned:
        raise ValueError("the segment's text is empty: send some text (delete words by sending the rest)")
    return cleaned


#: Limits of speaker names (``PUT /recordings/{id}/speakers``): a name is a label, not a text.
MAX_SPEAKERS = 100
MAX_SPEAKER_LABEL_CHARS = 64
MAX_SPEAKER_NAME_CHARS = 100


def _label_of(segment: Segment) -> str | None:
    """The speaker label a segment is grouped by: its diarized label, else its channel."""
    return segment.speaker_label or segment.channel


def _checked_label(label: str) -> str:
    """A speaker label without control characters, trimmed.

    Raises:
        ServiceError: (invalid) empty, or over :data:`MAX_SPEAKER_LABEL_CHARS` characters.
    """
    cleaned = clean_text(label)
    if not cleaned or len(cleaned) > MAX_SPEAKER_LABEL_CHARS:
        raise ServiceError(
            "invalid", "invalid_speakers", f"a speaker label has 1 to {MAX_SPEAKER_LABEL_CHARS} characters"
        )
    return cleaned


def _unknown_speaker(label: str) -> ServiceError:
    return ServiceError("not_found", "unknown_speaker", f"the recording has no speaker {label[:64]!r}")


class TranscriptUseCases(ServiceBase):
    def known_labels(self, recording_id: int) -> set[str]:
        """The speaker labels of a recording: the diarized labels (``Speaker 1``...) and the channels of the
        segments of every version (drafts included). Raises NotFoundError (no recording)."""
        self.store.recording(recording_id)
        labels: set[str] = set()
        for version in self.store.versions(recording_id, complete_only=False):
            for segment in self.store.segments(version.id):
                labels.update(x for x in (segment.speaker_label, segment.channel) if x)
        return labels

    def transcript(self, recording_id: int, version: str = "latest") -> TranscriptView:
        """A version of the transcript: ``latest``, ``original``, ``corrected``, ``edited`` or a number.

        Raises:
            NotFoundError: no such recording, or no such version (yet).
        """
        row = self.store.recording(recording_id)
        chosen = self.store.pick_version(recording_id, version)
        return TranscriptView(recording_id, row["name"], chosen, self.store.segments(chosen.id))

    def versions(self, recording_id: int) -> list[Version]:
        """The complete versions, oldest first. Raises NotFoundError."""
        self.store.recording(recording_id)
        return self.store.versions(recording_id)

    def diff(self, recording_id: int, base: str = "original", other: str = "latest") -> DiffView:
        """Comparison of two versions aligned by time (:func:`~stenograph.transcript.align.align_by_time`), so
        that segments split or renumbered by speaker assignment still meet their text; rows numbered from 0."""
        first = self.store.pick_version(recording_id, base)
        second = self.store.pick_version(recording_id, other)
        aligned = align_by_time(self.store.segments(first.id), self.store.segments(second.id))
        rows = [DiffRow(n, r.start, r.end, r.before_text, r.after_text) for n, r in enumerate(aligned)]
        return DiffView(first, second, rows)

    def edit_segment(self, recording_id: int, index: int, text: str) -> TranscriptView:
        """Change one segment's text: saved as a new ``edited`` version; every timestamp is kept.

        Raises:
            NotFoundError: no recording, transcript or segment ``index``.
            ServiceError: the text is only whitespace (invalid).
        """
        try:
            cleaned = clean_segment_text(text)
        except ValueError as exc:
            raise ServiceError("invalid", "invalid_request", str(exc)) from exc
        row = self.store.recording(recording_id)
        latest = self.store.pick_version(recording_id, "latest")
        segments = self.store.segments(latest.id)
        if not any(s.index == index for s in segments):
            raise ServiceError("not_found", "not_found", f"the transcript has no segment {index}")
        edited = [dataclasses.replace(s, text=cleaned) if s.index == index else s for s in segments]
        keep = ("duration_s", "model", "language_probability", "warnings")
        info = {k: v for k, v in latest.info.items() if k in keep}
        info["edited_from"] = latest.number
        version = self.store.create_version(
            recording_id, "edited", edited, task_id=None, language=latest.language, info=info
        )
        return TranscriptView(recording_id, row["name"], version, self.store.segments(version.id))

    def set_speakers(self, recording_id: int, names: dict[str, str]) -> dict[str, Any]:
        """Replace the recording's whole name map by ``names`` ({label: name}): a label left out loses its name,
        so send every name to keep. Control characters are removed, empty labels or names dropped. A label must
        be known: a diarized label of any version, a channel (:meth:`known_labels`), or one already named. The
        voice profiles learn the diarized speakers whose name changed
        (:class:`~stenograph.service.profiles.VoiceLearning`).

        Raises:
            NotFoundError: no recording.
            ServiceError: (invalid) more than :data:`MAX_SPEAKERS` names, a label over
                :data:`MAX_SPEAKER_LABEL_CHARS` or a name over :data:`MAX_SPEAKER_NAME_CHARS` characters;
                (invalid, ``unknown_speaker``) a label the recording does not have.
        """
        cleaned = [(clean_text(k), clean_text(v)) for k, v in names.items()]
        kept = {k: v for k, v in cleaned if k and v}
        if len(kept) > MAX_SPEAKERS:
            raise ServiceError("invalid", "invalid_speakers", f"at most {MAX_SPEAKERS} speakers can be named")
        for label, name in kept.items():
            if len(label) > MAX_SPEAKER_LABEL_CHARS or len(name) > MAX_SPEAKER_NAME_CHARS:
                raise ServiceError(
                    "invalid",
                    "invalid_speakers",
                    f"a speaker label has at most {MAX_SPEAKER_LABEL_CHARS} characters and a name at most "
                    f"{MAX_SPEAKER_NAME_CHARS} ({label[:20]!r}: {len(label)} and {len(name)})",
                )
        before = dict(self.store.recording(recording_id).get("speakers") or {})
        known = self.known_labels(recording_id) | set(before)  # a name saved earlier is kept
        unknown = sorted(set(kept) - known)
        if unknown:
            raise ServiceError(
                "invalid",
                "unknown_speaker",
                f"the recording has no speaker or channel {unknown[0][:64]!r}: name its labels "
                f"({', '.join(sorted(known)[:10]) or 'none yet'})",
            )
        saved = self.store.set_speakers(recording_id, kept)
        VoiceLearning(self, recording_id).renamed(before, kept)  # voice profiles (docs/speaker-profiles.md)
        return saved

    def merge_speakers(self, recording_id: int, source: str, into: str) -> TranscriptView:
        """Give every segment of speaker ``source`` the speaker ``into`` (two labels of one person): a new
        ``edited`` version, every timestamp kept. Labels are diarized labels or channels.

        Raises:
            NotFoundError: no recording or transcript.
            ServiceError: (invalid) the same label twice, a label over :data:`MAX_SPEAKER_LABEL_CHARS`;
                (not_found) no segment of ``source`` or of ``into``.
        """
        source, into = _checked_label(source), _checked_label(into)
        if source == into:
            raise ServiceError("invalid", "invalid_speakers", f"merge {source!r} into another speaker, not itself")
        latest = self.store.pick_version(recording_id, "latest")
        segments = self.store.segments(latest.id)
        for label in (source, into):
            if not any(_label_of(s) == label for s in segments):
                raise ServiceError("not_found", "not_found", f"the transcript has no speaker {label!r}")
        merged = [dataclasses.replace(s, speaker_label=into) if _label_of(s) == source else s for s in segments]
        view = self._edited(recording_id, latest, merged, {"merged_speakers": [source, into]})
        self._voice_joined(recording_id, source, into)
        return view

    def move_segment(self, recording_id: int, index: int, speaker: str) -> TranscriptView:
        """Give segment ``index`` the speaker ``speaker``: a label of this recording (:meth:`known_labels`) or
        a displayed name given to exactly one label (``JFK`` for ``Speaker 1``). A new ``edited`` version,
        every timestamp kept.

        Raises:
            NotFoundError: no recording or transcript.
            ServiceError: (not_found) no segment ``index``; (not_found, ``unknown_speaker``) ``speaker`` is
                neither a label nor the name of exactly one label; (invalid) an empty or too long label.
        """
        target = _checked_label(speaker)
        latest = self.store.pick_version(recording_id, "latest")
        segments = self.store.segments(latest.id)
        if not any(s.index == index for s in segments):
            raise ServiceError("not_found", "not_found", f"the transcript has no segment {index}")
        label = self._resolved_label(recording_id, target)
        moved = [dataclasses.replace(s, speaker_label=label) if s.index == index else s for s in segments]
        view = self._edited(recording_id, latest, moved, {"moved_segment": index, "to_speaker": label})
        source = next(_label_of(s) for s in segments if s.index == index)
        if source and source != label and not any(_label_of(s) == source for s in moved):
            self._voice_joined(recording_id, source, label)  # its last segment moved: the whole voice did
        return view

    def _resolved_label(self, recording_id: int, target: str) -> str:
        """The label ``target`` means: itself when a label, else the one label named ``target``.

        Raises:
            ServiceError: (not_found, ``unknown_speaker``) neither, or a name of several labels.
        """
        known = self.known_labels(recording_id)
        if target in known:
            return target
        names = self.store.recording(recording_id).get("speakers") or {}
        named = [label for label, name in names.items() if name == target and label in known]
        if len(named) != 1:
            raise _unknown_speaker(target)
        return str(named[0])

    def _voice_joined(self, recording_id: int, source: str, into: str) -> None:
        """Voice profiles learn that ``source``'s voice is ``into``'s person (docs/speaker-profiles.md)."""
        names = dict(self.store.recording(recording_id).get("speakers") or {})
        VoiceLearning(self, recording_id).joined(source, into, names)

    def _edited(
        self, recording_id: int, latest: Version, segments: list[Segment], extra: dict[str, Any]
    ) -> TranscriptView:
        row = self.store.recording(recording_id)
        keep = ("duration_s", "model", "language_probability", "warnings", "speakers", "labels")
        keep_profiles = ("diarization_id", "profiles")  # voice profiles read them (docs/speaker-profiles.md)
        info = {k: v for k, v in latest.info.items() if k in keep or k in keep_profiles}
        info.update(extra, edited_from=latest.number)
        version = self.store.create_version(
            recording_id, "edited", segments, task_id=None, language=latest.language, info=info
        )
        return TranscriptView(recording_id, row["name"], version, self.store.segments(version.id))

    def summary(self, recording_id: int) -> SummaryView:
        """The newest summary. Raises NotFoundError."""
        self.store.recording(recording_id)
        row = self.store.latest_summary(recording_id)
        return SummaryView(id=row["id"], task_id=row["task_id"], markdown=row["markdown"], data=row["data"] or {})

    def glossary(self) -> GlossaryView:
        """The global glossary and the one of the settings."""
        return GlossaryView(self.store.glossary(), list(self.settings.glossary))

    def set_glossary(self, terms: Sequence[str]) -> GlossaryView:
        """Replace the global glossary. Raises ServiceError beyond the limits of ``check_glossary``."""
        try:
            checked = check_glossary(list(terms))
        except ValueError as exc:
            raise ServiceError("invalid", "invalid_request", str(exc)) from exc
        return GlossaryView(self.store.set_glossary(checked), list(self.settings.glossary))
