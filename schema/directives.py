"""Field rules declared on the schema and visible in the SDL; `FieldPolicy` enforces them for
every field resolution — whatever the alias, fragment, nesting or entry point (`node`,
connections, mutation payloads, subscriptions) — so no resolver checks permissions itself."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import strawberry
from graphql import GraphQLResolveInfo
from strawberry.extensions import SchemaExtension
from strawberry.schema_directive import Location

from auth.actor import Clearance
from auth.masking import MaskKind, mask
from services.errors import Forbidden, StepUpRequired

MaskAs = strawberry.enum(MaskKind, name="MaskAs", description="How a masked value is shown.")


@strawberry.enum(name="ClassificationLevel", description="公开 < 内部 < 秘密 < 机密.")
class ClassificationLevel(Enum):
    PUBLIC = "PUBLIC"
    INTERNAL = "INTERNAL"
    SECRET = "SECRET"  # noqa: S105 - a classification level
    CONFIDENTIAL = "CONFIDENTIAL"


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


@dataclass(frozen=True)
class Rule:
    field: str
    permission: str | None
    mask_as: MaskKind | None
    level: Clearance | None

    @property
    def sensitive(self) -> bool:
        return self.permission is not None


_RULES: dict[tuple[str, str], Rule | None] = {}


def rule_of(info: GraphQLResolveInfo[Any]) -> Rule | None:
    key = (info.parent_type.name, info.field_name)
    if key not in _RULES:
        graphql_field = info.parent_type.fields.get(info.field_name)  # None for __typename
        definition = graphql_field.extensions.get("strawberry-definition") if graphql_field \
            else None
        directives = getattr(definition, "directives", None) or []
        permission = next((d.permission for d in directives if isinstance(d, Requires)), None)
        mask_as = next((d.as_ for d in directives if isinstance(d, Masked)), None)
        level = next((Clearance[d.level.value] for d in directives
                      if isinstance(d, Classified)), None)
        found = None if permission is None and level is None else Rule(
            info.field_name, permission, mask_as, level)
        _RULES[key] = found
    return _RULES[key]


class FieldPolicy(SchemaExtension):
    """Enforces @requires / @masked / @classified and records every sensitive read (clear,
    masked or refused) for one batched audit record per operation."""

    def resolve(self, _next: Callable[..., Any], root: Any, info: GraphQLResolveInfo[Any],
                *args: Any, **kwargs: Any) -> Any:
        rule = rule_of(info)
        if rule is None:
            return _next(root, info, *args, **kwargs)
        return self._guarded(rule, _next(root, info, *args, **kwargs), root, info)

    async def _guarded(self, rule: Rule, value: Any, root: Any,
                       info: GraphQLResolveInfo[Any]) -> Any:
        context = info.context
        actor = await context.actor()
        record = str(getattr(root, "id", ""))
        cleared = rule.level is None or actor.clearance >= rule.level
        allowed = cleared and (rule.permission is None or actor.can(rule.permission))
        if inspect.isawaitable(value):
            value = await value
        if actor.step_up_required:  # after a security event: a second factor first
            context.note_read(info.parent_type.name, rule.field, record, "stepUpRequired")
            raise StepUpRequired(f"`{rule.field}`: pass step-up verification first")
        if not allowed and (rule.mask_as is None or not cleared):
            if rule.sensitive or rule.level is not None:
                context.note_read(info.parent_type.name, rule.field, record, "denied")
            reason = (f"`{rule.permission}` is required" if cleared
                      else f"cleared for {rule.level.name if rule.level else ''} only")
            raise Forbidden(f"`{rule.field}`: {reason}")
        if value is None:
            return None
        if not allowed and rule.mask_as is not None:
            context.note_read(info.parent_type.name, rule.field, record, "masked")
            return mask(rule.mask_as, str(value))
        if rule.sensitive:
            context.note_read(info.parent_type.name, rule.field, record, "clear")
        return value

    async def on_operation(self) -> Any:  # an async generator: flush after execution
        yield
        flush: Callable[[], Awaitable[None]] | None = getattr(
            self.execution_context.context, "flush_reads", None)
        if flush is not None:
            await flush()

