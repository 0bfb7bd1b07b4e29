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


class RelationshipKind(Enum):
    """Edges of the relationship graph (the ledger's `relationships.kind`)."""

    INFLUENCES = "INFLUENCES"  # contact → contact whose opinion it sways (weight in [0, 1])
    REPORTS_TO = "REPORTS_TO"  # subordinate → manager
    KNOWS = "KNOWS"  # our staff user → contact (strength in [0, 1])
    SUPPLIES = "SUPPLIES"  # supplier account → buyer account


class Criticality(Enum):
    """How much a buyer depends on a supplier."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    SOLE_SOURCE = "SOLE_SOURCE"


class InteractionChannel(Enum):
    """How an interaction took place; `label` is the Chinese name tag rules may use."""

    VISIT = "VISIT"
    CALL = "CALL"
    EMAIL = "EMAIL"
    EXHIBITION = "EXHIBITION"
    MEETING = "MEETING"
    TENDER_QA = "TENDER_QA"
    CONSULTATION = "CONSULTATION"

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self.value]

    @classmethod
    def named(cls, name: str) -> InteractionChannel:
        """A channel by value (`CALL`) or by label (`电话`); ValueError for anything else."""
        for channel in cls:
            if name in (channel.value, channel.label):
                return channel
        raise ValueError(f"unknown interaction channel {name!r}")


CHANNEL_LABELS = {"VISIT": "拜访", "CALL": "电话", "EMAIL": "邮件", "EXHIBITION": "展会",
                  "MEETING": "会议", "TENDER_QA": "投标答疑", "CONSULTATION": "咨询"}


class InteractionDirection(Enum):
    INBOUND = "INBOUND"  # the customer reached out to us
    OUTBOUND = "OUTBOUND"  # we reached out


class CommitteeRole(Enum):
    """Roles on a buying committee; a member may hold several."""

    DECISION_MAKER = "DECISION_MAKER"
    TECHNICAL_EVALUATOR = "TECHNICAL_EVALUATOR"
    BUSINESS_EVALUATOR = "BUSINESS_EVALUATOR"
    PROCUREMENT = "PROCUREMENT"
    GATEKEEPER = "GATEKEEPER"
    INFLUENCER = "INFLUENCER"
    CHAMPION = "CHAMPION"
    USER = "USER"


# The roles a complete committee map names (coverage): who decides, who evaluates, who buys,
# and someone on our side.
KEY_ROLES = ("DECISION_MAKER", "TECHNICAL_EVALUATOR", "BUSINESS_EVALUATOR", "PROCUREMENT",
             "CHAMPION")


class Stance(Enum):
    """A committee member's attitude towards us."""

    SUPPORTER = "SUPPORTER"
    NEUTRAL = "NEUTRAL"
    OPPONENT = "OPPONENT"
    UNKNOWN = "UNKNOWN"


class SupplyDirection(Enum):
    """Which way a supply chain is walked from an account."""

    UPSTREAM = "UPSTREAM"  # its suppliers, their suppliers, …
    DOWNSTREAM = "DOWNSTREAM"  # its customers, their customers, …
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


class CampaignResponse(Enum):
    """How far a campaign member has come (the latest response is kept, with when and a
    note; earlier ones are in the audit trail)."""

    INVITED = "INVITED"  # 已邀请
    SENT = "SENT"  # 已发送
    OPENED = "OPENED"  # 已打开
    RESPONDED = "RESPONDED"  # 已回复
    ATTENDED = "ATTENDED"  # 已参加
    CONVERTED = "CONVERTED"  # 已转化
    OPTED_OUT = "OPTED_OUT"  # 退订


CAMPAIGN_RESPONSES = tuple(item.value for item in CampaignResponse)


class ContactDateKind(Enum):
    """A contact's important date; personal data (read under `contact.importantDates:read`)."""

    BIRTHDAY = "BIRTHDAY"  # 生日
    WORK_ANNIVERSARY = "WORK_ANNIVERSARY"  # 入职纪念日
    WEDDING_ANNIVERSARY = "WEDDING_ANNIVERSARY"  # 结婚纪念日
    OTHER = "OTHER"  # 其他 (with a label)


CONTACT_DATE_LABELS = {"BIRTHDAY": "生日", "WORK_ANNIVERSARY": "入职纪念日",
                       "WEDDING_ANNIVERSARY": "结婚纪念日", "OTHER": "纪念日"}
