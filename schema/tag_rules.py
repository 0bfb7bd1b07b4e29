"""Dynamic tag rules: types, inputs, payloads; root fields in TagRuleQueries/Mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from resolvers import tag_rules as resolve
from schema.accounts import Account, Info
from schema.directives import guard
from schema.writes import Settle
from services.tag_rules import TagRuleRecord
from services.vocabulary import TagLayer

strawberry.enum(TagLayer, name="TagLayer",
                description="ATTRIBUTE (industry, region), BEHAVIOUR (purchases, service "
                            "requests, interactions), VALUE (ARPU, LTV).")


@strawberry.type(description="An admin-defined rule that sets the tag of its name on every "
                             "account it matches (language: README, 'Tag rules').")
class TagRule(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="The tag it sets.")
    layer: TagLayer = strawberry.field(description="Layer of the tag.")
    expression: str = strawberry.field(description="The rule.")
    enabled: bool = strawberry.field(description="Evaluated on events and on a schedule.")
    version: int = strawberry.field(description="Version.")
    evaluated_at: datetime | None = strawberry.field(description="Last full evaluation.")

    @classmethod
    def of(cls, row: TagRuleRecord) -> TagRule:
        return cls(id=str(row.id), name=row.name, layer=TagLayer(row.layer),
                   expression=row.expression, enabled=row.enabled, version=row.version,
                   evaluated_at=row.evaluated_at)


@strawberry.type(description="What a rule would match now, among the accounts you may see.")
class TagRulePreview:
    match_count: int = strawberry.field(description="Accounts it would tag.")
    sample: list[Account] = strawberry.field(description="The first ten of them by name.")


@strawberry.input(description="A new tag rule.")
class TagRuleCreateInput:
    name: str = strawberry.field(description="The tag it sets, e.g. 高意向待转化.")
    layer: TagLayer = strawberry.field(description="Layer of the tag.")
    expression: str = strawberry.field(description="The rule, validated on save.")
    enabled: bool = strawberry.field(default=False,
                                     description="Evaluate it now and from now on.")


@strawberry.type(description="Result of tagRuleCreate.")
class TagRuleCreatePayload:
    tag_rule: TagRule = strawberry.field(description="The new rule.")


async def tag_rule_create(info: Info, input: TagRuleCreateInput) -> TagRuleCreatePayload:
    row = await resolve.create(info.context, name=input.name, layer=input.layer.value,
                               expression=input.expression, enabled=input.enabled)
    return TagRuleCreatePayload(tag_rule=TagRule.of(row))


@strawberry.type(description="Tag rule reads.")
class TagRuleQueries:
    @strawberry.field(description="Check a rule and see what it would match.",
                      extensions=guard("tagRule:manage"))
    async def tag_rule_preview(self, info: Info, expression: str) -> TagRulePreview:
        found = await resolve.preview(info.context, expression)
        return TagRulePreview(match_count=found.match_count,
                              sample=[Account.from_row(row) for row in found.sample])


@strawberry.type(description="Tag rule writes.")
class TagRuleMutations:
    tag_rule_create = strawberry.mutation(
        resolver=tag_rule_create, description="Save a tag rule (validated; evaluated at once "
                                              "when enabled).",
        extensions=[*guard("tagRule:manage", audit_as="tagRule.create"), Settle()])
