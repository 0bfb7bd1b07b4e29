"""Webhook endpoints, deliveries and attempts; the fan-out's shared outbox position."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relational.webhook_models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookPosition,
)


async def lock_position(session: AsyncSession) -> int:
    """The fan-out's position, locked until the transaction ends (one instance at a time)."""
    found = await session.scalar(
        select(WebhookPosition.event_id).where(WebhookPosition.id == 1).with_for_update())
    return int(found or 0)


async def set_position(session: AsyncSession, event_id: int) -> None:
    await session.execute(update(WebhookPosition).where(WebhookPosition.id == 1)
                          .values(event_id=event_id))


async def active_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    return list(await session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))
        .order_by(WebhookEndpoint.created_at)))


async def endpoints(session: AsyncSession, limit: int) -> list[WebhookEndpoint]:
    return list(await session.scalars(
        select(WebhookEndpoint).order_by(WebhookEndpoint.created_at.desc()).limit(limit)))


async def endpoint(session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
    return await session.get(WebhookEndpoint, endpoint_id)


async def delivery_for_update(session: AsyncSession,
                              delivery_id: uuid.UUID) -> WebhookDelivery | None:
    return (await session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id).with_for_update())).one_or_none()


async def deliveries_for_update(session: AsyncSession,
                                ids: Sequence[uuid.UUID]) -> list[WebhookDelivery]:
    """These deliveries, locked, in event order."""
    if not ids:
        return []
    return list(await session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.id.in_(list(ids))).order_by(WebhookDelivery.event_id)
        .with_for_update()))


async def deliveries(session: AsyncSession, endpoint_id: uuid.UUID, *,
                     since: datetime | None = None, until: datetime | None = None,
                     status: str | None = None, limit: int = 100) -> list[WebhookDelivery]:
    statement = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if since is not None:
        statement = statement.where(WebhookDelivery.occurred_at >= since)
    if until is not None:
        statement = statement.where(WebhookDelivery.occurred_at <= until)
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    return list(await session.scalars(
        statement.order_by(WebhookDelivery.occurred_at, WebhookDelivery.event_id).limit(limit)))


async def attempts_of(session: AsyncSession,
                      ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[WebhookAttempt]]:
    found: dict[uuid.UUID, list[WebhookAttempt]] = {key: [] for key in ids}
    if ids:
        rows = await session.scalars(select(WebhookAttempt).where(
            WebhookAttempt.delivery_id.in_(list(ids))).order_by(WebhookAttempt.id))
        for row in rows:
            found[row.delivery_id].append(row)
    return found
