"""Answering a question from retrieved passages, citing them, and checking the citations.

The model is told to answer from the passages only, to cite each fact with the passage's tag as shown
(``[mm:ss]`` for one recording, ``[#id mm:ss]`` across the library) and to answer exactly
:data:`NOT_FOUND` when the passages do not say. The answer is then verified, not trusted: it must cite
no passage it was not given, and its content words must be supported by the cited passages (at least
:data:`MIN_SUPPORT` of them appear in the cited passages or their neighbours). An answer citing no passage
(small models often drop the tags) is kept when one or two of the passages it was given support it by the
same rule: those passages' tags are appended to it (:func:`supporting_passages`). Otherwise the answer is
:data:`NOT_FOUND`, with ``reason`` saying why. Without a model, the answer is the
best passages themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from stenograph.errors import TaskCancelled
from stenograph.llm.base import ChatMessage, LLMClient
from stenograph.steps.ask.retrieval import Passage, content_words

__all__ = [
    "MIN_SUPPORT",
    "NOT_FOUND",
    "Answer",
    "answer_question",
    "cite",
    "messages_for",
    "supporting_passages",
    "verify",
]

#: The answer when the transcript does not say.
NOT_FOUND = "The recording does not say."
#: The least share of an answer's content words that its cited passages must hold.
MIN_SUPPORT = 0.5
#: The content words of an uncited answer a second passage's own text must add to be cited too.
_EXTRA_WORDS = 2
#: Tokens the answer may take.
MAX_ANSWER_TOKENS = 300

#: A citation as the model writes it: ``[01:23]``, ``[#4 01:23]`` (several in one bracket: ``[01:23, 02:10]``).
_CITATION = re.compile(r"\[((?:#\d+\s+)?\d{1,4}:\d{2}(?:\s*[,;]\s*(?:#\d+\s+)?\d{1,4}:\d{2})*)\]")
_ONE = re.compile(r"(?:#(\d+)\s+)?(\d{1,4}:\d{2})")

_SYSTEM = (
    "You answer questions about recorded conversations using ONLY the transcript passages given. "
    "Each passage starts with its tag in square brackets. After every fact, cite the passage it comes from "
    "by copying its tag exactly, for example {example}. Keep the answer short (one to three sentences). "
    "If the passages do not contain the answer, reply exactly: " + NOT_FOUND + " Never use outside knowledge."
)


def cite(passage: Passage, library: bool) -> str:
    """The tag of a passage: ``[mm:ss]``, or ``[#recording mm:ss]`` across the library."""
    return f"[#{passage.recording_id} {passage.stamp}]" if library else f"[{passage.stamp}]"


def messages_for(question: str, passages: Sequence[Passage], library: bool) -> list[ChatMessage]:
    """The chat messages asking ``question`` over ``passages`` (one line per segment, with its tag)."""
    lines = []
    for p in passages:
        source = f" ({p.recording_name})" if library else ""
        lines.append(f"{cite(p, library)}{source} {p.text}")
    example = "[#3 01:23]" if library else "[01:23]"
    return [
        {"role": "system", "content": _SYSTEM.format(example=example)},
        {"role": "user", "content": "Passages:\n" + "\n".join(lines) + f"\n\nQuestion: {question}\nAnswer:"},
    ]


@dataclass
class Answer:
    """An answer: its text, the passages it cites, whether the transcript says (``found``), how it was made
    (``llm`` or ``passages``), and ``reason`` when a model's answer was replaced by :data:`NOT_FOUND`."""

    text: str
    citations: list[Passage] = field(default_factory=list)
    found: bool = True
    method: str = "llm"
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "citations": [p.to_dict() for p in self.citations],
            "found": self.found,
            "method": self.method,
            "reason": self.reason,
        }


def cited_passages(text: str, passages: Sequence[Passage], library: bool) -> tuple[list[Passage], list[str]]:
    """The passages ``text`` cites, in order of first citation, and the citations matching none given."""
    by_tag = {cite(p, library)[1:-1]: p for p in passages}
    by_stamp: dict[str, list[Passage]] = {}
    for p in passages:
        by_stamp.setdefault(p.stamp, []).append(p)
    found: dict[str, Passage] = {}
    unknown: list[str] = []
    for group in _CITATION.finditer(text):
        for recording, stamp in _ONE.findall(group.group(1)):
            if library and recording:
                passage = by_tag.get(f"#{recording} {stamp}")
            else:  # one recording, or a library citation without its recording: the stamp when it is unique
                same = by_stamp.get(stamp, [])
                passage = same[0] if len(same) == 1 else None
            if passage is None:
                unknown.append(f"#{recording} {stamp}" if recording else stamp)
            else:
                found.setdefault(cite(passage, library), passage)
    return list(found.values()), unknown


def verify(text: str, passages: Sequence[Passage], library: bool) -> Answer:
    """Check a model's answer against the passages it was given (see the module doc)."""
    stripped = text.strip()
    if not stripped or _says_not_found(stripped):
        return Answer(NOT_FOUND, found=False, reason=None if stripped else "the model gave no answer")
    cited, unknown = cited_passages(stripped, passages, library)
    if unknown:  # an invented timestamp: the rest of the answer is not to be trusted either
        shown = ", ".join(dict.fromkeys(unknown[:5]))
        return Answer(
            NOT_FOUND, found=False, reason=f"the answer was not used: it cites passages it was not given ({shown})"
        )
    claimed = set(content_words(_CITATION.sub(" ", stripped)))
    if not cited:
        cited = supporting_passages(claimed, passages)
        if not cited:
            return Answer(
                NOT_FOUND,
                found=False,
                reason="the answer was not used: it cites no passage, and no one or two passages support it",
            )
        stripped = f"{stripped} {' '.join(cite(p, library) for p in cited)}"
    support = set(content_words(" ".join(p.context for p in cited)))
    if claimed and len(claimed & support) / len(claimed) < MIN_SUPPORT:
        return Answer(
            NOT_FOUND,
            found=False,
            reason="the answer was not used: the passages it cites do not support it "
            f"({len(claimed & support)} of its {len(claimed)} content words appear in them)",
        )
    return Answer(stripped, cited)


def supporting_passages(claimed: set[str], passages: Sequence[Passage]) -> list[Passage]:
    """The one or two passages that best support an answer citing none, in transcript order; [] when none do.

    ``claimed`` is the answer's content words. The first is the passage whose :attr:`~Passage.context` holds
    the most of them (ties: the one whose own text holds most, then the best scored). It is enough alone when
    it holds at least :data:`MIN_SUPPORT` of them; a second passage is cited with it when its own text holds
    at least :data:`_EXTRA_WORDS` of them that the first's own text lacks (the answer joins two passages). Short
    of :data:`MIN_SUPPORT` alone, the pair holding the most is cited if it reaches it. An answer without content
    words is supported by none.
    """
    if not claimed or not passages:
        return []
    contexts = [claimed & set(content_words(p.context)) for p in passages]
    owns = [claimed & set(content_words(p.text)) for p in passages]
    needed = MIN_SUPPORT * len(claimed)
    first = max(range(len(passages)), key=lambda i: (len(contexts[i]), len(owns[i]), passages[i].score, -i))
    others = [j for j in range(len(passages)) if j != first]
    if not others:
        return [passages[first]] if len(contexts[first]) >= needed else []
    if len(contexts[first]) >= needed:
        second = max(others, key=lambda j: (len(owns[j] - owns[first]), passages[j].score, -j))
        if len(owns[second] - owns[first]) < _EXTRA_WORDS:
            return [passages[first]]
        return [passages[k] for k in sorted((first, second))]
    pairs = [(i, j) for i in range(len(passages)) for j in range(i + 1, len(passages))]
    i, j = max(pairs, key=lambda ij: (len(contexts[ij[0]] | contexts[ij[1]]), len(owns[ij[0]] | owns[ij[1]]), -ij[0]))
    return [passages[i], passages[j]] if len(contexts[i] | contexts[j]) >= needed else []


def _says_not_found(text: str) -> bool:
    lowered = text.lower()
    return "does not say" in lowered or "do not say" in lowered or "doesn't say" in lowered


def passages_answer(passages: Sequence[Passage], library: bool) -> Answer:
    """The answer without a model: the best passages, each with its tag (none: :data:`NOT_FOUND`)."""
    best = sorted((p for p in passages if p.score > 0), key=lambda p: -p.score)[:3]
    if not best:
        return Answer(NOT_FOUND, found=False, method="passages")
    text = "No language model is configured; the passages that match the question best: " + " ".join(
        f"{cite(p, library)} {p.text}" for p in best
    )
    return Answer(text, best, method="passages")


def generate(
    client: LLMClient,
    messages: list[ChatMessage],
    *,
    on_partial: Callable[[str], None],
    should_stop: Callable[[], bool],
) -> str:
    """The model's answer. A client that streams (``stream_chat(messages, max_tokens=, temperature=)``
    yielding pieces of text, looked for on the client and on the client it wraps: a streamed answer is not
    retried by :class:`~stenograph.llm.patience.PatientLLM`) reports the text so far after each piece, and a
    cancel stops it between pieces; any other client answers at once.

    Raises:
        TaskCancelled: ``should_stop()`` became true while streaming.
        LLMError: as the client's ``chat``.
    """
    stream = _stream_of(client)
    if stream is None:
        text = client.chat(messages, max_tokens=MAX_ANSWER_TOKENS, temperature=0.0).text
        on_partial(text)
        return text
    parts: list[str] = []
    pieces = stream(messages, max_tokens=MAX_ANSWER_TOKENS, temperature=0.0)
    try:
        for piece in pieces:
            if should_stop():
                raise TaskCancelled("the question was cancelled")
            parts.append(piece)
            on_partial("".join(parts))
    finally:
        close = getattr(pieces, "close", None)
        if callable(close):
            close()  # a generator holding the engine lets it go now
    return "".join(parts)


def _stream_of(client: object) -> Callable[..., Iterator[str]] | None:
    for candidate in (client, getattr(client, "client", None)):
        stream = getattr(candidate, "stream_chat", None)
        if callable(stream):
            return cast("Callable[..., Iterator[str]]", stream)
    return None


def answer_question(
    client: LLMClient | None,
    question: str,
    passages: Sequence[Passage],
    *,
    library: bool,
    on_partial: Callable[[str], None] = lambda _text: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Answer:
    """Answer ``question`` from ``passages`` (in transcript order, scored): by ``client``, verified; without one, the
    passages. No passage at all is :data:`NOT_FOUND` without asking the model.

    Raises:
        TaskCancelled: cancelled while the answer streamed.
        LLMError: the model failed.
    """
    if client is None:
        return passages_answer(passages, library)
    if not passages:
        return Answer(NOT_FOUND, found=False, reason="no passage of the transcript matches the question")
    text = generate(client, messages_for(question, passages, library), on_partial=on_partial, should_stop=should_stop)
    return verify(text, passages, library)
