"""Bindings of the webhook fields: one use case each."""

from __future__ import annotations

from datetime import datetime

from resolvers.context import Context
from resolvers.ids import from_global_id
from services import webhooks
from services.pagination import check_first
from services.webhooks import DeliveryRecord, EndpointDraft, EndpointRecord


async def register(ctx: Context, draft: EndpointDraft) -> EndpointRecord:
    async with await ctx.uow() as uow:
        return await webhooks.register(uow, await ctx.actor(), ctx.stores.cipher, draft)


async def replay(ctx: Context, endpoint_id: str, delivery_id: str | None,
                 since: datetime | None, until: datetime | None) -> int:
    endpoint = from_global_id(endpoint_id, "WebhookEndpoint", "endpointId")
    delivery = None if delivery_id is None else from_global_id(
        delivery_id, "WebhookDelivery", "deliveryId")
    async with await ctx.uow() as uow:
        return await webhooks.replay(uow, endpoint, ctx.stores.clock.now(),
                                     delivery_id=delivery, since=since, until=until)


async def endpoints(ctx: Context, first: int | None) -> list[EndpointRecord]:
    return await webhooks.endpoints(ctx.stores.read, check_first(first))


async def deliveries(ctx: Context, endpoint_id: str, status: str | None,
                     first: int | None) -> list[DeliveryRecord]:
    endpoint = from_global_id(endpoint_id, "WebhookEndpoint", "endpointId")
    return await webhooks.deliveries(ctx.stores.read, endpoint, status, check_first(first))
