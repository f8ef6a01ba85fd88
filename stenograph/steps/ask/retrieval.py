"""Finding the passages of the transcripts that a question is about: BM25 over segments.

A *passage* is one segment; its neighbours (the segments before and after) count for its score at half
weight and are given to the model with it, so that an answer spread over a sentence break is found whole.
Passages are scored with Okapi BM25 (Robertson and Zaragoza, "The Probabilistic Relevance Framework: BM25
and Beyond", 2009; ``k1 = 1.2``, ``b = 0.75``) over the question's content words (lower-cased
letter-and-digit runs not on :data:`STOP_WORDS`, with a plural ``s`` dropped).

Over the library, the candidate recordings come first from the store's full-text search
(:meth:`~stenograph.recordings.store.TranscriptStore.recordings`, one search per content word: a
recording matches when it holds any of them), and the passages are then scored across all candidates.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from stenograph.recordings.store import TranscriptStore
from stenograph.transcript.types import Segment

__all__ = [
    "STOP_WORDS",
    "Passage",
    "content_words",
    "library_passages",
    "rank_passages",
    "recording_passages",
    "timestamp",
    "with_neighbours",
]

#: Words that say nothing about what a question is about (English; questions in other languages still
#: work, with every word counted).
STOP_WORDS = frozenset(
    {
        "a",
        "about",
        "above",
        "after",
        "again",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "said",
        "same",
        "say",
        "says",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "recording",
        "recordings",
        "meeting",
        "tell",
        "mention",
        "mentioned",
        "talk",
        "talked",
        "speaker",
        "speakers",
        "anyone",
        "someone",
        "somebody",
        "anything",
        "something",
        "thing",
        "things",
        "there's",
        "what's",
        "who's",
        "know",
    }
)

_WORD = re.compile(r"[^\W_]+")

#: BM25's parameters (the usual defaults).
K1 = 1.2
B = 0.75


def content_words(text: str) -> list[str]:
    """The content words of ``text``, in order: lower case, stop words dropped, a plural ``s`` removed
    (``budgets`` and ``budget`` match)."""
    words = []
    for word in _WORD.findall(text.lower()):
        if word in STOP_WORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.append(word)
    return words


def timestamp(seconds: float) -> str:
    """``[mm:ss]``'s inside: minutes (not capped at 59) and seconds, ``75.4`` → ``01:15``."""
    whole = max(0, int(seconds))
    return f"{whole // 60:02d}:{whole % 60:02d}"


@dataclass(frozen=True, slots=True)
class Passage:
    """A segment of a recording's newest transcript, with its neighbours' text.

    Attributes:
        recording_id, recording_name: the recording.
        index: the segment's index; ``start``, ``end`` its times (seconds).
        text: the segment's text; ``before``, ``after`` the previous and next segments' text ("" at an end).
        score: its BM25 score for the question (0 when no content word matched, or a neighbour taken in
            for context).
    """

    recording_id: int
    recording_name: str
    index: int
    start: float
    end: float
    text: str
    before: str = ""
    after: str = ""
    score: float = 0.0

    @property
    def stamp(self) -> str:
        return timestamp(self.start)

    @property
    def context(self) -> str:
        """The neighbours' text and its own, in transcript order."""
        return " ".join(t for t in (self.before, self.text, self.after) if t)

    def to_dict(self) -> dict[str, object]:
        return {
            "recording_id": self.recording_id,
            "recording_name": self.recording_name,
            "index": self.index,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "timestamp": self.stamp,
            "text": self.text,
        }


def _passages(recording_id: int, name: str, segments: Sequence[Segment]) -> list[Passage]:
    kept = [s for s in segments if s.text.strip()]
    texts = [s.text.strip() for s in kept]
    return [
        Passage(
            recording_id,
            name,
            segment.index,
            segment.start,
            segment.end,
            texts[i],
            texts[i - 1] if i > 0 else "",
            texts[i + 1] if i + 1 < len(texts) else "",
        )
        for i, segment in enumerate(kept)
    ]


#: The weight of a neighbour's words in a passage's score (its own words weigh 1).
NEIGHBOUR_WEIGHT = 0.5


def _bag(passage: Passage) -> Counter[str]:
    bag: Counter[str] = Counter()
    for word in content_words(passage.text):
        bag[word] += 2
    for word in content_words(passage.before + " " + passage.after):
        bag[word] += 1
    return bag  # in halves: own words 2, neighbours' 1 (NEIGHBOUR_WEIGHT)


def rank_passages(question: str, passages: Sequence[Passage], limit: int) -> list[Passage]:
    """The ``limit`` best passages for ``question`` by BM25, best first (those matching no content word
    of the question left out; ties keep transcript order). A passage's words are its own, and its
    neighbours' at :data:`NEIGHBOUR_WEIGHT`."""
    terms = list(dict.fromkeys(content_words(question)))
    if not terms or not passages:
        return []
    docs = [_bag(p) for p in passages]
    lengths = [sum(d.values()) / 2 for d in docs]
    average = (sum(lengths) / len(lengths)) or 1.0
    frequency = {t: sum(1 for d in docs if t in d) for t in terms}
    n = len(docs)
    scored = []
    for position, (passage, doc, length) in enumerate(zip(passages, docs, lengths, strict=True)):
        score = 0.0
        for term in terms:
            tf = doc.get(term, 0) / 2
            if not tf:
                continue
            idf = math.log(1 + (n - frequency[term] + 0.5) / (frequency[term] + 0.5))
            score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / average))
        if score > 0:
            scored.append((-score, position, replace(passage, score=score)))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [p for _, _, p in scored[:limit]]


def with_neighbours(best: Sequence[Passage], every: Sequence[Passage]) -> list[Passage]:
    """``best`` and the passages right before and after each (from ``every``, one recording's or several
    recordings' passages in transcript order), in transcript order per recording, each once."""
    position = {(p.recording_id, p.index): n for n, p in enumerate(every)}
    chosen: dict[int, Passage] = {}
    for passage in best:
        n = position[(passage.recording_id, passage.index)]
        for m in (n - 1, n + 1):
            if 0 <= m < len(every) and every[m].recording_id == passage.recording_id:
                chosen.setdefault(m, every[m])
        chosen[n] = passage
    return [chosen[n] for n in sorted(chosen)]


def _latest_passages(store: TranscriptStore, recording: dict[str, object]) -> list[Passage]:
    from stenograph.errors import NotFoundError

    recording_id = int(str(recording["id"]))
    try:
        version = store.pick_version(recording_id, "latest")
    except NotFoundError:
        return []
    return _passages(recording_id, str(recording["name"]), store.segments(version.id))


def recording_passages(
    store: TranscriptStore, recording: dict[str, object], question: str, limit: int
) -> list[Passage]:
    """The best ``limit`` passages of one recording's newest transcript with their neighbours, in
    transcript order (see :func:`with_neighbours`; none when it has no transcript yet)."""
    every = _latest_passages(store, recording)
    return with_neighbours(rank_passages(question, every, limit), every)


#: The most recordings whose passages are scored for a library question.
MAX_CANDIDATES = 20
#: The most content words of a question searched for (the store's search takes 16 words at most).
MAX_SEARCH_TERMS = 12


def library_passages(store: TranscriptStore, question: str, limit: int) -> list[Passage]:
    """The best ``limit`` passages across the library with their neighbours: candidate recordings from the
    full-text search (any content word of the question), the most matching words first, at most
    :data:`MAX_CANDIDATES`."""
    hits: Counter[int] = Counter()
    rows: dict[int, dict[str, object]] = {}
    for word in list(dict.fromkeys(content_words(question)))[:MAX_SEARCH_TERMS]:
        found, _count = store.recordings(q=word, limit=MAX_CANDIDATES * 5, offset=0)
        for row in found:
            hits[int(row["id"])] += 1
            rows[int(row["id"])] = row
    candidates = [rows[recording_id] for recording_id, _ in hits.most_common(MAX_CANDIDATES)]
    every = [p for row in candidates for p in _latest_passages(store, row)]
    return with_neighbours(rank_passages(question, every, limit), every)
