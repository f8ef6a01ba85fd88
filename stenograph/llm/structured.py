"""Structured (JSON) answers: prompt, parse, validate, one repair attempt.

:func:`chat_json` is the one way the pipeline asks a model for JSON. It puts the schema in the system
prompt (needed at every :class:`~stenograph.llm.base.StructuredLevel`: JSON mode requires the word
"JSON" in the prompt, and weak models follow an example better than a constraint), asks the client for
the best constrained output its server accepts, parses leniently (code fences, text around the object),
checks the value against the schema with :func:`validate_schema`, and on failure sends one repair prompt
quoting the problem. A second failure raises :class:`~stenograph.llm.errors.LLMOutputError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from stenograph.llm.base import ChatAnswer, ChatMessage, LLMClient
from stenograph.llm.errors import LLMOutputError

__all__ = ["JsonAnswer", "chat_json", "extract_json", "schema_prompt", "validate_schema"]

T = TypeVar("T")

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def extract_json(text: str) -> Any:
    """Parse the JSON value in a model's answer.

    Accepts a bare JSON value, one inside a Markdown code fence, or the outermost ``{...}`` in text
    with chatter around it.

    Raises:
        ValueError: no JSON value could be parsed (the message says why).
    """
    stripped = text.strip()
    candidates = [stripped]
    candidates += [match.strip() for match in _FENCE.findall(stripped)]
    first, last = stripped.find("{"), stripped.rfind("}")
    if 0 <= first < last:
        candidates.append(stripped[first : last + 1])
    error = "empty answer"
    for candidate in candidates:
        if not candidate:
            continue
        try:
            return json.loads(candidate)
        except json.JSONDecodeError as exc:
            error = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    raise ValueError(f"not valid JSON: {error}")


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def validate_schema(value: Any, schema: Mapping[str, Any], path: str = "$") -> list[str]:
    """Problems of ``value`` against the subset of JSON Schema this package uses.

    Checks ``type`` (a name or a list of names), ``properties``, ``required``,
    ``additionalProperties: false``, ``items``, ``enum``, ``minItems`` and ``pattern`` (``re.search``).
    Returns a list of messages naming the JSON path (``$.segments[2].id: expected integer``); empty
    when the value conforms.
    """
    problems: list[str] = []
    expected = schema.get("type")
    if expected is not None:
        names = [expected] if isinstance(expected, str) else list(expected)
        is_bool = isinstance(value, bool)
        numeric = ("integer", "number")
        ok = any(isinstance(value, _TYPES[name]) and not (is_bool and name in numeric) for name in names)
        if not ok:
            return [f"{path}: expected {' or '.join(names)}, got {type(value).__name__}"]
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        problems.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, dict):
        properties: Mapping[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{path}: missing property {name!r}")
        for name, item in value.items():
            if name in properties:
                problems += validate_schema(item, properties[name], f"{path}.{name}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{path}: unexpected property {name!r}")
    if isinstance(value, list):
        if len(value) < int(schema.get("minItems", 0)):
            problems.append(f"{path}: fewer than {schema['minItems']} items")
        if "items" in schema:
            for position, item in enumerate(value):
                problems += validate_schema(item, schema["items"], f"{path}[{position}]")
    return problems


def schema_prompt(schema: Mapping[str, Any]) -> str:
    """The instruction appended to the system prompt: answer with JSON matching ``schema``."""
    return "Answer with one JSON object only, no other text, matching this JSON schema:\n" + json.dumps(
        schema, ensure_ascii=False, separators=(",", ":")
    )


@dataclass(slots=True)
class JsonAnswer(Generic[T]):
    """A validated structured answer: the value, whether a repair prompt was needed, the raw answers."""

    value: T
    repaired: bool
    answers: list[ChatAnswer] = field(default_factory=list)


def _check(text: str, schema: Mapping[str, Any], convert: Callable[[Any], T]) -> T:
    data = extract_json(text)
    problems = validate_schema(data, schema)
    if problems:
        raise ValueError("; ".join(problems[:5]))
    return convert(data)


def chat_json(
    client: LLMClient,
    messages: Sequence[ChatMessage],
    *,
    schema: Mapping[str, Any],
    schema_name: str,
    convert: Callable[[Any], T],
    max_tokens: int | None = None,
) -> JsonAnswer[T]:
    """Ask ``client`` for JSON matching ``schema``; one repair attempt on a bad answer.

    ``convert`` turns the validated JSON into the caller's type and may raise ``ValueError`` for
    problems the schema cannot express; those get the repair attempt too.

    Raises:
        LLMOutputError: the answer and the repaired answer were both unusable (the message quotes why).
        Whatever ``client.chat`` raises (unavailable, rejected, context overflow) propagates unchanged.
    """
    prompt = list(messages)
    if prompt and prompt[0]["role"] == "system":
        prompt[0] = {"role": "system", "content": prompt[0]["content"] + "\n\n" + schema_prompt(schema)}
    else:
        prompt.insert(0, {"role": "system", "content": schema_prompt(schema)})
    first = client.chat(prompt, json_schema=schema, schema_name=schema_name, max_tokens=max_tokens)
    try:
        return JsonAnswer(_check(first.text, schema, convert), repaired=False, answers=[first])
    except ValueError as exc:
        problem = str(exc)
    repair: list[ChatMessage] = [
        *prompt,
        {"role": "assistant", "content": first.text[:4000]},
        {
            "role": "user",
            "content": f"That answer is not usable: {problem}. Reply again with only the corrected JSON "
            "object that matches the schema; keep its content.",
        },
    ]
    second = client.chat(repair, json_schema=schema, schema_name=schema_name, max_tokens=max_tokens)
    try:
        return JsonAnswer(_check(second.text, schema, convert), repaired=True, answers=[first, second])
    except ValueError as exc:
        raise LLMOutputError(
            f"the model's {schema_name} answer does not match the expected JSON schema after one repair attempt: {exc}"
        ) from exc
