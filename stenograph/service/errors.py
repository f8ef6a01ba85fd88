"""Why a use case refused: one error with a kind the front ends map (the API to an HTTP status)."""

from __future__ import annotations

from typing import Any, Literal

from stenograph.errors import StenographError

#: ``invalid``: bad options or input; ``unsupported_media``: not media or no audio stream; ``conflict``: the
#: state forbids it now (a running task, no transcript yet); ``not_found``: no such part of a recording.
Kind = Literal["invalid", "unsupported_media", "conflict", "not_found"]


class ServiceError(StenographError):
    """A use case refused.

    Attributes:
        kind: the kind of refusal (the API answers 422, 415, 409 or 404).
        code: a machine-readable code, such as ``invalid_options`` or ``recording_busy``.
        reason: the message without the file it names (the CLI prints the file itself).
        extra: more fields for the answer (``filename``, ``status``).
    """

    def __init__(self, kind: Kind, code: str, message: str, *, reason: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.kind: Kind = kind
        self.code = code
        self.reason = reason if reason is not None else message
        self.extra = extra
