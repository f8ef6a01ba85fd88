"""Error messages quote inputs cut to MAX_ECHO_CHARS characters with their length, and an error answer's
message is cut to MAX_MESSAGE_CHARS whatever made it."""

from __future__ import annotations

from stenograph.api.errors import MAX_MESSAGE_CHARS, error_body
from stenograph.errors import MAX_ECHO_CHARS, echo


def test_a_long_input_is_quoted_cut_with_its_length() -> None:
    assert MAX_ECHO_CHARS == 200
    assert echo("short") == "'short'"
    assert echo("a" * 5000) == repr("a" * 200 + "…") + " (5,000 characters)"
    assert echo(["ok", "b" * 300]) == "['ok', " + repr("b" * 200 + "…") + " (300 characters)]"
    many = echo([str(n) for n in range(25)])
    assert many.endswith("'9', ... 15 more]")
    assert len(echo(list(range(100_000)))) < 300  # not a string: its repr cut


def test_an_error_message_is_cut_whatever_made_it() -> None:
    body = error_body("invalid", "x" * 100_000, field="f")
    message = body["detail"]["message"]
    assert message.startswith("x" * MAX_MESSAGE_CHARS + "…") and message.endswith(
        "(the message was cut: 100,000 characters)"
    )
    assert body["detail"]["field"] == "f" and body["detail"]["code"] == "invalid"
    assert error_body("c", "fine")["detail"]["message"] == "fine"
