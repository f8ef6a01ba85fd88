"""JSON extraction, the schema check and the one repair attempt."""

from __future__ import annotations

import pytest

from stenograph.errors import PermanentError
from stenograph.llm.errors import LLMOutputError
from stenograph.llm.fake import ScriptedLLM
from stenograph.llm.structured import chat_json, extract_json, validate_schema

SCHEMA = {
    "type": "object",
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "at": {"type": "string", "pattern": r"^\d\d:\d\d$"}},
                "required": ["id"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["items"],
}


@pytest.mark.parametrize(
    "text",
    ['{"a": 1}', '```json\n{"a": 1}\n```', 'Here it is: {"a": 1} Hope that helps.', '  {"a":1}\n'],
)
def test_extract_json_accepts_common_wrappings(text: str) -> None:
    assert extract_json(text) == {"a": 1}


@pytest.mark.parametrize("text", ["", "no json", '{"a": 1', "{'a': 1}"])
def test_extract_json_rejects_non_json(text: str) -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        extract_json(text)


def test_validate_schema_reports_paths() -> None:
    assert validate_schema({"items": [{"id": 1, "at": "01:02"}]}, SCHEMA) == []
    problems = validate_schema({"items": [{"id": "1"}, {"id": True}, {"id": 2, "x": 0}, {"id": 3, "at": "1m"}]}, SCHEMA)
    assert problems == [
        "$.items[0].id: expected integer, got str",
        "$.items[1].id: expected integer, got bool",
        "$.items[2]: unexpected property 'x'",
        "$.items[3].at: '1m' does not match ^\\d\\d:\\d\\d$",
    ]
    assert validate_schema({}, SCHEMA) == ["$: missing property 'items'"]


def test_good_answer_needs_no_repair() -> None:
    llm = ScriptedLLM(['{"items": [{"id": 1}]}'])
    answer = chat_json(llm, [{"role": "user", "content": "q"}], schema=SCHEMA, schema_name="t", convert=dict)
    assert answer.value == {"items": [{"id": 1}]}
    assert not answer.repaired
    assert "JSON schema" in llm.calls[0].messages[0]["content"]  # the schema is always in the prompt
    assert llm.calls[0].json_schema == SCHEMA


def test_one_repair_attempt_quotes_the_problem() -> None:
    llm = ScriptedLLM(['{"items": [{"id": "one"}]}', '{"items": [{"id": 1}]}'])
    answer = chat_json(llm, [{"role": "user", "content": "q"}], schema=SCHEMA, schema_name="t", convert=dict)
    assert answer.repaired
    assert answer.value == {"items": [{"id": 1}]}
    repair = llm.calls[1].messages
    assert repair[-2]["role"] == "assistant"
    assert "expected integer" in repair[-1]["content"]


def test_second_bad_answer_raises_permanent_output_error() -> None:
    llm = ScriptedLLM(["nope", '{"items": 3}', "never asked"])
    with pytest.raises(LLMOutputError, match="after one repair attempt") as caught:
        chat_json(llm, [{"role": "user", "content": "q"}], schema=SCHEMA, schema_name="t", convert=dict)
    assert isinstance(caught.value, PermanentError)
    assert len(llm.calls) == 2


def test_convert_value_error_also_gets_the_repair() -> None:
    def convert(data: dict[str, list[dict[str, int]]]) -> int:
        if not data["items"]:
            raise ValueError("no items")
        return data["items"][0]["id"]

    llm = ScriptedLLM(['{"items": []}', '{"items": [{"id": 7}]}'])
    answer = chat_json(llm, [{"role": "user", "content": "q"}], schema=SCHEMA, schema_name="t", convert=convert)
    assert answer.value == 7
    assert "no items" in llm.calls[1].messages[-1]["content"]
