from __future__ import annotations

from tests.conftest import Api


async def test_create_and_read_account(api: Api) -> None:
    created = await api.data(
        """mutation($input: AccountCreateInput!) { accountCreate(input: $input) { account { id name } } }""",
        {"input": {"name": "成都锐芯防务电子有限公司", "uscc": "91350100M000100Y43", "region": "西南",
                   "industry": "国防电子", "annualRevenue": "1000000.50"}},
    )
    account_id = created["accountCreate"]["account"]["id"]
    data = await api.data("query($id: ID!) { account(id: $id) { id name region annualRevenue groupRevenue parent { id } } }", {"id": account_id})
    assert data["account"]["name"] == "成都锐芯防务电子有限公司"
    print(data)
