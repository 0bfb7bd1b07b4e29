"""Webhook endpoints (admins), their deliveries with every attempt, and replay."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from resolvers import webhooks as resolve
from resolvers.ids import from_global_id, to_global_id
from schema.accounts import Info
from schema.common import FirstArg
from schema.directives import guard
from schema.writes import Settle
from services.webhooks import DeliveryRecord, EndpointDraft, EndpointRecord


@strawberry.enum(name="WebhookAlgorithm", description="How deliveries are signed.")
class WebhookAlgorithm(Enum):
    HMAC_SHA256 = "HMAC-SHA256"
    HMAC_SM3 = "HMAC-SM3"


@strawberry.enum(name="WebhookDeliveryStatus", description="Where a delivery stands.")
class WebhookDeliveryStatus(Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    DEAD = "DEAD"


@strawberry.type(description="A receiver of events, acting with an API token's permissions.")
class WebhookEndpoint:
    id: strawberry.ID = strawberry.field(description="Global id.")
    url: str = strawberry.field(description="Where deliveries are POSTed.")
    event_types: list[str] = strawberry.field(description="Outbox topics it receives.")
    algorithm: WebhookAlgorithm = strawberry.field(description="Signature algorithm.")
    api_token_id: strawberry.ID = strawberry.field(
        description="The API token whose permissions its payloads obey.")
    active: bool = strawberry.field(description="Deliveries are made.")
    created_at: datetime = strawberry.field(description="Registered (UTC).")

    @classmethod
    def of(cls, row: EndpointRecord) -> WebhookEndpoint:
        return cls(id=strawberry.ID(to_global_id("WebhookEndpoint", row.id)), url=row.url,
                   event_types=list(row.event_types), algorithm=WebhookAlgorithm(row.algorithm),
                   api_token_id=strawberry.ID(to_global_id("ApiToken", row.api_token_id)),
                   active=row.active, created_at=row.created_at)


@strawberry.type(description="One attempt to deliver.")
class WebhookAttempt:
    at: datetime = strawberry.field(description="When it was made (UTC).")
    status_code: int | None = strawberry.field(description="The receiver's HTTP status.")
    error: str | None = strawberry.field(description="Transport failure, if no answer.")
    retry_in_seconds: float | None = strawberry.field(
        description="Backoff before the next attempt; null when none follows.")


@strawberry.type(description="One event sent to one endpoint.")
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="Global id (for webhookReplay).")
    event_id: str = strawberry.field(description="Stable event id (the Webhook-Id header).")
    event_type: str = strawberry.field(description="Outbox topic.")
    occurred_at: datetime = strawberry.field(description="When the event was committed.")
    status: WebhookDeliveryStatus = strawberry.field(description="Where it stands.")
    last_status_code: int | None = strawberry.field(description="Status of the last attempt.")
    next_attempt_at: datetime | None = strawberry.field(description="When it is tried again.")
    attempts: list[WebhookAttempt] = strawberry.field(description="Every attempt, in order.")

    @classmethod
    def of(cls, row: DeliveryRecord) -> WebhookDelivery:
        return cls(id=strawberry.ID(to_global_id("WebhookDelivery", row.id)),
                   event_id=row.event_id, event_type=row.event_type,
                   occurred_at=row.occurred_at, status=WebhookDeliveryStatus(row.status),
                   last_status_code=row.last_status_code, next_attempt_at=row.next_attempt_at,
                   attempts=[WebhookAttempt(at=one.at, status_code=one.status_code,
                                            error=one.error,
                                            retry_in_seconds=one.retry_in_seconds)
                             for one in row.attempts])


@strawberry.input(description="A new webhook endpoint.")
class WebhookEndpointCreateInput:
    url: str = strawberry.field(description="http(s) URL deliveries are POSTed to.")
    event_types: list[str] = strawberry.field(description="Outbox topics, e.g. account.created.")
    secret: str = strawberry.field(description="Signing secret, ≥ 16 characters (sealed).")
    api_token_id: strawberry.ID = strawberry.field(
        description="The API token whose permissions the payloads obey.")
    algorithm: WebhookAlgorithm = strawberry.field(default=WebhookAlgorithm.HMAC_SHA256,
                                                   description="Signature algorithm.")
    regions: list[str] | None = strawberry.field(default=None,
                                                 description="Only records of these regions.")
    account_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only records of these accounts.")


@strawberry.type(description="Result of webhookEndpointCreate.")
class WebhookEndpointCreatePayload:
    endpoint: WebhookEndpoint = strawberry.field(description="The endpoint.")


@strawberry.input(description="Deliveries to send again: one by id, or a time range.")
class WebhookReplayInput:
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint.")
    delivery_id: strawberry.ID | None = strawberry.field(default=None,
                                                         description="One delivery.")
    since: datetime | None = strawberry.field(default=None, description="Events from then.")
    until: datetime | None = strawberry.field(default=None, description="Events until then.")


@strawberry.type(description="Result of webhookReplay.")
class WebhookReplayPayload:
    replayed: int = strawberry.field(description="Deliveries queued again.")


async def webhook_endpoint_create(
    info: Info, input: WebhookEndpointCreateInput
) -> WebhookEndpointCreatePayload:
    draft = EndpointDraft(
        url=input.url, event_types=list(input.event_types), secret=input.secret,
        api_token_id=from_global_id(str(input.api_token_id), "ApiToken", "apiTokenId"),
        algorithm=input.algorithm.value, regions=list(input.regions or ()),
        account_ids=[str(from_global_id(str(one), "Account", "accountIds"))
                     for one in input.account_ids or ()])
    return WebhookEndpointCreatePayload(
        endpoint=WebhookEndpoint.of(await resolve.register(info.context, draft)))


async def webhook_replay(info: Info, input: WebhookReplayInput) -> WebhookReplayPayload:
    count = await resolve.replay(info.context, str(input.endpoint_id),
                                 None if input.delivery_id is None else str(input.delivery_id),
                                 input.since, input.until)
    return WebhookReplayPayload(replayed=count)


async def webhook_endpoints(info: Info, first: FirstArg = 20) -> list[WebhookEndpoint]:
    return [WebhookEndpoint.of(row) for row in await resolve.endpoints(info.context, first)]


async def webhook_deliveries(
    info: Info, endpoint_id: Annotated[strawberry.ID, strawberry.argument(
        description="The endpoint.")],
    status: Annotated[WebhookDeliveryStatus | None, strawberry.argument(
        description="Only deliveries in this state.")] = None,
    first: FirstArg = 20,
) -> list[WebhookDelivery]:
    rows = await resolve.deliveries(info.context, str(endpoint_id),
                                    None if status is None else status.value, first)
    return [WebhookDelivery.of(row) for row in rows]


@strawberry.type(description="Webhook reads (admins).")
class WebhookQueries:
    webhook_endpoints = strawberry.field(resolver=webhook_endpoints,
                                         description="Registered endpoints, newest first.",
                                         extensions=guard("webhook:manage"))
    webhook_deliveries = strawberry.field(
        resolver=webhook_deliveries, extensions=guard("webhook:manage"),
        description="An endpoint's deliveries, oldest first, each with every attempt.")


@strawberry.type(description="Webhook writes (admins).")
class WebhookMutations:
    webhook_endpoint_create = strawberry.mutation(
        resolver=webhook_endpoint_create, description="Register a webhook endpoint.",
        extensions=[*guard("webhook:manage", audit_as="webhook.register"), Settle()])
    webhook_replay = strawberry.mutation(
        resolver=webhook_replay, description="Send deliveries again (same event id).",
        extensions=[*guard("webhook:manage", audit_as="webhook.replay"), Settle()])
