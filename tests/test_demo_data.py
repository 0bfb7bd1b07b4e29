"""The demo dataset: structure, validity of codes, and the invariants seeding relies on."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

import pytest

from services.demo_data import (
    CITIES,
    INDUSTRIES,
    TAGS,
    DemoAccount,
    DemoDataset,
    build_demo_dataset,
)
from services.id_numbers import resident_id_check_digit
from services.uscc import normalize_uscc
from services.vocabulary import LIFECYCLE_STAGES, REGIONS

CITY = {city.name: city for city in CITIES}
PHONE = re.compile(r"1(3[0-9]|5[0-35-9]|7[7]|8[0-9]|99)\d{8}")
EMAIL = re.compile(r"[a-z]+[0-9]*@[a-z0-9]+(-[a-z0-9]+)*\.com\.cn")
HAN_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}")


@pytest.fixture(scope="module")
def dataset() -> DemoDataset:
    return build_demo_dataset()


def _children(data: DemoDataset) -> dict[str, list[str]]:
    children: dict[str, list[str]] = defaultdict(list)
    for edge in data.ownerships:
        children[edge.parent_key].append(edge.child_key)
    return children


def _group_depths(data: DemoDataset) -> dict[str, int]:
    """Holding key → depth of its group in levels (the holding is level 1)."""
    children = _children(data)
    owned = {edge.child_key for edge in data.ownerships}

    def depth(key: str) -> int:
        return 1 + max((depth(child) for child in children.get(key, [])), default=0)

    return {key: depth(key) for key in children if key not in owned}


def _group_members(data: DemoDataset, root: str) -> set[str]:
    children, seen, todo = _children(data), {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def test_sizes(dataset: DemoDataset) -> None:
    assert len(dataset.accounts) >= 220
    assert len(dataset.contacts) >= 650
    assert len(dataset.ownerships) >= len(dataset.accounts) - 60


def test_deterministic_per_seed(dataset: DemoDataset) -> None:
    assert build_demo_dataset() == dataset
    assert build_demo_dataset(2026) == dataset
    assert build_demo_dataset(7) != dataset


@pytest.mark.parametrize("seed", [1, 7, 99])
def test_invariants_hold_for_other_seeds(seed: int) -> None:
    data = build_demo_dataset(seed)
    test_ownerships_are_topologically_ordered(data)
    test_incoming_shares_at_most_100(data)
    test_groups(data)
    test_usccs_are_valid_unique_and_match_the_city(data)
    test_contacts_per_account(data)
    test_phones_and_emails(data)


def test_usccs_are_valid_unique_and_match_the_city(dataset: DemoDataset) -> None:
    codes = [account.uscc for account in dataset.accounts]
    assert len(set(codes)) == len(codes)
    for account in dataset.accounts:
        assert normalize_uscc(account.uscc) == account.uscc
        assert account.uscc[2:8] == CITY[account.city].division
        expected_prefix = "12" if account.name.endswith("研究所") else "91"
        assert account.uscc[:2] == expected_prefix


def test_names_unique_and_shaped(dataset: DemoDataset) -> None:
    names = [account.name for account in dataset.accounts]
    assert len(set(names)) == len(names)
    holdings = set(_group_depths(dataset))
    for account in dataset.accounts:
        if account.key in holdings:
            assert account.name.endswith("集团有限公司")
        else:
            assert account.name.startswith(account.city)
            assert account.name.endswith(("有限公司", "有限责任公司", "研究所"))


def test_account_fields(dataset: DemoDataset) -> None:
    keys = [account.key for account in dataset.accounts]
    assert len(set(keys)) == len(keys)
    for account in dataset.accounts:
        assert account.region == CITY[account.city].region
        assert account.industry in INDUSTRIES
        assert account.lifecycle_stage in LIFECYCLE_STAGES
        assert account.tags == tuple(tag for tag in TAGS if tag in account.tags)
        assert not {"国企", "民参军"} <= set(account.tags)
        assert not {"保密资质一级", "保密资质二级"} <= set(account.tags)
        assert account.annual_revenue.as_tuple().exponent == -2
        assert account.annual_revenue > Decimal("1000000.00")
    assert {account.region for account in dataset.accounts} == set(REGIONS)
    assert {account.industry for account in dataset.accounts} == set(INDUSTRIES)
    assert {account.lifecycle_stage for account in dataset.accounts} == set(LIFECYCLE_STAGES)
    assert {tag for account in dataset.accounts for tag in account.tags} == set(TAGS)


def test_revenue_magnitudes(dataset: DemoDataset) -> None:
    by_key = {account.key: account for account in dataset.accounts}
    for holding in _group_depths(dataset):
        assert by_key[holding].annual_revenue >= Decimal("3000000000")
    owned = {edge.child_key for edge in dataset.ownerships}
    children = _children(dataset)
    leaves = [key for key in owned if key not in children]
    assert min(by_key[key].annual_revenue for key in leaves) < Decimal("100000000")


def test_ownerships_reference_accounts(dataset: DemoDataset) -> None:
    keys = {account.key for account in dataset.accounts}
    pairs = [(edge.parent_key, edge.child_key) for edge in dataset.ownerships]
    assert len(set(pairs)) == len(pairs)
    for parent, child in pairs:
        assert parent in keys
        assert child in keys
        assert parent != child


def test_ownerships_are_topologically_ordered(dataset: DemoDataset) -> None:
    first_out: dict[str, int] = {}
    for index, edge in enumerate(dataset.ownerships):
        first_out.setdefault(edge.parent_key, index)
    for index, edge in enumerate(dataset.ownerships):
        assert first_out.get(edge.child_key, len(dataset.ownerships)) > index
    position = {account.key: index for index, account in enumerate(dataset.accounts)}
    for edge in dataset.ownerships:
        assert position[edge.parent_key] < position[edge.child_key]


def test_no_ownership_cycles(dataset: DemoDataset) -> None:
    indegree = Counter(edge.child_key for edge in dataset.ownerships)
    children = _children(dataset)
    ready = [account.key for account in dataset.accounts if indegree[account.key] == 0]
    removed = 0
    while ready:
        key = ready.pop()
        removed += 1
        for child in children.get(key, []):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    assert removed == len(dataset.accounts)


def test_incoming_shares_at_most_100(dataset: DemoDataset) -> None:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for edge in dataset.ownerships:
        assert Decimal(0) < edge.share_pct <= Decimal(100)
        totals[edge.child_key] += edge.share_pct
    assert max(totals.values()) <= Decimal(100)


def test_share_variety_and_joint_ownership(dataset: DemoDataset) -> None:
    shares = {edge.share_pct for edge in dataset.ownerships}
    assert {Decimal(100), Decimal("65.5"), Decimal(51)} <= shares
    holders = Counter(edge.child_key for edge in dataset.ownerships)
    assert max(holders.values()) == 2
    assert sum(1 for count in holders.values() if count == 2) >= 10


def test_groups(dataset: DemoDataset) -> None:
    depths = _group_depths(dataset)
    assert len(depths) == 10
    assert all(3 <= depth <= 5 for depth in depths.values())
    assert sum(1 for depth in depths.values() if depth >= 4) >= 3
    members = [_group_members(dataset, root) for root in depths]
    assert sum(len(group) for group in members) == len(set().union(*members))
    linked = {edge.child_key for edge in dataset.ownerships} | set(depths)
    assert len(dataset.accounts) - len(linked) >= 30  # standalone companies


def test_contacts_per_account(dataset: DemoDataset) -> None:
    per_account = Counter(contact.account_key for contact in dataset.contacts)
    assert set(per_account) == {account.key for account in dataset.accounts}
    assert set(per_account.values()) <= {2, 3, 4, 5}
    titles: dict[str, list[str]] = defaultdict(list)
    for contact in dataset.contacts:
        titles[contact.account_key].append(contact.title)
        assert HAN_NAME.fullmatch(contact.name)
    for account in dataset.accounts:
        assert len(set(titles[account.key])) == len(titles[account.key])
        assert titles[account.key][0] in {"董事长", "总经理", "所长"}


def test_phones_and_emails(dataset: DemoDataset) -> None:
    phones = [contact.phone for contact in dataset.contacts]
    emails = [contact.email for contact in dataset.contacts]
    assert len(set(phones)) == len(phones)
    assert len(set(emails)) == len(emails)
    domains: dict[str, set[str]] = defaultdict(set)
    for contact in dataset.contacts:
        assert PHONE.fullmatch(contact.phone), contact.phone
        assert EMAIL.fullmatch(contact.email), contact.email
        domains[contact.account_key].add(contact.email.split("@")[1])
    assert all(len(names) == 1 for names in domains.values())
    all_domains = [next(iter(names)) for names in domains.values()]
    assert len(set(all_domains)) == len(all_domains)


def test_resident_id_check_digit() -> None:
    assert resident_id_check_digit("11010519491231002") == "X"  # GB 11643 example
    assert resident_id_check_digit("44052418800101001") == "4"
    with pytest.raises(ValueError):
        resident_id_check_digit("1101051949123100")


def test_id_numbers(dataset: DemoDataset) -> None:
    accounts: dict[str, DemoAccount] = {account.key: account for account in dataset.accounts}
    numbers = [contact.id_number for contact in dataset.contacts if contact.id_number]
    assert len(set(numbers)) == len(numbers)
    assert len(dataset.contacts) * 0.5 < len(numbers) < len(dataset.contacts)
    for contact in dataset.contacts:
        number = contact.id_number
        if number is None:
            continue
        assert re.fullmatch(r"\d{17}[\dX]", number)
        assert resident_id_check_digit(number[:17]) == number[17]
        assert number[:6] == CITY[accounts[contact.account_key].city].district
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        assert date(1965, 1, 1) <= born <= date(1995, 12, 31)


def test_city_table() -> None:
    assert len({city.name for city in CITIES}) == len(CITIES)
    assert len({city.slug for city in CITIES}) == len(CITIES)
    assert {city.region for city in CITIES} == set(REGIONS)
    expected = {"成都": "510100", "北京": "110000", "南京": "320100", "上海": "310000"}
    assert {name: CITY[name].division for name in expected} == expected
    for city in CITIES:
        prefix = 2 if city.division.endswith("0000") else 4  # municipalities: 11/12/31/50
        assert city.district[:prefix] == city.division[:prefix]
