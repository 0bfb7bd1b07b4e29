"""The assembled schema: Query, Mutation and the extensions guarding execution."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry import relay
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from resolvers import accounts as resolve_accounts
from resolvers import contacts as resolve_contacts
from resolvers import pipeline as resolve_pipeline
from resolvers import tickets as resolve_tickets
from resolvers.ids import global_type, type_of_id_argument
from schema import accounts, audit, contacts, groups, identity, inbox, supply, tag_rules, tickets
from schema.accounts import Account, AccountConnection, AccountFilter, AccountOrder, Info
from schema.campaigns import CampaignMutations, CampaignQueries
from schema.care import CareMutations, CareQueries
from schema.common import SCALAR_OVERRIDES, AfterArg, FirstArg
from schema.contacts import Contact, ContactConnection, ContactFilter
from schema.decisions import DecisionMutations
from schema.directives import Guard, ReadAudit, guard
from schema.errors import ErrorCodes
from schema.inbox import InboxMutations, InboxQueries
from schema.interactions import InteractionMutations, InteractionQueries
from schema.introductions import DecisionQueries
from schema.lifecycle import LifecycleMutations
from schema.limits import HideSuggestions, ParseOnce, cost_rule
from schema.observe import Observe
from schema.operations import OperationsQueries
from schema.pipeline import PipelineMutations, PipelineQueries
from schema.pipeline_types import Opportunity
from schema.relationships import RelationshipMutations
from schema.subscriptions import SubscriptionFields
from schema.tag_rules import TagRuleMutations, TagRuleQueries
from schema.tickets import Ticket, TicketMutations, TicketQueries
from schema.webhooks import WebhookMutations, WebhookQueries
from schema.writes import Settle
from settings import Settings

GlobalIdArg = Annotated[strawberry.ID, strawberry.argument(description="A global id.")]
SDL_PATH = Path(__file__).resolve().parent / "schema.graphql"
# The rule of `auditTrail`, also applied by the CSV export that mirrors it.
AUDIT_READ = Guard("audit:read")


@strawberry.type(description="Read operations.")
class Query(InteractionQueries, DecisionQueries, supply.SupplyQueries, PipelineQueries,
            TicketQueries, TagRuleQueries, InboxQueries, CampaignQueries, WebhookQueries,
            OperationsQueries, CareQueries):
    me = strawberry.field(resolver=identity.me, description="The caller; null if anonymous.",
                          extensions=guard(public=True))
    departments = strawberry.field(resolver=identity.departments,
                                   description="The department tree, by name (admins).",
                                   extensions=guard("user:manage"))
    audit_trail = strawberry.field(
        resolver=audit.audit_trail, extensions=[AUDIT_READ],
        description="Who accessed or changed which data, when, from where (auditors only). "
                    "CSV: GET /audit/export.csv with the same filter as query parameters.")
    api_tokens = strawberry.field(resolver=identity.api_tokens,
                                  description="Every API token, newest first (admins).",
                                  extensions=guard("apiToken:manage"))

    @strawberry.field(description="Any object by its global id; null if there is none.",
                      extensions=guard(per_type=(type_of_id_argument, {
                          "Account": "account:read", "Contact": "contact:read",
                          "Opportunity": "opportunity:read", "Ticket": "ticket:read"})))
    async def node(self, info: Info, id: GlobalIdArg) -> relay.Node | None:
        type_name = global_type(str(id))
        if type_name == "Account":
            return Account.maybe(await resolve_accounts.account(info.context, str(id)))
        if type_name == "Contact":
            row = await resolve_contacts.contact(info.context, str(id))
            return None if row is None else Contact.from_row(row)
        if type_name == "Opportunity":
            deal = await resolve_pipeline.opportunity(info.context, str(id))
            return None if deal is None else Opportunity.from_row(deal)
        if type_name == "Ticket":
            found = await resolve_tickets.ticket(info.context, str(id))
            return None if found is None else Ticket.from_row(found)
        return None

    @strawberry.field(description="One account by id; null if there is none.",
                      extensions=guard("account:read"))
    async def account(self, info: Info, id: GlobalIdArg) -> Account | None:
        return Account.maybe(await resolve_accounts.account(info.context, str(id)))

    @strawberry.field(description="One contact by id; null if there is none.",
                      extensions=guard("contact:read"))
    async def contact(self, info: Info, id: GlobalIdArg) -> Contact | None:
        row = await resolve_contacts.contact(info.context, str(id))
        return None if row is None else Contact.from_row(row)

    @strawberry.field(description="Accounts, filtered and ordered, `first` ≤ 100 per page.",
                      extensions=guard("account:read"))
    async def accounts(
        self, info: Info,
        filter: Annotated[AccountFilter | None, strawberry.argument(
            description="Conditions that must all hold.")] = None,
        order_by: Annotated[AccountOrder | None, strawberry.argument(
            description="Sort order; by name if not given.")] = None,
        first: FirstArg = 20, after: AfterArg = None,
    ) -> AccountConnection:
        return await accounts.accounts_connection(info, filter, order_by, first, after)

    @strawberry.field(description="Contacts whose phone, e-mail or ID-card number equal the "
                                  "given ones exactly (blind-index search), by name.",
                      extensions=guard("contact:read"))
    async def contacts(
        self, info: Info,
        filter: Annotated[ContactFilter, strawberry.argument(
            description="Protected fields to match; at least one.")],
        first: FirstArg = 20, after: AfterArg = None,
    ) -> ContactConnection:
        return await contacts.contacts_connection(info, filter, first, after)


@strawberry.type(description="Write operations; each runs in its own transaction.")
class Mutation(RelationshipMutations, InteractionMutations, DecisionMutations,
               supply.SupplyMutations, PipelineMutations, TicketMutations, TagRuleMutations,
               InboxMutations, CampaignMutations, LifecycleMutations, WebhookMutations,
               CareMutations):
    account_create = strawberry.mutation(resolver=accounts.account_create,
                                         description="Create an account.",
        extensions=[*guard("account:write", audit_as="account.create"), Settle()])
    account_update = strawberry.mutation(resolver=accounts.account_update,
                                         description="Change an account.",
        extensions=[*guard("account:write", audit_as="account.update"), Settle()])
    account_link_parent = strawberry.mutation(
        resolver=groups.account_link_parent,
        description="Make one account a shareholder of another (or change the stake).",
        extensions=[*guard("group:write", audit_as="account.linkParent"), Settle()])
    account_unlink_parent = strawberry.mutation(
        resolver=groups.account_unlink_parent, description="Remove a shareholding.",
        extensions=[*guard("group:write", audit_as="account.unlinkParent"), Settle()])
    contact_create = strawberry.mutation(resolver=contacts.contact_create,
                                         description="Add a contact to an account.",
        extensions=[*guard("contact:write", audit_as="contact.create"), Settle()])
    contact_update = strawberry.mutation(resolver=contacts.contact_update,
                                         description="Change a contact.",
        extensions=[*guard("contact:write", audit_as="contact.update"), Settle()])
    contact_delete = strawberry.mutation(resolver=contacts.contact_delete,
                                         description="Delete a contact.",
        extensions=[*guard("contact:write", audit_as="contact.delete"), Settle()])
    login = strawberry.mutation(resolver=identity.login,
                                description="Sign in: an access token and a refresh token.",
        extensions=guard(public=True))
    token_refresh = strawberry.mutation(
        resolver=identity.token_refresh,
        description="Exchange a refresh token (single use) for a new token pair.",
        extensions=guard(public=True))
    logout = strawberry.mutation(resolver=identity.logout,
                                 description="End the current session.",
        extensions=guard())
    api_token_create = strawberry.mutation(
        resolver=identity.api_token_create, description="Issue an API token (admins).",
        extensions=[*guard("apiToken:manage", audit_as="apiToken.create"), Settle()])
    role_upsert = strawberry.mutation(
        resolver=identity.role_upsert,
        description="Create a role or change one (admins); built-in roles only take an "
                    "address allowlist.",
        extensions=[*guard("role:manage", audit_as="role.upsert"), Settle()])
    department_create = strawberry.mutation(resolver=identity.department_create,
                                            description="Add a department (admins).",
        extensions=[*guard("user:manage", audit_as="department.create"), Settle()])
    user_create = strawberry.mutation(resolver=identity.user_create,
                                      description="Create a user (admins).",
        extensions=[*guard("user:manage", audit_as="user.create"), Settle()])
    user_update = strawberry.mutation(
        resolver=identity.user_update,
        description="Change a user's roles, clearance, regions, password or activity (admins).",
        extensions=[*guard("user:manage", audit_as="user.update"), Settle()])
    api_token_revoke = strawberry.mutation(
        resolver=identity.api_token_revoke, description="Revoke an API token (admins).",
        extensions=[*guard("apiToken:manage", audit_as="apiToken.revoke"), Settle()])
    totp_enrol = strawberry.mutation(
        resolver=identity.totp_enrol, extensions=guard(),
        description="Start enrolling an authenticator app (TOTP) as your second factor.")
    totp_confirm = strawberry.mutation(
        resolver=identity.totp_confirm, extensions=guard(),
        description="Activate the enrolled TOTP secret with a code from the app.")
    step_up_start = strawberry.mutation(
        resolver=identity.step_up_start, extensions=guard(),
        description="Open a step-up challenge for this session (SMS: sends a code).")
    step_up_verify = strawberry.mutation(
        resolver=identity.step_up_verify, extensions=guard(),
        description="Answer the step-up challenge; protected fields answer again.")


@strawberry.type(description="Live changes (graphql-transport-ws), each resumable by cursor.")
class Subscription(SubscriptionFields):
    pass


Extension = type[SchemaExtension] | Callable[[], SchemaExtension]
# Types reached only through interfaces.
TYPES = [groups.GroupTree, groups.Shareholding, accounts.RestrictedAccount,
         contacts.RestrictedContact, inbox.UserTask, inbox.Notification, tag_rules.TagRule,
         tickets.Ticket]


def extensions(settings: Settings) -> list[Extension]:
    """Limits run during validation, before anything executes. Factories, not instances: an
    extension instance holds per-operation state."""
    rules: list[Extension] = [
        Observe,
        ErrorCodes,
        ReadAudit,
        # Clients send the same few operations again and again: parse and validate each once
        # (the token limit applies to the first parse; a refused text is not cached).
        partial(ParseOnce, maxsize=1000),
        partial(ValidationCache, maxsize=1000),
        partial(MaxTokensLimiter, max_token_count=settings.max_tokens),
        # The depth and alias rules of QueryDepthLimiter / MaxAliasesLimiter, made once: those
        # extensions make a new rule class per request, so no validation was ever cached.
        partial(AddValidationRules, [depth_rule(settings.max_query_depth, None),
                                     alias_rule(settings.max_aliases),
                                     cost_rule(settings.max_query_cost)]),
    ]
    if not settings.introspection:
        rules.append(partial(AddValidationRules, [NoSchemaIntrospectionCustomRule]))
        rules.append(HideSuggestions)
    return rules


def build_schema(settings: Settings) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=TYPES,
        extensions=extensions(settings),
        scalar_overrides=SCALAR_OVERRIDES,
    )


def sdl() -> str:
    return strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription,
                             types=TYPES,
                             scalar_overrides=SCALAR_OVERRIDES).as_str() + "\n"
