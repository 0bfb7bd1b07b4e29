"""Permissions declared on the schema: one per-field extension, `Guard`, that both emits its
directives into the SDL (`@public`, `@authenticated`, `@requires`, `@masked`, `@classified`)
and enforces them when the field resolves — whatever the alias, fragment, nesting or entry
point. Every root field and mutation carries one; so does every protected object field.
Resolvers and services never check a permission themselves; services decide only what is
record-level (scope, clearance, ownership) through `services.policy`."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.schema_directive import Location
from strawberry.types.field import StrawberryField

from auth.actor import Actor, Clearance
from auth.masking import MaskKind, mask
from services.errors import DomainError, Forbidden, StepUpRequired, Unauthenticated
from services.policy import may_read_field

MaskAs = strawberry.enum(MaskKind, name="MaskAs", description="How a masked value is shown.")


@strawberry.enum(name="ClassificationLevel", description="公开 < 内部 < 秘密 < 机密.")
class ClassificationLevel(Enum):
    PUBLIC = "PUBLIC"
    INTERNAL = "INTERNAL"
    SECRET = "SECRET"  # noqa: S105 - a classification level
    CONFIDENTIAL = "CONFIDENTIAL"


@strawberry.schema_directive(locations=[Location.FIELD_DEFINITION], name="public",
                             description="Anyone may call the field, signed in or not.")
class Public:
    pass


@strawberry.schema_directive(locations=[Location.FIELD_DEFINITION], name="authenticated",
                             description="Any signed-in user or API token may call the field.")
class Authenticated:
    pass


@strawberry.schema_directive(locations=[Location.FIELD_DEFINITION], name="requires",
                             description="Reading the field needs this permission.")
class Requires:
    permission: str


@strawberry.schema_directive(locations=[Location.FIELD_DEFINITION], name="masked",
                             description="Without the permission the value is masked instead "
                                         "of refused.")
class Masked:
    as_: MaskKind = strawberry.directive_field(name="as")


@strawberry.schema_directive(locations=[Location.FIELD_DEFINITION], name="classified",
                             description="Only readers cleared for this level see the field.")
class Classified:
    level: ClassificationLevel


@strawberry.schema_directive(locations=[Location.FIELD_DEFINITION], name="requiresPerType",
                             description="The permission depends on the type of the object "
                                         "asked for: `Type: permission` pairs.")
class RequiresPerType:
    rules: list[str]


class Guard(FieldExtension):
    """The rule of one field. `Guard()` alone means signed-in callers; `Guard(public=True)`
    anyone. With a permission, a caller without it is refused before the resolver runs (a
    refused mutation also leaves a `denied` audit record, carried by the error and committed by
    a unit of work);
    with `mask_as`, the value is masked instead (also where the `record` rule refuses the
    object); with `level`, only readers cleared for it see
    the value. Reads of protected fields (permission or level) are recorded for the batched
    sensitive-read audit of the operation."""

    def __init__(self, permission: str | None = None, *, public: bool = False,
                 mask_as: MaskKind | None = None, level: ClassificationLevel | None = None,
                 audit_as: str | None = None,
                 per_type: tuple[Callable[[dict[str, Any]], str], dict[str, str]] | None = None,
                 record: Callable[[Actor, Any], bool] | None = None,
                 ) -> None:
        if public and (permission or level or mask_as):
            raise ValueError("a public field has no other rule")
        self.permission = permission
        self.public = public
        self.mask_as = mask_as
        self.level = None if level is None else Clearance[level.value]
        self._level_name = level
        self.audit_as = audit_as
        self.per_type = per_type
        # A record-level rule on top of the permission (a services.policy decision about the
        # object, e.g. whose deal amounts one sees): where it says no, the value is masked.
        self.record = record
        if record is not None and mask_as is None:
            raise ValueError("a record rule masks: give mask_as")
        self.sensitive = permission is not None and mask_as is not None

    def apply(self, field: StrawberryField) -> None:
        directives: list[object] = []
        if self.public:
            directives.append(Public())
        elif self.permission is None and self.level is None:
            directives.append(Authenticated())
        if self.permission is not None:
            directives.append(Requires(permission=self.permission))
        if self.per_type is not None:
            directives.append(RequiresPerType(
                rules=[f"{name}: {wanted}" for name, wanted in self.per_type[1].items()]))
        if self.mask_as is not None:
            directives.append(Masked(as_=self.mask_as))
        if self._level_name is not None:
            directives.append(Classified(level=self._level_name))
        # Every schema built from these types applies the extension again: add each once.
        field.directives.extend(d for d in directives if d not in field.directives)

    def resolve(self, next_: Callable[..., Any], source: Any, info: strawberry.Info,
                **kwargs: Any) -> Any:
        actor = info.context.known_actor
        if actor is None:  # nested fields find it resolved; a root field may not
            return self.resolve_async(next_, source, info, **kwargs)
        return self._apply(actor, next_, source, info, kwargs)

    async def resolve_async(self, next_: Callable[..., Awaitable[Any]], source: Any,
                            info: strawberry.Info, **kwargs: Any) -> Any:
        actor = info.context.known_actor or await info.context.actor()
        value = self._apply(actor, next_, source, info, kwargs)
        return await value if inspect.isawaitable(value) else value

    def _apply(self, actor: Actor, next_: Callable[..., Any], source: Any,
               info: strawberry.Info, kwargs: dict[str, Any]) -> Any:
        if self.public:
            return next_(source, info, **kwargs)
        if actor.step_up_required and (self.sensitive or self.level is not None):
            # After a security event the session passes a second factor first.
            info.context.note_read(_type_name(info), info.field_name, _record(source),
                                   "stepUpRequired")
            raise StepUpRequired(f"`{info.field_name}`: pass step-up verification first")
        permission = self.permission
        if self.per_type is not None:
            type_of, rules = self.per_type
            permission = rules.get(type_of(kwargs), permission)
        allowed, cleared = self._decide(actor, permission)
        if allowed and self.record is not None and not self.record(actor, source):
            return self._masked(next_(source, info, **kwargs), info, source)
        if allowed:
            value = next_(source, info, **kwargs)
            if self.sensitive:
                return self._cleared(value, info, source)
            return value
        if self.mask_as is not None and cleared and actor.authenticated:
            return self._masked(next_(source, info, **kwargs), info, source)
        return self._refuse(actor, info, source, cleared, permission)

    def _decide(self, actor: Actor, permission: str | None) -> tuple[bool, bool]:
        """(allowed, cleared): the same decision as filtering or ordering by the field
        (services.policy)."""
        cleared = self.level is None or actor.clearance >= self.level
        return actor.authenticated and may_read_field(actor, permission, self.level), cleared

    def check(self, actor: Actor) -> None:
        """The same rule for a route that mirrors the field (the audit trail's CSV export)."""
        if self.public:
            return
        allowed, cleared = self._decide(actor, self.permission)
        if not allowed:
            raise self._error(actor, "", cleared, self.permission)

    def _error(self, actor: Actor, field_name: str, cleared: bool,
               permission: str | None) -> DomainError:
        if not actor.authenticated:
            return Unauthenticated("log in first")
        if not cleared:
            return Forbidden(f"`{field_name}`: cleared for "
                             f"{self.level.name if self.level else ''} only")
        return Forbidden(f"`{permission}` is required")

    def _refuse(self, actor: Actor, info: strawberry.Info, source: Any, cleared: bool,
                permission: str | None) -> Any:
        if self.sensitive or self.level is not None:
            info.context.note_read(_type_name(info), info.field_name, _record(source),
                                   "denied")
        error = self._error(actor, info.field_name, cleared, permission)
        if _type_name(info) not in {"Mutation", "Subscription"}:
            raise error
        return self._refuse_write(info, error, permission)

    async def _refuse_write(self, info: strawberry.Info, error: DomainError,
                            permission: str | None) -> Any:
        # The refusal carries its audit record; the unit of work commits it on the way out
        # (the same mechanism services use for their refusals).
        async with await info.context.uow():
            raise error.recorded("denied", [], {"operation": self.audit_as or info.field_name,
                                                "permission": permission})

    def _cleared(self, value: Any, info: strawberry.Info, source: Any) -> Any:
        if inspect.isawaitable(value):
            return self._cleared_later(value, info, source)
        return value if value is None else self._noted(value, info, source, "clear")

    async def _cleared_later(self, value: Awaitable[Any], info: strawberry.Info,
                             source: Any) -> Any:
        return self._cleared(await value, info, source)

    def _noted(self, value: Any, info: strawberry.Info, source: Any, outcome: str) -> Any:
        info.context.note_read(_type_name(info), info.field_name, _record(source), outcome)
        return value

    def _masked(self, value: Any, info: strawberry.Info, source: Any) -> Any:
        if inspect.isawaitable(value):
            return self._masked_later(value, info, source)
        if value is None:
            return None
        return self._noted(mask(self.mask_as or MaskKind.PHONE, str(value)), info, source,
                           "masked")

    async def _masked_later(self, value: Awaitable[Any], info: strawberry.Info,
                            source: Any) -> Any:
        return self._masked(await value, info, source)


def _type_name(info: strawberry.Info) -> str:
    return str(info._raw_info.parent_type.name)


def _record(source: Any) -> str:
    return str(getattr(source, "id", "") or "")


def guard(permission: str | None = None, **rule: Any) -> list[FieldExtension]:
    """`extensions=guard("account:read")` on a field: its rule, as a new extension instance
    (extensions hold no state between requests, but each field gets its own)."""
    return [Guard(permission, **rule)]


class ReadAudit(SchemaExtension):
    """After each operation: one audit record of every protected field read (clear, masked or
    refused), written by the context."""

    async def on_operation(self) -> Any:  # an async generator: flush after execution
        yield
        flush: Callable[[], Awaitable[None]] | None = getattr(
            self.execution_context.context, "flush_reads", None)
        if flush is not None:
            await flush()
