"""The fixed lists every layer shares: the API's enums and descriptions, input validation and
the demo data all read them here, so adding a region or a stage is one edit."""

from __future__ import annotations

from enum import Enum

REGIONS = ("华东", "华北", "华南", "华中", "西南", "西北", "东北")  # sales regions


class LifecycleStage(Enum):
    """Where a company stands in its relationship with us (the ledger stores the value)."""

    LEAD = "LEAD"
    PROSPECT = "PROSPECT"
    CUSTOMER = "CUSTOMER"
    PARTNER = "PARTNER"
    CHURNED = "CHURNED"


LIFECYCLE_STAGES = tuple(stage.value for stage in LifecycleStage)
DEFAULT_LIFECYCLE_STAGE = LifecycleStage.LEAD


class Criticality(Enum):
    """How much a buyer depends on one supplier (a SUPPLIES edge; the graph stores the value)."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    SOLE_SOURCE = "SOLE_SOURCE"


class SupplyDirection(Enum):
    """Which way a supply chain is walked from an account."""

    UPSTREAM = "UPSTREAM"  # its suppliers, their suppliers, …
    DOWNSTREAM = "DOWNSTREAM"  # its customers, their customers, …
