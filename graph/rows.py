"""The one mapping between ledger values and graph properties, both ways.

Decimals are stored as strings, like temporal values: exact on both engines (a float property
would turn 33.33 into 33.329999…). The projector, `crm graph rebuild`, `crm graph verify` and
the outbox events all build their rows here, so the graph holds the same text whichever path
wrote it; graph readers parse with `parse_share`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

SHARE_QUANTUM = Decimal("0.0001")  # the ledger's scale for a stake in % (NUMERIC(7, 4))


def share_text(share: Decimal) -> str:
    """A stake in % as the graph stores it: fixed four decimal places (60 → "60.0000")."""
    return str(share.quantize(SHARE_QUANTUM))


def parse_share(value: object) -> Decimal:
    """A stake read from the graph. Numbers are graphs projected before shares were strings:
    they are read (shortest text of the float), and `crm graph verify` reports them until
    `crm graph rebuild`."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"not a share: {value!r}")
    try:
        return Decimal(value if isinstance(value, str) else str(value)).quantize(SHARE_QUANTUM)
    except InvalidOperation as error:
        raise ValueError(f"not a share: {value!r}") from error


def account_row(*, account_id: UUID, name: str, region: str, industry: str,
                lifecycle_stage: str, disrupted_reason: str | None = None,
                disrupted_since: date | None = None) -> dict[str, Any]:
    """An Account node; a cleared disruption is written as nulls, which remove the
    properties (`SET a += row`)."""
    return {"id": str(account_id), "name": name, "region": region, "industry": industry,
            "lifecycleStage": lifecycle_stage, "disruptedReason": disrupted_reason,
            "disruptedSince": None if disrupted_since is None else disrupted_since.isoformat()}


def contact_row(*, contact_id: UUID, account_id: UUID, name: str,
                title: str | None) -> dict[str, Any]:
    return {"id": str(contact_id), "accountId": str(account_id), "name": name, "title": title}


def ownership_row(*, parent_id: UUID, child_id: UUID, share: Decimal) -> dict[str, Any]:
    return {"parentId": str(parent_id), "childId": str(child_id), "share": share_text(share)}
