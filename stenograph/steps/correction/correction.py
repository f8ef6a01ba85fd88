"""Transcript correction: an LLM proposes fixes, a guard decides what to keep; glossary-only without one.

With an LLM (:func:`correct_segments` given a client):

1. Consecutive segments are grouped in chunks that fit the model's context (prompt, the segments as
   JSON, and room for the answer: :func:`plan_chunk`). The last :data:`CONTEXT_LINES` segments before
   the chunk are shown as read-only context (their last :data:`CONTEXT_CHARS` characters).
2. The model answers ``{"segments": [{"id", "text"}]}`` (JSON schema :data:`CORRECTION_SCHEMA`): the
   corrected text of each segment by id, so every segment keeps its index, start and end.
3. The guard (:func:`guard_chunk`) keeps the original text of a segment when the proposal is missing
   (the model merged or dropped it), duplicated, empties it, takes words from another segment or drops
   some of its own (:mod:`stenograph.steps.correction.spans`: then a neighbour that gave or took the
   words keeps its original too, so no span is doubled or lost), or changes more than
   ``max_edit_ratio`` of its characters (:func:`edit_ratio`); it ignores proposals for unknown ids
   (invented segments). When
   more than half of a chunk's segments are rejected, the whole chunk is distrusted and kept as it was
   (``chunk_unreliable``): a model that is wrong that often is guessing. A weak model is thus harmless.
4. A malformed answer gets one repair prompt (:func:`stenograph.llm.structured.chat_json`); if that
   fails too, the chunk keeps its original text (``malformed``). A context-overflow error halves the
   chunk budget and retries; a single segment that still overflows is kept as it was (``too_long``).

Without an LLM, near-miss spellings of glossary terms are replaced (:mod:`stenograph.steps.correction.glossary`)
and the result says no LLM was used (``method == "glossary"``).

Progress is reported per chunk as ``on_progress(fraction, message)``; ``should_stop()`` is checked
before each chunk and raises :class:`stenograph.errors.TaskCancelled`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from stenograph.errors import TaskCancelled
from stenograph.llm.base import ChatMessage, LLMClient, LLMDescription
from stenograph.llm.errors import LLMContextOverflow, LLMOutputError
from stenograph.llm.structured import JsonAnswer, chat_json, schema_prompt
from stenograph.steps.correction.glossary import apply_glossary
from stenograph.steps.correction.spans import span_violations
from stenograph.transcript.languages import display_name
from stenograph.transcript.types import Segment

__all__ = [
    "CONTEXT_LINES",
    "CORRECTION_SCHEMA",
    "SEGMENTS_MARKER",
    "CorrectionResult",
    "CorrectionStats",
    "correct_segments",
    "edit_ratio",
    "guard_chunk",
    "parse_correction_request",
    "plan_chunk",
]

#: Segments of the previous chunk shown as read-only context.
CONTEXT_LINES = 3
#: Characters of each read-only context line kept (its end, nearest the chunk).
CONTEXT_CHARS = 300
#: Most segments per request, whatever the context: long lists make small models lose ids.
MAX_SEGMENTS_PER_CHUNK = 40
#: Room kept for the answer, as a multiple of the chunk's JSON tokens (corrections add a little text).
ANSWER_FACTOR = 1.25
#: Tokens kept free for chat-template tokens and rounding.
SAFETY_TOKENS = 64
#: The line before the chunk's JSON in the user message (the fake client reads the request after it).
SEGMENTS_MARKER = "Segments to correct (JSON):"

CORRECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "segments": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "text": {"type": "string"}},
                "required": ["id", "text"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["segments"],
    "additionalProperties": False,
}

Progress = Callable[[float, str], None]
Rejection = Literal[
    "missing", "unknown_id", "duplicate_id", "emptied", "edit_ratio", "chunk_unreliable", "malformed",
    "too_long", "neighbour_words", "drops_words", "adds_words",
]  # fmt: skip


@dataclass(slots=True)
class CorrectionStats:
    """What the correction did. Counts are segments unless named otherwise.

    ``proposed``: segments for which the model proposed a different text; ``accepted``: those applied;
    ``unchanged``: segments the model returned as they were; ``rejected_by_reason``: segments kept as
    they were, by reason (``unknown_id`` counts invented proposals); ``repairs``: repair prompts sent;
    ``failed_chunks``: chunks kept whole after a malformed answer; ``llm_seconds``/``completion_tokens``:
    model time and output tokens (None when the server did not say).
    """

    segments: int = 0
    chunks: int = 0
    proposed: int = 0
    accepted: int = 0
    unchanged: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    repairs: int = 0
    failed_chunks: int = 0
    glossary_replacements: int = 0
    llm_calls: int = 0
    llm_seconds: float = 0.0
    completion_tokens: int | None = None

    def reject(self, reason: Rejection, count: int = 1) -> None:
        if count > 0:
            self.rejected_by_reason[reason] = self.rejected_by_reason.get(reason, 0) + count

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class CorrectionResult:
    """The corrected segments (same count, indices, starts and ends as the input), the stats, and
    which LLM did it (None with ``method == "glossary"``: no LLM was used)."""

    segments: list[Segment]
    stats: CorrectionStats
    llm_description: LLMDescription | None
    method: Literal["llm", "glossary"]

    @property
    def llm_used(self) -> bool:
        return self.method == "llm"

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``segments`` (``Segment.to_dict``), ``stats``, ``method``, ``llm``."""
        return {
            "segments": [segment.to_dict() for segment in self.segments],
            "stats": self.stats.to_dict(),
            "method": self.method,
            "llm": self.llm_description.to_dict() if self.llm_description else None,
        }


def edit_ratio(original: str, proposed: str) -> float:
    """The fraction of ``original``'s characters a proposal changes: edits / ``len(original)``.

    Edits are counted on :class:`difflib.SequenceMatcher`'s character alignment: each replace, delete
    or insert block counts ``max(old length, new length)``. This is an upper bound of the Levenshtein
    distance (0 for equal strings; 1.0 or more for a rewrite). Leading/trailing spaces are ignored, and
    so is case (compared with ``str.casefold``): restoring capitalisation corrects, it does not rewrite.
    """
    a, b = original.strip().casefold(), proposed.strip().casefold()
    if a == b:
        return 0.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    edits = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")
    return edits / max(len(a), 1)


def _segment_json(segment: Segment) -> str:
    """A segment as the model reads it: its id, its speaker's name when it has one (context, not to be
    returned) and its text."""
    item: dict[str, Any] = {"id": segment.index, "text": segment.text.strip()}
    if segment.speaker:
        item = {"id": segment.index, "speaker": segment.speaker, "text": segment.text.strip()}
    return json.dumps(item, ensure_ascii=False)


def plan_chunk(costs: Sequence[int], budget: int, *, max_segments: int = MAX_SEGMENTS_PER_CHUNK) -> int:
    """How many of the next segments fit one request: the longest prefix of ``costs`` (tokens per
    segment, request and answer together) whose sum is at most ``budget``, at least 1, at most
    ``max_segments``."""
    total, count = 0, 0
    for cost in costs[:max_segments]:
        if count and total + cost > budget:
            break
        total += cost
        count += 1
    return max(1, min(count, len(costs))) if costs else 0


def guard_chunk(
    chunk: Sequence[Segment],
    proposals: Sequence[tuple[int, str]],
    max_edit_ratio: float,
    stats: CorrectionStats,
    *,
    before: str = "",
    after: str = "",
) -> dict[int, str]:
    """Decide which proposals to apply to ``chunk``; returns ``{segment index: new text}``.

    ``before``/``after`` are the original texts of the segments just outside the chunk (a proposal
    must not take their words either). Counts every decision in ``stats`` (see the module doc).
    """
    by_id: dict[int, list[str]] = {}
    known = {segment.index for segment in chunk}
    for seg_id, text in proposals:
        if seg_id not in known:
            stats.reject("unknown_id")
            continue
        by_id.setdefault(seg_id, []).append(text)
    single = {seg_id: texts[0] for seg_id, texts in by_id.items() if len(texts) == 1}
    spans = span_violations([(seg.index, seg.text) for seg in chunk], single, before=before, after=after)
    accepted: dict[int, str] = {}
    rejected = 0
    for segment in chunk:
        texts = by_id.get(segment.index, [])
        reason: Rejection | None = None
        if not texts:
            reason = "missing"
        elif len(texts) > 1:
            reason = "duplicate_id"
        elif texts[0].strip() == segment.text.strip():
            stats.unchanged += 1
            continue
        else:
            stats.proposed += 1
            if not texts[0].strip():
                reason = "emptied"
            elif segment.index in spans.borrowed:
                reason = "neighbour_words"
            elif segment.index in spans.dropped:
                reason = "drops_words"
            elif segment.index in spans.invented:
                reason = "adds_words"
            elif edit_ratio(segment.text, texts[0]) > max_edit_ratio:
                reason = "edit_ratio"
        if reason is not None:
            stats.reject(reason)
            rejected += 1
            continue
        leading = segment.text[: len(segment.text) - len(segment.text.lstrip())]
        accepted[segment.index] = leading + texts[0].strip()
    if rejected * 2 > len(chunk) and accepted:
        stats.reject("chunk_unreliable", len(accepted))
        return {}
    stats.accepted += len(accepted)
    return accepted


def parse_correction_request(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """The ``[{"id", "text"}]`` a correction request asks about (for fakes and tests).

    Raises:
        ValueError: the last user message carries no correction request.
    """
    for message in reversed(messages):
        if message["role"] == "user" and SEGMENTS_MARKER in message["content"]:
            payload = message["content"].rsplit(SEGMENTS_MARKER, 1)[1]
            return list(json.loads(payload)["segments"])
    raise ValueError("no correction request in the messages")


def _system_prompt(language: str | None, glossary: Sequence[str]) -> str:
    language_name = display_name(language)
    lines = [
        "You correct automatic speech recognition transcripts" + (f" in {language_name}." if language_name else "."),
        "For each segment, return its text with recognition errors fixed: misheard words, names and terms, "
        "spelling, punctuation and capitalisation.",
        "Keep the speaker's words, style and language. Do not translate, summarise, rephrase, merge, split, "
        "add or remove segments. Return a segment that is already correct unchanged.",
        "Return every id exactly once, with its full corrected text.",
    ]
    if glossary:
        lines.append("Glossary (use these exact spellings): " + ", ".join(glossary))
    return "\n".join(lines)


def _context_text(segment: Segment) -> str:
    text = segment.text.strip()
    return text if len(text) <= CONTEXT_CHARS else "…" + text[-CONTEXT_CHARS:]


def _user_prompt(chunk: Sequence[Segment], previous: Sequence[Segment]) -> str:
    parts = []
    if previous:
        context = "\n".join(f"[{segment.index}] {_context_text(segment)}" for segment in previous)
        parts.append(f"Earlier lines, for context only (do not return them):\n{context}\n")
    body = ",\n".join(_segment_json(segment) for segment in chunk)
    parts.append(f'{SEGMENTS_MARKER}\n{{"segments": [\n{body}\n]}}')
    return "\n".join(parts)


def _to_pairs(data: Any) -> list[tuple[int, str]]:
    return [(int(item["id"]), str(item["text"])) for item in data["segments"]]


def _correct_with_glossary(segments: Sequence[Segment], glossary: Sequence[str]) -> CorrectionResult:
    stats = CorrectionStats(segments=len(segments))
    out = []
    for segment in segments:
        result = apply_glossary(segment.text, glossary) if glossary else None
        if result and result.replacements:
            stats.glossary_replacements += len(result.replacements)
            stats.accepted += 1
            segment = dataclasses.replace(segment, text=result.text)
        out.append(segment)
    return CorrectionResult(out, stats, None, "glossary")


def _correct_without_llm(
    segments: Sequence[Segment],
    glossary: Sequence[str],
    on_progress: Progress | None,
    should_stop: Callable[[], bool] | None,
) -> CorrectionResult:
    """Glossary-only correction (no LLM), reported as done at once.

    Raises:
        TaskCancelled: ``should_stop()`` returned True.
    """
    if should_stop and should_stop():
        raise TaskCancelled("correction cancelled")
    result = _correct_with_glossary(segments, glossary)
    if on_progress:
        on_progress(1.0, "glossary applied")
    return result


def _nothing_usable(where: LLMDescription, chunks: int) -> LLMOutputError:
    """The error when every one of ``chunks`` chunks got a malformed answer from the LLM ``where``."""
    return LLMOutputError(
        f"the LLM ({where.kind} model {where.model or '?'} at {where.endpoint or 'this machine'}) answered "
        f"nothing usable for any of the {chunks} chunk(s): every answer was malformed, even after a repair "
        "prompt; the transcript is left as it was"
    )


def correct_segments(
    client: LLMClient | None,
    segments: Sequence[Segment],
    *,
    glossary: Sequence[str] = (),
    language: str | None = None,
    max_edit_ratio: float = 0.35,
    context_tokens: int | None = None,
    on_progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> CorrectionResult:
    """Correct ``segments`` (see the module doc).

    Args:
        client: the LLM, or None for glossary-only correction.
        segments: the transcript, in order.
        glossary: names and terms to spell right (``settings.glossary`` plus per-recording terms).
        language: ISO 639-1 code of the transcript, or None.
        max_edit_ratio: the most of a segment's characters a correction may change (0 to 1).
        context_tokens: context to plan for (tokens); None asks the client.
        on_progress: called after each chunk with (fraction done 0..1, message).
        should_stop: polled before each chunk.

    Returns:
        The corrected transcript: one segment per input segment, same index, start and end.

    Raises:
        TaskCancelled: ``should_stop()`` returned True.
        LLMUnavailable / LLMTimeout (retryable), LLMRequestRejected (permanent): from the client.
    """
    if client is None:
        return _correct_without_llm(segments, glossary, on_progress, should_stop)
    stats = CorrectionStats(segments=len(segments))
    system = _system_prompt(language, glossary)
    in_costs, costs, budget = _plan_costs(client, segments, system, context_tokens)
    texts: dict[int, str] = {}
    position = 0
    while position < len(segments):
        if should_stop and should_stop():
            raise TaskCancelled("correction cancelled")
        count = plan_chunk(costs[position:], budget)
        chunk = segments[position : position + count]
        previous = segments[max(0, position - CONTEXT_LINES) : position]
        answer_tokens = sum(math.ceil(c * ANSWER_FACTOR) for c in in_costs[position : position + count]) + 32
        try:
            answer = _ask(client, system, chunk, previous, answer_tokens)
        except LLMContextOverflow:
            if count > 1:
                budget = max(1, sum(costs[position : position + count]) // 2)
                continue
            stats.reject("too_long")
            position += 1
            continue
        except LLMOutputError:
            stats.failed_chunks += 1
            stats.repairs += 1
            stats.llm_calls += 2
            stats.reject("malformed", count)
        else:
            _count_answer(stats, answer)
            before = segments[position - 1].text if position > 0 else ""
            after = segments[position + count].text if position + count < len(segments) else ""
            texts.update(guard_chunk(chunk, answer.value, max_edit_ratio, stats, before=before, after=after))
        stats.chunks += 1
        position += count
        if on_progress:
            message = f"corrected chunk {stats.chunks} ({position}/{len(segments)} segments)"
            on_progress(position / len(segments), message)
    if stats.chunks and stats.failed_chunks == stats.chunks:  # nothing usable: not a correction at all
        raise _nothing_usable(client.describe(), stats.chunks)
    corrected = [
        dataclasses.replace(segment, text=texts[segment.index]) if segment.index in texts else segment
        for segment in segments
    ]
    return CorrectionResult(corrected, stats, client.describe(), "llm")


def _plan_costs(
    client: LLMClient, segments: Sequence[Segment], system: str, context_tokens: int | None
) -> tuple[list[int], list[int], int]:
    """Token costs for planning chunks: each segment's cost as JSON in the prompt, that cost plus room for
    its answer (``ANSWER_FACTOR``), and the chunk budget: the context (``context_tokens``, else the
    client's) less the system prompt, the schema, ``SAFETY_TOKENS`` and the largest read-only context."""
    fixed = client.count_tokens(system + "\n\n" + schema_prompt(CORRECTION_SCHEMA)) + SAFETY_TOKENS
    in_costs = [client.count_tokens(_segment_json(segment)) + 2 for segment in segments]
    costs = [cost + math.ceil(cost * ANSWER_FACTOR) for cost in in_costs]
    context_costs = [client.count_tokens(f"[{segment.index}] {_context_text(segment)}") for segment in segments]
    context_reserve = max((sum(context_costs[i : i + CONTEXT_LINES]) for i in range(len(segments))), default=0)
    budget = (context_tokens or client.context_tokens()) - fixed - context_reserve
    return in_costs, costs, budget


def _ask(
    client: LLMClient,
    system: str,
    chunk: Sequence[Segment],
    previous: Sequence[Segment],
    answer_tokens: int,
) -> JsonAnswer[list[tuple[int, str]]]:
    """One chunk's corrections as ``(id, text)`` pairs, with ``previous`` as read-only context.

    Raises:
        LLMContextOverflow: the prompt does not fit the model's context.
        LLMOutputError: the answer was malformed, even after a repair prompt.
    """
    messages: list[ChatMessage] = [
        {"role": "system", "content": system},
        {"role": "user", "content": _user_prompt(chunk, previous)},
    ]
    return chat_json(
        client,
        messages,
        schema=CORRECTION_SCHEMA,
        schema_name="corrections",
        convert=_to_pairs,
        max_tokens=answer_tokens,
    )


def _count_answer(stats: CorrectionStats, answer: JsonAnswer[list[tuple[int, str]]]) -> None:
    """Add an answer's repair, calls, seconds and completion tokens to ``stats``."""
    stats.repairs += int(answer.repaired)
    stats.llm_calls += len(answer.answers)
    for raw in answer.answers:
        stats.llm_seconds += raw.seconds
        if raw.completion_tokens is not None:
            stats.completion_tokens = (stats.completion_tokens or 0) + raw.completion_tokens
