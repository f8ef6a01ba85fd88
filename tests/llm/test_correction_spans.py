"""The span guard: a scripted LLM that merges, splits, drops, reorders and invents segments at random
never makes the corrected transcript hold a span twice that the original held once, nor lose one.

Seeded random (hypothesis is not a dev dependency): each seed builds a transcript of random words, and
a scripted LLM whose every answer applies true fixes (a word replaced by its marked variant, the only
legitimate change here) plus random mischief. Mapping the variants back, the corrected transcript must
hold exactly the original's words and word pairs, per segment, counted with multiplicity.
"""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from stenograph.llm.base import ChatMessage
from stenograph.llm.fake import ScriptedLLM
from stenograph.steps.correction.correction import (
    CorrectionStats,
    correct_segments,
    guard_chunk,
    parse_correction_request,
)
from stenograph.steps.correction.spans import span_violations, words
from stenograph.transcript.types import Segment
from tests.llm.helpers import make_segments

VOCABULARY = [
    "budget",
    "meeting",
    "office",
    "monday",
    "friday",
    "team",
    "project",
    "launch",
    "review",
    "plan",
    "design",
    "report",
    "client",
    "server",
    "market",
    "price",
    "sales",
    "quarter",
    "target",
    "board",
    "vote",
    "decision",
    "owner",
    "deadline",
    "staff",
    "hiring",
    "budgeted",
    "travel",
    "window",
    "garden",
    "river",
    "mountain",
    "coffee",
    "paper",
    "letter",
    "phone",
    "screen",
    "table",
    "chair",
    "door",
    "green",
    "yellow",
    "purple",
]
INVENTED = ["zebra", "quasar", "nebula", "walrus", "tundra", "glacier"]
#: A true fix: the marked variant of a word, mapped back by :func:`canonical`.
VARIANT = "q"
#: What the model may do to its answer; "shuffle" (the list's order) comes last, after the others.
OPERATIONS = ("merge_next", "merge_previous", "split", "drop", "swap", "shuffle", "invent_id", "invent_shift")


def canonical(text: str) -> list[str]:
    return [
        word[: -len(VARIANT)] if word.endswith(VARIANT) and word[:-1] in VOCABULARY else word for word in words(text)
    ]


def grams(segments: Sequence[Segment]) -> Counter[tuple[str, ...]]:
    counts: Counter[tuple[str, ...]] = Counter()
    for segment in segments:
        tokens = canonical(segment.text)
        counts.update((token,) for token in tokens)
        counts.update(itertools.pairwise(tokens))
    return counts


def random_transcript(rng: random.Random, count: int) -> list[Segment]:
    texts = []
    for _ in range(count):
        length = rng.choice([1, 2, rng.randint(3, 8), rng.randint(6, 16)])
        texts.append(" ".join(rng.choice(VOCABULARY) for _ in range(length)).capitalize() + ".")
    return make_segments(texts)


def true_fix(rng: random.Random, text: str) -> str:
    tokens = text.rstrip(".").split()
    if rng.random() < 0.5 and tokens:
        k = rng.randrange(len(tokens))
        tokens[k] += VARIANT
    return " ".join(tokens) + "."


def mischief(rng: random.Random, items: list[dict[str, Any]], context: Sequence[str]) -> list[dict[str, Any]]:
    """Apply one to three random structural operations to a correction answer (see OPERATIONS), each
    on answer items no earlier operation touched (so each is one thing a model does, not a pile-up)."""
    shuffle = False
    touched: set[int] = set()
    for _ in range(rng.randint(1, 3)):
        op = rng.choice(OPERATIONS)
        free = [k for k in range(len(items)) if id(items[k]) not in touched]
        if not free:
            break
        k = rng.choice(free)
        pair = k + 1 < len(items) and id(items[k + 1]) not in touched
        touched.add(id(items[k]))
        if op == "merge_next" and pair:
            touched.add(id(items[k + 1]))
            items[k]["text"] = items[k]["text"] + " " + items[k + 1]["text"]
            if rng.random() < 0.7:
                del items[k + 1]
            else:
                items[k + 1]["text"] = rng.choice(["", items[k + 1]["text"]])
        elif op == "merge_previous" and context and k == 0:
            items[0]["text"] = context[-1] + " " + items[0]["text"]
        elif op == "split" and pair:
            touched.add(id(items[k + 1]))
            head = items[k]["text"].split()
            cut = rng.randint(1, len(head)) if len(head) > 1 else 1
            items[k]["text"] = " ".join(head[:cut])
            items[k + 1]["text"] = " ".join(head[cut:]) + " " + items[k + 1]["text"]
            if rng.random() < 0.2:
                del items[k + 1]
        elif op == "drop":
            del items[k]
        elif op == "swap":
            j = rng.choice(free)
            touched.add(id(items[j]))
            items[k]["text"], items[j]["text"] = items[j]["text"], items[k]["text"]
        elif op == "shuffle":
            shuffle = True
        elif op == "invent_id":
            invented = {"id": rng.choice([10_000 + k, items[k]["id"]]), "text": " ".join(rng.sample(INVENTED, 3))}
            touched.add(id(invented))
            items.insert(k, invented)
        elif op == "invent_shift" and all(id(item) not in touched for item in items[k + 1 :]):
            ids = [item["id"] for item in items[k:]]
            texts = [" ".join(rng.sample(INVENTED, 2)), *[item["text"] for item in items[k:]]][: len(ids)]
            items[k:] = [{"id": i, "text": t} for i, t in zip(ids, texts, strict=True)]
            touched.update(id(item) for item in items[k:])
    if shuffle:
        rng.shuffle(items)
    return items


def scripted(seed: int, calm: float) -> ScriptedLLM:
    """An LLM that fixes words and, in all but ``calm`` of its answers, does mischief."""
    rng = random.Random(seed)

    def respond(messages: Sequence[ChatMessage], _schema: Mapping[str, Any] | None) -> str:
        request = parse_correction_request(messages)
        items = [{"id": item["id"], "text": true_fix(rng, str(item["text"]))} for item in request]
        user = messages[-1]["content"]
        context = [line.split("] ", 1)[1] for line in user.split("\n") if line.startswith("[")]
        if rng.random() >= calm:
            items = mischief(rng, items, context)
        return json.dumps({"segments": items})

    return ScriptedLLM(responder=respond, context_tokens=rng.choice([300, 600, 4096]))


@pytest.mark.parametrize("seed", range(int(__import__("os").environ.get("SPAN_SEEDS", "200"))))
def test_no_span_doubled_or_lost_whatever_the_model_does(seed: int) -> None:
    rng = random.Random(seed)
    original = random_transcript(rng, rng.randint(2, 40))
    result = correct_segments(scripted(seed, calm=0.2), original, max_edit_ratio=0.5)
    assert [(s.index, s.start, s.end) for s in result.segments] == [(s.index, s.start, s.end) for s in original]
    assert grams(result.segments) == grams(original), [s.text for s in result.segments]
    assert not any(set(words(s.text)) & set(INVENTED) for s in result.segments)


def test_fixes_still_pass_when_the_model_behaves() -> None:
    rng = random.Random(7)
    original = random_transcript(rng, 30)
    llm = ScriptedLLM.corrections(lambda _i, text: true_fix(random.Random(len(text)), text))
    result = correct_segments(llm, original, max_edit_ratio=0.5)
    changed = sum(a.text != b.text for a, b in zip(result.segments, original, strict=True))
    assert changed == result.stats.accepted > 5
    assert result.stats.rejected_by_reason == {}


def test_the_reported_doubling_is_rejected() -> None:
    """Issue 12: segment 0's proposal took in segment 1's words and segment 1's proposal was missing."""
    chunk = make_segments(["So the plan for the next quarter is to hire two engineers and ship the beta", "by March."])
    stats = CorrectionStats()
    merged = [(0, "So the plan for the next quarter is to hire two engineers and ship the beta by March.")]
    assert guard_chunk(chunk, merged, 0.35, stats) == {}
    assert stats.rejected_by_reason == {"neighbour_words": 1, "missing": 1}


def test_a_moved_boundary_keeps_both_originals() -> None:
    originals = [(0, "we meet at the office"), (1, "on monday morning")]
    moved = {0: "we meet at the", 1: "office on monday morning"}
    assert span_violations(originals, moved).borrowed == {0, 1}
    taken = {1: "office on monday morning."}
    assert span_violations(originals, taken).borrowed == {0, 1}
    assert span_violations(originals, {0: "we meet at the office on"}, after="").borrowed == {0, 1}
    assert span_violations([(5, "and then")], {5: "and then we left"}, after="we left early").borrowed == {5}
    assert span_violations([(5, "agreed")], {5: "so agreed"}, before="we are so").borrowed == {5}


def test_dropped_words_are_kept_but_fillers_and_repeats_may_go() -> None:
    originals = [(0, "um we will the the ship it on friday")]
    assert span_violations(originals, {0: "We will the ship it on Friday."}).dropped == set()
    assert span_violations(originals, {0: "um we will the the ship it"}).dropped == {0}
    assert span_violations(originals, {0: "um we will the the ship it on"}).dropped == {0}
    assert span_violations(originals, {0: "um we will the the ship on friday"}).dropped == set()


def test_ordinary_corrections_are_not_taken_for_moves() -> None:
    originals = [(0, "the budge for the quarter"), (1, "is fine by me"), (2, "the budget for travel too")]
    fixes = {0: "The budget for the quarter", 1: "is fine by me.", 2: "The budget for travel, too."}
    violations = span_violations(originals, fixes)
    assert violations.borrowed == set() and violations.dropped == set()


def test_a_fix_next_to_a_neighbour_ending_with_the_same_word_is_kept() -> None:
    originals = [(0, "we talked about the"), (1, "the plan for monday"), (2, "plan it well")]
    assert span_violations(originals, {1: "the plans for Monday"}) == span_violations(originals, {})
