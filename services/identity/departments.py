"""The department tree: admins add departments; users belong to one or more."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from auth.actor import Actor
from relational.identity_models import Department
from relational.ledger import Reader
from relational.repositories import identity as repo
from relational.uow import UnitOfWork
from services import validation as check
from services.errors import NotFound


@dataclass(frozen=True)
class DepartmentRecord:
    id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None

    @classmethod
    def of(cls, row: Department) -> DepartmentRecord:
        return cls(id=row.id, name=row.name, parent_id=row.parent_id)


async def create(uow: UnitOfWork, actor: Actor, name: str,
                 parent_id: uuid.UUID | None) -> DepartmentRecord:
    label = check.text(name, "name", max_length=100)
    if parent_id is not None and not await repo.department_ids_exist(uow.session, [parent_id]):
        raise NotFound("no department with this id", field="parentId")
    department = Department(id=uuid.uuid4(), name=label, parent_id=parent_id)
    uow.session.add(department)
    await uow.session.flush()
    uow.audit("department.create", [str(department.id)],
              after={"name": label, "parentId": str(parent_id) if parent_id else None})
    return DepartmentRecord.of(department)


async def listing(read: Reader, actor: Actor) -> list[DepartmentRecord]:
    async with read() as session:
        return [DepartmentRecord.of(row) for row in await repo.departments(session)]


async def require_existing(uow: UnitOfWork, ids: Sequence[uuid.UUID]) -> None:
    missing = set(ids) - await repo.department_ids_exist(uow.session, ids)
    if missing:
        raise NotFound("no department with this id", field="departmentIds")
