"""The built-in roles (管理员, 部门主管, 业务员 and the functional roles); admins may add more."""

from __future__ import annotations

from dataclasses import dataclass

from auth.actor import DataScope

PERMISSIONS = (
    "account:read", "account:write", "contact:read", "contact:write",
    "contact.phone:read", "contact.email:read", "contact.idNumber:read",
    "contact.importantDates:read",
    "group:write", "audit:read", "user:manage", "role:manage", "apiToken:manage",
    "relationship:read", "relationship:write", "interaction:read", "interaction:write",
    "opportunity:read", "opportunity:write", "amount:read", "quote:write", "quote:approve",
    "contract:write", "contract:sign", "payment:write", "pipeline:manage",
    "ticket:read", "ticket:write", "tagRule:manage", "campaign:read", "campaign:write",
    "lifecycle:write",
    "webhook:manage",
)


@dataclass(frozen=True)
class RoleSpec:
    name: str
    description: str
    permissions: tuple[str, ...]
    scope: DataScope


_READ = ("account:read", "contact:read", "relationship:read", "interaction:read")
_WRITE = ("account:write", "contact:write", "group:write", "relationship:write",
          "interaction:write")
_PII = ("contact.phone:read", "contact.email:read", "contact.idNumber:read",
        "contact.importantDates:read")
# Deals: amounts need `amount:read` and, below scope ALL, the deal's owner or management chain
# (services/policy.py `amount_visible`).
_DEALS = ("opportunity:read", "opportunity:write", "amount:read", "quote:write",
          "contract:write")

_DESK = ("ticket:read", "ticket:write")
_MARKETING = ("campaign:read", "campaign:write")

BUILTIN_ROLES = (
    RoleSpec("admin", "管理员: everything", PERMISSIONS, DataScope.ALL),
    RoleSpec("manager", "部门主管: the department subtree",
             _READ + _WRITE + _PII + _DEALS + _DESK + _MARKETING
             + ("quote:approve", "contract:sign", "lifecycle:write"),
             DataScope.DEPARTMENT),
    RoleSpec("sales", "业务员: own accounts",
             _READ + _WRITE + _PII + _DEALS + _DESK + ("campaign:read", "lifecycle:write"),
             DataScope.OWN),
    RoleSpec("finance", "财务: all accounts and amounts, contact data masked",
             (*_READ, "opportunity:read", "amount:read", "payment:write", "campaign:read"),
             DataScope.ALL),
    RoleSpec("service", "客服: the region's accounts and their tickets, contact data and "
             "amounts masked", (*_READ, *_DESK, "opportunity:read"), DataScope.REGION),
    RoleSpec("auditor", "审计员: audit trail, contact data and amounts masked",
             (*_READ, "audit:read", "opportunity:read", "ticket:read", "campaign:read"),
             DataScope.ALL),
)

_SCOPE_ORDER = (DataScope.OWN, DataScope.DEPARTMENT, DataScope.REGION, DataScope.ALL)


def widest(scopes: list[DataScope]) -> DataScope:
    """A user with several roles gets the widest of their scopes."""
    return max(scopes, key=_SCOPE_ORDER.index, default=DataScope.OWN)
