"""Text messages for step-up codes, through a gateway chosen by `SMS_GATEWAY`.

`file` (the default, for development and the demo) appends `<time> <phone> <code>` lines to
`$DATA_DIR/sms-outbox.log`; `none` turns SMS step-up off (TOTP only). A production gateway is
one class with `send` and one entry in `_GATEWAYS`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import anyio

from services.errors import BadUserInput
from settings import Settings


class SmsGateway(Protocol):
    async def send(self, phone: str, code: str) -> None:
        """Deliver a one-time code; raise on failure (the challenge is then not created)."""


class FileGateway:
    """Appends one line per message to a file a developer can read (`tail -f`): the gateway
    of development and the demo, and where messages go when no real gateway is configured."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, phone: str, code: str) -> None:
        await self.send_text(phone, code)

    async def send_text(self, recipient: str, text: str) -> None:
        """Any text message (notifications): one line, newlines folded."""
        await self.append(f"{datetime.now(UTC).isoformat()} {recipient} {' '.join(text.split())}\n")

    async def append(self, text: str) -> None:
        """Add `text` to the file as it is (off the event loop)."""
        await anyio.to_thread.run_sync(self._append, text)

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as outbox:
            outbox.write(line)


class DisabledGateway:
    async def send(self, phone: str, code: str) -> None:
        raise BadUserInput("SMS verification is not available here; use TOTP", field="method")


_GATEWAYS: dict[str, Callable[[Settings], SmsGateway]] = {
    "file": lambda settings: outbox_file(settings),
    "none": lambda settings: DisabledGateway(),
}


def gateway(settings: Settings) -> SmsGateway:
    return _GATEWAYS[settings.sms_gateway](settings)


def outbox_file(settings: Settings) -> FileGateway:
    """Where text messages go while no production SMS gateway is configured (both settings
    of SMS_GATEWAY today): never dropped, readable in `$DATA_DIR/sms-outbox.log`."""
    return FileGateway(settings.data_dir / "sms-outbox.log")
