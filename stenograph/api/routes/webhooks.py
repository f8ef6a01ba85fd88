"""``/webhooks``: endpoints told of recording and task events (docs/webhooks.md), their delivery logs and a
test event."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from stenograph.api.schemas import ERROR_RESPONSES
from stenograph.api.state import IdPath, ServiceDep

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=ERROR_RESPONSES)

Event = Literal["recording.completed", "recording.failed", "task.failed"]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="http(s) URL the signed POSTs go to.", max_length=2000)
    secret: str | None = Field(
        default=None, description="Standard Webhooks secret (whsec_ + base64 of 24-64 bytes); default generated."
    )
    events: list[Event] | None = Field(default=None, description="Events it wants; default every event.")
    include_transcript: bool = Field(
        default=False, description="Put the transcript's text in the payloads (it leaves this machine)."
    )
    description: str | None = Field(default=None, max_length=500)


class WebhookPublic(BaseModel):
    id: int | None = Field(description="null: a URL of STENOGRAPH_WEBHOOK_URLS.")
    url: str
    events: list[str] | None
    include_transcript: bool
    source: Literal["settings", "api"]
    description: str | None = None
    created_at: datetime | None = None

    @classmethod
    def of(cls, row: dict[str, Any]) -> WebhookPublic:
        return cls.model_validate({key: row.get(key) for key in cls.model_fields})


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="The signing secret (shown only in this answer).")


class WebhookList(BaseModel):
    data: list[WebhookPublic]
    count: int


class DeliveryPublic(BaseModel):
    id: int
    endpoint_id: int | None
    url: str
    message_id: str = Field(description="The webhook-id header, the same on every attempt.")
    event: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    response_status: int | None
    error: str | None
    task_id: int | None
    payload: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class DeliveryList(BaseModel):
    data: list[DeliveryPublic]
    count: int


LimitQuery = Annotated[int, Query(ge=1, le=1000)]


@router.post("", status_code=201, operation_id="create_webhook", response_model=WebhookCreated)
def create_webhook(body: WebhookCreate, service: ServiceDep) -> WebhookCreated:
    """Add an endpoint with its own secret (generated when not given, and shown once, here)."""
    row = service.create_webhook(
        url=body.url,
        secret=body.secret,
        events=list(body.events) if body.events else None,
        include_transcript=body.include_transcript,
        description=body.description,
    )
    return WebhookCreated.model_validate({**WebhookPublic.of({**row, "source": "api"}).model_dump(), **row})


@router.get("", operation_id="list_webhooks", response_model=WebhookList)
def list_webhooks(service: ServiceDep) -> WebhookList:
    """The settings' URLs, then the endpoints added here (secrets are never shown)."""
    rows = service.list_webhooks()
    return WebhookList(data=[WebhookPublic.of(row) for row in rows], count=len(rows))


@router.delete("/{webhook_id}", status_code=204, operation_id="delete_webhook", response_class=Response)
def delete_webhook(webhook_id: IdPath, service: ServiceDep) -> Response:
    """Delete an endpoint and its delivery log (deliveries still queued are dropped)."""
    service.delete_webhook(webhook_id)
    return Response(status_code=204)


@router.get("/deliveries", operation_id="list_settings_webhook_deliveries", response_model=DeliveryList)
def list_settings_deliveries(service: ServiceDep, limit: LimitQuery = 100) -> DeliveryList:
    """The newest deliveries to the URLs of ``STENOGRAPH_WEBHOOK_URLS``."""
    rows = service.webhook_deliveries(None, limit=limit)
    return DeliveryList(data=[DeliveryPublic.model_validate(row) for row in rows], count=len(rows))


@router.get("/{webhook_id}/deliveries", operation_id="list_webhook_deliveries", response_model=DeliveryList)
def list_deliveries(webhook_id: IdPath, service: ServiceDep, limit: LimitQuery = 100) -> DeliveryList:
    """An endpoint's newest deliveries: status, attempts, last answer or error."""
    rows = service.webhook_deliveries(webhook_id, limit=limit)
    return DeliveryList(data=[DeliveryPublic.model_validate(row) for row in rows], count=len(rows))


@router.post("/{webhook_id}/test", status_code=202, operation_id="test_webhook", response_model=DeliveryPublic)
def test_webhook(webhook_id: IdPath, service: ServiceDep) -> DeliveryPublic:
    """Queue a ``webhook.test`` event to the endpoint; follow it in its delivery log."""
    return DeliveryPublic.model_validate(service.send_test_webhook(webhook_id))
