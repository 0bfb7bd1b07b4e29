"""The demo seed's buying committees: a group's holding gets 6–12 members with reporting
lines, influence ties, a champion and a blocker, a year of interactions, and a decision map."""

from __future__ import annotations

import uuid

from relational.repositories.identity import user_by_name
from relational.uow import RequestMeta
from services import clock, demo_decision
from services.identity.users import builtin_actor
from tests.conftest import Api
from tests.factories import make_account, raw_id
from tests.test_groups_api import linked

MAP = """
query($id: ID!) { account(id: $id) { decisionMap {
  computedAt nodes { kind role roles stance influence lastContactAt }
  edges { kind } coverage { completeness } }
  interactions(first: 1) { totalCount } } }
"""


async def test_a_group_gets_a_committee_with_a_champion_and_a_blocker(api: Api) -> None:
    holding, member = await make_account(api, name="演示集团"), await make_account(api, name="子")
    await linked(api, member, holding, 60)
    async with api.stores.uow(RequestMeta(actor="test")) as uow:
        admin = await user_by_name(uow.session, "admin")
        assert admin is not None
        owner = builtin_actor(admin)
        made = await demo_decision.seed_committees(
            uow, api.stores.cipher, {uid(holding): owner, uid(member): owner},
            [(uid(holding), uid(member))], clock.today())
    assert made == 1
    await api.projector.drain()
    found = (await api.data(MAP, {"id": holding}))["account"]
    members = [n for n in found["decisionMap"]["nodes"] if n["role"]]
    assert 6 <= len(members) <= 12
    assert {"DECISION_MAKER", "CHAMPION"} <= {role for n in members for role in n["roles"]}
    assert "OPPONENT" in {n["stance"] for n in members}
    assert {edge["kind"] for edge in found["decisionMap"]["edges"]} == {
        "REPORTS_TO", "INFLUENCES", "KNOWS"}
    assert found["decisionMap"]["computedAt"] is not None
    assert all(n["influence"] is not None for n in members)
    assert found["interactions"]["totalCount"] == 14
    assert any(n["lastContactAt"] for n in members)
    assert await api.scalar("SELECT count(*) FROM committee_members WHERE account_id = :id",
                            id=uid(member)) == 0


def uid(gid: str) -> uuid.UUID:
    return uuid.UUID(raw_id(gid))
