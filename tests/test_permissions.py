"""One permission path: every root field and mutation declares its rule in the SDL, and an
identity without the permission is refused before any service work, with nothing changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from graphql import DirectiveNode, ObjectTypeDefinitionNode, StringValueNode, parse

from auth.roles import PERMISSIONS
from schema.root import SDL_PATH
from tests.conftest import Api
from tests.factories import LEDGER_TABLES, Statements, global_id, ledger_counts, recording

RULES = {"public", "authenticated", "requires", "requiresPerType"}
ANY_ID = global_id("Account", "00000000-0000-4000-8000-000000000001")
CONTACT_ID = global_id("Contact", "00000000-0000-4000-8000-000000000002")
USER_ID = global_id("User", "00000000-0000-4000-8000-000000000003")
REL_ID = global_id("Relationship", "00000000-0000-4000-8000-000000000004")
DEAL_ID = global_id("Opportunity", "00000000-0000-4000-8000-000000000004")
QUOTE_ID = global_id("Quote", "00000000-0000-4000-8000-000000000005")
CONTRACT_ID = global_id("Contract", "00000000-0000-4000-8000-000000000006")
ORDER_ID = global_id("Order", "00000000-0000-4000-8000-000000000007")
TICKET_ID = global_id("Ticket", "00000000-0000-4000-8000-000000000004")

# A minimal, well-typed call of each guarded root field and mutation.
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "departments": ("{ departments { name } }", {}),
    "auditTrail": ("{ auditTrail { totalCount } }", {}),
    "auditReport": ('{ auditReport(period: "2026-11") { sensitiveReads } }', {}),
    "apiTokens": ("{ apiTokens { name } }", {}),
    "account": ("query($id: ID!) { account(id: $id) { name } }", {"id": ANY_ID}),
    "contact": ("query($id: ID!) { contact(id: $id) { name } }", {"id": CONTACT_ID}),
    "accounts": ("{ accounts { totalCount } }", {}),
    "contacts": ('{ contacts(filter: {phone: "13800138000"}) { totalCount } }', {}),
    "accountCreate": ("""mutation { accountCreate(input: {name: "甲", uscc: "x", region: "华东",
        industry: "x"}) { account { id } } }""", {}),
    "accountUpdate": ("""mutation($id: ID!) { accountUpdate(input: {id: $id, name: "乙"}) {
        account { id } } }""", {"id": ANY_ID}),
    "accountLinkParent": ("""mutation($id: ID!) { accountLinkParent(input: {childId: $id,
        parentId: $id, sharePct: 10}) { sharePct } }""", {"id": ANY_ID}),
    "accountUnlinkParent": ("""mutation($id: ID!) { accountUnlinkParent(input: {childId: $id,
        parentId: $id}) { sharePct } }""", {"id": ANY_ID}),
    "contactCreate": ("""mutation($id: ID!) { contactCreate(input: {accountId: $id,
        name: "丙"}) { contact { id } } }""", {"id": ANY_ID}),
    "contactUpdate": ("""mutation($id: ID!) { contactUpdate(input: {id: $id, name: "丁"}) {
        contact { id } } }""", {"id": CONTACT_ID}),
    "contactDelete": ("""mutation($id: ID!) { contactDelete(input: {id: $id}) {
        deletedContactId } }""", {"id": CONTACT_ID}),
    "apiTokenCreate": ("""mutation { apiTokenCreate(input: {name: "x",
        permissions: ["account:read"]}) { secret } }""", {}),
    "apiTokenRevoke": ("""mutation($id: ID!) { apiTokenRevoke(input: {id: $id}) {
        apiToken { name } } }""", {"id": global_id("ApiToken", USER_ID)}),
    "roleUpsert": ("""mutation { roleUpsert(input: {name: "r", permissions: [],
        dataScope: OWN}) { role { name } } }""", {}),
    "departmentCreate": ("""mutation { departmentCreate(input: {name: "d"}) {
        department { name } } }""", {}),
    "userCreate": ("""mutation { userCreate(input: {username: "u", password: "0123456789ab",
        displayName: "u", roles: [], clearance: PUBLIC}) { user { username } } }""", {}),
    "userUpdate": ("""mutation($id: ID!) { userUpdate(input: {id: $id, active: false}) {
        user { username } } }""", {"id": USER_ID}),
    "exposure": ("query($id: ID!) { exposure(accountId: $id) { tier } }", {"id": ANY_ID}),
    "accountMarkDisrupted": ("""mutation($id: ID!) { accountMarkDisrupted(input: {
        accountId: $id, reason: "火灾"}) { account { id } } }""", {"id": ANY_ID}),
    "accountClearDisruption": ("""mutation($id: ID!) { accountClearDisruption(input: {
        accountId: $id}) { account { id } } }""", {"id": ANY_ID}),
    "relationshipCreate": ("""mutation($id: ID!) { relationshipCreate(input: {kind: REPORTS_TO,
        fromId: $id, toId: $id}) { relationship { id } } }""", {"id": CONTACT_ID}),
    "relationshipUpdate": ("""mutation($id: ID!) { relationshipUpdate(input: {
        relationshipId: $id, weight: 0.5}) { relationship { id } } }""", {"id": REL_ID}),
    "interactions": ("{ interactions { totalCount } }", {}),
    "interactionLog": ("""mutation($id: ID!, $c: ID!) { interactionLog(input: {accountId: $id,
        contactIds: [$c], channel: CALL, direction: INBOUND, occurredAt: "2026-01-01T00:00:00Z",
        subject: "x"}) { interaction { id } } }""", {"id": ANY_ID, "c": CONTACT_ID}),
    "committeeMemberAdd": ("""mutation($id: ID!, $c: ID!) { committeeMemberAdd(input: {
        accountId: $id, contactId: $c, role: USER}) { member { id } } }""",
        {"id": ANY_ID, "c": CONTACT_ID}),
    "committeeMemberUpdate": ("""mutation($id: ID!) { committeeMemberUpdate(input: {
        memberId: $id, stance: NEUTRAL}) { member { id } } }""", {"id": REL_ID}),
    "committeeMemberRemove": ("""mutation($id: ID!) { committeeMemberRemove(input: {
        memberId: $id}) { member { id } } }""", {"id": REL_ID}),
    "introductionPaths": ("query($id: ID!) { introductionPaths(to: $id) { strength } }",
                          {"id": CONTACT_ID}),
    "relationshipEnd": ("""mutation($id: ID!) { relationshipEnd(input: {relationshipId: $id})
        { relationship { id } } }""", {"id": REL_ID}),
    **{name: (query, {"id": ANY_ID, "deal": DEAL_ID, "quote": QUOTE_ID,
                      "contract": CONTRACT_ID, "order": ORDER_ID})
       for name, query in {
        "opportunity": "query($deal: ID!) { opportunity(id: $deal) { name } }",
        "opportunities": "{ opportunities { totalCount } }",
        "pipelines": "{ pipelines { name } }",
        "leads": "{ leads { nodes { id } } }",
        "contractVerify": "query($contract: ID!) { contractVerify(contractId: $contract) { "
                          "valid } }",
        "pipelineConversion": "{ pipelineConversion { stage } }",
        "forecast": "{ forecast(period: QUARTER, category: COMMIT) { period amount } }",
        "forecastSnapshots": "{ forecastSnapshots { weekStart } }",
        "forecastAccuracy": "{ forecastAccuracy { period } }",
        "winModel": "{ winModel { kind } }",
        "opportunityCreate": """mutation($id: ID!) { opportunityCreate(input: {accountId: $id,
            name: "甲", amount: "1", currency: "CNY"}) { opportunity { id } } }""",
        "opportunityMoveStage": """mutation($deal: ID!) { opportunityMoveStage(input: {
            opportunityId: $deal, stage: "SOLUTION", version: 1}) { opportunity { id } } }""",
        "opportunityUpdate": """mutation($deal: ID!) { opportunityUpdate(input: {
            opportunityId: $deal, version: 1, name: "乙"}) { opportunity { id } } }""",
        "pipelineDefine": """mutation { pipelineDefine(input: {name: "p", stages: [{key: "A",
            label: "a", probability: "0.5", category: PIPELINE}]}) { pipeline { id } } }""",
        "quoteCreate": """mutation($deal: ID!) { quoteCreate(input: {opportunityId: $deal,
            currency: "CNY", lines: [{product: "x", quantity: "1", unitPrice: "1"}]}) {
            quote { id } } }""",
        "quoteApprove": """mutation($quote: ID!) { quoteApprove(input: {quoteId: $quote}) {
            quote { id } } }""",
        "quoteReject": """mutation($quote: ID!) { quoteReject(input: {quoteId: $quote}) {
            quote { id } } }""",
        "contractCreateFromQuote": """mutation($quote: ID!) { contractCreateFromQuote(input: {
            quoteId: $quote}) { contract { id } } }""",
        "contractSign": """mutation($contract: ID!) { contractSign(input: {
            contractId: $contract}) { contract { id } } }""",
        "contractAmend": """mutation($contract: ID!) { contractAmend(input: {
            contractId: $contract, terms: "t"}) { contract { id } } }""",
        "paymentRecord": """mutation($contract: ID!) { paymentRecord(input: {
            contractId: $contract, amount: "1", currency: "CNY"}) { payment { id } } }""",
        "paymentRefund": """mutation($contract: ID!) { paymentRefund(input: {
            contractId: $contract, amount: "1", currency: "CNY"}) { payment { id } } }""",
        "orderCreate": """mutation($contract: ID!) { orderCreate(input: {
            contractId: $contract}) { order { id } } }""",
        "deliveryRecord": """mutation($order: ID!) { deliveryRecord(input: {orderId: $order})
            { id } }""",
        "returnRecord": """mutation($order: ID!) { returnRecord(input: {orderId: $order,
            reason: "r", amount: "1", currency: "CNY"}) { id } }""",
        "leadCreate": """mutation { leadCreate(input: {companyName: "甲", region: "华东",
            industry: "x", source: "展会"}) { lead { id } } }""",
        "leadConvert": """mutation($id: ID!) { leadConvert(input: {leadId: $id}) {
            lead { id } } }""",
        "tenderCreate": """mutation($deal: ID!) { tenderCreate(input: {opportunityId: $deal})
            { tender { id } } }""",
        "tenderUpdate": """mutation($id: ID!) { tenderUpdate(input: {tenderId: $id,
            version: 1}) { tender { id } } }""",
        "forecastSnapshotTake": "mutation { forecastSnapshotTake { created } }",
        "winModelTrain": "mutation { winModelTrain { model { kind } } }",
    }.items()},
    "tickets": ("{ tickets { totalCount } }", {}),
    "ticketCreate": ("""mutation($id: ID!) { ticketCreate(input: {accountId: $id,
        category: "售后", priority: HIGH, channel: "PHONE", subject: "s"}) { ticket { id } } }""",
                     {"id": ANY_ID}),
    "ticketTransition": ("""mutation($id: ID!) { ticketTransition(input: {ticketId: $id,
        to: IN_PROGRESS, version: 1}) { ticket { state } } }""", {"id": TICKET_ID}),
    "ticketFeedback": ("""mutation($id: ID!) { ticketFeedback(input: {ticketId: $id,
        score: 5}) { ticket { state } } }""", {"id": TICKET_ID}),
    "tagRuleCreate": ("""mutation { tagRuleCreate(input: {name: "t", layer: ATTRIBUTE,
        expression: "region = \\"华东\\""}) { tagRule { id } } }""", {}),
    "tagRulePreview": ("""{ tagRulePreview(expression: "annualRevenue > 1") {
        matchCount } }""", {}),
    "campaign": ("query($id: ID!) { campaign(id: $id) { name } }",
                 {"id": global_id("Campaign", USER_ID)}),
    "campaignCreate": ("""mutation { campaignCreate(input: {name: "c", budget: "1",
        segment: "region = \\"华东\\""}) { campaign { id } } }""", {}),
    "campaignMemberRespond": ("""mutation($c: ID!, $a: ID!) { campaignMemberRespond(input: {
        campaignId: $c, accountId: $a, response: OPENED}) { member { response } } }""",
                              {"c": global_id("Campaign", USER_ID), "a": ANY_ID}),
    "contactImportantDateSet": ("""mutation($id: ID!) { contactImportantDateSet(input: {
        contactId: $id, kind: BIRTHDAY, month: 5, day: 17}) { importantDate { kind } } }""",
                                {"id": CONTACT_ID}),
    "contactImportantDateRemove": ("""mutation($id: ID!) { contactImportantDateRemove(input: {
        contactId: $id, kind: BIRTHDAY}) { removed } }""", {"id": CONTACT_ID}),
    "accountLifecycleTransition": ("""mutation($id: ID!) { accountLifecycleTransition(input: {
        accountId: $id, to: INTENT, reason: "r"}) { account { id } } }""", {"id": ANY_ID}),
    "webhookEndpoints": ("{ webhookEndpoints { url } }", {}),
    "webhookDeliveries": ("query($id: ID!) { webhookDeliveries(endpointId: $id) { status } }",
                          {"id": global_id("WebhookEndpoint", USER_ID)}),
    "webhookEndpointCreate": ("""mutation($id: ID!) { webhookEndpointCreate(input: {
        url: "https://example.invalid/hook", eventTypes: ["account"], secret: "s",
        apiTokenId: $id}) { endpoint { id } } }""", {"id": global_id("ApiToken", USER_ID)}),
    "webhookReplay": ("""mutation($id: ID!) { webhookReplay(input: {endpointId: $id}) {
        replayed } }""", {"id": global_id("WebhookEndpoint", USER_ID)}),
}


def _root_fields() -> dict[tuple[str, str], dict[str, DirectiveNode]]:
    document = parse(SDL_PATH.read_text())
    found: dict[tuple[str, str], dict[str, DirectiveNode]] = {}
    for definition in document.definitions:
        if isinstance(definition, ObjectTypeDefinitionNode) and \
                definition.name.value in ("Query", "Mutation"):
            for field in definition.fields or ():
                found[(definition.name.value, field.name.value)] = {
                    directive.name.value: directive for directive in field.directives or ()}
    return found


def _required(directives: dict[str, DirectiveNode]) -> str | None:
    requires = directives.get("requires")
    if requires is None:
        return None
    value = (requires.arguments or ())[0].value
    assert isinstance(value, StringValueNode)
    return value.value


def test_the_sdl_shows_a_rule_on_every_root_field_and_mutation() -> None:
    fields = _root_fields()
    assert len(fields) >= 25
    missing = sorted(f"{type_}.{name}" for (type_, name), directives in fields.items()
                     if not RULES & directives.keys())
    assert missing == []
    public = sorted(name for (_, name), directives in fields.items() if "public" in directives)
    assert public == ["login", "me", "tokenRefresh"]


def test_every_guarded_root_field_has_a_refusal_test() -> None:
    guarded = {name for (_, name), directives in _root_fields().items()
               if _required(directives) is not None}
    assert guarded == set(CALLS)


@pytest.fixture
def statements() -> Iterator[Statements]:
    with recording() as recorder:
        yield recorder


async def _token_without(api: Api, permission: str) -> str:
    others = [other for other in PERMISSIONS if other != permission]
    data = await api.data("""mutation($p: [String!]!) { apiTokenCreate(input: {
        name: "without", permissions: $p}) { secret } }""", {"p": others})
    secret: str = data["apiTokenCreate"]["secret"]
    return secret


async def _sent(api: Api, statements: Statements, token: str, query: str,
                variables: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    start = len(statements.seen)
    body = await api.post(query, variables, Authorization=f"Bearer {token}")
    return body, statements.seen[start:]


@pytest.mark.parametrize("field", sorted(CALLS))
async def test_a_caller_without_the_permission_is_refused_before_any_work(
    api: Api, statements: Statements, field: str
) -> None:
    permission = _required(next(directives for (_, name), directives in _root_fields().items()
                                if name == field))
    assert permission is not None
    token = await _token_without(api, permission)
    _, authentication = await _sent(api, statements, token, "{ me { username } }", {})
    before = await ledger_counts(api)
    query, variables = CALLS[field]
    body, sent = await _sent(api, statements, token, query, variables)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert body["errors"][0]["message"] == f"`{permission}` is required"
    # Nothing ran but authenticating the caller (and, for a write, recording the refusal).
    work = [sql for sql in sent if sql not in authentication and "audit_log" not in sql]
    assert work == []
    after = await ledger_counts(api)
    is_write = query.lstrip().startswith("mutation")
    assert after == {**before, "audit_log": before["audit_log"] + int(is_write)}
    assert set(LEDGER_TABLES) == set(after)
    if is_write:
        denied = await api.scalar(
            "SELECT after FROM audit_log WHERE operation = 'denied' ORDER BY id DESC LIMIT 1")
        assert denied["permission"] == permission


async def test_node_needs_the_read_permission_of_the_type_asked_for(api: Api) -> None:
    token = await _token_without(api, "account:read")
    query = "query($id: ID!) { node(id: $id) { id } }"
    refused = await api.post(query, {"id": ANY_ID}, Authorization=f"Bearer {token}")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    allowed = await api.post(query, {"id": CONTACT_ID}, Authorization=f"Bearer {token}")
    assert allowed == {"data": {"node": None}}


async def test_anonymous_callers_are_unauthenticated_on_every_guarded_field(api: Api) -> None:
    for field, (query, variables) in CALLS.items():
        body = await api.anonymous.post(query, variables)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", field


async def test_several_root_fields_authenticate_once(api: Api, statements: Statements) -> None:
    start = len(statements.seen)
    data = await api.data("{ a: accounts { totalCount } b: accounts { totalCount } "
                          "c: accounts { totalCount } me { username } }")
    assert data["a"] == data["b"] == data["c"] == {"totalCount": 0}
    sent = statements.seen[start:]
    sessions = [sql for sql in sent if "FROM refresh_tokens" in sql]
    roles = [sql for sql in sent if "FROM roles" in sql]
    assert (len(sessions), len(roles)) == (1, 1), sent
