"""The webhook step: one attempt at delivering one recorded message (:mod:`stenograph.webhooks`).

Params: ``{"delivery_id"}``. Its tasks belong to no recording and are enqueued by the queue's
``on_finished`` hook (:meth:`WebhookStep.on_tasks_finished`) in the transaction that ended the tasks the
event is about, or by the 'send a test event' action. An attempt that is not answered 2xx within
``webhook_timeout_seconds`` raises a retryable error: the queue retries it with its backoff, up to
``webhook_max_attempts`` attempts, then the delivery is given up (``failed`` in the delivery log). The
connection goes to public addresses only unless ``STENOGRAPH_WEBHOOK_ALLOW_PRIVATE`` (checked after name
resolution, at the connection: :func:`~stenograph.net_guard.guarded_resolution`); a refused one fails the
delivery at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, StrictInt
from sqlalchemy import Connection

from stenograph import clock
from stenograph.errors import NotFoundError, PermanentError, RetryableError
from stenograph.steps.base import StepBase, StepContext, StepParams

if TYPE_CHECKING:
    from stenograph.queue.manager import TaskQueue
    from stenograph.steps.submit import PipelineRequest

__all__ = ["STEP", "WebhookParams", "WebhookStep"]

#: How much of a receiver's answer the delivery log keeps, in characters.
MAX_ERROR_CHARS = 500


class WebhookParams(StepParams):
    delivery_id: StrictInt


class WebhookStep(StepBase):
    name: str = "webhook"
    params_model: type[BaseModel] = WebhookParams

    def task_params(self, request: PipelineRequest, recording_id: int | None) -> dict[str, Any]:
        raise PermanentError("webhook deliveries are not an upload's step")

    def on_tasks_finished(self, queue: TaskQueue, conn: Connection, ids: Sequence[int]) -> None:
        """The queue's ``on_finished`` hook: record and enqueue the events of tasks that ended."""
        from stenograph.webhooks.events import on_tasks_finished

        on_tasks_finished(queue, conn, ids)

    def run(self, ctx: StepContext, params: WebhookParams) -> dict[str, Any]:
        """POST the delivery's payload, signed (Standard Webhooks), to its URL.

        Returns:
            ``{"delivery_id", "status_code", "attempt"}`` once answered 2xx (or already delivered).

        Raises:
            RetryableError: no answer within the timeout, a connection error or an answer that is not 2xx.
            PermanentError: the delivery or its endpoint was deleted, or no secret signs it (a settings' URL
                is signed with the secret the delivery was recorded under, kept in the database by the
                process that recorded it, else with this worker's ``STENOGRAPH_WEBHOOK_SECRET``); or
                (``refused_url``) the URL is not http(s), or its host resolves at the connection only to
                loopback, private, link-local or reserved addresses and ``webhook_allow_private`` is off: the
                delivery is ``failed`` at once, its error saying which setting allows it (:mod:`stenograph.net_guard`).
        """
        import httpx

        from stenograph.net_guard import WEBHOOK_SETTING, RefusedAddress, check_url, find_refusal, guarded_resolution
        from stenograph.webhooks.signing import signed_headers
        from stenograph.webhooks.store import DELIVERED, FAILED, PENDING, WebhookStore

        settings = ctx.settings
        store = WebhookStore(ctx.store.engine)
        try:
            delivery = store.delivery(params.delivery_id)
            endpoint = store.endpoint(delivery["endpoint_id"]) if delivery["endpoint_id"] is not None else None
        except NotFoundError as exc:
            raise PermanentError(f"webhook delivery {params.delivery_id} or its endpoint was deleted") from exc
        if delivery["status"] == DELIVERED:
            return {"delivery_id": delivery["id"], "status_code": delivery["response_status"], "attempt": ctx.attempt}
        # A settings' URL: the secret it was recorded under (this worker may run without the webhook
        # settings), else this worker's own.
        secret = endpoint["secret"] if endpoint is not None else store.settings_secret() or settings.webhook_secret
        if not secret:
            why = "no STENOGRAPH_WEBHOOK_SECRET signs deliveries to STENOGRAPH_WEBHOOK_URLS"
            store.record_attempt(delivery["id"], attempt=ctx.attempt, status=FAILED, response_status=None, error=why)
            raise PermanentError(why)
        payload = delivery["payload"]
        if endpoint is not None and endpoint["include_transcript"]:
            payload = _with_transcript(ctx, payload)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        headers = signed_headers(secret, delivery["message_id"], clock.now(), body)
        code: int | None = None
        refused: str | None = None
        try:
            url = check_url(delivery["url"], purpose="can receive webhooks")
            with guarded_resolution(settings.webhook_allow_private, WEBHOOK_SETTING):
                answer = httpx.post(
                    url,
                    content=body.encode("utf-8"),
                    headers=headers,
                    timeout=settings.webhook_timeout_seconds,
                    follow_redirects=False,
                )
            code = answer.status_code
            error = None if answer.is_success else f"answered {code}: {answer.text[:MAX_ERROR_CHARS]}"
        except (httpx.HTTPError, RefusedAddress) as exc:
            refusal = find_refusal(exc)
            refused = f"refused: {refusal}"[:MAX_ERROR_CHARS] if refusal is not None else None
            error = refused or f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
        last = ctx.attempt >= settings.webhook_max_attempts or refused is not None
        status = DELIVERED if error is None else (FAILED if last else PENDING)
        store.record_attempt(delivery["id"], attempt=ctx.attempt, status=status, response_status=code, error=error)
        if refused is not None:  # the address is the setting's business: no retry changes it
            raise PermanentError(
                f"webhook delivery {delivery['id']} to {delivery['url']}: {refused}", kind="refused_url"
            )
        if error is not None:
            raise RetryableError(f"webhook delivery {delivery['id']} to {delivery['url']}: {error}")
        return {"delivery_id": delivery["id"], "status_code": code, "attempt": ctx.attempt}


def _with_transcript(ctx: StepContext, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with ``data.transcript`` (the newest version's text, its language and kind) when the
    event is about a recording that has one; the LLM rule of transcript text leaving this machine is the
    person's choice here: they asked for the text at this endpoint (docs/webhooks.md)."""
    from stenograph.recordings.store import full_text

    recording = (payload.get("data") or {}).get("recording")
    if not recording:
        return payload
    try:
        version = ctx.store.pick_version(recording["id"], "latest")
    except NotFoundError:
        return payload
    text = full_text(ctx.store.segments(version.id))
    transcript = {"text": text, "language": version.language, "kind": version.kind}
    return {**payload, "data": {**payload["data"], "transcript": transcript}}


STEP = WebhookStep()
