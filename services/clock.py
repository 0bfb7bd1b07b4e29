"""Today's date (UTC) for use cases that default a validity period or derive a strength; the
adapters pass it in, so tests and the bench can fix it."""

from __future__ import annotations

from datetime import UTC, date, datetime


def today() -> date:
    return datetime.now(UTC).date()
