"""A small graphql-transport-ws client over `websockets`, for the subscription tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from services.stores import Stores

PROTOCOL = "graphql-transport-ws"


@dataclass
class Socket:
    connection: ClientConnection

    @classmethod
    async def open(cls, base_url: str, token: str | None, *,
                   protocol: str = PROTOCOL) -> Socket:
        url = base_url.replace("http://", "ws://") + "/graphql"
        connection = await connect(url, subprotocols=[protocol])  # type: ignore[list-item]
        socket = cls(connection)
        payload = {} if token is None else {"authorization": f"Bearer {token}"}
        with contextlib.suppress(ConnectionClosed):  # refused at once: closed_with tells why
            await socket.send({"type": "connection_init", "payload": payload})
        return socket

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, seconds: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.connection.recv(), seconds)
        message: dict[str, Any] = json.loads(raw)
        return message

    async def acknowledged(self) -> None:
        message = await self.receive()
        assert message["type"] == "connection_ack", message

    async def subscribe(self, operation_id: str, query: str,
                        variables: dict[str, Any] | None = None) -> None:
        await self.send({"id": operation_id, "type": "subscribe",
                         "payload": {"query": query, "variables": variables or {}}})

    async def next(self, seconds: float = 5.0) -> dict[str, Any]:
        """The payload data of the next `next` message (errors fail the test)."""
        message = await self.receive(seconds)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message["payload"]
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def closed_with(self, seconds: float = 5.0) -> int | None:
        try:
            async with asyncio.timeout(seconds):
                async for _ in self.connection:
                    pass
        except TimeoutError:
            return None
        except Exception:  # noqa: S110 - the close code is what matters
            pass
        return self.connection.close_code

    async def close(self) -> None:
        await self.connection.close()


async def wait_subscribed(stores: Stores, field: str, count: int = 1) -> None:
    """Until `count` attempts on `field` are on record and listening (the server registers
    the listener right after committing the attempt's audit record)."""
    async with asyncio.timeout(10):
        while True:
            async with stores.read() as session:
                found = await session.scalar(text(
                    "SELECT count(*) FROM audit_log WHERE operation = :op"),
                    {"op": f"subscription.{field}"})
            if int(found or 0) >= count:
                break
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)  # the listener is registered just after that commit
