"""The webhook delivery task: one attempt per run (the use case defers the next one with its
backoff), sent with the process's HTTP client."""

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
