"""Campaign members' responses (with time and note), counted by response within the reader's
scope, and attribution of leads and opportunities to campaigns, through GraphQL."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.factories import ledger_counts, make_account

CAMPAIGN = """mutation($input: CampaignCreateInput!) { campaignCreate(input: $input) {
  campaign { id } } }"""
RESPOND = """mutation($input: CampaignMemberRespondInput!) { campaignMemberRespond(input: $input)
  { member { account { id } response respondedAt note } } }"""
MEMBERS = """query($id: ID!, $response: CampaignResponse, $after: String) { campaign(id: $id) {
  members(first: 1, response: $response, after: $after) { totalCount
    byResponse { response count }
    edges { cursor node { account { id } response note } } pageInfo { hasNextPage } } } }"""
OPPORTUNITY = """mutation($input: OpportunityCreateInput!) { opportunityCreate(input: $input) {
  opportunity { id } } }"""
ATTRIBUTION = """query($id: ID!) { campaign(id: $id) { attribution { leads opportunities
  wonOpportunities } } }"""
LEAD = """mutation($input: LeadCreateInput!) { leadCreate(input: $input) {
  lead { id campaignId } } }"""


def counts(found: dict[str, Any]) -> dict[str | None, int]:
    return {row["response"]: row["count"] for row in found["byResponse"] if row["count"]}


async def test_responses_are_recorded_and_counted_within_scope(api: Api) -> None:
    east_one = await make_account(api, name="华东甲", region="华东")
    east_two = await make_account(api, name="华东乙", region="华东")
    made = (await api.data(CAMPAIGN, {"input": {"name": "华东展会", "budget": "1000",
                                                "segment": 'region = "华东"'}}))
    campaign = made["campaignCreate"]["campaign"]["id"]
    answer = (await api.data(RESPOND, {"input": {
        "campaignId": campaign, "accountId": east_one, "response": "ATTENDED",
        "note": "到展台"}}))["campaignMemberRespond"]["member"]
    assert (answer["account"]["id"], answer["response"], answer["note"]) == (
        east_one, "ATTENDED", "到展台")
    assert answer["respondedAt"] is not None
    await api.data(RESPOND, {"input": {"campaignId": campaign, "accountId": east_two,
                                       "response": "OPTED_OUT"}})
    found = (await api.data(MEMBERS, {"id": campaign}))["campaign"]["members"]
    assert found["totalCount"] == 2
    assert counts(found) == {"ATTENDED": 1, "OPTED_OUT": 1}
    assert [row["response"] for row in found["byResponse"]] == [
        "INVITED", "SENT", "OPENED", "RESPONDED", "ATTENDED", "CONVERTED", "OPTED_OUT", None]
    assert found["pageInfo"]["hasNextPage"] is True
    rest = (await api.data(MEMBERS, {"id": campaign, "after": found["edges"][0]["cursor"]}))
    assert {found["edges"][0]["node"]["account"]["id"],
            rest["campaign"]["members"]["edges"][0]["node"]["account"]["id"]} == {
        east_one, east_two}
    opted = (await api.data(MEMBERS, {"id": campaign, "response": "OPTED_OUT"}))
    only = opted["campaign"]["members"]
    assert only["totalCount"] == 1
    assert [edge["node"]["account"]["id"] for edge in only["edges"]] == [east_two]
    assert await api.scalar("SELECT count(*) FROM audit_log WHERE operation = "
                            "'campaign.respond'") == 2
    north = (await api.as_user("sales.north").data(MEMBERS, {"id": campaign}))
    assert north["campaign"]["members"]["totalCount"] == 0
    assert counts(north["campaign"]["members"]) == {}
    assert north["campaign"]["members"]["edges"] == []


async def test_a_response_for_a_hidden_or_unknown_member_writes_nothing(api: Api) -> None:
    east = await make_account(api.as_user("sales.north"), name="华东丙", region="华东")
    north_account = await make_account(api, name="华北丙", region="华北")
    campaign = (await api.data(CAMPAIGN, {"input": {
        "name": "秋季", "budget": "10", "segment": 'region = "华东"'}}))[
        "campaignCreate"]["campaign"]["id"]
    before = await ledger_counts(api)
    responses = await api.scalar("SELECT count(*) FROM campaign_members "
                                 "WHERE response IS NOT NULL")
    hidden = await api.as_user("manager.east").error(RESPOND, {"input": {
        "campaignId": campaign, "accountId": east, "response": "OPENED"}})
    assert (hidden["extensions"]["code"], hidden["extensions"]["field"]) == (
        "NOT_FOUND", "accountId")
    denied = await api.as_user("sales.north").error(RESPOND, {"input": {
        "campaignId": campaign, "accountId": east, "response": "OPENED"}})
    assert denied["extensions"]["code"] == "FORBIDDEN"  # sales read campaigns only
    outsider = await api.error(RESPOND, {"input": {
        "campaignId": campaign, "accountId": north_account, "response": "OPENED"}})
    assert (outsider["extensions"]["code"], outsider["extensions"]["field"]) == (
        "NOT_FOUND", "accountId")
    long_note = await api.error(RESPOND, {"input": {
        "campaignId": campaign, "accountId": east, "response": "OPENED", "note": "长" * 501}})
    assert (long_note["extensions"]["code"], long_note["extensions"]["field"]) == (
        "BAD_USER_INPUT", "note")
    assert await api.scalar("SELECT count(*) FROM campaign_members "
                            "WHERE response IS NOT NULL") == responses == 0
    after = await ledger_counts(api)
    # The refusal of an existing member outside the reader's scope is itself audited.
    assert {key: value for key, value in after.items() if key != "audit_log"} == {
        key: value for key, value in before.items() if key != "audit_log"}


async def test_leads_are_attributed_only_to_existing_campaigns(api: Api) -> None:
    campaign = (await api.data(CAMPAIGN, {"input": {
        "name": "官网活动", "budget": "10", "segment": 'region = "华东"'}}))[
        "campaignCreate"]["campaign"]["id"]
    given = {"companyName": "上海启明星科技有限公司", "region": "华东", "industry": "电子",
             "source": "官网"}
    lead = (await api.data(LEAD, {"input": {**given, "campaignId": campaign}}))
    assert lead["leadCreate"]["lead"]["campaignId"] == campaign
    account = await make_account(api, name="上海启明星", region="华东")
    await api.data(OPPORTUNITY, {"input": {"accountId": account, "name": "展会商机",
                                           "amount": "1000", "currency": "CNY",
                                           "campaignId": campaign}})
    found = await api.data(ATTRIBUTION, {"id": campaign})
    assert found["campaign"]["attribution"] == {"leads": 1, "opportunities": 1,
                                                "wonOpportunities": 0}
    # Sales see only their own leads and deals: none of the admin's.
    north = await api.as_user("sales.north").data(ATTRIBUTION, {"id": campaign})
    assert north["campaign"]["attribution"] == {"leads": 0, "opportunities": 0,
                                                "wonOpportunities": 0}
    before = await ledger_counts(api)
    bogus = await api.error(LEAD, {"input": {**given, "campaignId": lead["leadCreate"][
        "lead"]["id"]}})
    assert (bogus["extensions"]["code"], bogus["extensions"]["field"]) == (
        "NOT_FOUND", "campaignId")
    assert await ledger_counts(api) == before
