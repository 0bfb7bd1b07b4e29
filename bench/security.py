"""Scenario (d), the price of field security: one page of exactly 100 contacts read as a
finance user through five protected field selections (phone, e-mail and ID number masked by
FieldPolicy, each read audited), against the same page read as an administrator selecting
only unprotected fields."""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from bench.runner import call
from bench.scenarios import Data, Scenario

CONTACTS_PER_PAGE = 100
TARGET_RATIO = 1.3  # p95 (d1) / p95 (d2), from the issue
PROTECTED_READS = 5  # protected field selections per contact in (d1)

# `contacts(first: 5)` returns every contact of an account (the seed gives each 2-4), and the
# number of accounts (`$first`) is chosen per page so that they hold exactly 100 contacts.
_PAGE = """
query {name}($first: Int!, $after: String) {{
  accounts(first: $first, after: $after) {{
    edges {{ node {{ contacts(first: 5) {{ edges {{ node {{ {fields} }} }} }} }} }}
  }}
}}"""
PROTECTED_PAGE = _PAGE.format(
    name="ProtectedPage", fields="name p: phone e: email i: idNumber p2: phone e2: email")
PLAIN_PAGE = _PAGE.format(name="PlainPage", fields="name title")

WINDOWS = """
query Windows($after: String) {
  accounts(first: 100, after: $after) {
    edges { cursor node { contacts(first: 5) { edges { node { id } } } } }
  }
}"""

_PER_FETCH = 6  # windows taken from one fetched stretch of 100 accounts, spread over it
_MASKED = ("p", "e", "i", "p2", "e2")


@dataclass(frozen=True)
class Window:
    after: str  # cursor of the account before the page
    accounts: int  # `first`: the accounts that hold exactly 100 contacts


def _exact(after: str, edges: list[Data]) -> list[Window]:
    """Every run of accounts in `edges` whose contacts add up to exactly 100."""
    counts = [len(edge["node"]["contacts"]["edges"]) for edge in edges]
    cursors = [after] + [str(edge["cursor"]) for edge in edges]
    found = []
    for start in range(len(counts)):
        total, end = 0, start
        while end < len(counts) and total < CONTACTS_PER_PAGE:
            total, end = total + counts[end], end + 1
        if total == CONTACTS_PER_PAGE:
            found.append(Window(cursors[start], end - start))
    return found


async def windows(client: httpx.AsyncClient, rng: random.Random, cursors: list[str],
                  count: int) -> list[Window]:
    """`count` pages of exactly 100 contacts, after cursors spread over the name order (the
    last ones repeat if the dataset is too small to give `count` distinct pages)."""
    found: list[Window] = []
    for after in rng.sample(cursors, len(cursors)):
        data = await call(client, WINDOWS, {"after": after})
        exact = _exact(after, data["accounts"]["edges"])
        step = max(1, len(exact) // _PER_FETCH)
        found.extend(exact[::step][:_PER_FETCH])
        if len(found) >= count:
            break
    if not found:
        raise RuntimeError("no run of accounts holds exactly 100 contacts")
    return [found[number % len(found)] for number in range(count)]


def _contacts(data: Data) -> list[Data]:
    return [contact["node"] for edge in data["accounts"]["edges"]
            for contact in edge["node"]["contacts"]["edges"]]


def _count(data: Data) -> int:
    return len(_contacts(data))


def _scenario(key: str, title: str, query: str, pages: list[Window]) -> Scenario:
    def variables(number: int) -> Data:
        window = pages[number % len(pages)]
        return {"first": window.accounts, "after": window.after}

    return Scenario(key, title, query, variables, _count, "contacts")


def scenarios(pages: list[Window]) -> tuple[Scenario, Scenario]:
    protected = _scenario(
        "d1", f"as finance: 100 contacts x {PROTECTED_READS} masked protected fields",
        PROTECTED_PAGE, pages)
    plain = _scenario("d2", "as admin: the same 100 contacts, name + title only", PLAIN_PAGE,
                      pages)
    return protected, plain


@dataclass(frozen=True)
class Probe:
    """What one page showed each reader: the work is the same, and finance's values are
    masked (a clear value would mean the measured path is not the masking one)."""

    contacts: tuple[int, int]  # finance, admin
    values: int  # non-null protected values finance received
    masked: int  # of which masked

    @property
    def sound(self) -> bool:
        return self.contacts[0] == self.contacts[1] == CONTACTS_PER_PAGE and \
            self.values > 0 and self.masked == self.values


async def probe(finance: httpx.AsyncClient, admin: httpx.AsyncClient,
                protected: Scenario, plain: Scenario) -> Probe:
    masked_data = await call(finance, protected.query, protected.variables(0))
    plain_data = await call(admin, plain.query, plain.variables(0))
    values = [contact[alias] for contact in _contacts(masked_data) for alias in _MASKED
              if contact[alias] is not None]
    return Probe((_count(masked_data), _count(plain_data)), len(values),
                 sum("*" in value for value in values))
