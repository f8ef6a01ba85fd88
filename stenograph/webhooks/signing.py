"""Signing webhook deliveries as the Standard Webhooks specification says
(https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md), through its
reference library ``standardwebhooks``.

Each delivery carries three headers: ``webhook-id`` (the message id, the same on every attempt of one
delivery, so a receiver can drop a repeat), ``webhook-timestamp`` (seconds since the epoch, of this
attempt) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body" keyed with the
secret's bytes>``). A secret is ``whsec_`` followed by base64 of 24 to 64 random bytes.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

__all__ = ["SECRET_PREFIX", "check_secret", "new_secret", "signed_headers"]

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def check_secret(secret: str) -> None:
    """Raises ValueError unless ``secret`` is ``whsec_`` + base64 of 24 to 64 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_ (then base64 of 24 to 64 random bytes)")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a webhook secret is whsec_ followed by base64") from exc
    if not 24 <= len(key) <= 64:
        raise ValueError(f"a webhook secret holds 24 to 64 bytes, not {len(key)}")


def signed_headers(secret: str, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (and its content type).

    Args:
        secret: ``whsec_...``.
        message_id: the delivery's id (``msg_...``).
        at: the attempt's time (UTC, aware); sent as whole seconds.
        body: the exact JSON text sent.
    """
    signature = Webhook(secret).sign(message_id, at, body)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
