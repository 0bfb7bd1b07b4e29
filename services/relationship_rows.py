"""The records, audit views and graph rows of relationship edges, shared by the use cases that
write them (services/relationships.py, services/knows.py) and by rebuild/verify."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from graph import rows as graph_rows
from relational.models import Relationship

KINDS = ("INFLUENCES", "REPORTS_TO", "KNOWS", "SUPPLIES")
CRITICALITIES = ("LOW", "MEDIUM", "HIGH", "SOLE_SOURCE")
ENDS = graph_rows.RELATIONSHIP_ENDS  # kind → (type of fromId, type of toId)


@dataclass(frozen=True)
class RelationshipRecord:
    id: uuid.UUID
    kind: str
    from_id: uuid.UUID
    to_id: uuid.UUID
    weight: float | None
    manual: bool
    evidence: str | None
    criticality: str | None
    share: Decimal | None
    products: tuple[str, ...]
    annual_volume: Decimal | None
    valid_from: date
    valid_to: date | None
    version: int

    @classmethod
    def of(cls, row: Relationship) -> RelationshipRecord:
        return cls(id=row.id, kind=row.kind, from_id=row.from_id, to_id=row.to_id,
                   weight=None if row.weight is None else float(row.weight), manual=row.manual,
                   evidence=row.evidence, criticality=row.criticality, share=row.share,
                   products=tuple(row.products or ()), annual_volume=row.annual_volume,
                   valid_from=row.valid_from, valid_to=row.valid_to, version=row.version)


def graph_row(row: Relationship) -> dict[str, Any]:
    return graph_rows.relationship_row(
        relationship_id=row.id, kind=row.kind, from_id=row.from_id, to_id=row.to_id,
        weight=row.weight, manual=row.manual, criticality=row.criticality, share=row.share,
        products=row.products or (), annual_volume=row.annual_volume,
        valid_from=row.valid_from, valid_to=row.valid_to)


def audit_view(row: Relationship) -> dict[str, Any]:
    return {"kind": row.kind, "fromId": str(row.from_id), "toId": str(row.to_id),
            "weight": None if row.weight is None else str(row.weight), "manual": row.manual,
            "criticality": row.criticality,
            "share": None if row.share is None else str(row.share),
            "products": list(row.products or ()),
            "annualVolume": None if row.annual_volume is None else str(row.annual_volume),
            "hasEvidence": row.evidence is not None,
            "validFrom": row.valid_from.isoformat(),
            "validTo": None if row.valid_to is None else row.valid_to.isoformat()}
