"""Recordings, transcript versions, segments and summaries in the database.

A recording has transcript versions numbered 1, 2, ...: ``original`` (Whisper's), ``corrected`` (the LLM
or glossary correction), ``edited`` (a person changed a segment) and ``speakers`` (diarized speakers assigned).
Each version keeps every segment's index, start and end. Full-text search of names and the newest transcript
text uses the ``recordings_fts`` table: on SQLite FTS5 with the trigram tokenizer (so Chinese text, which has no
spaces, matches too); on PostgreSQL a generated ``tsvector`` (words matched as prefixes) and, for scripts
written without spaces, a substring match over a ``pg_trgm`` index (migration 0003).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, or_, select, text, update

from stenograph import clock
from stenograph.db.models import AppSetting, Diarization, Recording, SegmentRow, Summary, TranscriptVersion
from stenograph.errors import NotFoundError
from stenograph.transcript.types import Segment, Word

GLOSSARY_KEY = "glossary"


@dataclass(frozen=True, slots=True)
class Version:
    """A transcript version (without its segments)."""

    id: int
    recording_id: int
    number: int
    kind: str
    complete: bool
    task_id: int | None
    created_at: Any
    language: str | None
    info: dict[str, Any]


def _version(row: Any) -> Version:
    return Version(
        id=row.id,
        recording_id=row.recording_id,
        number=row.number,
        kind=row.kind,
        complete=row.complete,
        task_id=row.task_id,
        created_at=row.created_at,
        language=row.language,
        info=row.info or {},
    )


def _segment(row: Any, speakers: dict[str, Any]) -> Segment:
    words = tuple(Word(**w) for w in row.words) if row.words is not None else None
    return Segment(
        index=row.idx,
        start=row.start,
        end=row.end,
        text=row.text,
        avg_logprob=row.avg_logprob,
        no_speech_prob=row.no_speech_prob,
        words=words,
        channel=row.channel,
        speaker=_shown_speaker(row.speaker_label, row.channel, speakers),
        speaker_label=row.speaker_label,
        overlap=bool(row.overlap),
    )


def _shown_speaker(label: str | None, channel: str | None, names: dict[str, Any]) -> str | None:
    """The name shown for a segment: the name given to its diarized label (else the label itself), or the
    name given to its channel (else None: exports then show the channel)."""
    if label:
        return str(names.get(label) or label)
    return names.get(channel) if channel else None


def _segment_values(version_id: int, segment: Segment) -> dict[str, Any]:
    return {
        "version_id": version_id,
        "idx": segment.index,
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "avg_logprob": segment.avg_logprob,
        "no_speech_prob": segment.no_speech_prob,
        "words": [{"start": w.start, "end": w.end, "word": w.word, "probability": w.probability} for w in segment.words]
        if segment.words is not None
        else None,
        "channel": segment.channel,
        "speaker_label": segment.speaker_label,
        "overlap": segment.overlap,
    }


def full_text(segments: Iterable[Segment]) -> str:
    return " ".join(s.text.strip() for s in segments if s.text.strip())


#: Characters of scripts written without spaces between words (CJK, kana, hangul, Thai, Lao, Khmer,
#: Myanmar), where PostgreSQL's word parser sees a whole run as one word.
UNSPACED_SCRIPT = re.compile(
    r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)


#: A word of a search on PostgreSQL is split into these runs of letters and digits, as migration 0003
#: splits the document (its ``SEPARATORS`` are non-word characters here too).
QUERY_TOKEN = re.compile(r"[^\W_]+")

#: The most words and characters a search may have (the API answers 422 beyond them).
MAX_SEARCH_WORDS = 16
MAX_SEARCH_CHARS = 200


def search_words(q: str | None) -> list[str]:
    """The words of a search that count: split on spaces, without those holding no letter or digit
    (``&``, ``|``, ``-``, ``"``), which would otherwise have to appear literally."""
    return [word for word in (q or "").split() if any(char.isalnum() for char in word)]


def _like_pattern(word: str) -> str:
    """``%word%`` for LIKE with ``\\`` as the escape character."""
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class TranscriptStore:
    """Database access for recordings and their transcripts. Every method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"

    # --- recordings ----------------------------------------------------------------------------
    def create_recording(
        self,
        *,
        name: str,
        stored_name: str,
        size_bytes: int,
        duration_s: float | None,
        media: dict[str, Any],
        options: dict[str, Any],
        store_id: str | None = None,
        source_url: str | None = None,
        conn: Connection | None = None,
    ) -> int:
        """A new recording row (``store_id``: the data directory holding its file; ``source_url``: the URL
        an import downloads it from, its file made by the download step); returns its id."""
        values = {
            "source_url": source_url,
            "store_id": store_id,
            "name": name,
            "stored_name": stored_name,
            "size_bytes": size_bytes,
            "created_at": clock.now(),
            "duration_s": duration_s,
            "media": media,
            "options": options,
            "speakers": {},
        }
        if conn is not None:
            return self._insert_recording(conn, values)
        with self.engine.begin() as own:
            return self._insert_recording(own, values)

    def _insert_recording(self, conn: Connection, values: dict[str, Any]) -> int:
        recording_id = int(conn.execute(insert(Recording).values(**values).returning(Recording.id)).scalar_one())
        self._index(conn, recording_id, values["name"], "")
        return recording_id

    def recording(self, recording_id: int) -> dict[str, Any]:
        """The recording's row as a dict. Raises NotFoundError."""
        with self.engine.connect() as conn:
            row = conn.execute(select(Recording).where(Recording.id == recording_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no recording {recording_id}")
        return dict(row)

    def set_downloaded(
        self,
        recording_id: int,
        *,
        size_bytes: int,
        duration_s: float | None,
        media: dict[str, Any],
        title: str | None,
        name: str | None = None,
    ) -> None:
        """What the download step found: the file's size and media, the title the site gave (and ``name``,
        the recording's new name, when given)."""
        values: dict[str, Any] = {"size_bytes": size_bytes, "duration_s": duration_s, "media": media}
        values |= {"source_title": title} | ({"name": name} if name else {})
        with self.engine.begin() as conn:
            conn.execute(update(Recording).where(Recording.id == recording_id).values(**values))

    def recordings(self, *, q: str | None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """Recordings newest first; ``q`` matches names and transcript text: every word of it must appear.

        Words without a letter or digit (``&``, ``-``, ``"``) are ignored. The API caps ``q`` (see
        :data:`MAX_SEARCH_WORDS`); on PostgreSQL the whole search is one query of the search table however
        many words it has.
        """
        words = search_words(q)
        where = [Recording.id.in_(ids) for ids in self._search_ids(words)]
        with self.engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(Recording).where(*where)).scalar_one()
            rows = conn.execute(
                select(Recording)
                .where(*where)
                .order_by(Recording.created_at.desc(), Recording.id.desc())
                .limit(limit)
                .offset(offset)
            ).mappings()
            return [dict(r) for r in rows], int(count)

    def _search_ids(self, words: list[str]) -> list[Any]:
        """Subqueries of the ids of recordings whose name or newest transcript holds the ``words``: a
        recording matches when it is in all of them.

        SQLite, one subquery per word: FTS5 trigrams for 3+ characters, else a case-insensitive substring
        match. PostgreSQL, one subquery in all: the ``tsvector`` matched by a single ``tsquery`` holding
        every letter-and-digit run of every word as a prefix (``budg`` finds "budget", ``two.wav`` is
        ``two`` and ``wav``, as the document was split), and a case-insensitive substring match for each
        word in a script without spaces.
        """
        if not words:
            return []
        if self._sqlite:
            return [self._sqlite_ids(word) for word in words]
        conditions: list[Any] = []
        lexemes: list[str] = []
        for word in words:
            if UNSPACED_SCRIPT.search(word):
                pattern: Any = bindparam("p", _like_pattern(word), unique=True)
                conditions.append(text("(name || ' ' || body) ILIKE :p ESCAPE '\\'").bindparams(pattern))
            else:
                lexemes.extend(QUERY_TOKEN.findall(word.lower()))
        if lexemes:
            # A token holds letters and digits only: no quote or tsquery operator to escape.
            query = " & ".join(f"'{lexeme}':*" for lexeme in dict.fromkeys(lexemes))
            conditions.append(
                text("document @@ to_tsquery('simple', :q)").bindparams(bindparam("q", query, unique=True))
            )
        return [select(text("rowid")).select_from(text("recordings_fts")).where(*conditions)]

    def _sqlite_ids(self, word: str) -> Any:
        if len(word) >= 3:
            phrase = '"' + word.replace('"', '""') + '"'
            match = text("recordings_fts MATCH :q").bindparams(bindparam("q", phrase, unique=True))
            return select(text("rowid")).select_from(text("recordings_fts")).where(match)
        pattern = _like_pattern(word)
        in_text = select(TranscriptVersion.recording_id).where(TranscriptVersion.text.ilike(pattern, escape="\\"))
        return select(Recording.id).where(or_(Recording.name.ilike(pattern, escape="\\"), Recording.id.in_(in_text)))

    def set_speakers(self, recording_id: int, names: dict[str, str]) -> dict[str, Any]:
        self.recording(recording_id)
        with self.engine.begin() as conn:
            conn.execute(update(Recording).where(Recording.id == recording_id).values(speakers=names))
        return names

    def delete_recording(self, recording_id: int) -> None:
        with self.engine.begin() as conn:
            versions = select(TranscriptVersion.id).where(TranscriptVersion.recording_id == recording_id)
            conn.execute(delete(SegmentRow).where(SegmentRow.version_id.in_(versions)))
            conn.execute(delete(TranscriptVersion).where(TranscriptVersion.recording_id == recording_id))
            conn.execute(delete(Summary).where(Summary.recording_id == recording_id))
            conn.execute(delete(Diarization).where(Diarization.recording_id == recording_id))
            conn.execute(text("DELETE FROM recordings_fts WHERE rowid = :id"), {"id": recording_id})
            conn.execute(delete(Recording).where(Recording.id == recording_id))

    def _index(self, conn: Connection, recording_id: int, name: str | None, body: str) -> None:
        if name is None:
            name = conn.execute(select(Recording.name).where(Recording.id == recording_id)).scalar_one()
        conn.execute(text("DELETE FROM recordings_fts WHERE rowid = :id"), {"id": recording_id})
        conn.execute(
            text("INSERT INTO recordings_fts (rowid, name, body) VALUES (:id, :name, :body)"),
            {"id": recording_id, "name": name or "", "body": body},
        )

    # --- versions ------------------------------------------------------------------------------
    def draft_version(self, recording_id: int, task_id: int, kind: str = "original") -> tuple[Version, list[Segment]]:
        """The incomplete version a transcription task writes into (made on its first attempt, of ``kind``:
        ``original``, or ``translation`` for Whisper's translation), with the segments stored so far: a retry
        resumes after the last of them."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(TranscriptVersion).where(
                    TranscriptVersion.recording_id == recording_id,
                    TranscriptVersion.task_id == task_id,
                    TranscriptVersion.complete.is_(False),
                )
            ).first()
            if row is None:
                version_id = self._new_version(conn, recording_id, kind, task_id, complete=False)
                row = conn.execute(select(TranscriptVersion).where(TranscriptVersion.id == version_id)).one()
            version = _version(row)
        return version, self.segments(version.id)

    def _new_version(
        self,
        conn: Connection,
        recording_id: int,
        kind: str,
        task_id: int | None,
        *,
        complete: bool,
        language: str | None = None,
        info: dict[str, Any] | None = None,
        body: str = "",
    ) -> int:
        number = conn.execute(
            select(func.coalesce(func.max(TranscriptVersion.number), 0)).where(
                TranscriptVersion.recording_id == recording_id
            )
        ).scalar_one()
        return int(
            conn.execute(
                insert(TranscriptVersion)
                .values(
                    recording_id=recording_id,
                    number=int(number) + 1,
                    kind=kind,
                    complete=complete,
                    task_id=task_id,
                    created_at=clock.now(),
                    language=language,
                    info=info or {},
                    text=body,
                )
                .returning(TranscriptVersion.id)
            ).scalar_one()
        )

    def add_segments(self, version_id: int, segments: Sequence[Segment]) -> None:
        if not segments:
            return
        with self.engine.begin() as conn:
            conn.execute(insert(SegmentRow), [_segment_values(version_id, s) for s in segments])

    def set_draft_language(self, version_id: int, language: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(TranscriptVersion).where(TranscriptVersion.id == version_id).values(language=language))

    def complete_version(self, version: Version, *, language: str | None, info: dict[str, Any]) -> Version:
        """Mark a draft complete; index its text for search."""
        segments = self.segments(version.id)
        body = full_text(segments)
        with self.engine.begin() as conn:
            conn.execute(
                update(TranscriptVersion)
                .where(TranscriptVersion.id == version.id)
                .values(complete=True, language=language, info=info, text=body)
            )
            self._index(conn, version.recording_id, None, body)
        return self.version(version.id)

    def create_version(
        self,
        recording_id: int,
        kind: str,
        segments: Sequence[Segment],
        *,
        task_id: int | None,
        language: str | None,
        info: dict[str, Any],
    ) -> Version:
        """A new complete version holding ``segments``."""
        body = full_text(segments)
        with self.engine.begin() as conn:
            version_id = self._new_version(
                conn, recording_id, kind, task_id, complete=True, language=language, info=info, body=body
            )
            if segments:
                conn.execute(insert(SegmentRow), [_segment_values(version_id, s) for s in segments])
            self._index(conn, recording_id, None, body)
        return self.version(version_id)

    def version(self, version_id: int) -> Version:
        with self.engine.connect() as conn:
            row = conn.execute(select(TranscriptVersion).where(TranscriptVersion.id == version_id)).first()
        if row is None:
            raise NotFoundError(f"no transcript version {version_id}")
        return _version(row)

    def versions(self, recording_id: int, *, complete_only: bool = True) -> list[Version]:
        where = [TranscriptVersion.recording_id == recording_id]
        if complete_only:
            where.append(TranscriptVersion.complete.is_(True))
        with self.engine.connect() as conn:
            rows = conn.execute(select(TranscriptVersion).where(*where).order_by(TranscriptVersion.number)).all()
        return [_version(r) for r in rows]

    def pick_version(self, recording_id: int, which: str = "latest") -> Version:
        """``latest``, ``original``, ``corrected``, or a version number.

        Raises:
            NotFoundError: no such version (yet).
        """
        versions = self.versions(recording_id)
        if which.isdigit():
            chosen = [v for v in versions if v.number == int(which)]
        elif which == "latest":
            chosen = versions
        else:
            chosen = [v for v in versions if v.kind == which]
        if not chosen:
            raise NotFoundError(f"recording {recording_id} has no {which} transcript yet")
        return chosen[-1]

    def segments(self, version_id: int) -> list[Segment]:
        with self.engine.connect() as conn:
            speakers = conn.execute(
                select(Recording.speakers)
                .join(TranscriptVersion, TranscriptVersion.recording_id == Recording.id)
                .where(TranscriptVersion.id == version_id)
            ).scalar()
            rows = conn.execute(
                select(SegmentRow).where(SegmentRow.version_id == version_id).order_by(SegmentRow.idx)
            ).all()
        return [_segment(r, speakers or {}) for r in rows]

    # --- summaries -----------------------------------------------------------------------------
    def save_summary(
        self, recording_id: int, *, version_id: int | None, task_id: int | None, markdown: str, data: dict[str, Any]
    ) -> int:
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    insert(Summary)
                    .values(
                        recording_id=recording_id,
                        version_id=version_id,
                        task_id=task_id,
                        created_at=clock.now(),
                        markdown=markdown,
                        data=data,
                    )
                    .returning(Summary.id)
                ).scalar_one()
            )

    def latest_summary(self, recording_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(Summary).where(Summary.recording_id == recording_id).order_by(Summary.id.desc()).limit(1)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"recording {recording_id} has no summary yet")
        return dict(row)

    # --- diarizations ----------------------------------------------------------------------------
    def save_diarization(
        self,
        recording_id: int,
        *,
        task_id: int | None,
        model: str,
        duration_s: float,
        params: dict[str, Any],
        speakers: Sequence[str],
        turns: Sequence[tuple[float, float, str]],
        embeddings: dict[str, list[float]],
    ) -> int:
        """Store a diarization's result (``turns``: ``(start_s, end_s, label)``); returns its id."""
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    insert(Diarization)
                    .values(
                        recording_id=recording_id,
                        task_id=task_id,
                        created_at=clock.now(),
                        model=model,
                        duration_s=duration_s,
                        params=params,
                        speakers=list(speakers),
                        turns=[[float(a), float(b), str(label)] for a, b, label in turns],
                        embeddings=embeddings,
                    )
                    .returning(Diarization.id)
                ).scalar_one()
            )

    def latest_diarization(self, recording_id: int) -> dict[str, Any]:
        """The newest diarization of the recording, as a dict of its row.

        Raises:
            NotFoundError: the recording has none yet.
        """
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(Diarization)
                    .where(Diarization.recording_id == recording_id)
                    .order_by(Diarization.id.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"recording {recording_id} has no diarization yet")
        return dict(row)

    # --- the global glossary -------------------------------------------------------------------
    def glossary(self) -> list[str]:
        with self.engine.connect() as conn:
            value = conn.execute(select(AppSetting.value).where(AppSetting.key == GLOSSARY_KEY)).scalar()
        return list(value or [])

    def set_glossary(self, terms: Sequence[str]) -> list[str]:
        clean = sorted({t.strip() for t in terms if t.strip()}, key=str.casefold)
        with self.engine.begin() as conn:
            conn.execute(delete(AppSetting).where(AppSetting.key == GLOSSARY_KEY))
            conn.execute(insert(AppSetting).values(key=GLOSSARY_KEY, value=clean))
        return clean
