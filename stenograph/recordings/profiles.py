"""Voice profiles in the database: a named person's voice embeddings, kept for later recordings.

A profile is a unique name and its embeddings; each embedding came from one diarized label (``"SPEAKER_00"``)
of one diarization, and that pair is its key: a correction moves the key's embedding from one profile to
another (:meth:`ProfileStore.learn`) or out of every profile (:meth:`ProfileStore.forget`). A profile left with
no embedding is deleted, and deleting a profile deletes its embeddings (docs/speaker-profiles.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from stenograph import clock
from stenograph.db.models import Diarization, SpeakerProfile, SpeakerProfileEmbedding
from stenograph.errors import NotFoundError

__all__ = ["ProfileStore", "ProfileVoices", "VoiceKey"]


@dataclass(frozen=True, slots=True)
class VoiceKey:
    """Where an embedding came from: a diarized ``label`` of diarization ``diarization_id`` of a recording."""

    recording_id: int
    diarization_id: int
    label: str


@dataclass(frozen=True, slots=True)
class ProfileVoices:
    """A profile's id, name and embeddings (each a list of floats), for matching."""

    id: int
    name: str
    embeddings: list[list[float]]


class ProfileStore:
    """Database access for voice profiles. Every method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def profiles(self) -> list[dict[str, Any]]:
        """Every profile by name: ``{"id", "name", "created_at", "updated_at", "embeddings", "recordings"}``
        (``embeddings``: how many; ``recordings``: from how many recordings)."""
        counts = (
            select(
                SpeakerProfileEmbedding.profile_id,
                func.count().label("embeddings"),
                func.count(func.distinct(SpeakerProfileEmbedding.recording_id)).label("recordings"),
            )
            .group_by(SpeakerProfileEmbedding.profile_id)
            .subquery()
        )
        query = (
            select(
                SpeakerProfile.id,
                SpeakerProfile.name,
                SpeakerProfile.created_at,
                SpeakerProfile.updated_at,
                counts.c.embeddings,
                counts.c.recordings,
            )
            .outerjoin(counts, counts.c.profile_id == SpeakerProfile.id)
            .order_by(SpeakerProfile.name, SpeakerProfile.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [self._public(row) for row in rows]

    @staticmethod
    def _public(row: Any) -> dict[str, Any]:
        return {
            **{key: row[key] for key in ("id", "name", "created_at", "updated_at")},
            "embeddings": int(row["embeddings"] or 0),
            "recordings": int(row["recordings"] or 0),
        }

    def profile(self, profile_id: int) -> dict[str, Any]:
        """One profile as :meth:`profiles` gives it. Raises NotFoundError."""
        for row in self.profiles():
            if row["id"] == profile_id:
                return row
        raise NotFoundError(f"no speaker profile {profile_id}")

    def by_name(self, name: str) -> int | None:
        """The id of the profile called ``name`` (exactly), or None."""
        with self.engine.connect() as conn:
            found = conn.execute(select(SpeakerProfile.id).where(SpeakerProfile.name == name)).scalar()
        return int(found) if found is not None else None

    def voices(self) -> list[ProfileVoices]:
        """Every profile with its embeddings (profiles without one left out), for matching."""
        query = select(SpeakerProfile.id, SpeakerProfile.name, SpeakerProfileEmbedding.embedding).join(
            SpeakerProfileEmbedding, SpeakerProfileEmbedding.profile_id == SpeakerProfile.id
        )
        found: dict[int, ProfileVoices] = {}
        with self.engine.connect() as conn:
            for profile_id, name, embedding in conn.execute(query.order_by(SpeakerProfileEmbedding.id)):
                found.setdefault(profile_id, ProfileVoices(profile_id, name, [])).embeddings.append(embedding)
        return list(found.values())

    def embeddings(self, profile_id: int) -> list[list[float]]:
        """The profile's embeddings, oldest first (empty for a deleted or unknown profile)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(SpeakerProfileEmbedding.embedding)
                .where(SpeakerProfileEmbedding.profile_id == profile_id)
                .order_by(SpeakerProfileEmbedding.id)
            ).scalars()
            return [list(r) for r in rows]

    def count_embeddings(self) -> int:
        """How many embeddings all profiles hold."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(SpeakerProfileEmbedding)).scalar_one())

    def diarization_embeddings(self, diarization_id: int) -> dict[str, list[float]]:
        """The per-label embeddings stored with diarization ``diarization_id`` (empty when it is gone)."""
        with self.engine.connect() as conn:
            found = conn.execute(select(Diarization.embeddings).where(Diarization.id == diarization_id)).scalar()
        return dict(found or {})

    def learn(self, name: str, key: VoiceKey, embedding: Sequence[float]) -> int:
        """Keep ``embedding`` (from ``key``) in the profile called ``name`` (made when there is none), and out
        of every other profile (those left empty are deleted); returns the profile's id."""
        now = clock.now()
        with self.engine.begin() as conn:
            profile_id = conn.execute(select(SpeakerProfile.id).where(SpeakerProfile.name == name)).scalar()
            if profile_id is None:
                profile_id = conn.execute(
                    insert(SpeakerProfile)
                    .values(name=name, created_at=now, updated_at=now)
                    .returning(SpeakerProfile.id)
                ).scalar_one()
            self._drop_key(conn, key, keep_profile=int(profile_id))
            held = conn.execute(
                select(func.count())
                .select_from(SpeakerProfileEmbedding)
                .where(SpeakerProfileEmbedding.profile_id == profile_id, *self._key_is(key))
            ).scalar_one()
            if not held:
                conn.execute(
                    insert(SpeakerProfileEmbedding).values(
                        profile_id=profile_id,
                        recording_id=key.recording_id,
                        diarization_id=key.diarization_id,
                        label=key.label,
                        embedding=[float(x) for x in embedding],
                        created_at=now,
                    )
                )
                conn.execute(update(SpeakerProfile).where(SpeakerProfile.id == profile_id).values(updated_at=now))
        return int(profile_id)

    def forget(self, key: VoiceKey) -> None:
        """Take ``key``'s embedding out of every profile (those left empty are deleted)."""
        with self.engine.begin() as conn:
            self._drop_key(conn, key, keep_profile=None)

    @staticmethod
    def _key_is(key: VoiceKey) -> list[Any]:
        return [
            SpeakerProfileEmbedding.diarization_id == key.diarization_id,
            SpeakerProfileEmbedding.label == key.label,
        ]

    def _drop_key(self, conn: Connection, key: VoiceKey, *, keep_profile: int | None) -> None:
        where = self._key_is(key)
        if keep_profile is not None:
            where.append(SpeakerProfileEmbedding.profile_id != keep_profile)
        losers = set(conn.execute(select(SpeakerProfileEmbedding.profile_id).where(*where)).scalars())
        if not losers:
            return
        conn.execute(delete(SpeakerProfileEmbedding).where(*where))
        emptied = select(SpeakerProfile.id).where(
            SpeakerProfile.id.in_(losers),
            ~select(SpeakerProfileEmbedding.id).where(SpeakerProfileEmbedding.profile_id == SpeakerProfile.id).exists(),
        )
        conn.execute(delete(SpeakerProfile).where(SpeakerProfile.id.in_(emptied.scalar_subquery())))

    def rename(self, profile_id: int, name: str) -> None:
        """Give the profile a new name (the caller checks that no other profile has it). Raises NotFoundError."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(SpeakerProfile).where(SpeakerProfile.id == profile_id).values(name=name, updated_at=clock.now())
            ).rowcount
        if not changed:
            raise NotFoundError(f"no speaker profile {profile_id}")

    def merge(self, source_id: int, into_id: int) -> None:
        """Move every embedding of ``source_id`` into ``into_id`` and delete ``source_id`` (an embedding both
        hold is kept once)."""
        with self.engine.begin() as conn:
            held = {
                (row.diarization_id, row.label)
                for row in conn.execute(
                    select(SpeakerProfileEmbedding.diarization_id, SpeakerProfileEmbedding.label).where(
                        SpeakerProfileEmbedding.profile_id == into_id
                    )
                )
            }
            for row_id, diarization_id, label in conn.execute(
                select(
                    SpeakerProfileEmbedding.id, SpeakerProfileEmbedding.diarization_id, SpeakerProfileEmbedding.label
                ).where(SpeakerProfileEmbedding.profile_id == source_id)
            ).all():
                target = SpeakerProfileEmbedding.id == row_id
                if (diarization_id, label) in held:
                    conn.execute(delete(SpeakerProfileEmbedding).where(target))
                else:
                    conn.execute(update(SpeakerProfileEmbedding).where(target).values(profile_id=into_id))
            conn.execute(delete(SpeakerProfile).where(SpeakerProfile.id == source_id))
            conn.execute(update(SpeakerProfile).where(SpeakerProfile.id == into_id).values(updated_at=clock.now()))

    def delete(self, profile_id: int) -> None:
        """Delete the profile and every embedding of it. Raises NotFoundError."""
        with self.engine.begin() as conn:
            conn.execute(delete(SpeakerProfileEmbedding).where(SpeakerProfileEmbedding.profile_id == profile_id))
            gone = conn.execute(delete(SpeakerProfile).where(SpeakerProfile.id == profile_id)).rowcount
        if not gone:
            raise NotFoundError(f"no speaker profile {profile_id}")
