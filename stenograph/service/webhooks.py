"""Use cases of webhooks: endpoints (add, list, delete), their delivery logs, and a test event."""

from __future__ import annotations

from typing import Any

from stenograph.service.base import ServiceBase
from stenograph.service.errors import ServiceError
from stenograph.webhooks.events import EVENTS, TEST_EVENT, Target, enqueue_event
from stenograph.webhooks.signing import check_secret, new_secret
from stenograph.webhooks.store import WebhookStore


class WebhookUseCases(ServiceBase):
    @property
    def webhooks(self) -> WebhookStore:
        return WebhookStore(self.engine)

    def create_webhook(
        self,
        *,
        url: str,
        secret: str | None = None,
        events: list[str] | None = None,
        include_transcript: bool = False,
        description: str | None = None,
    ) -> dict[str, Any]:
        """A new endpoint; its secret is generated when none is given (the answer shows it).

        Raises:
            ServiceError: (invalid) not an http(s) URL (``invalid_webhook_url``); unless
                ``webhook_allow_private``, a host that resolves to a loopback, private, link-local or reserved
                address, or to none (``refused_url``: each delivery checks again at its connection); an
                unknown event, a secret not ``whsec_`` + base64.
        """
        from stenograph.net_guard import WEBHOOK_SETTING, RefusedAddress, check_resolved, check_url

        try:
            url = check_url(url, purpose="can receive webhooks")
        except RefusedAddress as exc:
            raise ServiceError("invalid", "invalid_webhook_url", str(exc)) from exc
        if not self.settings.webhook_allow_private:
            try:
                check_resolved(url, WEBHOOK_SETTING)
            except RefusedAddress as exc:
                raise ServiceError("invalid", "refused_url", str(exc)) from exc
        unknown = [event for event in events or () if event not in EVENTS]
        if unknown:
            raise ServiceError("invalid", "unknown_event", f"unknown events {unknown}; known: {', '.join(EVENTS)}")
        if secret is not None:
            try:
                check_secret(secret)
            except ValueError as exc:
                raise ServiceError("invalid", "invalid_webhook_secret", str(exc)) from exc
        return self.webhooks.create_endpoint(
            url=url,
            secret=secret or new_secret(),
            events=list(dict.fromkeys(events)) if events else None,
            include_transcript=include_transcript,
            description=description,
        )

    def list_webhooks(self) -> list[dict[str, Any]]:
        """The settings' URLs (``id`` None, ``source`` settings), then the stored endpoints (``source`` api)."""
        found: list[dict[str, Any]] = [
            {"id": None, "url": url, "events": None, "include_transcript": False, "source": "settings"}
            for url in self.settings.webhook_urls
        ]
        return found + [{**row, "source": "api"} for row in self.webhooks.endpoints()]

    def get_webhook(self, endpoint_id: int) -> dict[str, Any]:
        """Raises NotFoundError."""
        return {**self.webhooks.endpoint(endpoint_id), "source": "api"}

    def delete_webhook(self, endpoint_id: int) -> None:
        """Delete an endpoint and its delivery log. Raises NotFoundError."""
        self.webhooks.delete_endpoint(endpoint_id)

    def webhook_deliveries(self, endpoint_id: int | None, *, limit: int = 100) -> list[dict[str, Any]]:
        """An endpoint's newest deliveries (``endpoint_id`` None: the settings' URLs'). Raises NotFoundError."""
        if endpoint_id is not None:
            self.webhooks.endpoint(endpoint_id)
        return self.webhooks.deliveries(endpoint_id, limit=limit)

    def send_test_webhook(self, endpoint_id: int) -> dict[str, Any]:
        """Enqueue a ``webhook.test`` event to the endpoint; returns its delivery. Raises NotFoundError."""
        endpoint = self.webhooks.endpoint(endpoint_id)
        target = Target(endpoint["id"], endpoint["url"], None)
        data = {"message": "a test event from Stenograph", "endpoint_id": endpoint["id"]}
        with self.engine.begin() as conn:
            (delivery_id,) = enqueue_event(self.queue, self.webhooks, conn, [target], TEST_EVENT, data)
        self.queue.notify()
        return self.webhooks.delivery(delivery_id)
