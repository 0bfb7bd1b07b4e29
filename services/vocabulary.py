"""The fixed lists every layer shares: the API's enums and descriptions, input validation and
the demo data all read them here, so adding a region or a stage is one edit."""

from __future__ import annotations

from enum import Enum

REGIONS = ("华东", "华北", "华南", "华中", "西南", "西北", "东北")  # sales regions


class LifecycleStage(Enum):
    """Where a company stands in its relationship with us, as the customer-archive standard
    names the stages (the ledger stores the value). Migration 0013 mapped the earlier stages:
    LEAD → POTENTIAL, PROSPECT → INTENT, PARTNER → LOYAL (each with a recorded transition)."""

    POTENTIAL = "POTENTIAL"  # 潜在
    INTENT = "INTENT"  # 意向
    CUSTOMER = "CUSTOMER"  # 成交
    LOYAL = "LOYAL"  # 忠诚
    CHURNED = "CHURNED"  # 流失


LIFECYCLE_LABELS = {"POTENTIAL": "潜在", "INTENT": "意向", "CUSTOMER": "成交", "LOYAL": "忠诚",
                    "CHURNED": "流失"}
LIFECYCLE_STAGES = tuple(stage.value for stage in LifecycleStage)
DEFAULT_LIFECYCLE_STAGE = LifecycleStage.POTENTIAL
# Stages before migration 0013 and what they became.
FORMER_STAGES = {"LEAD": "POTENTIAL", "PROSPECT": "INTENT", "CUSTOMER": "CUSTOMER",
                 "PARTNER": "LOYAL", "CHURNED": "CHURNED"}


class ValueTier(Enum):
    """A/B/C/D value tier of an account (services/value_tiers.py says how it is computed)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class TagLayer(Enum):
    """The three layers of account tags."""

    ATTRIBUTE = "ATTRIBUTE"  # industry, region, …
    BEHAVIOUR = "BEHAVIOUR"  # purchase cycle, service requests, interaction counts
    VALUE = "VALUE"  # ARPU, LTV


class TicketState(Enum):
    """The service desk's ticket states (services/tickets.py holds the transitions)."""

    NEW = "NEW"
    ASSIGNED = "ASSIGNED"
    IN_PROGRESS = "IN_PROGRESS"
    WAITING_CUSTOMER = "WAITING_CUSTOMER"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"


class TicketPriority(Enum):
    URGENT = "URGENT"
    HIGH = "HIGH"
    NORMAL = "NORMAL"
    LOW = "LOW"


TICKET_CATEGORIES = ("售后", "安装", "培训", "投诉", "咨询", "备件")  # after-sales first
TICKET_CHANNELS = ("PHONE", "EMAIL", "PORTAL", "WECHAT", "VISIT")
