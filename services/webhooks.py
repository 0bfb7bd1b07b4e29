"""Webhooks: admins register endpoints (event types, a filter, a secret sealed at rest, the API
token whose permissions the payloads obey); every final outbox event an endpoint wants becomes
one delivery, sent by a durable job, signed (HMAC-SHA256 or HMAC-SM3 over `timestamp.body`),
retried with exponential backoff and jitter for up to 72 hours (4xx other than 408/429 is not
retried; `Retry-After` is honoured), dead-lettered after that, replayable by id or time range."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from auth import crypto
from auth.actor import Actor, Clearance
from auth.field_cipher import FieldCipher
from relational.ledger import Ledger, Reader
from relational.repositories import event_log
from relational.repositories import webhooks as repo
from relational.uow import RequestMeta, UnitOfWork
from relational.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from services.errors import BadUserInput, NotFound
from services.event_stream import Prepare
from services.identity.sessions import api_token_owner
from services.opportunities import OpportunityRecord
from services.policy import amount_visible, may_read_field
from services.stream_subjects import Edge, Ownership, SecurityRecord, Subject
from services.subscriptions import TOPICS, StreamFilter
from services.tickets import TicketRecord

ALGORITHMS = ("HMAC-SHA256", "HMAC-SM3")
RETRY_FOR = timedelta(hours=72)
FIRST_RETRY_SECONDS = 30.0
LONGEST_RETRY_SECONDS = 6 * 3600.0
TASK = "webhooks:deliver"  # one attempt of one delivery: retries and replays
BATCH_TASK = "webhooks:deliver_batch"  # the first attempts of one fan-out batch, per endpoint
_CHUNK = 50  # first attempts recorded per transaction
STREAM_PERMISSION = {"account": "account:read", "contact": "contact:read",
                     "relationship": "account:read", "opportunity": "opportunity:read",
                     "ticket": "ticket:read", "security": "audit:read"}
_SECRET_FIELD = "webhook.secret"  # noqa: S105 - the sealed field's name, not a secret
_BATCH = 500


@dataclass(frozen=True)
class EndpointDraft:
    url: str
    event_types: Sequence[str]
    secret: str
    api_token_id: uuid.UUID
    algorithm: str = "HMAC-SHA256"
    regions: Sequence[str] = ()
    account_ids: Sequence[str] = ()


@dataclass(frozen=True)
class EndpointRecord:
    id: uuid.UUID
    url: str
    event_types: tuple[str, ...]
    algorithm: str
    api_token_id: uuid.UUID
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, row: WebhookEndpoint) -> EndpointRecord:
        return cls(row.id, row.url, tuple(row.event_types), row.algorithm, row.api_token_id,
                   row.active, row.created_at)


@dataclass(frozen=True)
class AttemptRecord:
    at: datetime
    status_code: int | None
    error: str | None
    retry_in_seconds: float | None


@dataclass(frozen=True)
class DeliveryRecord:
    id: uuid.UUID
    event_id: str
    event_type: str
    occurred_at: datetime
    status: str
    attempts: tuple[AttemptRecord, ...]
    last_status_code: int | None
    next_attempt_at: datetime | None


def _validated(draft: EndpointDraft) -> EndpointDraft:
    parts = urlsplit(draft.url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise BadUserInput("`url` must be an http(s) URL", field="url")
    unknown = sorted(set(draft.event_types) - set(TOPICS))
    if not draft.event_types or unknown:
        raise BadUserInput(f"`eventTypes` must name outbox topics ({', '.join(sorted(TOPICS))})"
                           + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
                           field="eventTypes")
    if len(draft.secret) < 16:
        raise BadUserInput("`secret` must have at least 16 characters", field="secret")
    if draft.algorithm not in ALGORITHMS:
        raise BadUserInput(f"`algorithm` must be one of {', '.join(ALGORITHMS)}",
                           field="algorithm")
    return draft


async def register(uow: UnitOfWork, actor: Actor, cipher: FieldCipher,
                   draft: EndpointDraft) -> EndpointRecord:
    valid = _validated(draft)
    if await api_token_owner(uow.session, valid.api_token_id) is None:
        raise NotFound("no active API token with this id", field="apiTokenId")
    endpoint_id = uuid.uuid4()
    row = WebhookEndpoint(
        id=endpoint_id, url=valid.url, event_types=list(valid.event_types),
        filter={"regions": list(valid.regions), "accountIds": list(valid.account_ids)},
        secret_sealed=cipher.encrypt(endpoint_id, _SECRET_FIELD, valid.secret),
        algorithm=valid.algorithm, api_token_id=valid.api_token_id, active=True,
        created_by=actor.user_id or uuid.UUID(int=0))
    uow.session.add(row)
    await uow.session.flush()
    await uow.session.refresh(row)
    uow.audit("webhook.register", [str(endpoint_id)], after={
        "url": valid.url, "eventTypes": list(valid.event_types), "algorithm": valid.algorithm,
        "apiTokenId": str(valid.api_token_id)})
    return EndpointRecord.of(row)


def render(actor: Actor, topic: str, event_id: int, at: datetime, subject: Subject) -> str:
    """The delivery body: the record as the endpoint's token may read it."""
    data = _pipeline_data(actor, subject.record) or _data(actor, subject.record)
    return json.dumps({"id": f"evt_{event_id}", "type": topic, "occurredAt": at.isoformat(),
                       "data": data}, ensure_ascii=False, sort_keys=True)


def _pipeline_data(actor: Actor, record: Any) -> dict[str, Any] | None:
    """Deals (the amount as `amount_visible` allows it: null where the API masks it), tickets
    and decision-map or supply edges; None for the other records."""
    if isinstance(record, OpportunityRecord):
        shown = amount_visible(actor, record.owner_id, record.department_id)
        return {"id": str(record.id), "accountId": str(record.account_id), "name": record.name,
                "stage": record.stage, "status": record.status, "currency": record.currency,
                "amount": str(record.amount) if shown else None,
                "expectedCloseOn": record.expected_close_on.isoformat(),
                "version": record.version}
    if isinstance(record, TicketRecord):
        return {"id": str(record.id), "number": record.number,
                "accountId": str(record.account_id), "state": record.state,
                "priority": record.priority, "category": record.category,
                "subject": record.subject, "version": record.version,
                "assigneeId": None if record.assignee_id is None else str(record.assignee_id)}
    if isinstance(record, Edge):
        edge = record.record
        return {"id": str(edge.id), "kind": edge.kind, "fromId": str(edge.from_id),
                "toId": str(edge.to_id), "weight": edge.weight,
                "criticality": edge.criticality,
                "share": None if edge.share is None else str(edge.share),
                "validFrom": edge.valid_from.isoformat(),
                "validTo": None if edge.valid_to is None else edge.valid_to.isoformat()}
    return None


def _data(actor: Actor, record: Any) -> dict[str, Any]:
    data: dict[str, Any]
    if isinstance(record, Ownership):
        data = {"parentId": str(record.parent_id), "childId": str(record.child_id),
                "sharePct": None if record.share_pct is None else str(record.share_pct)}
    elif isinstance(record, SecurityRecord):
        data = {"operation": record.operation, "actor": record.actor,
                "targetIds": list(record.target_ids), "details": record.details}
    elif hasattr(record, "uscc"):
        data = {"id": str(record.id), "name": record.name, "region": record.region,
                "industry": record.industry, "lifecycleStage": record.lifecycle_stage,
                "tags": list(record.tags), "classification": record.classification.name}
        if may_read_field(actor, None, Clearance.INTERNAL):
            data["annualRevenue"] = (None if record.annual_revenue is None
                                     else str(record.annual_revenue))
    else:
        data = {"id": str(record.id), "accountId": str(record.account_id), "name": record.name,
                "title": record.title}
    return data


def _wants(endpoint: WebhookEndpoint, actor: Actor, topic: str, subject: Subject | None) -> bool:
    stream = TOPICS[topic].stream
    if topic not in endpoint.event_types or subject is None:
        return False
    if not actor.can(STREAM_PERMISSION[stream]):
        return False
    if not subject.visible_to(actor):
        return False
    wanted = StreamFilter(regions=frozenset(endpoint.filter.get("regions") or ()),
                          account_ids=frozenset(endpoint.filter.get("accountIds") or ()))
    return wanted.matches(TOPICS[topic].kind, subject.record)


async def fan_out(ledger: Ledger, prepare: dict[str, Prepare], until: int,
                  now: datetime) -> bool:
    """Deliveries for the final events up to `until` (the dispatcher's position), once across
    instances: the shared position is locked and moved in the same transaction. True while
    events up to `until` remain (one batch at a time)."""
    async with ledger.uow(RequestMeta(actor="system:webhooks")) as uow:
        position = await repo.lock_position(uow.session)
        if position >= until:
            return False
        events = await event_log.between(uow.session, position, until, _BATCH)
        endpoints = await repo.active_endpoints(uow.session)
        owners = {row.api_token_id: await api_token_owner(uow.session, row.api_token_id)
                  for row in endpoints}
        batches: dict[uuid.UUID, list[str]] = {}
        for stream in {TOPICS[event.topic].stream for event in events if event.topic in TOPICS}:
            mine = [event for event in events if event.topic in TOPICS
                    and TOPICS[event.topic].stream == stream]
            subjects = await prepare[stream](mine) if endpoints else {}
            for event in mine:
                for endpoint in endpoints:
                    owner = owners[endpoint.api_token_id]
                    subject = subjects.get(event.aggregate_id)
                    if (owner is not None and isinstance(subject, Subject)
                            and _wants(endpoint, owner, event.topic, subject)):
                        batches.setdefault(endpoint.id, []).append(_deliver_later(
                            uow, endpoint, event, render(
                                owner, event.topic, event.id, event.at, subject), now))
        # One job per endpoint and batch sends the first attempts in event order; a delivery
        # that needs another attempt gets its own job (`attempt`).
        for ids in batches.values():
            uow.defer(BATCH_TASK, {"delivery_ids": ids})
        more = len(events) == _BATCH
        await repo.set_position(uow.session, events[-1].id if more else until)
    return more


def _deliver_later(uow: UnitOfWork, endpoint: WebhookEndpoint, event: event_log.LoggedEvent,
                   body: str, now: datetime) -> str:
    delivery = WebhookDelivery(id=uuid.uuid4(), endpoint_id=endpoint.id, event_id=event.id,
                               event_type=event.topic, occurred_at=event.at, body=body,
                               status="PENDING", attempts=0, next_attempt_at=now,
                               created_at=now)
    uow.session.add(delivery)
    return str(delivery.id)


def signature(algorithm: str, secret: str, timestamp: int, body: str) -> str:
    """`v1=<hex>` over `timestamp.body` with the endpoint's algorithm."""
    message = f"{timestamp}.{body}".encode()
    if algorithm == "HMAC-SM3":
        digest = crypto.hmac_sm3(secret.encode(), message).hex()
    else:
        digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"v1={digest}"


@dataclass(frozen=True)
class Response:
    status: int
    retry_after: str | None = None


Send = Callable[[str, dict[str, str], str], Awaitable[Response]]


def retryable(status: int) -> bool:
    return status >= 500 or status in {408, 429} or status < 200


def backoff(attempts: int, rng: random.Random) -> float:
    """Seconds before attempt `attempts + 1`: doubling from 30 s up to 6 h, plus ≤ 25 % jitter."""
    base: float = min(FIRST_RETRY_SECONDS * 2.0 ** (attempts - 1), LONGEST_RETRY_SECONDS)
    return base * (1 + rng.random() * 0.25)


def _retry_after(value: str | None, now: datetime) -> float:
    if not value:
        return 0.0
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when: datetime = parsedate_to_datetime(value)
        return max((when - now).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return 0.0


async def attempt(uow: UnitOfWork, cipher: FieldCipher, delivery_id: uuid.UUID,
                  now: datetime, send: Send, rng: random.Random) -> str | None:
    """Send one pending delivery; its status after the attempt (None: nothing to send)."""
    delivery = await repo.delivery_for_update(uow.session, delivery_id)
    if delivery is None or delivery.status != "PENDING":
        return None
    endpoint = await repo.endpoint(uow.session, delivery.endpoint_id)
    if endpoint is None:
        return None
    secret = cipher.open(endpoint.id, _SECRET_FIELD, endpoint.secret_sealed)
    return await _attempt(uow, endpoint, secret, delivery, now, send, rng)


async def attempt_batch(open_uow: Callable[[], UnitOfWork], cipher: FieldCipher,
                        delivery_ids: Sequence[uuid.UUID], clock: Callable[[], datetime],
                        send: Send, rng: random.Random) -> int:
    """The first attempts of a fan-out batch (one endpoint's, in event order), `_CHUNK` per
    transaction over one kept-alive client; how many were sent. Once the endpoint fails, the
    rest each get their own job (`TASK`) and back off alone. A delivery already attempted
    (this job run again after a crash) is left to its own job: a receiver may get an event
    twice (never none), and tells by `Webhook-Id`."""
    sent, failing = 0, False
    for start in range(0, len(delivery_ids), _CHUNK):
        async with open_uow() as uow:
            rows = await repo.deliveries_for_update(uow.session,
                                                    delivery_ids[start:start + _CHUNK])
            secrets: dict[uuid.UUID, tuple[WebhookEndpoint, str] | None] = {}
            for delivery in rows:
                if delivery.status != "PENDING" or delivery.attempts:
                    continue
                if failing:
                    uow.defer(TASK, {"delivery_id": str(delivery.id)})
                    continue
                if delivery.endpoint_id not in secrets:
                    found = await repo.endpoint(uow.session, delivery.endpoint_id)
                    secrets[delivery.endpoint_id] = None if found is None else (
                        found, cipher.open(found.id, _SECRET_FIELD, found.secret_sealed))
                known = secrets[delivery.endpoint_id]
                if known is None:
                    continue
                status = await _attempt(uow, known[0], known[1], delivery, clock(), send, rng)
                sent += 1
                failing = status == "PENDING"
    return sent


async def _attempt(uow: UnitOfWork, endpoint: WebhookEndpoint, secret: str,
                   delivery: WebhookDelivery, now: datetime, send: Send,
                   rng: random.Random) -> str:
    timestamp = int(now.timestamp())
    headers = {"content-type": "application/json", "webhook-id": f"evt_{delivery.event_id}",
               "webhook-timestamp": str(timestamp),
               "webhook-signature": signature(endpoint.algorithm, secret, timestamp,
                                              delivery.body),
               "webhook-signature-algorithm": endpoint.algorithm}
    status: int | None
    try:
        answer = await send(endpoint.url, headers, delivery.body)
        status, error, wait = answer.status, None, _retry_after(answer.retry_after, now)
    except Exception as failure:  # any transport failure is retried
        status, error, wait = None, type(failure).__name__, 0.0
    delivery.attempts += 1
    delivery.last_status_code = status
    retry_in: float | None = None
    if status is not None and 200 <= status < 300:
        delivery.status, delivery.next_attempt_at = "DELIVERED", None
    elif status is not None and not retryable(status):
        delivery.status, delivery.next_attempt_at = "DEAD", None
    else:
        retry_in = max(backoff(delivery.attempts, rng), wait)
        due = now + timedelta(seconds=retry_in)
        if due - delivery.created_at > RETRY_FOR:
            delivery.status, delivery.next_attempt_at, retry_in = "DEAD", None, None
        else:
            delivery.next_attempt_at = due
            uow.defer(TASK, {"delivery_id": str(delivery.id)}, schedule_at=due)
    uow.session.add(WebhookAttempt(delivery_id=delivery.id, attempted_at=now,
                                   status_code=status, error=error,
                                   retry_in_seconds=retry_in))
    return delivery.status


async def replay(uow: UnitOfWork, endpoint_id: uuid.UUID, now: datetime, *,
                 delivery_id: uuid.UUID | None = None, since: datetime | None = None,
                 until: datetime | None = None) -> int:
    """Send deliveries again (the same body and event id): one by id, or a time range."""
    if await repo.endpoint(uow.session, endpoint_id) is None:
        raise NotFound("no webhook endpoint with this id", field="endpointId")
    if delivery_id is None and since is None:
        raise BadUserInput("give `deliveryId` or `since`", field="since")
    found = await repo.deliveries(uow.session, endpoint_id, since=since, until=until,
                                  limit=1000)
    chosen = [row for row in found if delivery_id is None or row.id == delivery_id]
    if delivery_id is not None and not chosen:
        raise NotFound("no delivery with this id at this endpoint", field="deliveryId")
    for row in chosen:
        row.status, row.next_attempt_at, row.created_at = "PENDING", now, now
        uow.defer(TASK, {"delivery_id": str(row.id)})
    uow.audit("webhook.replay", [str(endpoint_id)], after={
        "deliveryId": None if delivery_id is None else str(delivery_id),
        "since": None if since is None else since.isoformat(),
        "until": None if until is None else until.isoformat(), "count": len(chosen)})
    return len(chosen)


async def endpoints(read: Reader, first: int) -> list[EndpointRecord]:
    async with read() as session:
        return [EndpointRecord.of(row) for row in await repo.endpoints(session, first)]


async def deliveries(read: Reader, endpoint_id: uuid.UUID, status: str | None,
                     first: int) -> list[DeliveryRecord]:
    async with read() as session:
        rows = await repo.deliveries(session, endpoint_id, status=status, limit=first)
        attempts = await repo.attempts_of(session, [row.id for row in rows])
    return [DeliveryRecord(
        row.id, f"evt_{row.event_id}", row.event_type, row.occurred_at, row.status,
        tuple(AttemptRecord(one.attempted_at, one.status_code, one.error, one.retry_in_seconds)
              for one in attempts[row.id]), row.last_status_code, row.next_attempt_at)
        for row in rows]
