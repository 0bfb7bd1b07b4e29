"""The webhook delivery tasks, sent with the process's one pooled HTTP client: the first
attempts of a fan-out batch (one job per endpoint and batch), and one attempt of one delivery
per run for retries and replays (the use case defers the next one with its backoff)."""

from __future__ import annotations

import random
import uuid

import httpx
import procrastinate

from jobs.runtime import current
from services import webhooks

blueprint = procrastinate.Blueprint()
TIMEOUT_SECONDS = 10.0
_rng = random.SystemRandom()


class _Client:
    """One pooled client per worker process, made on first use."""

    client: httpx.AsyncClient | None = None

    @classmethod
    def get(cls) -> httpx.AsyncClient:
        if cls.client is None:
            cls.client = httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False)
        return cls.client


async def send(url: str, headers: dict[str, str], body: str) -> webhooks.Response:
    answer = await _Client.get().post(url, content=body.encode(), headers=headers)
    return webhooks.Response(answer.status_code, answer.headers.get("retry-after"))


@blueprint.task(name="deliver")
async def deliver(delivery_id: str) -> None:
    runtime = current()
    async with runtime.uow("webhooks:deliver") as uow:
        await webhooks.attempt(uow, runtime.stores.cipher, uuid.UUID(delivery_id),
                               runtime.clock.now(), send, _rng)


@blueprint.task(name="deliver_batch")
async def deliver_batch(delivery_ids: list[str]) -> None:
    runtime = current()
    await webhooks.attempt_batch(
        lambda: runtime.uow("webhooks:deliver_batch"), runtime.stores.cipher,
        [uuid.UUID(one) for one in delivery_ids], runtime.clock.now, send, _rng)
