"""Checks of an LLM summary against its template and its transcript: echoed template text, unsaid names.

* **Template echo.** A model may return the template's own instruction as content, e.g. the title "A
  Short Title Naming What the Meeting Was About" (seen with Qwen2.5-Coder-1.5B-Instruct, issue 12).
  :func:`echoes_template` compares a field's words with each instruction fragment of the template and of
  the system prompt (the text cut at line ends, ``:``, ``;`` and sentence ends): similarity
  (:meth:`difflib.SequenceMatcher.ratio` on the normalised words) of at least :data:`ECHO_RATIO`, or all
  of a fragment's words in order in a text at most three words longer. Repair (:func:`repair_summary`):
  an echoed title becomes the template's title ("Meeting notes"); an echoed summary is replaced by the
  first sentences of the first two key points, or left empty; echoed key points, decisions and action
  items are dropped.
* **Names nobody said.** An action item's owner must be named in the transcript (or the speaker names);
  otherwise the owner is dropped (the item stays, unowned). Capitalised words inside any other field
  that look like a person's name (:func:`unsaid_names`) and that neither the transcript nor the speaker
  names contain drop that item; a title of which fewer than half the content words were said
  (:func:`supported`, the issue's support rule) becomes the template's title; a summary sentence
  holding one is dropped (an emptied summary is rebuilt from the key points).

What was repaired goes into the result's ``stats["guard"]``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ECHO_RATIO",
    "GuardReport",
    "echoes_template",
    "fragments",
    "repair_summary",
    "supported",
    "unsaid_names",
]

#: Word-level similarity from which a field counts as a copy of a template fragment.
ECHO_RATIO = 0.8
_WORD = re.compile(r"\w+(?:['’]\w+)*")
_SPLIT = re.compile(r"[\n:;]|(?<=[.!?])\s")
_CAPITALISED = re.compile(r"(?<![\w'’])([A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?)")
#: Capitalised words that are not names: pronouns, days, months, common sentence openers.
_NOT_NAMES = frozenset(
    {
        "i",
        "we",
        "you",
        "he",
        "she",
        "they",
        "it",
        "the",
        "a",
        "an",
        "this",
        "that",
        "these",
        "those",
        "our",
        "their",
        "my",
        "your",
        "his",
        "her",
        "its",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "team",
        "everyone",
        "nobody",
        "someone",
        "all",
        "none",
    }
)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def fragments(*texts: str) -> list[list[str]]:
    """The instruction fragments of ``texts`` (cut at line ends, ``:``, ``;`` and sentence ends) as
    normalised word lists, fragments of fewer than three words left out."""
    out = []
    for text in texts:
        for piece in _SPLIT.split(text):
            tokens = [word for word in _words(piece) if not word.startswith("_")]
            if len(tokens) >= 3:
                out.append(tokens)
    return out


def _contains_in_order(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    remaining = iter(haystack)
    return all(word in remaining for word in needle)


def echoes_template(text: str, template_fragments: Sequence[Sequence[str]]) -> bool:
    """Whether ``text`` is a copy of an instruction fragment (see the module doc)."""
    tokens = _words(text)
    if len(tokens) < 3:
        return False
    for fragment in template_fragments:
        ratio = difflib.SequenceMatcher(None, tokens, list(fragment), autojunk=False).ratio()
        copied = len(fragment) >= 4 and len(tokens) <= len(fragment) + 3 and _contains_in_order(tokens, fragment)
        if ratio >= ECHO_RATIO or copied:
            return True
    return False


def unsaid_names(text: str, known: set[str]) -> list[str]:
    """Capitalised words of ``text`` that look like names and are not in ``known`` (case-folded words of
    the transcript and speaker names). A sentence's first word is skipped: any word may open a sentence."""
    names = []
    for match in _CAPITALISED.finditer(text):
        word = match.group(1)
        if match.start() == 0 or text[: match.start()].rstrip().endswith((".", "!", "?", ":")):
            continue  # a sentence's first word
        folded = word.casefold()
        if folded not in _NOT_NAMES and folded not in known and not any(part in known for part in folded.split("-")):
            names.append(word)
    return names


@dataclass(slots=True)
class GuardReport:
    """What :func:`repair_summary` changed: fields echoed, owners dropped, items dropped for names."""

    echoed: list[str] = field(default_factory=list)
    owners_dropped: list[str] = field(default_factory=list)
    unsaid_names: list[str] = field(default_factory=list)
    #: A title replaced because fewer than half its content words were said (:func:`supported`).
    unsupported_title: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "echoed": self.echoed,
            "owners_dropped": self.owners_dropped,
            "unsaid_names": self.unsaid_names,
            "unsupported_title": self.unsupported_title,
        }

    def __bool__(self) -> bool:
        return bool(self.echoed or self.owners_dropped or self.unsaid_names or self.unsupported_title)


def supported(text: str, known: set[str]) -> bool:
    """Whether at least half of ``text``'s content words (longer than three letters, not
    :data:`_NOT_NAMES`) are words of ``known``; a text without content words is supported."""
    content = [word for word in _words(text) if len(word) > 3 and word not in _NOT_NAMES]
    return not content or 2 * sum(word in known for word in content) >= len(content)


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


def _keep(
    items: list[Any],
    text_of: Callable[[Any], str],
    where: str,
    check: Callable[[str], str | None],
    report: GuardReport,
) -> list[Any]:
    """The items whose text passes ``check``; echoed ones are reported as ``where[number]``."""
    kept = []
    for number, item in enumerate(items):
        reason = check(text_of(item))
        if reason == "echo":
            report.echoed.append(f"{where}[{number}]")
        if reason is None:
            kept.append(item)
    return kept


def repair_summary(
    data: dict[str, Any],
    *,
    template_title: str,
    instructions: Iterable[str],
    transcript: Iterable[str],
    speaker_names: Iterable[str] = (),
) -> tuple[dict[str, Any], GuardReport]:
    """Repair a summary answer (``SUMMARY_SCHEMA``'s dict) in place of echoes and unsaid names.

    Args:
        data: the model's answer: ``title, summary, key_points [{text, timestamp}], decisions [{text,
            timestamp}], action_items [{text, owner, timestamp}]`` (timestamps are left as they are).
        template_title: what an echoed title becomes.
        instructions: the template's and the system prompt's texts.
        transcript: the segments' texts.
        speaker_names: the recording's speaker names, also allowed as names.

    Returns:
        The repaired answer (a new dict) and what was changed.
    """
    report = GuardReport()
    echo = fragments(*instructions)
    known = {word for text in [*transcript, *speaker_names] for word in _words(text)}

    def check(text: str) -> str | None:
        if echoes_template(text, echo):
            return "echo"
        names = unsaid_names(text, known)
        if names:
            report.unsaid_names.extend(names)
            return "names"
        return None

    out = dict(data)
    if echoes_template(str(data["title"]), echo):
        report.echoed.append("title")
        out["title"] = template_title
    elif not supported(str(data["title"]), known):
        report.unsupported_title = str(data["title"])
        out["title"] = template_title
    out["key_points"] = _keep(list(data["key_points"]), lambda p: str(p["text"]), "key_points", check, report)
    out["decisions"] = _keep(list(data["decisions"]), lambda d: str(d["text"]), "decisions", check, report)
    items = [dict(a) for a in data["action_items"]]
    items = _keep(items, lambda a: str(a["text"]), "action_items", check, report)
    for item in items:
        owner = str(item["owner"]).strip()
        if owner and not all(word in known for word in _words(owner)):
            report.owners_dropped.append(owner)
            item["owner"] = ""
    out["action_items"] = items
    summary = str(data["summary"])
    if echoes_template(summary, echo):
        report.echoed.append("summary")
        summary = ""
    else:
        sentences = re.split(r"(?<=[.!?])\s+", summary.strip())
        kept = [sentence for sentence in sentences if check(sentence) is None]
        summary = " ".join(kept) if len(kept) < len(sentences) else summary
    if not summary.strip():
        summary = " ".join(_first_sentence(str(p["text"])) for p in out["key_points"][:2])
    out["summary"] = summary
    return out, report
