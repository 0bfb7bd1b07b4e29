"""The read audit of one operation: every protected field read, grouped by type, field and
outcome, each with the records read that way in order."""

from __future__ import annotations

from tests.conftest import Api
from tests.factories import make_account, make_contact, raw_id

PAGE = """query($id: ID!) { account(id: $id) { contacts(first: 5) { edges { node {
  name p: phone p2: phone email } } } } }"""


async def test_reads_are_grouped_by_field_and_outcome(api: Api) -> None:
    account = await make_account(api)
    first = await make_contact(api, account, name="王一", phone="13800138000",
                               email="a@example.com")
    second = await make_contact(api, account, name="王二", phone="13900139000")
    body = await api.as_user("finance").data(PAGE, {"id": account})
    masked = [edge["node"]["p"] for edge in body["account"]["contacts"]["edges"]]
    assert masked == ["138****8000", "139****9000"]
    after, targets = await api.scalar(
        "SELECT json_build_array(after, target_ids) FROM audit_log "
        "WHERE operation = 'read.sensitive' AND actor = 'finance'")
    a, b = raw_id(first), raw_id(second)
    assert after == {"reads": [
        {"type": "Contact", "field": "phone", "outcome": "masked", "records": [a, a, b, b]},
        {"type": "Contact", "field": "email", "outcome": "masked", "records": [a]}]}
    assert targets == sorted([a, b])
