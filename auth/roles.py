"""The built-in roles (管理员, 部门主管, 业务员 and the functional roles); admins may add more."""

from __future__ import annotations

from dataclasses import dataclass

from auth.actor import DataScope

PERMISSIONS = (
    "account:read", "account:write", "contact:read", "contact:write",
    "contact.phone:read", "contact.email:read", "contact.idNumber:read",
    "group:write", "audit:read", "user:manage", "role:manage", "apiToken:manage",
    "webhook:manage",
)


@dataclass(frozen=True)
class RoleSpec:
    name: str
    description: str
    permissions: tuple[str, ...]
    scope: DataScope


_READ = ("account:read", "contact:read")
_WRITE = ("account:write", "contact:write", "group:write")
_PII = ("contact.phone:read", "contact.email:read", "contact.idNumber:read")

BUILTIN_ROLES = (
    RoleSpec("admin", "管理员: everything", PERMISSIONS, DataScope.ALL),
    RoleSpec("manager", "部门主管: the department subtree", _READ + _WRITE + _PII,
             DataScope.DEPARTMENT),
    RoleSpec("sales", "业务员: own accounts", _READ + _WRITE + _PII, DataScope.OWN),
    RoleSpec("finance", "财务: all accounts, contact data masked", _READ, DataScope.ALL),
    RoleSpec("service", "客服: the region's accounts, contact data masked", _READ,
             DataScope.REGION),
    RoleSpec("auditor", "审计员: audit trail, contact data masked", (*_READ, "audit:read"),
             DataScope.ALL),
)

_SCOPE_ORDER = (DataScope.OWN, DataScope.DEPARTMENT, DataScope.REGION, DataScope.ALL)


def widest(scopes: list[DataScope]) -> DataScope:
    """A user with several roles gets the widest of their scopes."""
    return max(scopes, key=_SCOPE_ORDER.index, default=DataScope.OWN)
