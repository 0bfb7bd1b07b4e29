"""The one mapping between ledger values and graph properties, both ways.

Decimals are stored as strings, like temporal values: exact on both engines (a float property
would turn 33.33 into 33.329999…). The projector, `crm graph rebuild`, `crm graph verify` and
the outbox events all build their rows here, so the graph holds the same text whichever path
wrote it; graph readers parse with `parse_share`.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    """An Account node; a disruption only while there is one (clearing it removes the
    properties: `graph/projector.py`)."""
    row = {"id": str(account_id), "name": name, "region": region, "industry": industry,
           "lifecycleStage": lifecycle_stage}
    if disrupted_reason is not None and disrupted_since is not None:
        row.update(disruptedReason=disrupted_reason, disruptedSince=disrupted_since.isoformat())
    return row


def contact_row(*, contact_id: UUID, account_id: UUID, name: str,
                title: str | None) -> dict[str, Any]:
    return {"id": str(contact_id), "accountId": str(account_id), "name": name, "title": title}


def ownership_row(*, parent_id: UUID, child_id: UUID, share: Decimal) -> dict[str, Any]:
    return {"parentId": str(parent_id), "childId": str(child_id), "share": share_text(share)}


SUPPLY_SHARE_QUANTUM = Decimal("0.01")  # share of the buyer's need in % (NUMERIC(5, 2))
# The label of each end of a relationship kind, as the graph holds it.
RELATIONSHIP_ENDS = {"INFLUENCES": ("Contact", "Contact"), "REPORTS_TO": ("Contact", "Contact"),
                     "KNOWS": ("User", "Contact"), "SUPPLIES": ("Account", "Account")}


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _exact(value: Decimal | None, quantum: Decimal | None = None) -> str | None:
    if value is None:
        return None
    return str(value if quantum is None else value.quantize(quantum))


def relationship_row(*, relationship_id: UUID, kind: str, from_id: UUID, to_id: UUID,
                     weight: Decimal | None, manual: bool, criticality: str | None,
                     share: Decimal | None, products: Sequence[str],
                     annual_volume: Decimal | None, valid_from: date,
                     valid_to: date | None) -> dict[str, Any]:
    """A relationship edge as the graph keeps it: dates as ISO strings, shares and volumes as
    exact strings, weights (and KNOWS strengths) as floats in [0, 1]."""
    props: dict[str, Any] = {"id": str(relationship_id), "validFrom": _iso(valid_from),
                             "validTo": _iso(valid_to)}
    if kind == "INFLUENCES":
        props["weight"] = None if weight is None else float(weight)
    elif kind == "KNOWS":
        props["strength"] = None if weight is None else float(weight)
        props["manual"] = manual
    elif kind == "SUPPLIES":
        props.update(criticality=criticality, share=_exact(share, SUPPLY_SHARE_QUANTUM),
                     products=list(products), annualVolume=_exact(annual_volume))
    return {"id": str(relationship_id), "kind": kind, "fromId": str(from_id),
            "toId": str(to_id), "props": props}
